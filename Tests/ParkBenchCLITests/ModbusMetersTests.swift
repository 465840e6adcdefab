import Foundation
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `simulate --modbus-port`: the park's meters on Modbus TCP endpoints, read by pymodbus (a
/// master nobody here wrote) through two register maps that differ the way brands do.
@Suite struct ModbusMetersTests {
    let cli = CLITests()

    static let park = """
        park: meters
        seed: 11
        zones: [{id: M}]
        populations:
          - {model: acme-em3, zone: M, count: 2, id: "em-{n}", parameters: {load_interval: 1s}}
          - {model: volt-dts666, zone: M, count: 1, id: "dts-{n}", parameters: {load_interval: 1s}}
          - {model: aqua-wm20, zone: M, count: 1, id: "wm-{n}", parameters: {flow_interval: 1s}}
        stimuli:
          - {at: 0s, device: wm-1, stimulus: flow-set, arguments: {m3h: 36}}
          - {at: 0s, device: em-1, stimulus: load-set, arguments: {kw: 36}}
          - {at: 0s, device: dts-1, stimulus: load-set, arguments: {kw: 360}}
        """

    static let master = """
        import json, struct, sys, time
        from pymodbus.client import ModbusTcpClient
        port = int(sys.argv[1])
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        deadline = time.monotonic() + 30
        while not client.connect():
            if time.monotonic() > deadline: sys.exit("cannot connect")
            time.sleep(0.05)
        def call(function, *args, unit, **kwargs):
            try:
                return function(*args, device_id=unit, **kwargs)
            except TypeError:
                return function(*args, slave=unit, **kwargs)
        def f32(registers, i):   # ABCD
            return struct.unpack(">f", struct.pack(">HH", registers[i], registers[i + 1]))[0]
        def i32_cdab(registers, i, scale):
            return struct.unpack(">i", struct.pack(">HH", registers[i + 1], registers[i]))[0] / scale
        def u32_cdab(registers, i, scale):
            return struct.unpack(">I", struct.pack(">HH", registers[i + 1], registers[i]))[0] / scale
        def em(unit):
            a = call(client.read_input_registers, 0, count=12, unit=unit).registers
            b = call(client.read_input_registers, 0x34, count=0x16, unit=unit).registers
            return {"t": time.monotonic(), "v": [f32(a, i) for i in (0, 2, 4)], "i": [f32(a, i) for i in (6, 8, 10)],
                    "p": f32(b, 0), "pf": f32(b, 0x3E - 0x34), "e": f32(b, 0x48 - 0x34)}
        def dts(unit):
            v = call(client.read_holding_registers, 0x2000, count=3, unit=unit).registers
            i = call(client.read_holding_registers, 0x2004, count=6, unit=unit).registers
            p = call(client.read_holding_registers, 0x2012, count=2, unit=unit).registers
            e = call(client.read_holding_registers, 0x4000, count=2, unit=unit).registers
            return {"t": time.monotonic(), "v": [x / 10 for x in v], "i": [i32_cdab(i, k, 1000) for k in (0, 2, 4)],
                    "p": i32_cdab(p, 0, 1000), "e": u32_cdab(e, 0, 100)}
        def f32_cdab(registers, i):
            return struct.unpack(">f", struct.pack(">HH", registers[i + 1], registers[i]))[0]
        def wm(unit):
            r = call(client.read_holding_registers, 0, count=4, unit=unit).registers
            return {"t": time.monotonic(), "e": f32_cdab(r, 0), "p": f32_cdab(r, 2)}
        time.sleep(1.2)   # the scripted loads are set at 0 s and the meters change load every second
        first = {"em": em(1), "dts": dts(3), "wm": wm(4)}
        time.sleep(2)
        second = {"em": em(1), "dts": dts(3), "wm": wm(4)}
        call(client.write_coil, 0, False, unit=4)
        time.sleep(0.3)
        closed = [wm(4), None]
        time.sleep(0.5)
        closed[1] = wm(4)
        absent = call(client.read_input_registers, 0, count=2, unit=9)
        outside = call(client.read_input_registers, 0x60, count=2, unit=1)
        call(client.write_coil, 0, False, unit=2)
        print(json.dumps({"first": first, "second": second, "absent": getattr(absent, "exception_code", None),
                          "outside": getattr(outside, "exception_code", None), "closed": closed}), flush=True)
        """

