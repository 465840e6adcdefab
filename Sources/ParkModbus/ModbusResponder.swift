import CModbus
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a ``ModbusResponder``'s replies go: its endpoint's connections (a TCP connection or the
/// RTU line), which decide whether a reply is written at once or queued.
protocol ModbusReplyTransport: AnyObject {
    /// Sends (or queues) the reply built for `connection`, without blocking.
    func send(_ reply: UnsafeRawBufferPointer, to connection: Int32)
    /// The descriptor libmodbus may write a reply for `connection` to itself, when that write can
    /// neither block nor be cut short (nothing queued, the kernel's send queue empty); nil: build
    /// the reply aside and ``send(_:to:)`` it.
    func directDescriptor(for connection: Int32) -> Int32?
}

/// The part of a Modbus slave endpoint that does not depend on its transport: which unit answers
/// a request, the unit's faults, libmodbus's reply (with its exceptions), and the counters.
/// ``ModbusTCPServer`` and ``ModbusRTUServer`` each own one and feed it whole request frames;
/// ``ModbusReplier`` owns one to answer frames given as bytes (tests, the fuzzer).
/// Used on one thread at a time, except the unit/fault setters and ``statistics``.
///
/// libmodbus writes a reply to a socket itself, with a plain `send`. It writes straight to a TCP
/// client only when that write can neither block nor be cut short (nothing queued for the client
/// and the kernel's send queue empty: a reply of at most 260 bytes then goes whole), which is the
/// common case and costs one `send`. Otherwise — a client behind on its reading, a fault that
/// changes the reply's bytes, the RTU line, the bytes-in seam (``reply(to:)``) — it writes into a
/// socket pair the responder owns, the reply is read back and the endpoint's transport sends or
/// queues it, never blocking. Both ways run the same ``write(_:unit:faults:into:)``, so what a
/// fuzzer drives is what a master reaches, and no client that stops reading can stall the
/// endpoint's thread.
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
    /// libmodbus writes replies into [0]; they are read back from [1].
    private let capture: [Int32]
    /// The reply read back; larger than any ADU (260 bytes TCP, 256 RTU).
    private var captured = [UInt8](repeating: 0, count: 1024)

    /// Made with its endpoint, socket pair included: an endpoint that runs out of descriptors
    /// later must still be able to answer the connections it has.
    init(context: OpaquePointer, absentUnit: AbsentUnit) throws(ModbusError) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ModbusError("cannot create the socket pair Modbus replies are built in: \(String(cString: strerror(errno)))")
        }
        capture = pair
        // libmodbus sleeps for the response timeout (0.5 s by default) before it answers an illegal
        // function or quantity, then flushes the socket — a master's setting, meant to let a
        // garbled request drain, which here stalled the endpoint's thread (every client) half a
        // second per such request. The flush reads the empty capture socket; the sleep is 1 µs.
        modbus_set_response_timeout(context, 0, 1)
        self.context = context
        headerLength = Int(modbus_get_header_length(context))
        self.absentUnit = absentUnit
    }

    deinit {
        for fd in capture { close(fd) }
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
        guard let entry = admit(bytes.count, unitID: bytes.count > headerLength ? bytes[headerLength - 1] : 0) else { return }
        if entry.faults.delayMicroseconds > 0 {
            delayed.append((MonotonicClock.microseconds() + UInt64(entry.faults.delayMicroseconds), connection, bytes))
            return
        }
        send(bytes, on: connection, unit: entry.unit, faults: entry.faults, transport: transport)
    }

    /// Answers delayed requests that are due, on connections still in `open`.
    func runDue(open: (Int32) -> Bool, transport: some ModbusReplyTransport) {
        guard !delayed.isEmpty else { return }
        let now = MonotonicClock.microseconds()
        let due = delayed.filter { $0.due <= now }
        delayed.removeAll { $0.due <= now }
        for item in due where open(item.connection) {
            let entry = directory.withLock { $0[item.request[headerLength - 1]] }
            send(item.request, on: item.connection, unit: entry?.unit, faults: entry?.faults ?? .none, transport: transport)
        }
    }

    /// Forgets delayed answers for a closed connection.
    func forget(_ connection: Int32) { delayed.removeAll { $0.connection == connection } }

    /// The reply to one whole request frame (header, PDU, and on RTU the checked CRC), as the
    /// endpoint would send it now: nil when none is due (a frame no longer than its header, a
    /// silent unit, an absent unit on RTU, a broadcast). A unit's delay is the endpoint's
    /// business (when, not what) and is not applied here. Counts as the endpoint counts.
    func reply(to frame: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let entry = admit(frame.count, unitID: frame.count > headerLength ? frame[headerLength - 1] : 0) else { return nil }
        let length = build(frame, unit: entry.unit, faults: entry.faults)
        return length > 0 ? Array(captured[0 ..< length]) : nil
    }

    /// Counts a request and finds its unit; nil when it gets no answer at all (too short to have
    /// a function code, or its unit is silent).
    private func admit(_ count: Int, unitID: UInt8) -> (unit: (any ModbusUnit)?, faults: ModbusFaults)? {
        guard count > headerLength else { return nil }
        let entry = directory.withLock { $0[unitID] }
        requestCount.add(1, ordering: .relaxed)
        let faults = entry?.faults ?? .none
        if faults.silent {
            silencedCount.add(1, ordering: .relaxed)
            return nil
        }
        return (entry?.unit, faults)
    }

    private func send(_ bytes: [UInt8], on connection: Int32, unit: (any ModbusUnit)?, faults: ModbusFaults,
                      transport: some ModbusReplyTransport) {
        // A corrupted CRC has to pass through here to be corrupted.
        if !faults.corruptCRC, let socket = transport.directDescriptor(for: connection) {
            _ = bytes.withUnsafeBufferPointer { write($0, unit: unit, faults: faults, into: socket) }
            return
        }
        let length = bytes.withUnsafeBufferPointer { build($0, unit: unit, faults: faults) }
        guard length > 0 else { return }
        captured.withUnsafeBytes { transport.send(UnsafeRawBufferPointer(rebasing: $0[0 ..< length]), to: connection) }
    }

    /// Has libmodbus build the reply to `request` into the capture socket and reads it back into
    /// ``captured``; returns its length (0: no reply): for ``reply(to:)``, and for an endpoint
    /// whose client cannot take a direct write now.
    private func build(_ request: UnsafeBufferPointer<UInt8>, unit: (any ModbusUnit)?, faults: ModbusFaults) -> Int {
        let sent = write(request, unit: unit, faults: faults, into: capture[0])
        guard sent > 0 else { return 0 }
        var length = 0
        while length < Int(sent) {
            let got = captured.withUnsafeMutableBytes {
                recv(capture[1], $0.baseAddress! + length, min(Int(sent), $0.count) - length, Int32(MSG_DONTWAIT))
            }
            guard got > 0 else { break }
            length += got
        }
        guard length > 0 else { return 0 }
        if faults.corruptCRC { captured[length - 1] ^= 0xFF }
        return length
    }

    /// Has libmodbus write the reply to `request` to `socket`; returns what it wrote (0 or less:
    /// no reply). The one place a reply is made, written straight to a client or built aside.
    private func write(_ request: UnsafeBufferPointer<UInt8>, unit: (any ModbusUnit)?, faults: ModbusFaults, into socket: Int32) -> Int32 {
        if unit == nil, absentUnit == .silence {
            absentCount.add(1, ordering: .relaxed)
            return 0
        }
        modbus_set_socket(context, socket)
        if let replyUnit = faults.replyUnit {
            // libmodbus echoes the request's unit id; a miswired device answers with another.
            var bytes = Array(request)
            bytes[headerLength - 1] = replyUnit
            return bytes.withUnsafeBufferPointer { answer($0, unit: unit) }
        }
        // The caller's bytes themselves, not a copy: a fuzzer that puts the frame against a guard
        // page sees libmodbus read past it.
        return answer(request, unit: unit)
    }

    /// Has libmodbus answer `request` on the socket set for it; returns what libmodbus wrote.
    private func answer(_ request: UnsafeBufferPointer<UInt8>, unit: (any ModbusUnit)?) -> Int32 {
        let base = request.baseAddress!
        guard let unit else {
            absentCount.add(1, ordering: .relaxed)
            exceptionCount.add(1, ordering: .relaxed)
            return exception(request, UInt32(MODBUS_EXCEPTION_GATEWAY_TARGET))
        }
        // Function codes 80–FF are exception replies, never requests; libmodbus answers them
        // "illegal function" with a code that wraps (see exception(_:_:)).
        guard request[headerLength] < 0x80 else {
            exceptionCount.add(1, ordering: .relaxed)
            return exception(request, UInt32(MODBUS_EXCEPTION_ILLEGAL_FUNCTION))
        }
        // The PDU without the RTU CRC: counted in, a PDU two bytes short would pass, and
        // libmodbus would take the CRC for data.
        let checksum = headerLength == 1 ? 2 : 0
        let pdu = request[headerLength ..< max(headerLength, request.count - checksum)]
        guard ModbusPDU.isComplete(pdu) else {
            // libmodbus would read the missing fields from past the frame.
            truncatedCount.add(1, ordering: .relaxed)
            exceptionCount.add(1, ordering: .relaxed)
            return exception(request, UInt32(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE))
        }
        if request[headerLength] == 0x16, pdu.count > 7 {
            // libmodbus applies a mask write whose PDU runs past its 7 bytes and then answers it
            // 03 for its length: the master hears "failed" of a write that took effect. The same
            // answer, without the write.
            exceptionCount.add(1, ordering: .relaxed)
            return exception(request, UInt32(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE))
        }
        let parsed = ModbusRequest(base, length: request.count, headerLength: headerLength)
        if let parsed, !parsed.isWrite { unit.willAnswer(parsed) }
        var sent: Int32
        if request.count < headerLength + 3 {
            // libmodbus reads the two bytes after the function code (an address) for every
            // function, before it looks at which: a PDU of one or two bytes — 11 (report slave id)
            // and 07 are whole in one — would be read past. It gets zeros of ours to read instead.
            let padded = Array(request) + [0, 0]
            sent = padded.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, Int32(request.count), unit.bank.mapping) }
        } else {
            sent = modbus_reply(context, base, Int32(request.count), unit.bank.mapping)
        }
        if sent < 0, errno == ENOPROTOOPT, !(headerLength == 1 && request[0] == 0) {
            // libmodbus knows 07 (read exception status) but returns without a reply, and the
            // master would wait out its timeout; a slave that lacks a function says so: 01. (Not
            // to an RTU broadcast, which is never answered.)
            sent = exception(request, UInt32(MODBUS_EXCEPTION_ILLEGAL_FUNCTION))
        }
        // An exception reply is the header, the function code with its high bit set, and the code
        // (plus the CRC on RTU).
        if sent == Int32(headerLength + 2 + checksum) {
            exceptionCount.add(1, ordering: .relaxed)
        } else if let parsed, parsed.isWrite, sent > 0 {
            unit.didWrite(parsed)
        }
        return sent
    }

    /// libmodbus's exception reply to `request`, whose function code keeps its high bit:
    /// libmodbus adds 0x80 to the request's code, which for a code of 80–FF wraps (FE → 7E), and
    /// a master would read a normal reply. It is handed the code without the high bit instead.
    private func exception(_ request: UnsafeBufferPointer<UInt8>, _ code: UInt32) -> Int32 {
        guard request[headerLength] >= 0x80 else { return modbus_reply_exception(context, request.baseAddress, code) }
        var lowered = Array(request)
        lowered[headerLength] &= 0x7F
        return lowered.withUnsafeBufferPointer { modbus_reply_exception(context, $0.baseAddress, code) }
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
