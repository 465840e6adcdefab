import CModbus
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The part of a Modbus slave endpoint that does not depend on its transport: which unit answers
/// a request, the unit's faults, libmodbus's reply (with its exceptions), and the counters.
/// ``ModbusTCPServer`` and ``ModbusRTUServer`` each own one and feed it whole request frames.
/// Used on its endpoint's thread, except the unit/fault setters and ``statistics``.
final class ModbusResponder: @unchecked Sendable {
    /// What an endpoint does for a unit id nobody has: a TCP gateway answers exception 0B, a
    /// device on an RS-485 bus stays silent (the master times out).
    enum AbsentUnit { case gatewayException, silence }

    let context: OpaquePointer
    let headerLength: Int
    private let absentUnit: AbsentUnit
    private let directory = Mutex<[UInt8: (unit: (any ModbusUnit)?, faults: ModbusFaults)]>([:])
    private let accepted = Atomic<Int>(0), requestCount = Atomic<Int>(0), exceptionCount = Atomic<Int>(0)
    private let absentCount = Atomic<Int>(0), silencedCount = Atomic<Int>(0), badFrameCount = Atomic<Int>(0)
    private let crcErrorCount = Atomic<Int>(0)
    /// Delayed answers, due in monotonic microseconds.
    private var delayed: [(due: UInt64, fd: Int32, request: [UInt8])] = []

    init(context: OpaquePointer, absentUnit: AbsentUnit) {
        self.context = context
        headerLength = Int(modbus_get_header_length(context))
        self.absentUnit = absentUnit
    }

    func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) {
        directory.withLock { $0[id, default: (nil, .none)].unit = unit }
    }

    func setFaults(_ faults: ModbusFaults, for id: UInt8) {
        directory.withLock { $0[id, default: (nil, .none)].faults = faults }
    }

    func countAccepted() { accepted.add(1, ordering: .relaxed) }
    func countBadFrame() { badFrameCount.add(1, ordering: .relaxed) }
    func countCRCError() { crcErrorCount.add(1, ordering: .relaxed) }

    var statistics: ModbusEndpointStatistics {
        ModbusEndpointStatistics(
            connectionsAccepted: accepted.load(ordering: .relaxed), requests: requestCount.load(ordering: .relaxed),
            exceptions: exceptionCount.load(ordering: .relaxed), absentUnits: absentCount.load(ordering: .relaxed),
            silenced: silencedCount.load(ordering: .relaxed), badFrames: badFrameCount.load(ordering: .relaxed),
            crcErrors: crcErrorCount.load(ordering: .relaxed))
    }

    /// Milliseconds until the next delayed answer is due (-1: none), for the endpoint's poll.
    var nextTimeoutMilliseconds: Int32 {
        guard let due = delayed.map(\.due).min() else { return -1 }
        return max(0, Int32(clamping: (Int64(due) - Int64(Self.nowMicroseconds()) + 999) / 1000))
    }

    /// Handles a whole request frame that arrived on `fd`.
    func handle(_ bytes: [UInt8], on fd: Int32) {
        guard bytes.count > headerLength else { return }
        let entry = directory.withLock { $0[bytes[headerLength - 1]] }
        requestCount.add(1, ordering: .relaxed)
        let fault = entry?.faults ?? .none
        if fault.silent {
            silencedCount.add(1, ordering: .relaxed)
            return
        }
        if fault.delayMicroseconds > 0 {
            delayed.append((Self.nowMicroseconds() + UInt64(fault.delayMicroseconds), fd, bytes))
            return
        }
        reply(bytes, on: fd, unit: entry?.unit, faults: fault)
    }

    /// Answers delayed requests that are due, on connections still in `open`.
    func runDue(open: (Int32) -> Bool) {
        guard !delayed.isEmpty else { return }
        let now = Self.nowMicroseconds()
        let due = delayed.filter { $0.due <= now }
        delayed.removeAll { $0.due <= now }
        for item in due where open(item.fd) {
            let entry = directory.withLock { $0[item.request[headerLength - 1]] }
            reply(item.request, on: item.fd, unit: entry?.unit, faults: entry?.faults ?? .none)
        }
    }

    /// Forgets delayed answers for a closed connection.
    func forget(_ fd: Int32) { delayed.removeAll { $0.fd == fd } }

    private func reply(_ original: [UInt8], on fd: Int32, unit: (any ModbusUnit)?, faults: ModbusFaults) {
        var bytes = original
        // libmodbus echoes the request's unit id; a miswired device answers with another.
        if let replyUnit = faults.replyUnit { bytes[headerLength - 1] = replyUnit }
        // A reply with a bad CRC is built into a socket pair, corrupted, then passed on.
        var pair: [Int32] = [-1, -1]
        let corrupt = faults.corruptCRC && socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0
        modbus_set_socket(context, corrupt ? pair[0] : fd)
        defer {
            if corrupt {
                var buffer = [UInt8](repeating: 0, count: 512)
                let got = buffer.withUnsafeMutableBytes { recv(pair[1], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if got > 0 {
                    buffer[got - 1] ^= 0xFF
                    _ = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, got) }
                }
                close(pair[0])
                close(pair[1])
            }
        }
        guard let unit else {
            absentCount.add(1, ordering: .relaxed)
            guard absentUnit == .gatewayException else { return }
            exceptionCount.add(1, ordering: .relaxed)
            _ = bytes.withUnsafeBufferPointer {
                modbus_reply_exception(context, $0.baseAddress, UInt32(MODBUS_EXCEPTION_GATEWAY_TARGET))
            }
            return
        }
        let request = bytes.withUnsafeBufferPointer { ModbusRequest($0.baseAddress!, length: bytes.count, headerLength: headerLength) }
        if let request, !request.isWrite { unit.willAnswer(request) }
        let sent = bytes.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, Int32(bytes.count), unit.bank.mapping) }
        // An exception reply is the header, the function code with its high bit set, and the code
        // (plus the CRC on RTU).
        let checksum = headerLength == 1 ? 2 : 0
        if sent == Int32(headerLength + 2 + checksum) {
            exceptionCount.add(1, ordering: .relaxed)
        } else if let request, request.isWrite, sent > 0 {
            unit.didWrite(request)
        }
    }

    static func nowMicroseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }
}

/// Counters of a Modbus endpoint since it started.
public struct ModbusEndpointStatistics: Sendable, Hashable {
    public var connectionsAccepted = 0
    public var requests = 0
    /// Requests answered with an exception (by libmodbus or for an absent unit).
    public var exceptions = 0
    /// Requests for unit ids nobody answers (exception 0x0B on TCP, silence on RTU).
    public var absentUnits = 0
    /// Requests left unanswered on purpose (``ModbusFaults/silent``).
    public var silenced = 0
    /// Frames that could not be read (bad length, not Modbus, a client that stopped mid-frame).
    public var badFrames = 0
    /// RTU requests whose CRC was wrong (ignored, as a real slave does).
    public var crcErrors = 0
}