    @Test func pymodbusReadsMetersThroughTheirRegisterMaps() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("meters.yaml"), script = directory.path("master.py"), output = directory.path("master.json")
        try Self.park.write(toFile: park, atomically: true, encoding: .utf8)
        try Self.master.write(toFile: script, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let ledger = directory.path("run.jsonl")
        let run = try SimulateWorkersTests.BackgroundRun(
            ["simulate", "--park", park, "--duration", "8s", "--modbus-port", String(port), "--ledger", ledger, "--json"], in: directory)
        let master = try ChildProcess(try executablePath("python3"), [script, String(port)], output: output)
        #expect(master.waitForExit(timeout: .seconds(60)))
        #expect(run.waitForExit(seconds: 60))
        #expect(run.process.terminationStatus == 0, "\(run.stderr)")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let result = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "pymodbus said: \(text)")
        let first = try #require(result["first"] as? [String: [String: Any]]), second = try #require(result["second"] as? [String: [String: Any]])

        for (meter, load, accuracy) in [("em", 36.0, 0.005), ("dts", 360.0, 0.01)] {
            let a = try #require(first[meter]), b = try #require(second[meter])
            let power = try #require(b["p"] as? Double)
            // The scripted load is the truth; the meter reads within half its accuracy class.
            #expect(abs(power - load) <= load * accuracy / 2 + 0.001, "\(meter): \(power) kW for a true \(load) kW")
            let volts = try #require(b["v"] as? [Double]), amps = try #require(b["i"] as? [Double])
            let pf = (b["pf"] as? Double) ?? 0.92
            let apparent = zip(volts, amps).map { $0 * $1 * pf / 1000 }.reduce(0, +)
            #expect(abs(apparent - power) <= power * 0.02, "\(meter): P ≈ Σ V·I·PF (\(apparent) vs \(power))")
            // Energy is integrated to the instant of each poll.
            let e1 = try #require(a["e"] as? Double), e2 = try #require(b["e"] as? Double)
            let hours = ((b["t"] as? Double ?? 0) - (a["t"] as? Double ?? 0)) / 3600
            let expected = load * hours
            #expect(e2 > e1, "\(meter): energy only grows")
            #expect(abs((e2 - e1) - expected) <= expected * 0.1 + 0.02, "\(meter): \(e2 - e1) kWh in \(hours * 3600) s at \(load) kW")
        }
        // The water meter: flow held at 36 m³/h reads within its 2 % class, volume integrates it.
        let w1 = try #require(first["wm"]), w2 = try #require(second["wm"])
        let flow = try #require(w2["p"] as? Double), v1 = try #require(w1["e"] as? Double), v2 = try #require(w2["e"] as? Double)
        #expect(abs(flow - 36) <= 36 * 0.01 + 1e-6, "flow \(flow) m³/h for a true 36")
        let litres = (v2 - v1) * 1000, expectedLitres = 36.0 * 1000 * ((w2["t"] as? Double ?? 0) - (w1["t"] as? Double ?? 0)) / 3600
        #expect(abs(litres - expectedLitres) <= expectedLitres * 0.1, "\(litres) L drawn, \(expectedLitres) expected")
        // Its valve coil written to 0 closed the valve: no flow, the dial stands still.
        let closed = try #require(result["closed"] as? [[String: Any]])
        #expect(closed.map { $0["p"] as? Double } == [0, 0], "\(closed)")
        #expect(closed[0]["e"] as? Double == closed[1]["e"] as? Double)
        #expect(result["absent"] as? Int == 0x0B, "unit 9 is not on this endpoint: gateway target failed to respond")
        #expect(result["outside"] as? Int == 0x02, "0x60 is past the map: illegal data address")

        // The relay coil written to 0 became the device's relay-open command, in the ledger.
        let records = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(records.contains { $0["device"] as? String == "em-2" && $0["name"] as? String == "relay-open" }, "\(records.map { $0["name"] ?? "" })")
        #expect(records.contains { $0["device"] as? String == "wm-1" && $0["name"] as? String == "valve-close" })
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let addresses = try #require(summary?["modbus"] as? [[String: Any]])
        #expect(addresses.map { $0["unit"] as? Int } == [1, 2, 3, 4])
        #expect(Set(addresses.compactMap { $0["port"] as? Int }) == [port])
    }

