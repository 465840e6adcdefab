import Foundation
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `parkbench certify` against a pymodbus server playing a third-party meter: a matching
/// profile certifies it; a profile with one register in the wrong byte order fails, naming it.
@Suite struct CertifyTests {
    let cli = CLITests()

    /// A three-phase meter with acme-em3's layout (float32 ABCD input registers), consistent
    /// values (P = Σ V·I·PF), served by pymodbus.
    static let thirdPartyMeter = """
        import struct, sys
        from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext
        try:
            from pymodbus.datastore import ModbusDeviceContext as Context
            key = "devices"
        except ImportError:
            from pymodbus.datastore import ModbusSlaveContext as Context
            key = "slaves"
        from pymodbus.server import StartTcpServer
        registers = [0] * 0x52
        def put(address, value):
            high, low = struct.unpack(">HH", struct.pack(">f", value))
            registers[address], registers[address + 1] = high, low
        volts, amps, pf = [231.2, 229.9, 230.4], [10.1, 9.8, 10.4], 0.95
        for i in range(3):
            put(2 * i, volts[i]); put(6 + 2 * i, amps[i])
        power = sum(v * a for v, a in zip(volts, amps)) * pf / 1000
        put(0x34, power); put(0x3C, power * 0.33); put(0x3E, pf); put(0x46, 50.02)
        put(0x48, 12345.6); put(0x4A, 0.0); put(0x4C, 10.5); put(0x4E, 0.0); put(0x50, 88.0)
        device = Context(ir=ModbusSequentialDataBlock(1, registers), hr=ModbusSequentialDataBlock(1, [0] * 4),
                         co=ModbusSequentialDataBlock(1, [0] * 4))
        StartTcpServer(context=ModbusServerContext(**{key: {5: device}}, single=False), address=("127.0.0.1", int(sys.argv[1])))
        """

