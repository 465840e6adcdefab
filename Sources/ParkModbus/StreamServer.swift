import CLinuxEvents
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one TCP endpoint allows a connection before it stops serving it, so a client that
/// misbehaves costs bounded memory and never holds up the others.
public struct ConnectionLimits: Sendable, Hashable {
    /// Replies queued for a peer that does not read them (bytes). Past this the connection is no
    /// longer read until the peer takes its replies: its requests wait in the kernel, and the peer's
    /// own sends block (TCP flow control) — every other connection keeps being served. One read's
    /// worth of requests may be answered past the limit, so the queue holds at most this much plus
    /// the replies to ``readBufferBytes`` of requests.
    public var outputQueueBytes: Int
    /// Bytes read from a connection at a time.
    public var readBufferBytes: Int

    public init(outputQueueBytes: Int = 256 * 1024, readBufferBytes: Int = 16 * 1024) {
        self.outputQueueBytes = max(1, outputQueueBytes)
        self.readBufferBytes = max(64, readBufferBytes)
    }

    public static let standard = ConnectionLimits()
}

/// Counters of a TCP endpoint's connections since it started.
public struct ConnectionStatistics: Sendable, Hashable {
    public var accepted = 0
    /// Connections refused (accepted and closed at once) while the process had no file descriptor
    /// left (EMFILE/ENFILE).
    public var refusedOutOfDescriptors = 0
    /// Times a connection stopped being read because its peer left too many replies unread.
    public var pausedForBackpressure = 0
    /// Replies that could not be written (the peer's connection failed while they were queued).
    public var repliesLost = 0
}

/// A listening TCP socket and its connections, served on one ``EventThread``: what the Modbus TCP
/// and DL/T 645 endpoints share. It accepts — refusing rather than spinning when the process is out
/// of file descriptors —, hands what each connection receives to the protocol on top, and writes
/// its replies without ever blocking the thread: a peer that stops reading gets its replies queued
/// up to ``ConnectionLimits/outputQueueBytes`` and then is not read until it catches up.
///
/// Everything but ``statistics`` and ``start(host:port:timeout:)``'s caller side runs on the
/// thread; the protocol's callbacks are called there too.
final class StreamServer: @unchecked Sendable {
    /// The protocol on top: what a connection sent, and that it closed.
    struct Handlers {
        var received: (_ connection: Int32, _ bytes: UnsafeRawBufferPointer) -> Void
        var closed: (_ connection: Int32) -> Void
        /// After every wake-up (readiness or timeout): for answers that were due.
        var tick: () -> Void = {}
        /// Milliseconds until ``tick`` is due at the latest (-1: only on readiness).
        var timeout: () -> Int32 = { -1 }
        /// A warning worth a person's attention (running out of descriptors); once per episode.
        var warning: (String) -> Void = { _ in }
    }

    /// A class, so queues grow in place rather than being copied out of the dictionary.
    private final class Connection {
        var output: [UInt8] = []
        /// Bytes of ``output`` already written.
        var written = 0
        var readingPaused = false
        var watchingWrites = false
        var failed = false
        var queued: Int { output.count - written }
    }

    let limits: ConnectionLimits
    private(set) var port = 0
    private var listenSocket: Int32 = -1
    private var events: EventThread?
    private var handlers: Handlers?
    private var connections: [Int32: Connection] = [:]
    private var scratch: [UInt8]
    /// Held open so that, out of descriptors, one can be freed to accept and close a connection
    /// instead of leaving it in the backlog, where epoll would report it again at once.
    private var reserveDescriptor: Int32 = -1
    /// Monotonic milliseconds until which the listening socket is not watched (no reserve left).
    private var acceptPausedUntil: UInt64?
    private var refusing = false
    private let counters = Mutex(ConnectionStatistics())

    init(limits: ConnectionLimits) {
        self.limits = limits
        scratch = [UInt8](repeating: 0, count: limits.readBufferBytes)
    }

    deinit { stop() }

    var statistics: ConnectionStatistics { counters.withLock { $0 } }

