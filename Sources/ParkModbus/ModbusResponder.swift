import CModbus
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a ``ModbusResponder``'s replies go: its endpoint's connections (a TCP connection or the
/// RTU line), which decide whether a reply may be written at once or must be queued.
protocol ModbusReplyTransport: AnyObject {
    /// A descriptor libmodbus may write the reply to with its own blocking write, because that
    /// write cannot block or be cut short now; nil to have the reply captured and given to ``send(_:to:)``.
    func directDescriptor(for connection: Int32) -> Int32?
    /// Sends (or queues) a reply captured for `connection`.
    func send(_ reply: UnsafeRawBufferPointer, to connection: Int32)
}

/// The part of a Modbus slave endpoint that does not depend on its transport: which unit answers
/// a request, the unit's faults, libmodbus's reply (with its exceptions), and the counters.
/// ``ModbusTCPServer`` and ``ModbusRTUServer`` each own one and feed it whole request frames.
/// Used on its endpoint's thread, except the unit/fault setters and ``statistics``.
///
/// libmodbus writes a reply to a socket itself, with a blocking write. When the transport says
/// that write could block (a peer that does not read), libmodbus writes into a socket pair here
/// instead and the reply is read back and handed to the transport to queue — so no client can
/// stall the endpoint's thread.
final class ModbusResponder: @unchecked Sendable {
    /// What an endpoint does for a unit id nobody has: a TCP gateway answers exception 0B, a
    /// device on an RS-485 bus stays silent (the master times out).
    enum AbsentUnit { case gatewayException, silence }

    let context: OpaquePointer
    let headerLength: Int
    private let absentUnit: AbsentUnit
    private let directory = Mutex<[UInt8: (unit: (any ModbusUnit)?, faults: ModbusFaults)]>([:])
    private let requestCount = Atomic<Int>(0), exceptionCount = Atomic<Int>(0)
    private let absentCount = Atomic<Int>(0), silencedCount = Atomic<Int>(0), badFrameCount = Atomic<Int>(0)
    private let crcErrorCount = Atomic<Int>(0), truncatedCount = Atomic<Int>(0)
    /// Delayed answers, due in monotonic microseconds.
    private var delayed: [(due: UInt64, connection: Int32, request: [UInt8])] = []
    /// libmodbus writes captured replies into [0]; they are read back from [1].
    private var capture: [Int32] = [-1, -1]
    private var captured = [UInt8](repeating: 0, count: 1024)

    init(context: OpaquePointer, absentUnit: AbsentUnit) {
        self.context = context
        headerLength = Int(modbus_get_header_length(context))
        self.absentUnit = absentUnit
    }

    deinit {
        for fd in capture where fd >= 0 { close(fd) }
    }

    func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) {
        directory.withLock { $0[id, default: (nil, .none)].unit = unit }
    }

    func setFaults(_ faults: ModbusFaults, for id: UInt8) {
        directory.withLock { $0[id, default: (nil, .none)].faults = faults }
    }

    func countBadFrame() { badFrameCount.add(1, ordering: .relaxed) }
    func countCRCError() { crcErrorCount.add(1, ordering: .relaxed) }

    var statistics: ModbusEndpointStatistics {
        ModbusEndpointStatistics(
            requests: requestCount.load(ordering: .relaxed),
            exceptions: exceptionCount.load(ordering: .relaxed), absentUnits: absentCount.load(ordering: .relaxed),
            silenced: silencedCount.load(ordering: .relaxed), badFrames: badFrameCount.load(ordering: .relaxed),
            crcErrors: crcErrorCount.load(ordering: .relaxed), truncatedRequests: truncatedCount.load(ordering: .relaxed))
    }

    /// Milliseconds until the next delayed answer is due (-1: none), for the endpoint's poll.
    var nextTimeoutMilliseconds: Int32 {
        guard let due = delayed.map(\.due).min() else { return -1 }
        return max(0, Int32(clamping: (Int64(due) - Int64(MonotonicClock.microseconds()) + 999) / 1000))
    }

    /// Handles a whole request frame that arrived on `connection`.
    func handle(_ bytes: [UInt8], on connection: Int32, transport: some ModbusReplyTransport) {
        guard bytes.count > headerLength else { return }
        let entry = directory.withLock { $0[bytes[headerLength - 1]] }
        requestCount.add(1, ordering: .relaxed)
        let fault = entry?.faults ?? .none
        if fault.silent {
            silencedCount.add(1, ordering: .relaxed)
            return
        }
        if fault.delayMicroseconds > 0 {
            delayed.append((MonotonicClock.microseconds() + UInt64(fault.delayMicroseconds), connection, bytes))
            return
        }
        reply(bytes, on: connection, unit: entry?.unit, faults: fault, transport: transport)
    }

    /// Answers delayed requests that are due, on connections still in `open`.
    func runDue(open: (Int32) -> Bool, transport: some ModbusReplyTransport) {
        guard !delayed.isEmpty else { return }
        let now = MonotonicClock.microseconds()
        let due = delayed.filter { $0.due <= now }
        delayed.removeAll { $0.due <= now }
        for item in due where open(item.connection) {
            let entry = directory.withLock { $0[item.request[headerLength - 1]] }
            reply(item.request, on: item.connection, unit: entry?.unit, faults: entry?.faults ?? .none, transport: transport)
        }
    }

    /// Forgets delayed answers for a closed connection.
    func forget(_ connection: Int32) { delayed.removeAll { $0.connection == connection } }

    private func reply(_ original: [UInt8], on connection: Int32, unit: (any ModbusUnit)?, faults: ModbusFaults,
                       transport: some ModbusReplyTransport) {
        var bytes = original
        // libmodbus echoes the request's unit id; a miswired device answers with another.
        if let replyUnit = faults.replyUnit { bytes[headerLength - 1] = replyUnit }
        if unit == nil, absentUnit == .silence {
            absentCount.add(1, ordering: .relaxed)
            return
        }
        // A corrupted reply has to pass through here to be corrupted.
        let direct = faults.corruptCRC ? nil : transport.directDescriptor(for: connection)
        guard let socket = direct ?? captureSocket() else { return }
        modbus_set_socket(context, socket)
        let sent = answer(bytes, unit: unit)
        guard direct == nil, sent > 0 else { return }
        var length = 0
        while length < Int(sent) {
            let got = captured.withUnsafeMutableBytes {
                recv(capture[1], $0.baseAddress! + length, $0.count - length, Int32(MSG_DONTWAIT))
            }
            guard got > 0 else { break }
            length += got
        }
        guard length > 0 else { return }
        if faults.corruptCRC { captured[length - 1] ^= 0xFF }
        captured.withUnsafeBytes { transport.send(UnsafeRawBufferPointer(rebasing: $0[0 ..< length]), to: connection) }
    }

    /// Has libmodbus answer `bytes` on the socket set for it; returns what libmodbus wrote.
    private func answer(_ bytes: [UInt8], unit: (any ModbusUnit)?) -> Int32 {
        guard let unit else {
            absentCount.add(1, ordering: .relaxed)
            exceptionCount.add(1, ordering: .relaxed)
            return bytes.withUnsafeBufferPointer {
                modbus_reply_exception(context, $0.baseAddress, UInt32(MODBUS_EXCEPTION_GATEWAY_TARGET))
            }
        }
        guard ModbusPDU.isComplete(bytes[headerLength...]) else {
            // libmodbus would read the missing fields from past the frame.
            truncatedCount.add(1, ordering: .relaxed)
            exceptionCount.add(1, ordering: .relaxed)
            return bytes.withUnsafeBufferPointer {
                modbus_reply_exception(context, $0.baseAddress, UInt32(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE))
            }
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
        return sent
    }

    /// The socket libmodbus writes captured replies to (created on first use), or nil if none can be had.
    private func captureSocket() -> Int32? {
        if capture[0] < 0 {
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &capture) == 0 else {
                capture = [-1, -1]
                return nil
            }
        }
        return capture[0]
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
    /// Requests shorter than their function needs, answered with exception 03 (illegal data value).
    public var truncatedRequests = 0
    /// Connections refused while the process had no file descriptor left (TCP).
    public var refusedOutOfDescriptors = 0
    /// Times a connection stopped being read because its master left too many replies unread (TCP).
    public var pausedForBackpressure = 0
}