    @Test func aThirdPartyMeterPassesWithItsProfileAndFailsWithAWrongOne() throws {
        let meter = try PythonPeer(script: Self.thirdPartyMeter, name: "pymodbus-meter")
        defer { meter.stop() }
        let port = meter.port, directory = meter.directory

        // pymodbus answers an unknown function and an oversized read with `80 01`: function byte
        // 80 instead of the request's with the high bit set, and 01 where 03 is due. Certify says so.
        let strict = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "tcp://127.0.0.1:\(port)",
                                       "--unit", "5", "--interval", "200ms", "--samples", "20", "--out", directory.path("strict"))
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("FAIL: exception-illegal-function, exception-illegal-value"), "\(strict.stdout)")
        #expect(strict.stdout.contains("carries function byte 80, not C1"))
        #expect(strict.stdout.contains("answered exception 01 where 03 was expected"))

        // Those two waived, the meter is certified against its profile.
        let good = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "tcp://127.0.0.1:\(port)",
                                     "--unit", "5", "--interval", "200ms", "--samples", "50", "--out", directory.path("good"),
                                     "--waive", "exception-illegal-function", "--waive", "exception-illegal-value")
        #expect(good.status == 0, "\(good.stdout)\n\(good.stderr)")
        #expect(good.stdout.contains("CERTIFIED"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path("good/report.json")))) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(Set(checks.compactMap { $0["id"] as? String }).isSuperset(of: [
            "registers-readable", "values-plausible", "energy-monotonic", "power-consistent",
            "exception-illegal-address", "exception-illegal-function", "exception-illegal-value", "response-time"]))

        // The same profile with voltage_a in word-swapped order: the value is nonsense.
        let wrong = directory.path("wrong.yaml")
        try String(contentsOfFile: CLITests.packageRoot.appendingPathComponent("devices/electric-meter/acme-em3.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "model: acme-em3", with: "model: acme-em3-wrong")
            .replacingOccurrences(of: "{point: voltage_a, table: input, address: 0x0000, type: float32, order: ABCD}",
                                  with: "{point: voltage_a, table: input, address: 0x0000, type: float32, order: CDAB}")
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        let bad = try cli.parkbench("certify", "--profile", wrong, "--target", "tcp://127.0.0.1:\(port)", "--unit", "5",
                                    "--interval", "200ms", "--samples", "20", "--out", directory.path("bad"),
                                    "--waive", "exception-illegal-function", "--waive", "exception-illegal-value")
        #expect(bad.status == 1, "\(bad.stdout)\n\(bad.stderr)")
        #expect(bad.stdout.contains("values-plausible: voltage_a (input 0x0000, float32 CDAB)"), "\(bad.stdout)")
        #expect(bad.stdout.contains("FAIL: values-plausible, power-consistent"))

        // Another unit id on the same server: pymodbus has no such device.
        let absent = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "tcp://127.0.0.1:\(port)",
                                       "--unit", "6", "--interval", "100ms", "--samples", "5", "--out", directory.path("absent"))
        #expect(absent.status == 1)
        #expect(absent.stdout.contains("registers-readable: voltage_a (input 0x0000, float32 ABCD): read input registers 0…1 of unit 6"))

        let unreachable = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml",
                                            "--target", "tcp://127.0.0.1:\(try freeLoopbackPort())", "--out", directory.path("none"))
        #expect(unreachable.status == 3, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot connect"))
    }

    /// ParkBench's own simulated meters pass every check, the protocol probes included.
    @Test func ourSimulatedMetersAreCertified() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml")
        try """
            park: certify
            seed: 2
            zones: [{id: M}]
            populations:
              - {model: acme-em3, zone: M, count: 1, id: "em-{n}", parameters: {load_interval: 1s}}
              - {model: volt-dts666, zone: M, count: 1, id: "dts-{n}", parameters: {load_interval: 1s}}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let run = try SimulateWorkersTests.BackgroundRun(
            ["simulate", "--park", park, "--duration", "60s", "--modbus-port", String(port)], in: directory)
        defer { kill(run.process.processIdentifier, SIGINT) }
        try run.waitForPort(port, "Modbus")
        for (model, unit) in [("electric-meter/acme-em3", 1), ("electric-meter/volt-dts666", 2)] {
            let certified = try cli.parkbench("certify", "--profile", "devices/\(model).yaml", "--target", "tcp://127.0.0.1:\(port)",
                                              "--unit", String(unit), "--interval", "1500ms", "--samples", "50",
                                              "--out", directory.path("cert-\(unit)"))
            #expect(certified.status == 0, "\(certified.stdout)\n\(certified.stderr)")
            #expect(certified.stdout.contains("CERTIFIED: 8 checks passed"), "\(certified.stdout)")
        }
    }

    /// Over an RTU line: the simulated meters on a pty bus, certified through rtu://.
    @Test func certifiesOverRTU() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml")
        try """
            park: certify-rtu
            seed: 4
            zones: [{id: M}]
            populations:
              - {model: volt-dts666, zone: M, count: 2, id: "dts-{n}", parameters: {load_interval: 1s}}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let run = try SimulateWorkersTests.BackgroundRun(["simulate", "--park", park, "--duration", "60s", "--modbus-rtu", "--show", "none"], in: directory)
        defer { kill(run.process.processIdentifier, SIGINT) }
        let path = try run.announcedRTUBus()
        let certified = try cli.parkbench("certify", "--profile", "devices/electric-meter/volt-dts666.yaml", "--target", "rtu://\(path)",
                                          "--unit", "2", "--interval", "1200ms", "--samples", "30", "--out", directory.path("cert"))
        #expect(certified.status == 0, "\(certified.stdout)\n\(certified.stderr)")
        #expect(certified.stdout.contains("(9600 8N1)") && certified.stdout.contains("CERTIFIED: 8 checks passed"), "\(certified.stdout)")
        let absent = try cli.parkbench("certify", "--profile", "devices/electric-meter/volt-dts666.yaml", "--target", "rtu://\(path)",
                                       "--unit", "7", "--interval", "100ms", "--samples", "2", "--out", directory.path("absent"))
        #expect(absent.status == 3, "a bus address nobody has stays silent: \(absent.stdout)")
        #expect(absent.stderr.contains("unit 7 at rtu://") && absent.stderr.contains("does not answer"), "\(absent.stderr)")
        let bad = try cli.parkbench("certify", "--profile", "devices/electric-meter/volt-dts666.yaml", "--target", "rtu://ttyUSB0")
        #expect(bad.status == 2)
    }

    /// A DL/T 645-2007 three-phase meter played by the PyPI `dlt645` package's server. With
    /// `faulty` its power is twice Σ V·I·PF, its frequency 99 Hz and its energy runs backwards.
    /// Address 111111111111 reads the same in wire and nameplate order (the package writes
    /// addresses in wire order).
    static let dlt645Meter = """
        import sys, threading, time
        from dlt645 import MeterServerService
        port, faulty = int(sys.argv[1]), sys.argv[2] == "faulty"
        service = MeterServerService.new_tcp_server("127.0.0.1", port, 5.0)
        service.set_address("111111111111")
        volts, amps, pf = [220.1, 221.3, 219.8], [10.0, 9.5, 10.2], 0.95
        for phase in range(3):
            service.set_02(0x02010100 + 0x100 * phase, volts[phase])
            service.set_02(0x02020100 + 0x100 * phase, amps[phase])
        power = sum(v * a for v, a in zip(volts, amps)) * pf / 1000
        service.set_02(0x02030000, power * 2 if faulty else power)
        service.set_02(0x02060000, pf)
        service.set_02(0x02800002, 99.0 if faulty else 50.02)
        service.set_00(0x00020000, 7.89)
        def energy():
            value = 1234.56
            while True:
                service.set_00(0x00010000, value)
                value += -0.5 if faulty else 0.01
                time.sleep(0.05)
        threading.Thread(target=energy, daemon=True).start()
        service.server.start()
        while True:
            time.sleep(1)
        """

    /// `certify --target dlt645://`: the `dlt645` package's meter certifies once its one deviation
    /// is waived — it answers frames for other meters (with error 01), which on a shared RS-485 bus
    /// collide — and a faulty one fails the value checks, naming the data items.
    @Test func aDlt645PackageMeterIsCertifiedAndAFaultyOneFails() throws {
        let meter = try PythonPeer(script: Self.dlt645Meter, name: "dlt645-meter", arguments: ["good"])
        defer { meter.stop() }
        let directory = meter.directory
        let profile = "devices/electric-meter/grid-dtzy645.yaml"
        let strict = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1:\(meter.port)",
                                       "--interval", "300ms", "--samples", "20", "--out", directory.path("strict"))
        #expect(strict.status == 1, "\(strict.stdout)\n\(strict.stderr)")
        #expect(strict.stdout.contains("address                 PASS     meter 111111111111"), "\(strict.stdout)")
        #expect(strict.stdout.contains("FAIL: silent-to-other-meters"), "\(strict.stdout)")
        #expect(strict.stdout.contains("a read for meter 999999999990 was answered with an error frame (01)"))

        let good = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1:\(meter.port)", "--meter", "111111111111",
                                     "--interval", "300ms", "--samples", "20", "--out", directory.path("good"), "--waive", "silent-to-other-meters")
        #expect(good.status == 0, "\(good.stdout)\n\(good.stderr)")
        #expect(good.stdout.contains("CERTIFIED: 7 checks passed"), "\(good.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path("good/report.json")))) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["id"] as? String } == [
            "address", "items-readable", "values-plausible", "energy-monotonic", "power-consistent", "error-unknown-item",
            "silent-to-other-meters", "response-time", "frames-valid"])
        #expect(checks.allSatisfy { $0["type"] as? String == "dlt645-certify" })

        let faulty = try PythonPeer(script: Self.dlt645Meter, name: "dlt645-faulty", arguments: ["faulty"])
        defer { faulty.stop() }
        let bad = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1:\(faulty.port)",
                                    "--interval", "300ms", "--samples", "5", "--out", directory.path("bad"), "--waive", "silent-to-other-meters")
        #expect(bad.status == 1, "\(bad.stdout)\n\(bad.stderr)")
        #expect(bad.stdout.contains("FAIL: values-plausible, energy-monotonic, power-consistent"), "\(bad.stdout)")
        #expect(bad.stdout.contains("values-plausible: frequency (02800002) read 99 Hz, outside 45…65"), "\(bad.stdout)")
        #expect(bad.stdout.contains("energy-monotonic: energy_import_1 (00010000) went down from"), "\(bad.stdout)")

        let unreachable = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1:\(try freeLoopbackPort())",
                                            "--out", directory.path("none"))
        #expect(unreachable.status == 3, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot connect"))
    }

    /// ParkBench's own DL/T 645 meters (`simulate --dlt645-port`) pass every check, asked by
    /// read address or by number on a bus of two.
    @Test func ourSimulatedDlt645MetersAreCertified() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml")
        try """
            park: certify-645
            seed: 5
            zones: [{id: M}]
            populations:
              - {model: grid-dtzy645, zone: M, count: 2, id: "dl-{n}", parameters: {load_interval: 1s}}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let run = try SimulateWorkersTests.BackgroundRun(
            ["simulate", "--park", park, "--duration", "60s", "--dlt645-port", String(port), "--show", "none"], in: directory)
        defer { kill(run.process.processIdentifier, SIGINT) }
        try run.waitForPort(port, "DL/T 645")
        let asked = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(port)",
                                      "--interval", "1200ms", "--samples", "30", "--out", directory.path("asked"))
        #expect(asked.status == 0, "\(asked.stdout)\n\(asked.stderr)")
        #expect(asked.stdout.contains("CERTIFIED: 9 checks passed") && asked.stdout.contains("meter 000000000001"), "\(asked.stdout)")
        let second = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(port)",
                                       "--meter", "000000000002", "--interval", "1200ms", "--samples", "30", "--out", directory.path("second"))
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(second.stdout.contains("CERTIFIED: 8 checks passed"), "\(second.stdout)")
        let absent = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(port)",
                                       "--meter", "000000000009", "--out", directory.path("absent"))
        #expect(absent.status == 3, "a meter nobody has stays silent: \(absent.stdout)")
        #expect(absent.stderr.contains("meter 000000000009 at 127.0.0.1:\(port) does not answer"), "\(absent.stderr)")
    }

    /// Options that do not fit a DL/T 645 target are refused before anything is sent.
    @Test func dlt645OptionsAreValidated() throws {
        let profile = "devices/electric-meter/grid-dtzy645.yaml"
        let noPort = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1")
        #expect(noPort.status == 2)
        #expect(noPort.stderr.contains("dlt645://host:port"))
        let modbusMeter = try cli.parkbench("certify", "--profile", profile, "--target", "tcp://127.0.0.1:502", "--meter", "000000000001")
        #expect(modbusMeter.status == 2)
        #expect(modbusMeter.stderr.contains("--meter names a DL/T 645 meter; use it with a dlt645:// target"))
        let number = try cli.parkbench("certify", "--profile", profile, "--target", "dlt645://127.0.0.1:8899", "--meter", "12345")
        #expect(number.status == 2)
        #expect(number.stderr.contains("--meter must be the meter's 12-digit number"))
        let water = try cli.parkbench("certify", "--profile", "devices/water-meter/aqua-wm20.yaml", "--target", "dlt645://127.0.0.1:8899")
        #expect(water.status == 2)
        #expect(water.stderr.contains("(kind water-meter) has no dlt645: section"))
        // A Modbus-only electricity meter is refused the same way: its profile, not its kind, says what it speaks.
        let modbusOnly = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "dlt645://127.0.0.1:8899")
        #expect(modbusOnly.status == 2 && modbusOnly.stderr.contains("(kind electric-meter) has no dlt645: section"))
    }

    // MARK: - Hostile devices (issue 11, defects 10 and 11)

    /// A unit that answers three reads and then goes silent once cost a timeout for every
    /// request left (234 s at the defaults). Now three unanswered requests in a row end the run:
    /// exit 3, the check that was running unfinished and the rest not run — none of them failed.
    @Test func aUnitThatGoesSilentEndsTheRunEarly() throws {
        let peer = try PythonPeer(script: HostileMeterPeers.modbus, name: "silent", arguments: ["silent-after", "3"])
        defer { peer.stop() }
        let run = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "tcp://127.0.0.1:\(peer.port)",
                                    "--interval", "100ms", "--samples", "5", "--out", peer.directory.path("run"))
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        // The probe and two reads answered, then three that were not: nothing more was sent.
        #expect(HostileMeterPeers.requests(peer, name: "silent") == 6)
        #expect(run.stderr.contains("error: unit 1 at tcp://127.0.0.1:\(peer.port) stopped answering (3 requests in a row got no valid answer)"),
                "\(run.stderr)")
        #expect(run.stdout.contains("NOT FINISHED: registers-readable, values-plausible, energy-monotonic, power-consistent, "
                                    + "exception-illegal-address, exception-illegal-function, exception-illegal-value, response-time"), "\(run.stdout)")
        #expect(!run.stdout.contains("FAIL:"), "\(run.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: peer.directory.path("run/report.json")))) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        let readable = try #require(checks.first { $0["id"] as? String == "registers-readable" })
        #expect((readable["summary"] as? String)?.hasPrefix("unfinished: ") == true)
        #expect((readable["findings"] as? [String])?.last == "10 more registers not read: unit 1 at tcp://127.0.0.1:\(peer.port) stopped answering (3 requests in a row got no valid answer)")
        #expect(checks.dropFirst().allSatisfy { ($0["summary"] as? String)?.hasPrefix("not run: ") == true && $0["verdict"] as? String == "error" })
    }

    /// A unit that drips every answer one byte per 0.3 s, inside libmodbus's per-byte timeout,
    /// once took 912 s to a verdict; its first request now times out as a whole and the unit is
    /// reported as not answering.
    @Test func aUnitThatDripsItsAnswersIsNotWaitedFor() throws {
        let peer = try PythonPeer(script: HostileMeterPeers.modbus, name: "drip", arguments: ["drip", "0.3"])
        defer { peer.stop() }
        let run = try cli.parkbench("certify", "--profile", "devices/electric-meter/acme-em3.yaml", "--target", "tcp://127.0.0.1:\(peer.port)",
                                    "--interval", "100ms", "--samples", "5", "--out", peer.directory.path("run"))
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("unit 1 at tcp://127.0.0.1:\(peer.port) does not answer (read input registers 0…1 of unit 1: no complete answer within the timeout)"),
                "\(run.stderr)")
        #expect(HostileMeterPeers.requests(peer, name: "drip") == 1)
    }

    /// A DL/T 645 meter whose every answer has a bad checksum once made certify exit 2, "your
    /// command line is wrong": nothing valid came back, so it is unreachable (3).
    @Test func aMeterWhoseChecksumsAreAllWrongIsUnreachable() throws {
        let peer = try PythonPeer(script: HostileMeterPeers.dlt645, name: "broken", arguments: ["1", "0", "0"])
        defer { peer.stop() }
        let asked = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(peer.port)",
                                      "--timeout", "300ms", "--samples", "5", "--out", peer.directory.path("asked"))
        #expect(asked.status == 3, "\(asked.stdout)\n\(asked.stderr)")
        #expect(asked.stderr.contains("answered read address (13) only with broken frames (bad checksum ×3 (e.g. checksum "), "\(asked.stderr)")
        #expect(asked.stderr.contains("nothing valid came back"))

        // Given its number: three broken answers in a row end the run; frames-valid counts them.
        let given = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(peer.port)",
                                      "--meter", "000000000031", "--timeout", "300ms", "--samples", "5", "--out", peer.directory.path("given"))
        #expect(given.status == 3, "\(given.stdout)\n\(given.stderr)")
        #expect(given.stderr.contains("meter 000000000031 at 127.0.0.1:\(peer.port) stopped answering (3 requests in a row got no valid answer)"), "\(given.stderr)")
        #expect(given.stdout.contains("frames-valid: 3 of the 3 frames the meter sent were broken: bad checksum ×3"), "\(given.stdout)")
    }

    /// A meter that sometimes sends a bad checksum fails (1), with a finding that says what was
    /// wrong and how often.
    @Test func aMeterWithSomeBadChecksumsFails() throws {
        let peer = try PythonPeer(script: HostileMeterPeers.dlt645, name: "flaky", arguments: ["4", "0", "0"])
        defer { peer.stop() }
        let run = try cli.parkbench("certify", "--profile", "devices/electric-meter/grid-dtzy645.yaml", "--target", "dlt645://127.0.0.1:\(peer.port)",
                                    "--timeout", "300ms", "--interval", "100ms", "--samples", "8", "--out", peer.directory.path("run"))
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("address                 PASS     meter 000000000031"), "\(run.stdout)")
        #expect(run.stdout.contains("FAIL: items-readable"), "\(run.stdout)")
        #expect(run.stdout.contains("frames-valid"), "\(run.stdout)")
        let finding = try #require(run.stdout.split(separator: "\n").first { $0.contains("frames-valid: ") }, "\(run.stdout)")
        #expect(finding.contains("frames the meter sent were broken: bad checksum ×"), "\(finding)")
        #expect(run.stdout.contains("meter 000000000031 answered a broken frame: checksum"), "\(run.stdout)")
    }
}

/// `certify --target sip://`: ParkBench as the platform a GB/T 28181 camera registers to, against
/// ParkBench's own simulated camera (`simulate --sip-platform`): healthy it is certified and
/// ffprobe decodes the video it kept; with the camera's wire faults each check that watches
/// them fails; with no camera at all the run ends with exit 3.
@Suite(.serialized) struct CameraCertifyTests {
    let cli = CLITests()
    static let device = "34020000001320000001"

    /// A one-camera park (keepalive every second) with `stimuli`, and a model profile to match.
    static func files(in directory: TemporaryDirectory, stimuli: String) throws -> (park: String, model: String) {
        let park = directory.path("park.yaml"), model = directory.path("model.yaml")
        try """
            park: camera-certify
            seed: 3
            zones: [{id: A, floors: 1}]
            populations:
              - {model: hik-ds2cd, zone: A, floor: 1, count: 1, id: "cam-{n}", parameters: {keepalive_interval: 1s}}
            stimuli:
            \(stimuli)
            """.write(toFile: park, atomically: true, encoding: .utf8)
        var profile = try String(contentsOfFile: CLITests.packageRoot.appendingPathComponent("devices/camera/hik-ds2cd.yaml").path, encoding: .utf8)
        profile = profile.replacingOccurrences(of: "keepalive_interval: 60s", with: "keepalive_interval: 1s")
        try profile.write(toFile: model, atomically: true, encoding: .utf8)
        return (park, model)
    }

    /// Runs certify in the background, then the simulated camera until certify ends.
    /// The run, its folder, and the directory holding it (removed when it goes).
    func certify(stimuli: String, video: Bool = true, extra: [String] = []) throws
        -> (run: SimulateWorkersTests.BackgroundRun, folder: String, directory: TemporaryDirectory)
    {
        let directory = try TemporaryDirectory(), cameraDirectory = try TemporaryDirectory()
        let (park, model) = try Self.files(in: directory, stimuli: stimuli)
        let port = try freeLoopbackPort()
        setenv("PARKBENCH_TEST_CAMERA_PW", "camera-pw-9", 1)
        let folder = directory.path("run")
        let certify = try SimulateWorkersTests.BackgroundRun([
            "certify", "--profile", model, "--target", "sip://127.0.0.1:\(port)", "--device-id", Self.device,
            "--password-env", "PARKBENCH_TEST_CAMERA_PW", "--register-timeout", "20s", "--alarm-timeout", "8s", "--out", folder,
            "--video-seconds", "2s", "--keepalives", "2",
        ] + extra, in: directory)
        usleep(300_000)
        let camera = try SimulateWorkersTests.BackgroundRun([
            "simulate", "--park", park, "--sip-platform", "127.0.0.1:\(port)", "--password-env", "PARKBENCH_TEST_CAMERA_PW",
            "--duration", "60s", "--show", "none",
        ] + (video ? ["--sip-video", "fixtures/media/clip.h264"] : []), in: cameraDirectory)
        defer { kill(camera.process.processIdentifier, SIGINT) }
        #expect(certify.waitForExit(seconds: 60), "certify did not end: \(certify.stdout)")
        return (certify, folder, directory)
    }

    static func verdicts(_ folder: String) throws -> [String: String] {
        let data = try #require(FileManager.default.contents(atPath: folder + "/report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: checks.compactMap { check in
            (check["id"] as? String).map { ($0, check["verdict"] as? String ?? "?") }
        })
    }

    @Test(.enabled(if: (try? executablePath("ffprobe")) != nil, "ffprobe is not installed (scripts/deps.sh test installs ffmpeg)"))
    func ourSimulatedCameraIsCertifiedAndTheVideoItSentDecodes() throws {
        let (run, folder, kept) = try certify(stimuli: "  - {at: 2s, device: cam-1, stimulus: motion}")
        defer { withExtendedLifetime(kept) {} }
        #expect(run.process.terminationStatus == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("CERTIFIED: 9 checks passed"), "\(run.stdout)")
        let verdicts = try Self.verdicts(folder)
        #expect(verdicts.count == 9 && verdicts.values.allSatisfy { $0 == "pass" }, "\(verdicts)")
        let output = try toolOutput("ffprobe", [
            "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", folder + "/video.ps",
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let video = try #require((json["streams"] as? [[String: Any]])?.first, "\(output)")
        #expect(video["codec_name"] as? String == "h264" && video["width"] as? Int == 352 && video["height"] as? Int == 288)
        #expect(Int(video["nb_read_frames"] as? String ?? "") ?? 0 >= 45, "\(output)")
    }

    /// The camera's wire faults: alarms naming the wrong id, no keepalives, no video. Exactly the
    /// checks that watch those fail.
    @Test func aCameraWithWireFaultsFailsExactlyTheChecksThatWatchThem() throws {
        let (run, folder, kept) = try certify(stimuli: """
              - {at: 0s, device: cam-1, stimulus: stop-keepalives}
              - {at: 0s, device: cam-1, stimulus: alarm-in-wrong-field}
              - {at: 2s, device: cam-1, stimulus: motion}
            """, video: false)
        defer { withExtendedLifetime(kept) {} }
        #expect(run.process.terminationStatus == 1, "\(run.stdout)\n\(run.stderr)")
        let verdicts = try Self.verdicts(folder)
        #expect(Set(verdicts.filter { $0.value == "fail" }.keys) == ["alarm", "video-start", "keepalive"], "\(verdicts)\n\(run.stdout)")
        #expect(Set(verdicts.filter { $0.value == "pass" }.keys) == ["registration", "catalog", "device-info", "device-status"], "\(verdicts)")
        #expect(run.stdout.contains("is not one of its 1 catalog channels but the device's own id"), "\(run.stdout)")
    }

    @Test func noCameraIsExitThreeAndABadTargetIsExitTwo() throws {
        let port = try freeLoopbackPort()
        setenv("PARKBENCH_TEST_CAMERA_PW", "camera-pw-9", 1)
        let directory = try TemporaryDirectory()
        let none = try cli.parkbench("certify", "--profile", "devices/camera/hik-ds2cd.yaml", "--target", "sip://127.0.0.1:\(port)",
                                     "--device-id", Self.device, "--password-env", "PARKBENCH_TEST_CAMERA_PW", "--register-timeout", "1s",
                                     "--out", directory.path("none"))
        #expect(none.status == 3, "\(none.stdout)\n\(none.stderr)")
        #expect(none.stderr.contains("no REGISTER from \(Self.device)"), "\(none.stderr)")
        let noPassword = try cli.parkbench("certify", "--profile", "devices/camera/hik-ds2cd.yaml", "--target", "sip://127.0.0.1:\(port)",
                                           "--device-id", Self.device)
        #expect(noPassword.status == 2 && noPassword.stderr.contains("--password-env"), "\(noPassword.stderr)")
        let anyAddress = try cli.parkbench("certify", "--profile", "devices/camera/hik-ds2cd.yaml", "--target", "sip://0.0.0.0:5060",
                                           "--device-id", Self.device, "--password-env", "PARKBENCH_TEST_CAMERA_PW")
        #expect(anyAddress.status == 2 && anyAddress.stderr.contains("the camera reaches"), "\(anyAddress.stderr)")
    }

    /// An mqtt:// target names the robot and nothing else's options; a robot nobody hears is exit 3.
    @Test func robotOptionsAreValidatedAndASilentRobotIsExitThree() throws {
        let profile = "devices/plugins/robots/models/acme-courier-d20.yaml"
        let noRobot = try cli.parkbench("certify", "--profile", profile, "--target", "mqtt://127.0.0.1:1883")
        #expect(noRobot.status == 2 && noRobot.stderr.contains("an mqtt:// target needs --robot manufacturer/serial"), "\(noRobot.stderr)")
        let robotElsewhere = try cli.parkbench("certify", "--profile", profile, "--target", "tcp://127.0.0.1:502", "--robot", "Acme/R-1")
        #expect(robotElsewhere.status == 2 && robotElsewhere.stderr.contains("--robot, --mqtt-user and --cut-command are for mqtt:// targets"))
        let port = try freeLoopbackPort()
        let directory = try TemporaryDirectory()
        let silent = try cli.parkbench("certify", "--profile", profile, "--target", "mqtt://127.0.0.1:\(port)", "--robot", "Acme/R-1",
                                       "--register-timeout", "1s", "--out", directory.path("none"))
        #expect(silent.status == 3 && silent.stderr.contains("nothing heard from uagv/v2/Acme/R-1"), "\(silent.stderr)")
    }
}
