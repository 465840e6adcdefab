import Foundation
import ParkModbus
import ParkTestSupport
import Testing

/// A Modbus RTU bus on a pty with several slave addresses, read by pymodbus's serial client.
@Suite(.serialized) struct ModbusRTUServerTests {
    @Test func oneBusManySlavesCRCAndSilence() throws {
        let bus = try ModbusRTUServer(baudRate: 9600, parity: "E")
        let meters = try (1 ... 3).map { _ in try RecordingUnit() }
        for (index, meter) in meters.enumerated() {
            meter.bank.setRegisters(.holding, at: 0, [UInt16(100 + index)])
            bus.setUnit(UInt8(index + 1), meter)
        }
        bus.setFaults(ModbusFaults(corruptCRC: true), for: 3)
        try bus.start()
        defer { bus.stop() }

        let directory = try TemporaryDirectory()
        let script = directory.path("rtu.py"), output = directory.path("out.jsonl")
        try """
            import json, sys, time
            from pymodbus.client import ModbusSerialClient
            # A pty refuses parity settings (EINVAL); the bus records E for its documentation, the line is 8N1.
            client = ModbusSerialClient(port=sys.argv[1], baudrate=9600, parity="N", timeout=0.5, retries=0)
            assert client.connect(), "cannot open the pty"
            def call(function, *args, unit, **kwargs):
                try:
                    return function(*args, device_id=unit, **kwargs)
                except TypeError:
                    return function(*args, slave=unit, **kwargs)
            def attempt(name, unit, address=0, count=1):
                started = time.monotonic()
                try:
                    result = call(client.read_holding_registers, address, count=count, unit=unit)
                    body = {"registers": result.registers} if not result.isError() else {"exception": getattr(result, "exception_code", None)}
                except Exception as error:
                    body = {"error": type(error).__name__}
                body.update({"name": name, "seconds": time.monotonic() - started})
                print(json.dumps(body), flush=True)
            for unit in (1, 2):
                attempt("unit%d" % unit, unit)
            attempt("absent", 9)
            attempt("crc", 3)
            attempt("address", 1, address=18, count=4)
            attempt("again", 2)
            client.close()
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let process = try ChildProcess(try executablePath("python3"), [script, bus.devicePath], output: output)
        #expect(process.waitForExit(timeout: .seconds(60)))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func line(_ name: String) -> [String: Any]? { lines.first { $0["name"] as? String == name } }
        #expect(line("unit1")?["registers"] as? [Int] == [100], "\(text)")
        #expect(line("unit2")?["registers"] as? [Int] == [101])
        #expect(line("absent")?["registers"] == nil && line("absent")?["exception"] == nil, "nobody answers address 9 on a bus: \(text)")
        #expect(line("crc")?["registers"] == nil, "a reply with a broken CRC is not taken: \(text)")
        #expect(line("address")?["exception"] as? Int == 0x02)
        #expect(line("again")?["registers"] as? [Int] == [101], "the bus recovers after silence and noise")
        let statistics = bus.statistics
        #expect(statistics.absentUnits >= 1)
        #expect(bus.baudRate == 9600 && bus.parity == "E")
    }

    @Test func crcIsTheStandardOne() {
        // Read holding registers 0, count 1, slave 1: 01 03 00 00 00 01 84 0A.
        #expect(ModbusCRC.compute([0x01, 0x03, 0x00, 0x00, 0x00, 0x01]) == 0x0A84)
    }
}