    /// Listens on `host:port` (0: a free port, see ``port``) and starts the thread.
    func start(host: String, port requested: Int, handlers: Handlers) throws(ModbusError) {
        precondition(events == nil, "endpoint already started")
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { throw ModbusError("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(clamping: requested).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(socket)
            throw ModbusError("cannot listen on \(host):\(requested): not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw ModbusError("cannot listen on \(host):\(requested): \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listenSocket = socket
        reserveDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        self.handlers = handlers
        do {
            let events = try EventThread()
            self.events = events
            try events.watch(listenSocket)
            try events.start(timeout: { [self] in nextTimeout(handlers.timeout()) }) { [self] ready in
                for item in ready { serve(item) }
                resumeAcceptingIfDue()
                handlers.tick()
            }
        } catch {
            self.events = nil
            close(listenSocket)
            listenSocket = -1
            if reserveDescriptor >= 0 { close(reserveDescriptor) }
            reserveDescriptor = -1
            self.handlers = nil
            throw ModbusError("cannot start an endpoint thread: \(error)")
        }
    }

    /// Stops the thread and closes every connection. Idempotent.
    func stop() {
        guard let events else { return }
        events.stop()
        self.events = nil
        for fd in connections.keys { close(fd) }
        connections.removeAll()
        if listenSocket >= 0 { close(listenSocket) }
        listenSocket = -1
        if reserveDescriptor >= 0 { close(reserveDescriptor) }
        reserveDescriptor = -1
        handlers = nil
    }

    // MARK: - Writing (server thread)

    /// Whether a reply of at most a few hundred bytes may be written to `connection` directly, by a
    /// library that writes with a plain `send`: nothing is queued before it and the kernel's send
    /// queue is empty, so the write can neither block nor be cut short.
    func acceptsDirectWrite(_ connection: Int32) -> Bool {
        guard let state = connections[connection], state.queued == 0, !state.failed else { return false }
        return parkbench_unacknowledged_bytes(connection) == 0
    }

    /// Writes `bytes` to `connection` as far as the kernel takes them now and queues the rest.
    func send(_ bytes: UnsafeRawBufferPointer, to connection: Int32) {
        guard let state = connections[connection], !state.failed, bytes.count > 0 else { return }
        var offset = 0
        if state.queued == 0 {
            let sent = Glibc.send(connection, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                state.failed = true
                counters.withLock { $0.repliesLost += 1 }
                return
            }
            offset = max(0, sent)
        }
        if offset < bytes.count {
            if state.written > 0, state.written >= state.output.count / 2 {
                state.output.removeFirst(state.written)
                state.written = 0
            }
            state.output.append(contentsOf: bytes[offset...])
        }
    }

    /// Closes `connection` (its peer sent what cannot be framed); the protocol hears ``Handlers/closed``.
    func disconnect(_ connection: Int32) { drop(connection) }

    // MARK: - Server thread

    private func serve(_ item: Readiness) {
        if item.fd == listenSocket {
            acceptPending()
            return
        }
        guard let state = connections[item.fd] else { return }
        if item.writable { flush(item.fd) }
        if item.readable || (item.failed && !state.readingPaused) {
            receive(on: item.fd)
        } else if item.failed {
            drop(item.fd)
            return
        }
        settle(item.fd)
    }

    private func receive(on fd: Int32) {
        let got = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            drop(fd)
            return
        }
        guard got > 0 else { return }
        scratch.withUnsafeBytes { handlers?.received(fd, UnsafeRawBufferPointer(rebasing: $0[0 ..< got])) }
    }

    private func flush(_ fd: Int32) {
        guard let state = connections[fd], state.queued > 0 else { return }
        let sent = state.output.withUnsafeBytes {
            Glibc.send(fd, $0.baseAddress! + state.written, state.queued, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        if sent > 0 { state.written += sent }
        if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { state.failed = true }
        if state.queued == 0 {
            // Give the memory back: a queue that once held a burst should not keep it.
            state.output = []
            state.written = 0
        }
    }

    /// After a connection was served: drops it if its peer failed; watches it for writes while
    /// replies are queued; stops reading it over the limit and resumes under half of it.
    private func settle(_ fd: Int32) {
        guard let state = connections[fd] else { return }
        if state.failed {
            if state.queued > 0 { counters.withLock { $0.repliesLost += 1 } }
            drop(fd)
            return
        }
        let wantWrites = state.queued > 0
        var pause = state.readingPaused
        if !pause, state.queued >= limits.outputQueueBytes {
            pause = true
            counters.withLock { $0.pausedForBackpressure += 1 }
        } else if pause, state.queued < limits.outputQueueBytes / 2 {
            pause = false
        }
        guard wantWrites != state.watchingWrites || pause != state.readingPaused else { return }
        state.watchingWrites = wantWrites
        state.readingPaused = pause
        try? events?.change(fd, reading: !pause, writing: wantWrites)
    }

    private func acceptPending() {
        // A bounded batch per wake-up keeps the other connections served during a connect storm.
        for _ in 0 ..< 64 {
            let fd = Glibc.accept(listenSocket, nil, nil)
            if fd >= 0 {
                adopt(fd)
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EMFILE, ENFILE: refuseOne()
            default: break
            }
            return
        }
    }

    private func adopt(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        // A connection epoll will not take (ENOMEM, the user's watch limit) would never be served.
        do { try events?.watch(fd) } catch {
            close(fd)
            return
        }
        connections[fd] = Connection()
        refusing = false
        counters.withLock { $0.accepted += 1 }
    }

    /// Out of descriptors with a connection waiting: free the reserve, accept and close it (the peer
    /// learns at once instead of hanging in the backlog), and take the reserve back. Without a
    /// reserve, stop watching the listening socket for a moment rather than spin on it.
    private func refuseOne() {
        counters.withLock { $0.refusedOutOfDescriptors += 1 }
        if !refusing {
            refusing = true
            handlers?.warning("out of file descriptors (\(String(cString: strerror(errno)))): refusing new connections on port \(port) until some close")
        }
        if reserveDescriptor >= 0 {
            close(reserveDescriptor)
            let fd = Glibc.accept(listenSocket, nil, nil)
            if fd >= 0 { close(fd) }
            reserveDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if reserveDescriptor >= 0 { return }
        }
        try? events?.unwatch(listenSocket)
        acceptPausedUntil = MonotonicClock.milliseconds() + 100
    }

    private func resumeAcceptingIfDue() {
        guard let until = acceptPausedUntil, MonotonicClock.milliseconds() >= until else { return }
        acceptPausedUntil = nil
        if reserveDescriptor < 0 { reserveDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        try? events?.watch(listenSocket)
    }

    private func nextTimeout(_ protocolTimeout: Int32) -> Int32 {
        guard let until = acceptPausedUntil else { return protocolTimeout }
        let wait = Int32(clamping: max(0, Int64(until) - Int64(MonotonicClock.milliseconds())))
        return protocolTimeout < 0 ? wait : min(protocolTimeout, wait)
    }

    private func drop(_ fd: Int32) {
        guard connections.removeValue(forKey: fd) != nil else { return }
        try? events?.unwatch(fd)
        close(fd)
        handlers?.closed(fd)
    }
}
