import Foundation
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `simulate --dlt645-port`: electricity meters on a DL/T 645-2007 bus, read by the PyPI
/// `dlt645` client (a master nobody here wrote) and driven with hand-built relay frames.
@Suite struct DLT645MetersTests {
    static let park = """
        park: dlt645
        seed: 13
        zones: [{id: M}]
        populations:
          - {model: volt-dts666, zone: M, count: 3, id: "dts-{n}", parameters: {load_interval: 1s}}
        stimuli:
          - {at: 0s, device: dts-2, stimulus: load-set, arguments: {kw: 48}}
        """

    static let master = """
        import json, socket, sys, time
        from dlt645 import MeterClientService
        port = int(sys.argv[1])
        def value(item):
            return None if item is None else float(item.value)
        client = MeterClientService.new_tcp_client("127.0.0.1", port, timeout=2)
        time.sleep(1.2)   # the scripted load is set at 0 s; meters change load every second
        address = client.read_address()
        # The dlt645 package writes an address in wire order (A0 first); meter 000000000002 is
        # therefore "020000000000" to it.
        client.set_address("020000000000")
        first = {"t": time.monotonic(), "energy": value(client.read_00(0x00010000))}
        power = value(client.read_02(0x02030000))
        voltage = value(client.read_02(0x02010100))
        current = value(client.read_02(0x02020100))
        time.sleep(2)
        second = {"t": time.monotonic(), "energy": value(client.read_00(0x00010000))}
        client.set_address("990000000000")
        absent = client.read_00(0x00010000)
        client.close()

        # Relay control (1C) to meter 3: trip (N1 = 1A). Built by hand: the client has no call for it.
        def frame(address, control, data):
            body = bytes([0x68]) + bytes(reversed(bytes.fromhex(address))) + bytes([0x68, control, len(data)]) + bytes((b + 0x33) & 0xFF for b in data)
            return b"\\xfe\\xfe\\xfe\\xfe" + body + bytes([sum(body) & 0xFF, 0x16])
        raw = socket.create_connection(("127.0.0.1", port), timeout=2)
        raw.sendall(frame("000000000003", 0x1C, [0, 0, 0, 0x02, 0, 0, 0, 0, 0x1A, 0, 0x59, 0x59, 0x23, 0x31, 0x12, 0x99]))
        answer = raw.recv(64).lstrip(b"\\xfe")
        raw.close()
        print(json.dumps({"address": None if address is None else str(address.value), "first": first, "second": second,
                          "power": power, "voltage": voltage, "current": current, "absent": absent is None,
                          "relay_answer": answer[8] if len(answer) > 8 else None}), flush=True)
        """

    @Test func theDlt645ClientReadsOurMeters() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml"), script = directory.path("master.py"), output = directory.path("out.json")
        try Self.park.write(toFile: park, atomically: true, encoding: .utf8)
        try Self.master.write(toFile: script, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let ledger = directory.path("run.jsonl")
        let run = try SimulateWorkersTests.BackgroundRun(
            ["simulate", "--park", park, "--duration", "20s", "--dlt645-port", String(port), "--ledger", ledger, "--json"], in: directory)
        try run.waitForPort(port, "DL/T 645")
        let master = try ChildProcess(try executablePath("python3"), [script, String(port)], output: output)
        #expect(master.waitForExit(timeout: .seconds(60)))
        // Done reading: stop the run (Ctrl-C) rather than wait out its duration.
        kill(run.process.processIdentifier, SIGINT)
        #expect(run.waitForExit(seconds: 60))
        #expect(run.process.terminationStatus == 130, "\(run.stderr)")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let result = try #require(try? JSONSerialization.jsonObject(with: Data((text.split(separator: "\n").last ?? "").utf8)) as? [String: Any],
                                  "dlt645 client said: \(text)")

        #expect(result["address"] as? String == "010000000000", "AA…AA read-address: the first meter on the bus (A0 first, as the package prints it)")
        // Scripted truth: 48 kW on dts-2; the meter is class 1 (± 0.5 %), power is XX.XXXX kW.
        let power = try #require(result["power"] as? Double, "\(result)")
        #expect(abs(power - 48) <= 48 * 0.005 + 0.0001, "\(power) kW for a true 48")
        let voltage = try #require(result["voltage"] as? Double), current = try #require(result["current"] as? Double)
        #expect((200 ... 260).contains(voltage) && current > 0)
        let first = try #require(result["first"] as? [String: Double]), second = try #require(result["second"] as? [String: Double])
        let e1 = try #require(first["energy"]), e2 = try #require(second["energy"])
        let expected = 48 * ((second["t"] ?? 0) - (first["t"] ?? 0)) / 3600
        // XXXXXX.XX kWh: 0.01 kWh resolution on each reading.
        #expect(abs((e2 - e1) - expected) <= expected * 0.05 + 0.021, "\(e2 - e1) kWh in \(expected) expected")
        #expect(result["absent"] as? Bool == true, "an address nobody has gets no answer")
        #expect(result["relay_answer"] as? Int == 0x9C, "relay control acknowledged")

        let records = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(records.contains { $0["device"] as? String == "dts-3" && $0["name"] as? String == "relay-open" })
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect((summary?["dlt645"] as? [[String: Any]])?.map { $0["meter"] as? String } == ["000000000001", "000000000002", "000000000003"])
    }
}
