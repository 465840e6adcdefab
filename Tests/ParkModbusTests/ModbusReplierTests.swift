import ParkModbus
import Testing

/// ModbusReplier: the endpoints' reply building with bytes in and out — the seam the modbus-reply
/// fuzz target drives — gives the bytes a master would receive, byte for byte.
@Suite struct ModbusReplierTests {
    /// An MBAP header (transaction id 0x1234, protocol 0, the length) and unit id 1 before `pdu`.
    func tcp(_ pdu: [UInt8], unit: UInt8 = 1) -> [UInt8] {
        [0x12, 0x34, 0x00, 0x00, 0x00, UInt8(pdu.count + 1), unit] + pdu
    }

    @Test func readHoldingRegistersGivesTheRegisters() throws {
        let replier = try ModbusReplier(framing: .tcp)
        let unit = try RecordingUnit()
        unit.bank.setRegisters(.holding, at: 2, [0x0102, 0xA0B0, 0xFFFF])
        replier.setUnit(1, unit)

        // Read 3 holding registers from address 2.
        let reply = replier.reply(to: tcp([0x03, 0x00, 0x02, 0x00, 0x03]))
        #expect(reply == [0x12, 0x34, 0x00, 0x00, 0x00, 0x09, 0x01, 0x03, 0x06, 0x01, 0x02, 0xA0, 0xB0, 0xFF, 0xFF])
        #expect(unit.answeredRequests == [ModbusRequest(unit: 1, function: 0x03, address: 2, quantity: 3)])
        #expect(replier.statistics.requests == 1 && replier.statistics.exceptions == 0)
    }

    @Test func aShortPDUIsExceptionThree() throws {
        let replier = try ModbusReplier(framing: .tcp)
        let unit = try RecordingUnit()
        replier.setUnit(1, unit)

        // Read input registers with only one byte of the address: libmodbus would take the
        // address and quantity from past the frame.
        let reply = replier.reply(to: tcp([0x04, 0x01]))
        #expect(reply == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x84, 0x03])
        #expect(unit.answeredRequests.isEmpty)
        #expect(replier.statistics.truncatedRequests == 1 && replier.statistics.exceptions == 1)
    }

    @Test func writingACoilChangesTheUnit() throws {
        let replier = try ModbusReplier(framing: .tcp)
        let unit = try RecordingUnit()
        replier.setUnit(1, unit)
        #expect(unit.bank.bit(.coils, 3) == false)

        let request = tcp([0x05, 0x00, 0x03, 0xFF, 0x00])
        // A write single coil reply echoes the request.
        #expect(replier.reply(to: request) == request)
        #expect(unit.bank.bit(.coils, 3) == true)
        #expect(unit.writtenRequests == [ModbusRequest(unit: 1, function: 0x05, address: 3, quantity: 1)])
    }

    @Test func absentSilentAndMiswiredUnits() throws {
        let replier = try ModbusReplier(framing: .tcp)
        replier.setUnit(1, try RecordingUnit())
        replier.setUnit(2, try RecordingUnit())
        replier.setFaults(ModbusFaults(silent: true), for: 1)
        replier.setFaults(ModbusFaults(replyUnit: 9), for: 2)
        let read = [UInt8]([0x03, 0x00, 0x00, 0x00, 0x01])

        // A gateway answers 0B for a unit id nobody has.
        #expect(replier.reply(to: tcp(read, unit: 7)) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x07, 0x83, 0x0B])
        #expect(replier.reply(to: tcp(read, unit: 1)) == nil)
        #expect(replier.reply(to: tcp(read, unit: 2)) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x05, 0x09, 0x03, 0x02, 0x00, 0x00])
        // No function code: nothing to answer.
        #expect(replier.reply(to: [0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x01]) == nil)
        #expect(replier.statistics.absentUnits == 1 && replier.statistics.silenced == 1)
    }

    @Test func rtuRepliesCarryTheCRCAndAbsentUnitsStaySilent() throws {
        let replier = try ModbusReplier(framing: .rtu)
        let unit = try RecordingUnit()
        unit.bank.setRegisters(.holding, at: 0, [0x002A])
        replier.setUnit(5, unit)

        let reply = try #require(replier.reply(to: rtu([0x05, 0x03, 0x00, 0x00, 0x00, 0x01])))
        #expect(reply == rtu([0x05, 0x03, 0x02, 0x00, 0x2A]))
        #expect(replier.reply(to: rtu([0x06, 0x03, 0x00, 0x00, 0x00, 0x01])) == nil)
    }

    func rtu(_ bytes: [UInt8]) -> [UInt8] {
        let crc = ModbusCRC.compute(bytes)
        return bytes + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }
}
