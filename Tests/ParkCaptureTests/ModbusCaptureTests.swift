import Foundation
import ParkCapture
import ParkModbus
import ParkTestSupport
import Testing

/// tshark, an independent dissector, reads a capture of ParkModbus's endpoint: every request and
/// answer is well-formed Modbus/TCP, exceptions included.
@Suite struct ModbusCaptureTests {
    final class Unit: ModbusUnit, @unchecked Sendable {
        let bank: ModbusRegisterBank
        init() throws { bank = try ModbusRegisterBank(holdingRegisters: 0 ..< 16, inputRegisters: 0 ..< 16) }
    }

    @Test func tsharkFindsNoMalformedModbus() throws {
        let server = try ModbusTCPServer()
        let unit = try Unit()
        unit.bank.setRegisters(.holding, at: 0, ModbusValueFormat(.float32, order: .cdab).encode(230.25))
        server.setUnit(1, unit)
        try server.start()
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        let file = directory.path("modbus.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "tcp port \(server.port)", file: file) } catch {
            Issue.record("packet capture must work here (root or CAP_NET_RAW): \(error)")
            return
        }
        capture.start()
        let client = try ModbusMaster(host: "127.0.0.1", port: server.port)
        for _ in 0 ..< 20 { _ = try client.readHoldingRegisters(unit: 1, address: 0, count: 2) }
        #expect(throws: ModbusClientError.self) { try client.readHoldingRegisters(unit: 9, address: 0, count: 2) }
        #expect(throws: ModbusClientError.self) { try client.readInputRegisters(unit: 1, address: 14, count: 4) }
        try client.writeRegister(unit: 1, address: 5, value: 77)
        // Let the last segments reach the capture before it stops.
        usleep(200_000)
        _ = capture.stop()

        let decode = ["-r", file, "-d", "tcp.port==\(server.port),mbtcp"]
        let reads = try tshark(decode + ["-Y", "modbus.func_code == 3 && !modbus.exception_code", "-T", "fields", "-e", "mbtcp.trans_id"])
        #expect(reads.split(separator: "\n").count == 41, "21 read requests (one to the absent unit) and 20 answers: \(reads)")
        let exceptions = try tshark(decode + ["-Y", "modbus.exception_code", "-T", "fields", "-e", "modbus.exception_code"])
        #expect(exceptions.split(separator: "\n").sorted() == ["11", "2"], "gateway target 0B and illegal address 02: \(exceptions)")
        #expect(try tshark(decode + ["-Y", "modbus.func_code == 6"]).split(separator: "\n").count == 2)
        #expect(try tshark(decode + ["-Y", "_ws.malformed || _ws.expert.severity == error"]).isEmpty)
    }

}
