import Foundation
import ParkModbus
import ParkTestSupport
import Testing

/// ParkModbus's master reading a pymodbus server (an independent slave) and our own endpoint.
@Suite(.serialized) struct ModbusMasterTests {
    static let pymodbusServer = """
        import json, sys
        from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext
        try:
            from pymodbus.datastore import ModbusDeviceContext as Context
            key = "devices"
        except ImportError:  # pymodbus before 3.10
            from pymodbus.datastore import ModbusSlaveContext as Context
            key = "slaves"
        from pymodbus.server import StartTcpServer
        port = int(sys.argv[1])
        # Blocks start at 1: protocol address a is values[a] in every pymodbus 3.x.
        device = Context(hr=ModbusSequentialDataBlock(1, [1000 + i for i in range(100)]),
                         ir=ModbusSequentialDataBlock(1, [2000 + i for i in range(100)]))
        StartTcpServer(context=ModbusServerContext(**{key: {3: device}}, single=False), address=("127.0.0.1", port))
        """

    @Test func readsAndWritesAPymodbusServer() throws {
        let server = try PythonPeer(script: Self.pymodbusServer, name: "pymodbus-server")
        defer { server.stop() }
        let port = server.port

        let client = try ModbusMaster(host: "127.0.0.1", port: port)
        #expect(try client.readHoldingRegisters(unit: 3, address: 0, count: 3) == [1000, 1001, 1002])
        #expect(try client.readInputRegisters(unit: 3, address: 5, count: 2) == [2005, 2006])
        try client.writeRegister(unit: 3, address: 7, value: 4242)
        #expect(try client.readHoldingRegisters(unit: 3, address: 7, count: 1) == [4242])
        #expect(throws: ModbusClientError.exception(code: 0x02, "read holding registers 99…101 of unit 3")) {
            try client.readHoldingRegisters(unit: 3, address: 99, count: 3)
        }
    }

    @Test func readsOurEndpointAndNamesWhatFailed() throws {
        final class Unit: ModbusUnit, @unchecked Sendable {
            let bank: ModbusRegisterBank
            init() throws { bank = try ModbusRegisterBank(holdingRegisters: 0x2000 ..< 0x2010) }
        }
        let server = try ModbusTCPServer()
        let unit = try Unit()
        unit.bank.setRegisters(.holding, at: 0x2000, ModbusValueFormat(.float32, order: .cdab).encode(49.98))
        server.setUnit(12, unit)
        server.setFaults(ModbusFaults(silent: true), for: 13)
        server.setUnit(13, unit)
        try server.start()
        defer { server.stop() }

        let client = try ModbusMaster(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 200_000)
        let registers = try client.readHoldingRegisters(unit: 12, address: 0x2000, count: 2)
        #expect(ModbusValueFormat(.float32, order: .cdab).decode(registers).map { abs($0 - 49.98) < 1e-4 } == true)
        do {
            _ = try client.readHoldingRegisters(unit: 40, address: 0x2000, count: 2)
            Issue.record("an absent unit must fail")
        } catch {
            #expect(error == .exception(code: 0x0B, "read holding registers 8192…8193 of unit 40"))
            #expect(error.description.contains("exception 0B (gateway target device failed to respond)"))
        }
        #expect(throws: ModbusClientError.timeout("read holding registers 8192…8192 of unit 13")) {
            try client.readHoldingRegisters(unit: 13, address: 0x2000, count: 1)
        }
        #expect(throws: ModbusClientError.self) { try ModbusMaster(host: "127.0.0.1", port: try freeLoopbackPort()) }
    }

    /// Issue 11, defect 10: a device that drips its answer one byte every 0.3 s — inside
    /// libmodbus's 0.5 s per-byte timeout — once held a request for 4 s (13 bytes) however short
    /// the master's timeout; now the timeout covers the whole answer.
    @Test func aDrippedAnswerTimesOutAsAWhole() throws {
        let server = try PythonPeer(script: HostileMeterPeers.modbus, name: "drip", arguments: ["drip", "0.3"])
        defer { server.stop() }
        let client = try ModbusMaster(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 1_000_000)
        #expect(throws: ModbusClientError.timeout("read holding registers 0…1 of unit 1")) {
            try client.readHoldingRegisters(unit: 1, address: 0, count: 2)
        }
    }

    /// After a timeout the late answer is not taken for the next request's: the master
    /// reconnects, so the second read gets its own registers.
    @Test func aLateAnswerIsNotTakenForTheNextOne() throws {
        let server = try PythonPeer(script: HostileMeterPeers.modbus, name: "slow", arguments: ["slow-first", "1.5"])
        defer { server.stop() }
        let client = try ModbusMaster(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 1_000_000)
        #expect(throws: ModbusClientError.timeout("read input registers 10…11 of unit 1")) {
            try client.readInputRegisters(unit: 1, address: 10, count: 2)
        }
        #expect(try client.readInputRegisters(unit: 1, address: 20, count: 2) == [20, 21])
    }
}
