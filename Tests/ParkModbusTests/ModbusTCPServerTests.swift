import Foundation
import ParkModbus
import ParkTestSupport
import Testing

/// A unit with fixed tables that records what the server told it.
final class RecordingUnit: ModbusUnit, @unchecked Sendable {
    let bank: ModbusRegisterBank
    private let lock = NSLock()
    private var answered: [ModbusRequest] = []
    private var written: [ModbusRequest] = []
    /// Bumped into holding register 19 before every read, so each answer is "as of now".
    private var reads: UInt16 = 0

    init() throws {
        bank = try ModbusRegisterBank(coils: 0 ..< 8, discreteInputs: 0 ..< 8, holdingRegisters: 0 ..< 20, inputRegisters: 0x100 ..< 0x110)
    }

    func willAnswer(_ request: ModbusRequest) {
        lock.withLock {
            answered.append(request)
            reads &+= 1
            bank.setRegisters(.holding, at: 19, [reads])
        }
    }

    func didWrite(_ request: ModbusRequest) { lock.withLock { written.append(request) } }

    var answeredRequests: [ModbusRequest] { lock.withLock { answered } }
    var writtenRequests: [ModbusRequest] { lock.withLock { written } }
}

/// ParkModbus's TCP endpoint against pymodbus, a Modbus master nobody here wrote.
@Suite(.serialized) struct ModbusTCPServerTests {
    /// Runs a pymodbus script against `port`; returns its JSON lines as dictionaries.
    func pymodbus(_ body: String, port: Int) throws -> [[String: Any]] {
        let directory = try TemporaryDirectory()
        let script = directory.path("client.py"), output = directory.path("out.jsonl")
        try ("""
            import json, sys
            from pymodbus.client import ModbusTcpClient
            client = ModbusTcpClient("127.0.0.1", port=\(port), timeout=2, retries=0)
            assert client.connect(), "cannot connect"
            def call(function, *args, unit, **kwargs):
                try:
                    return function(*args, device_id=unit, **kwargs)
                except TypeError:  # pymodbus before 3.10 calls it slave
                    return function(*args, slave=unit, **kwargs)
            def out(name, result):
                if result.isError():
                    print(json.dumps({"name": name, "exception": getattr(result, "exception_code", None)}), flush=True)
                else:
                    print(json.dumps({"name": name, "registers": getattr(result, "registers", None),
                                      "bits": [bool(b) for b in getattr(result, "bits", [])][:8]}), flush=True)

            """ + body + "\nclient.close()\n").write(toFile: script, atomically: true, encoding: .utf8)
        let process = try ChildProcess(try executablePath("python3"), [script], output: output)
        #expect(process.waitForExit(timeout: .seconds(60)), "pymodbus client did not finish")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(process.status == 0, "pymodbus client failed:\n\(text)")
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func result(_ lines: [[String: Any]], _ name: String) -> [String: Any]? {
        lines.first { $0["name"] as? String == name }
    }

    @Test func manyUnitsOnOnePortAndFaithfulExceptions() throws {
        let server = try ModbusTCPServer()
        let meter = try RecordingUnit(), other = try RecordingUnit()
        let voltage = ModbusValueFormat(.float32, order: .abcd), current = ModbusValueFormat(.float32, order: .cdab)
        let energy = ModbusValueFormat(.uint32, order: .abcd, scale: 100)
        meter.bank.setRegisters(.holding, at: 0, voltage.encode(230.5))
        meter.bank.setRegisters(.holding, at: 2, current.encode(12.25))
        meter.bank.setRegisters(.holding, at: 4, energy.encode(123_456.78))
        meter.bank.setRegisters(.input, at: 0x100, [0xBEEF])
        meter.bank.setBit(.coils, 3, true)
        other.bank.setRegisters(.holding, at: 0, [7])
        server.setUnit(1, meter)
        server.setUnit(7, other)
        try server.start()
        defer { server.stop() }

        let lines = try pymodbus("""
            out("meter", call(client.read_holding_registers, 0, count=6, unit=1))
            out("other", call(client.read_holding_registers, 0, count=1, unit=7))
            out("input", call(client.read_input_registers, 0x100, count=1, unit=1))
            out("coils", call(client.read_coils, 0, count=8, unit=1))
            out("absent", call(client.read_holding_registers, 0, count=1, unit=9))
            out("address", call(client.read_holding_registers, 18, count=4, unit=1))
            # pymodbus refuses to send these, so they go as hand-built frames (MBAP header + PDU).
            import socket, struct
            def raw(name, unit, pdu):
                connection = socket.create_connection(("127.0.0.1", \(server.port)), timeout=2)
                connection.sendall(struct.pack(">HHHB", 1, 0, len(pdu) + 1, unit) + pdu)
                answer = connection.recv(260)
                connection.close()
                print(json.dumps({"name": name, "function": answer[7], "exception": answer[8] if answer[7] & 0x80 else None}), flush=True)
            raw("quantity", 1, struct.pack(">BHH", 0x03, 0, 126))
            raw("function", 1, bytes([0x41, 0x00]))
            out("write", call(client.write_register, 10, 4242, unit=1))
            out("after", call(client.read_holding_registers, 10, count=1, unit=1))
            """, port: server.port)

        let registers = try #require(result(lines, "meter")?["registers"] as? [Int], "\(lines)").map { UInt16($0) }
        #expect(voltage.decode(Array(registers[0 ..< 2])) == 230.5)
        #expect(current.decode(Array(registers[2 ..< 4])) == 12.25)
        #expect(abs((energy.decode(Array(registers[4 ..< 6])) ?? 0) - 123_456.78) < 0.006)
        #expect(result(lines, "other")?["registers"] as? [Int] == [7], "unit 7 answers from its own tables")
        #expect(result(lines, "input")?["registers"] as? [Int] == [0xBEEF])
        #expect((result(lines, "coils")?["bits"] as? [Bool])?[3] == true)
        #expect(result(lines, "absent")?["exception"] as? Int == 0x0B, "absent unit: gateway target failed to respond")
        #expect(result(lines, "address")?["exception"] as? Int == 0x02, "registers 18–21 run past the table")
        #expect(result(lines, "quantity")?["exception"] as? Int == 0x03, "126 registers is more than a read may ask")
        #expect(result(lines, "function")?["exception"] as? Int == 0x01, "function 0x41 is not one a meter has")
        #expect(result(lines, "function")?["function"] as? Int == 0xC1)
        #expect(result(lines, "after")?["registers"] as? [Int] == [4242])
        #expect(meter.writtenRequests == [ModbusRequest(unit: 1, function: 0x06, address: 10, quantity: 1)])
        #expect(meter.answeredRequests.contains(ModbusRequest(unit: 1, function: 0x03, address: 0, quantity: 6)))

        let statistics = server.statistics
        #expect(statistics.absentUnits == 1)
        #expect(statistics.exceptions == 4)
        #expect(statistics.requests == 10)
    }

    /// Garbage on the port closes that connection and is counted, nothing more; a frame that
    /// arrives in pieces is answered once whole.
    @Test func garbageIsDroppedAndSplitFramesAreAnswered() throws {
        let server = try ModbusTCPServer()
        let unit = try RecordingUnit()
        unit.bank.setRegisters(.holding, at: 0, [0x1234, 0x5678])
        server.setUnit(1, unit)
        try server.start()
        defer { server.stop() }
        let lines = try pymodbus("""
            import socket, struct, time
            garbage = socket.create_connection(("127.0.0.1", \(server.port)), timeout=2)
            garbage.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            print(json.dumps({"name": "garbage", "closed": garbage.recv(10) == b""}), flush=True)
            split = socket.create_connection(("127.0.0.1", \(server.port)), timeout=2)
            frame = struct.pack(">HHHB", 7, 0, 6, 1) + struct.pack(">BHH", 3, 0, 2)
            split.sendall(frame[:5]); time.sleep(0.2); split.sendall(frame[5:])
            answer = split.recv(260)
            print(json.dumps({"name": "split", "transaction": struct.unpack(">H", answer[:2])[0], "registers": list(struct.unpack(">HH", answer[9:13]))}), flush=True)
            out("after", call(client.read_holding_registers, 0, count=2, unit=1))
            """, port: server.port)
        #expect(result(lines, "garbage")?["closed"] as? Bool == true)
        #expect(result(lines, "split")?["transaction"] as? Int == 7)
        #expect(result(lines, "split")?["registers"] as? [Int] == [0x1234, 0x5678])
        #expect(result(lines, "after")?["registers"] as? [Int] == [0x1234, 0x5678], "the server goes on serving")
        #expect(server.statistics.badFrames == 1)
    }

    /// Faults: a silent unit makes the master time out, a slow one answers late, a miswired one
    /// answers with another unit id (which pymodbus rejects).
    @Test func faultsAreWhatAMasterSees() throws {
        let server = try ModbusTCPServer()
        let unit = try RecordingUnit()
        server.setUnit(1, unit)
        server.setUnit(2, unit)
        server.setUnit(3, unit)
        server.setFaults(ModbusFaults(silent: true), for: 1)
        server.setFaults(ModbusFaults(delayMicroseconds: 300_000), for: 2)
        server.setFaults(ModbusFaults(replyUnit: 9), for: 3)
        try server.start()
        defer { server.stop() }

        let lines = try pymodbus("""
            import time
            from pymodbus.exceptions import ModbusException
            for name, unit in [("silent", 1), ("slow", 2), ("miswired", 3)]:
                started = time.monotonic()
                try:
                    result = call(client.read_holding_registers, 0, count=1, unit=unit)
                    ok = not result.isError()
                except ModbusException as error:
                    ok = False
                print(json.dumps({"name": name, "ok": ok, "seconds": time.monotonic() - started}), flush=True)
                client.close(); client.connect()
            """, port: server.port)
        #expect(result(lines, "silent")?["ok"] as? Bool == false)
        #expect(result(lines, "slow")?["ok"] as? Bool == true)
        #expect((result(lines, "slow")?["seconds"] as? Double ?? 0) >= 0.3, "answered no sooner than the delay")
        #expect(result(lines, "miswired")?["ok"] as? Bool == false, "\(lines)")
        #expect(server.statistics.silenced >= 1)
    }
}
