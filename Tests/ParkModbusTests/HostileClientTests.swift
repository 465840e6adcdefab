import Foundation
import ParkModbus
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Modbus TCP and DL/T 645 endpoints against masters that misbehave: a request cut short, a
/// client that floods without reading, a process out of file descriptors, a corrupted header.
/// Each one must cost that client its answers at most, never another client's.
@Suite(.serialized) struct HostileClientTests {
    /// Read input registers 0x100, `quantity` of them, from unit 1 as transaction `id`.
    func readInputs(_ id: UInt16, quantity: UInt8 = 10) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0, 0, 0, 6, 1, 0x04, 0x01, 0x00, 0, quantity]
    }

    /// A request whose MBAP length (3) leaves its PDU without address and quantity used to be
    /// answered from the bytes of the previous request still in memory (a heap over-read).
    @Test func aTruncatedPDUIsRefusedWithException03NotAnsweredFromStaleBytes() throws {
        let server = try ModbusTCPServer()
        let unit = try RecordingUnit()
        server.setUnit(1, unit)
        try server.start()
        defer { server.stop() }
        let client = try RawTCPClient(port: server.port)
        try client.write(readInputs(1))
        #expect(client.read(9 + 20)?.prefix(9) == [0, 1, 0, 0, 0, 23, 1, 0x04, 20])
        try client.write([0, 2, 0, 0, 0, 3, 1, 0x04, 0x01])
        #expect(client.read(9) == [0, 2, 0, 0, 0, 3, 1, 0x84, 0x03])
        // Write multiple registers whose byte count promises more data than the frame holds.
        try client.write([0, 3, 0, 0, 0, 8, 1, 0x10, 0, 0, 0, 2, 4, 0xAB])
        #expect(client.read(9) == [0, 3, 0, 0, 0, 3, 1, 0x90, 0x03])
        #expect(unit.writtenRequests.isEmpty)
        #expect(server.statistics.truncatedRequests == 2)
        // The connection is still good.
        try client.write(readInputs(4))
        #expect(client.read(9 + 20)?.prefix(2) == [0, 4])
    }

    @Test func requiredLengthsFollowWhatLibmodbusReads() {
        #expect(ModbusPDU.requiredLength([0x03]) == 5)
        #expect(ModbusPDU.requiredLength([0x10, 0, 0, 0, 2, 4]) == 10)
        #expect(ModbusPDU.requiredLength([0x17, 0, 0, 0, 1, 0, 0, 0, 1, 2]) == 12)
        #expect(ModbusPDU.requiredLength([0x2B]) == 1)
        #expect(!ModbusPDU.isComplete([0x06, 0, 1, 0]))
        #expect(ModbusPDU.isComplete([0x06, 0, 1, 0, 5]))
        #expect(ModbusTCPFraming.next([0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0]) == .needMore)
        #expect(ModbusTCPFraming.next([0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]) == .frame(length: 12))
        if case .invalid = ModbusTCPFraming.next([0, 1, 0, 1, 0, 6, 1, 3]) {} else { Issue.record("protocol id 1 accepted") }
        if case .invalid = ModbusTCPFraming.next([0, 1, 0, 0, 0, 1, 1, 3]) {} else { Issue.record("MBAP length 1 accepted") }
    }

    /// A unit with 125 input registers from 0: the largest read there is.
    final class WideUnit: ModbusUnit, @unchecked Sendable {
        let bank: ModbusRegisterBank
        init() throws { bank = try ModbusRegisterBank(inputRegisters: 0 ..< 125) }
        func willAnswer(_ request: ModbusRequest) {}
        func didWrite(_ request: ModbusRequest) {}
    }

    /// Pipelined reads whose answers are never read used to block the endpoint's thread in send(),
    /// so every other master timed out. Now the flooder's replies queue up to the limit, it stops
    /// being read, another master is served throughout, and the flooder gets every answer once it reads.
    @Test func aMasterThatNeverReadsDoesNotStallTheOthers() throws {
        let server = try ModbusTCPServer(limits: ConnectionLimits(outputQueueBytes: 64 * 1024))
        server.setUnit(1, try WideUnit())
        server.setUnit(2, try RecordingUnit())
        try server.start()
        defer { server.stop() }
        let flooder = try RawTCPClient(port: server.port, receiveBuffer: 4096)
        // 12-byte requests for 125 registers: 259-byte answers.
        let sent = flooder.flood({ [UInt8(truncatingIfNeeded: $0 >> 8), UInt8(truncatingIfNeeded: $0), 0, 0, 0, 6, 1, 0x04, 0, 0, 0, 125] },
                                 until: { server.statistics.pausedForBackpressure >= 1 })
        #expect(server.statistics.pausedForBackpressure >= 1, "the endpoint never pushed back on a master that does not read")

        let other = try RawTCPClient(port: server.port)
        for id in 0 ..< 20 {
            try other.write([0, UInt8(id), 0, 0, 0, 6, 2, 0x04, 0x01, 0x00, 0, 10])
            #expect(other.read(9 + 20)?.prefix(2) == [0, UInt8(id)], "request \(id) of a well-behaved master went unanswered")
        }

        // Nothing the flooder asked for was dropped: backpressure, not loss.
        var answered = 0
        while answered < sent, let reply = flooder.read(9 + 250) {
            if reply[7] != 0x04 || reply[8] != 250 { break }
            answered += 1
        }
        #expect(answered == sent)
    }

    /// Out of file descriptors, the accept loop used to spin on the waiting connection (96 % of a
    /// core) and serve nobody. Now the connection is refused at once and, once descriptors are
    /// free again, the next master is served.
    @Test func outOfDescriptorsTheEndpointRefusesAndRecovers() throws {
        let server = try ModbusTCPServer()
        server.setUnit(1, try RecordingUnit())
        try server.start()
        defer { server.stop() }

        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let saved = limit
        var hogs: [Int32] = []
        defer {
            for fd in hogs { close(fd) }
            var restore = saved
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
        }
        // Take every descriptor up to a low limit but one, which the client's socket takes.
        limit.rlim_cur = rlim_t(max(256, Self.highestOpenDescriptor() + 32))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        while true {
            let fd = open("/dev/null", O_RDONLY)
            if fd < 0 { break }
            hogs.append(fd)
        }
        close(hogs.removeLast())
        let refused = try RawTCPClient(port: server.port)
        let closedAtOnce = refused.peerClosed()
        for fd in hogs { close(fd) }
        hogs = []
        var restore = saved
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)

        #expect(closedAtOnce, "the connection waited in the backlog while the endpoint had no descriptor")
        #expect(server.statistics.refusedOutOfDescriptors >= 1)
        let served = try RawTCPClient(port: server.port)
        try served.write(readInputs(9))
        #expect(served.read(9 + 20)?.prefix(2) == [0, 9])
    }

    static func highestOpenDescriptor() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap(Int.init).max() ?? 64
    }

    /// A meter that answers every read with the same value.
    final class FixedMeter: DLT645Meter, @unchecked Sendable {
        let address = DLT645Frame.address("000000000001")!
        func read(_ identifier: UInt32) -> [UInt8]? { [0x00, 0x12, 0x34, 0x00] }
        func relay(_ code: UInt8) -> UInt8? { nil }
        func synchronise(time: [UInt8]) {}
    }

    var energyRead: [UInt8] {
        DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: [0x00, 0x00, 0x01, 0x00]).encoded()
    }

    /// The same stall in the DL/T 645 endpoint: a master flooding reads without reading answers.
    @Test func dlt645MasterThatNeverReadsDoesNotStallTheOthers() throws {
        let server = DLT645TCPServer(limits: ConnectionLimits(outputQueueBytes: 32 * 1024))
        server.add(FixedMeter())
        try server.start()
        defer { server.stop() }
        let flooder = try RawTCPClient(port: server.port, receiveBuffer: 4096)
        let request = energyRead
        let sent = flooder.flood({ _ in request }, until: { server.statistics.pausedForBackpressure >= 1 })
        #expect(server.statistics.pausedForBackpressure >= 1, "the endpoint never pushed back on a master that does not read")

        let other = try RawTCPClient(port: server.port)
        let answerLength = 4 + 12 + 8
        for attempt in 0 ..< 10 {
            try other.write(request)
            let reply = other.read(answerLength)
            #expect(reply?[12] == 0x91, "read \(attempt) of a well-behaved master went unanswered")
        }
        var answered = 0
        while answered < sent, flooder.read(answerLength) != nil { answered += 1 }
        #expect(answered == sent)
    }

    /// A header whose length byte no frame can have (FF > 200) used to make the endpoint wait for
    /// 267 bytes, swallowing the valid read right behind it.
    @Test func dlt645ResynchronisesAfterAnImpossibleLength() throws {
        let server = DLT645TCPServer()
        server.add(FixedMeter())
        try server.start()
        defer { server.stop() }
        let client = try RawTCPClient(port: server.port)
        let oversize: [UInt8] = [0x68, 0x01, 0, 0, 0, 0, 0, 0x68, 0x11, 0xFF, 0x33, 0x33]
        try client.write(oversize + energyRead)
        #expect(client.read(4 + 12 + 8)?[12] == 0x91)
        #expect(server.statistics.malformed >= 1)

        var decoder = DLT645Decoder()
        let items = decoder.feed(oversize + energyRead)
        #expect(items.count == 2)
        #expect(items.last.map { if case .frame = $0 { true } else { false } } == true)
    }
}
