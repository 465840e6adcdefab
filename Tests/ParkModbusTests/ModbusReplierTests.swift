#if canImport(Glibc)
import Glibc
#endif
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

    // MARK: - Found by the modbus-reply fuzz target

    /// Report slave id (11) is a whole request in one byte, but libmodbus reads the two bytes
    /// after the function code (as an address) for every function before it looks at which: a
    /// frame ending against an unreadable page crashed the process. libmodbus is not built with
    /// the address sanitizer, so only such a page shows the read.
    @Test func aOneBytePDUIsNotReadPast() throws {
        let replier = try ModbusReplier(framing: .tcp)
        replier.setUnit(1, try RecordingUnit())
        let reply = try #require(try guarded(tcp([0x11])) { replier.reply(to: $0) })
        // The unit's id (0xB4 in libmodbus), run indicator on, then "LMB" and libmodbus's version.
        #expect(Array(reply[0 ..< 8]) == [0x12, 0x34, 0x00, 0x00, 0x00, UInt8(reply.count - 6), 0x01, 0x11])
        #expect(Int(reply[8]) == reply.count - 9 && Array(reply[9 ..< 14]) == [0xB4, 0xFF, 0x4C, 0x4D, 0x42])
    }

    /// Runs `body` on a copy of `bytes` that ends where an unreadable page begins, so a read past
    /// the end crashes instead of finding whatever lies there.
    func guarded<T>(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(pages != MAP_FAILED && mprotect(pages + page, page, PROT_NONE) == 0)
        defer { munmap(pages, 2 * page) }
        let start = pages.assumingMemoryBound(to: UInt8.self) + page - bytes.count
        _ = UnsafeMutableBufferPointer(start: start, count: bytes.count).initialize(from: bytes)
        return try body(UnsafeBufferPointer(start: start, count: bytes.count))
    }

    /// A mask write (16) on RTU whose PDU is two bytes short: the CRC was counted as PDU, so the
    /// request passed as complete and libmodbus took the CRC for the OR mask and wrote it.
    @Test func aShortRTUPDUIsExceptionThreeNotItsCRCTakenForData() throws {
        let replier = try ModbusReplier(framing: .rtu)
        let unit = try RecordingUnit()
        unit.bank.setRegisters(.holding, at: 0, [0x1234])
        replier.setUnit(5, unit)

        // Address 0 and an AND mask of 0; no OR mask, so the CRC would be written as the value.
        #expect(replier.reply(to: rtu([0x05, 0x16, 0x00, 0x00, 0x00, 0x00])) == rtu([0x05, 0x96, 0x03]))
        #expect(unit.bank.register(.holding, 0) == 0x1234)
        #expect(unit.writtenRequests.isEmpty)
    }

    /// Function codes 80–FF are exception replies, never requests. libmodbus answers with the
    /// code + 0x80, which wraps: a request 83 got the reply 03 01, which a master reads as a
    /// register read with a byte count of 1.
    @Test func aFunctionWithTheHighBitIsIllegalFunctionWithTheHighBitKept() throws {
        let replier = try ModbusReplier(framing: .tcp)
        let unit = try RecordingUnit()
        replier.setUnit(1, unit)

        #expect(replier.reply(to: tcp([0x83, 0x00, 0x00, 0x00, 0x01])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x01])
        #expect(replier.reply(to: tcp([0xFF])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0xFF, 0x01])
        // For an absent unit too (exception 0B).
        #expect(replier.reply(to: tcp([0x90], unit: 7)) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x07, 0x90, 0x0B])
        #expect(unit.answeredRequests.isEmpty)
    }

    /// libmodbus 3.1.6 knows 07 (read exception status) but returns -1 without a reply, so the
    /// master waited for its timeout. A slave that does not implement a function answers 01.
    @Test func readExceptionStatusIsIllegalFunctionNotSilence() throws {
        let tcpReplier = try ModbusReplier(framing: .tcp)
        tcpReplier.setUnit(1, try RecordingUnit())
        #expect(tcpReplier.reply(to: tcp([0x07])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x87, 0x01])

        let rtuReplier = try ModbusReplier(framing: .rtu)
        rtuReplier.setUnit(5, try RecordingUnit())
        #expect(rtuReplier.reply(to: rtu([0x05, 0x07])) == rtu([0x05, 0x87, 0x01]))
    }

    /// libmodbus slept its response timeout (0.5 s) before every "illegal function" or "illegal
    /// quantity" answer and then flushed the socket — on the endpoint's thread, so every client
    /// waited. Found by the fuzz target's rate: 15 executions a second.
    @Test func illegalRequestsAreAnsweredWithoutSleeping() throws {
        let replier = try ModbusReplier(framing: .tcp)
        replier.setUnit(1, try RecordingUnit())
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0 ..< 10 {
            // Read 0 registers: 03. Function 42, which nobody implements: 01.
            #expect(replier.reply(to: tcp([0x03, 0x00, 0x00, 0x00, 0x00])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03])
            #expect(replier.reply(to: tcp([0x42])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0xC2, 0x01])
        }
        // 10 s before.
        #expect(clock.now - started < .seconds(1))
    }

    /// libmodbus applied a mask write (16) whose PDU ran past its 7 bytes, then answered it 03:
    /// the master heard "failed" of a write that took effect.
    @Test func aMaskWriteTooLongIsRefusedWithoutBeingApplied() throws {
        let replier = try ModbusReplier(framing: .tcp)
        let unit = try RecordingUnit()
        replier.setUnit(1, unit)

        // Register 0: AND 0x0002, OR 0x0403, then one byte too many.
        #expect(replier.reply(to: tcp([0x16, 0x00, 0x00, 0x00, 0x02, 0x04, 0x03, 0x01])) == [0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x96, 0x03])
        #expect(unit.bank.register(.holding, 0) == 0)
        #expect(unit.writtenRequests.isEmpty)
        // Without it, the write is applied and echoed.
        let exact = tcp([0x16, 0x00, 0x00, 0x00, 0x02, 0x04, 0x03])
        #expect(replier.reply(to: exact) == exact)
        #expect(unit.bank.register(.holding, 0) == 0x0401)
    }

    func rtu(_ bytes: [UInt8]) -> [UInt8] {
        let crc = ModbusCRC.compute(bytes)
        return bytes + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
    }
}