    @Test func aParkWithoutRegisterMapsSaysSo() throws {
        let run = try cli.parkbench("simulate", "--park", SimulateWorkersTests.fleetPark, "--duration", "1s", "--modbus-port", "0")
        #expect(run.status == 2)
        #expect(run.stderr.contains("no model in this park has a register map"))
    }

    /// `--modbus-rtu`: the same meters on an RTU bus (a pty), read by pymodbus's serial client.
    @Test func metersOnAnRTUBus() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("meters.yaml")
        try Self.park.write(toFile: park, atomically: true, encoding: .utf8)
        let run = try SimulateWorkersTests.BackgroundRun(["simulate", "--park", park, "--duration", "60s", "--modbus-rtu", "--show", "none"], in: directory)
        defer { kill(run.process.processIdentifier, SIGINT) }
        let path = try run.announcedRTUBus()
        let script = directory.path("rtu.py"), output = directory.path("rtu.json")
        try """
            import json, struct, sys, time
            from pymodbus.client import ModbusSerialClient
            client = ModbusSerialClient(port=sys.argv[1], baudrate=9600, timeout=1, retries=0)
            assert client.connect()
            def call(function, *args, unit, **kwargs):
                try:
                    return function(*args, device_id=unit, **kwargs)
                except TypeError:
                    return function(*args, slave=unit, **kwargs)
            time.sleep(1.2)
            r = call(client.read_input_registers, 0x34, count=2, unit=1).registers
            dts = call(client.read_holding_registers, 0x2000, count=1, unit=3).registers
            print(json.dumps({"power": struct.unpack(">f", struct.pack(">HH", r[0], r[1]))[0], "dts_voltage": dts[0] / 10}), flush=True)
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let master = try ChildProcess(try executablePath("python3"), [script, path], output: output)
        #expect(master.waitForExit(timeout: .seconds(60)))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let result = try #require(try? JSONSerialization.jsonObject(with: Data((text.split(separator: "\n").last ?? "").utf8)) as? [String: Double], "\(text)")
        #expect(abs((result["power"] ?? 0) - 36) <= 36 * 0.0025 + 0.001, "\(result)")
        #expect((200 ... 260).contains(result["dts_voltage"] ?? 0))
    }

    /// `platform gateway` polls the simulated meters and reports the one nobody answers for.
    @Test func theGatewayCommandPollsAndReportsOffline() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("meters.yaml"), meters = directory.path("gateway.yaml")
        try Self.park.write(toFile: park, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let run = try SimulateWorkersTests.BackgroundRun(["simulate", "--park", park, "--duration", "60s", "--modbus-port", String(port)], in: directory)
        defer { kill(run.process.processIdentifier, SIGINT) }
        try run.waitForPort(port, "Modbus")
        try """
            meters:
              - {device: em-1, model: acme-em3, zone: M, modbus: 127.0.0.1:\(port), unit: 1}
              - {device: dts-1, model: volt-dts666, zone: M, modbus: 127.0.0.1:\(port), unit: 3}
              - {device: nobody, model: acme-em3, zone: M, modbus: 127.0.0.1:\(port), unit: 40}
            """.write(toFile: meters, atomically: true, encoding: .utf8)
        let broker = try MosquittoBroker()
        let gateway = try cli.parkbench("platform", "gateway", "--meters", meters, "--broker", "mqtt://127.0.0.1:\(broker.port)",
                                        "--period", "300ms", "--offline-after", "2", "--duration", "2s")
        #expect(gateway.status == 0, "\(gateway.stderr)")
        #expect(gateway.stdout.contains("offline at the end: nobody"), "\(gateway.stdout)")
        let bad = try cli.parkbench("platform", "gateway", "--meters", park, "--broker", "mqtt://127.0.0.1:\(broker.port)")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("expected a list under meters:"))
    }
}

/// A gateway under test configured from outside: `parkbench test --meters-modbus 127.0.0.1:0`
/// serves the park's meters on a free port and writes `meters.csv` into the run folder before
/// the checks start; pymodbus, standing in for a third-party gateway, finds a meter through the
/// table alone and reads its voltage while the run goes on.
@Suite struct GatewayMeterTableTests {
    let cli = CLITests()

    static let gateway = """
        import csv, os, struct, sys, time
        from pymodbus.client import ModbusTcpClient
        table, out = sys.argv[1], sys.argv[2]
        deadline = time.monotonic() + 60
        while not os.path.exists(table):
            if time.monotonic() > deadline: sys.exit("no meter table")
            time.sleep(0.05)
        rows = list(csv.DictReader(open(table)))
        meter = next(row for row in rows if row["protocol"] == "modbus-tcp" and row["model"] == "acme-em3")
        client = ModbusTcpClient(meter["host"], port=int(meter["port"]), timeout=2, retries=0)
        while not client.connect():
            if time.monotonic() > deadline: sys.exit("cannot connect")
            time.sleep(0.05)
        unit = int(meter["unit"])
        try:
            answer = client.read_input_registers(0, count=2, device_id=unit)
        except TypeError:
            answer = client.read_input_registers(0, count=2, slave=unit)
        volts = struct.unpack(">f", struct.pack(">HH", *answer.registers))[0]
        protocols = sorted(set(row["protocol"] for row in rows))
        with open(out, "w") as handle:
            handle.write("%s %d %.1f %s %s\\n" % (meter["device"], len(rows), volts, ",".join(protocols), meter["register_map"]))
        """

    @Test func aGatewayUnderTestFindsEveryMeterThroughTheTable() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let directory = try TemporaryDirectory()
        let folder = directory.path("run")
        let script = directory.path("gateway.py")
        try Self.gateway.write(toFile: script, atomically: true, encoding: .utf8)
        let result = directory.path("result.txt")
        let gateway = try ChildProcess(try executablePath("python3"), [script, folder + "/meters.csv", result], output: directory.path("gateway.log"))
        defer { gateway.stop(grace: .seconds(1)) }
        let run = try cli.parkbench(
            "test", "--suite", "conformance/suites/park-core.yaml", "--platform", "conformance/platforms/reference.yaml",
            "--broker", "mqtt://127.0.0.1:\(broker.port)", "--meters-modbus", "127.0.0.1:0", "--meters-dlt645", "127.0.0.1:0",
            "--check", "meter-accuracy", "--out", folder)
        // No gateway publishes readings here, so the check fails; the table is what is tested.
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("meter table for the gateway: \(folder)/meters.csv"))
        #expect(gateway.waitForExit(timeout: .seconds(60)))
        let answer = try String(contentsOfFile: result, encoding: .utf8).split(separator: " ").map(String.init)
        #expect(answer.count == 5, "\(answer)")
        #expect(Int(answer[1]) == 68, "every meter of the demo park is in the table")
        let volts = Double(answer[2]) ?? 0
        #expect(volts > 200 && volts < 260, "a mains voltage read through the table: \(volts)")
        #expect(answer[3].trimmingCharacters(in: .whitespacesAndNewlines) == "dlt645-2007,modbus-tcp")
        #expect(answer[4].hasSuffix("devices/electric-meter/acme-em3.yaml\n") || answer[4].hasSuffix("acme-em3.yaml\n"), "\(answer[4])")
    }
}
