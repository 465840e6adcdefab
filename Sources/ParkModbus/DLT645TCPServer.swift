import CLinuxEvents
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One meter on a DL/T 645 bus: its address and what it answers. Called on the server's thread.
public protocol DLT645Meter: AnyObject, Sendable {
    /// Six address bytes, lowest first (``DLT645Frame/address``).
    var address: [UInt8] { get }
    /// The value bytes (BCD, without the identifier) of data item `identifier`
    /// (DI3 DI2 DI1 DI0 as written, e.g. 0x0001_0000 forward active energy); nil if the meter has none.
    func read(_ identifier: UInt32) -> [UInt8]?
    /// Relay control (control code 1C) with operation `code` (1A trip, 1B close allowed, 1C close);
    /// nil when done, else the error byte for the reply.
    func relay(_ code: UInt8) -> UInt8?
    /// Broadcast time synchronisation (control code 08) to `time` (ss mm hh DD MM YY, BCD).
    func synchronise(time: [UInt8])
    /// True while the meter answers nothing (a meter without power, a cut bus wire).
    var isSilent: Bool { get }
}

extension DLT645Meter {
    public var isSilent: Bool { false }
}

/// A TCP endpoint carrying one DL/T 645-2007 bus, as a serial-to-Ethernet converter in front of
/// RS-485 meters does: every frame goes to every meter, and the meter whose address it names
/// answers (nobody answers an unknown address, as on a real bus). `AA…AA` reaches the first
/// meter (point-to-point read-address); `99…99` broadcasts time to all, unanswered.
///
/// Frames are found by ``DLT645Decoder`` (wake-up bytes, split and back-to-back frames, a
/// checksum equal to 0x16, resynchronisation after a length no frame can have). One thread with
/// epoll serves every connection, and replies never block it (``ConnectionLimits``).
public final class DLT645TCPServer: @unchecked Sendable {
    public struct Statistics: Sendable, Hashable {
        public var frames = 0
        public var malformed = 0
        public var unanswered = 0
        public var errorsAnswered = 0
        /// Connections refused while the process had no file descriptor left.
        public var refusedOutOfDescriptors = 0
        /// Times a connection stopped being read because its master left too many answers unread.
        public var pausedForBackpressure = 0
    }

    public let host: String
    public var port: Int { server.port == 0 ? requestedPort : server.port }
    private let requestedPort: Int
    private let server: StreamServer
    private let warning: (@Sendable (String) -> Void)?
    private let meters = Mutex<[any DLT645Meter]>([])
    private let frames = Atomic<Int>(0), malformed = Atomic<Int>(0), unanswered = Atomic<Int>(0), errors = Atomic<Int>(0)
    /// One decoder per connection; server thread only.
    private var decoders: [Int32: DLT645Decoder] = [:]

    /// - Parameters:
    ///   - limits: what a connection may queue before it is no longer read.
    ///   - warning: told (on the server's thread) when the endpoint starts refusing connections for
    ///     want of file descriptors; once per episode.
    public init(host: String = "127.0.0.1", port: Int = 0, limits: ConnectionLimits = .standard,
                warning: (@Sendable (String) -> Void)? = nil) {
        self.host = host
        requestedPort = port
        server = StreamServer(limits: limits)
        self.warning = warning
    }

    deinit { stop() }

    public func add(_ meter: any DLT645Meter) { meters.withLock { $0.append(meter) } }

    public var statistics: Statistics {
        let connections = server.statistics
        return Statistics(frames: frames.load(ordering: .relaxed), malformed: malformed.load(ordering: .relaxed),
                          unanswered: unanswered.load(ordering: .relaxed), errorsAnswered: errors.load(ordering: .relaxed),
                          refusedOutOfDescriptors: connections.refusedOutOfDescriptors,
                          pausedForBackpressure: connections.pausedForBackpressure)
    }

    public func start() throws(ModbusError) {
        try server.start(host: host, port: requestedPort, handlers: StreamServer.Handlers(
            received: { [self] connection, bytes in receive(bytes, on: connection) },
            closed: { [self] connection in decoders[connection] = nil },
            warning: { [warning] in warning?($0) }))
    }

    public func stop() {
        server.stop()
        decoders.removeAll()
    }

    private func receive(_ bytes: UnsafeRawBufferPointer, on fd: Int32) {
        var decoder = decoders.removeValue(forKey: fd) ?? DLT645Decoder()
        let items = decoder.feed(bytes)
        decoders[fd] = decoder
        for item in items {
            switch item {
            case .frame(let frame): handle(frame, on: fd)
            case .malformed: malformed.add(1, ordering: .relaxed)
            }
        }
    }

    private func handle(_ frame: DLT645Frame, on fd: Int32) {
        frames.add(1, ordering: .relaxed)
        guard !frame.isReply else { return }
        let all = meters.withLock { $0 }
        if frame.address == DLT645Frame.broadcastAddress {
            if frame.function == DLT645Frame.Function.broadcastTime.rawValue, frame.data.count == 6 {
                for meter in all { meter.synchronise(time: frame.data) }
            }
            return
        }
        let meter = frame.address == DLT645Frame.wildcardAddress ? all.first : all.first { $0.address == frame.address }
        guard let meter, !meter.isSilent else {
            unanswered.add(1, ordering: .relaxed)
            return
        }
        let reply: DLT645Frame
        switch DLT645Frame.Function(rawValue: frame.function) {
        case .readAddress:
            reply = DLT645Frame(address: meter.address, control: 0x93, data: meter.address)
        case .readData:
            guard frame.data.count >= 4 else { return send(error: 0x01, to: frame, from: meter, on: fd) }
            let identifier = UInt32(frame.data[3]) << 24 | UInt32(frame.data[2]) << 16 | UInt32(frame.data[1]) << 8 | UInt32(frame.data[0])
            guard let value = meter.read(identifier) else {
                // ERR bit 1: no such data item.
                return send(error: 0x02, to: frame, from: meter, on: fd)
            }
            reply = DLT645Frame(address: meter.address, control: 0x91, data: Array(frame.data.prefix(4)) + value)
        case .relayControl:
            guard frame.data.count >= 16 else { return send(error: 0x01, to: frame, from: meter, on: fd) }
            if let failure = meter.relay(frame.data[8]) { return send(error: failure, to: frame, from: meter, on: fd) }
            reply = DLT645Frame(address: meter.address, control: 0x9C)
        case .broadcastTime, nil:
            return send(error: 0x01, to: frame, from: meter, on: fd)
        }
        write(reply, on: fd)
    }

    private func send(error code: UInt8, to request: DLT645Frame, from meter: any DLT645Meter, on fd: Int32) {
        errors.add(1, ordering: .relaxed)
        write(DLT645Frame(address: meter.address, control: request.function | DLT645Frame.replyBit | DLT645Frame.errorBit, data: [code]), on: fd)
    }

    private func write(_ frame: DLT645Frame, on fd: Int32) {
        frame.encoded().withUnsafeBytes { server.send($0, to: fd) }
    }
}
