import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One proxied connection: the device's socket, the one to the upstream, and the bytes on their
/// way each direction.
final class ProxiedConnection {
    let client: Int32
    var upstream: Int32 = -1
    /// The upstream's non-blocking connect has completed.
    var upstreamReady = false
    /// The namer has decided (or there is none).
    var named: Bool
    var name: String?
    var condition = LinkCondition.healthy
    var toUpstream = ByteQueue()
    var toClient = ByteQueue()
    /// The side has sent its last byte (read returned 0).
    var clientEnded = false
    var upstreamEnded = false
    /// What the loop has each descriptor registered for (nil: not registered).
    var clientInterest: (read: Bool, write: Bool)?
    var upstreamInterest: (read: Bool, write: Bool)?
    var closed = false

    init(client: Int32, named: Bool) {
        self.client = client
        self.named = named
    }
}

/// Bytes waiting to be written, consumed from the front without moving the rest each time.
struct ByteQueue {
    private var bytes: [UInt8] = []
    private var head = 0

    var count: Int { bytes.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ buffer: UnsafeRawBufferPointer) { bytes.append(contentsOf: buffer.bindMemory(to: UInt8.self)) }

    /// Everything not yet consumed, for a namer to read.
    var unconsumed: [UInt8] { Array(bytes[head...]) }

    /// Writes as much as `fd` takes; returns false on a write error other than "would block".
    mutating func write(to fd: Int32) -> Bool {
        while head < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + head, bytes.count - head, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                head += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
            }
        }
        bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 16)
        head = 0
        return true
    }
}

/// The fault proxy's state and work, touched only on its event thread (and by ``closeAll()``
/// once the thread has ended).
final class ProxyLoop: @unchecked Sendable {
    private let thread: EventThread
    private let listener: Int32
    private let waker: Int32
    private let upstream: sockaddr_in
    private let configuration: FaultProxy.Configuration
    private let counters = Mutex(FaultProxy.Statistics())
    /// Each connection under both its descriptors.
    private var connections: [Int32: ProxiedConnection] = [:]
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var closedAll = false

    init(thread: EventThread, listener: Int32, waker: Int32, upstream: sockaddr_in, configuration: FaultProxy.Configuration) {
        self.thread = thread
        self.listener = listener
        self.waker = waker
        self.upstream = upstream
        self.configuration = configuration
    }

    /// Counts so far; any thread may ask.
    var statistics: FaultProxy.Statistics { counters.withLock { $0 } }

    /// Conditions asked for from any thread, applied on the loop's next wake.
    private let requested = Mutex(LinkConditions())

    func request(_ condition: LinkCondition, names: Set<String>?) {
        requested.withLock { state in
            if let names {
                for name in names { state.byName[name] = condition }
            } else {
                state.all = condition
                state.byName = [:]
            }
        }
    }

    func requestedCondition(of name: String?) -> LinkCondition { requested.withLock { $0.condition(of: name) } }

    /// The conditions asked for: each connection moves to its own, and is reset, held or released.
    func applyRequestedConditions() {
        let new = requested.withLock { $0 }
        for (fd, connection) in connections where fd == connection.client && connection.named {
            let next = new.condition(of: connection.name)
            let previous = connection.condition
            guard next != previous else { continue }
            connection.condition = next
            // Healing from lost acknowledgements ends the connection, as the device's keepalive
            // would have: what was never acknowledged is then sent again on a new one.
            if next == .reset || previous == .acksLost {
                reset(connection)
            } else {
                refresh(connection)
            }
        }
    }

    func serve(_ event: Readiness) {
        if event.fd == listener {
            acceptAll()
            return
        }
        guard let connection = connections[event.fd] else { return }
        if event.fd == connection.client {
            if event.readable || event.failed { readClient(connection) }
            if !connection.closed, event.writable { flush(connection, toClient: true) }
        } else {
            if !connection.upstreamReady, event.writable || event.failed {
                upstreamConnected(connection)
                return
            }
            if event.readable || event.failed { readUpstream(connection) }
            if !connection.closed, event.writable { flush(connection, toClient: false) }
        }
    }

    /// Closes every connection and the listener; only once the thread has ended. Idempotent: a
    /// second close of the listener's number could close whatever has that number by then.
    func closeAll() {
        guard !closedAll else { return }
        closedAll = true
        for (fd, connection) in connections where fd == connection.client { close(connection, resetting: false) }
        Glibc.close(listener)
    }

    // MARK: Accepting and naming

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            ProxySocket.setInteger(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            counters.withLock {
                $0.accepted += 1
                $0.open += 1
            }
            let connection = ProxiedConnection(client: fd, named: configuration.namer == nil)
            connections[fd] = connection
            if connection.named { decide(connection) } else { refresh(connection) }
        }
    }

    /// The connection's name is known (or will never be): reset it, or open its upstream.
    private func decide(_ connection: ProxiedConnection) {
        connection.named = true
        // What was asked for last, even if the loop has not woken for it yet: a connection made
        // right after a heal must not be reset by the fault just lifted.
        connection.condition = requestedCondition(of: connection.name)
        if connection.condition == .reset {
            reset(connection)
            return
        }
        openUpstream(connection)
    }

    private func openUpstream(_ connection: ProxiedConnection) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            upstreamFailed(connection)
            return
        }
        ProxySocket.setInteger(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        connection.upstream = fd
        connections[fd] = connection
        var address = upstream
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 {
            connection.upstreamReady = true
        } else if errno != EINPROGRESS {
            upstreamFailed(connection)
            return
        }
        refresh(connection)
    }

    private func upstreamConnected(_ connection: ProxiedConnection) {
        guard ProxySocket.pendingError(connection.upstream) == 0 else {
            upstreamFailed(connection)
            return
        }
        connection.upstreamReady = true
        refresh(connection)
    }

    private func upstreamFailed(_ connection: ProxiedConnection) {
        counters.withLock { $0.upstreamFailures += 1 }
        // The device sees what it would without a proxy: the connection refused.
        close(connection, resetting: true)
    }

    // MARK: Moving bytes

    private func readClient(_ connection: ProxiedConnection) {
        switch read(connection.client, into: &connection.toUpstream) {
        case .bytes(let count):
            counters.withLock { $0.bytesUpstream += count }
            if !connection.named, let namer = configuration.namer {
                switch namer(connection.toUpstream.unconsumed) {
                case .needMore where connection.toUpstream.count < 64 * 1024: break
                case .named(let name):
                    connection.name = name
                    decide(connection)
                    return
                case .needMore, .anonymous:
                    decide(connection)
                    return
                }
            }
            flush(connection, toClient: false)
        case .ended:
            connection.clientEnded = true
            // Gone before it said who it is: there is nowhere to send what it sent.
            guard connection.named else { return close(connection, resetting: false) }
            endIfDone(connection)
        case .failed:
            close(connection, resetting: true)
        case .nothing:
            break
        }
    }

    private func readUpstream(_ connection: ProxiedConnection) {
        switch read(connection.upstream, into: &connection.toClient) {
        case .bytes(let count):
            counters.withLock { $0.bytesDownstream += count }
            flush(connection, toClient: true)
        case .ended:
            connection.upstreamEnded = true
            endIfDone(connection)
        case .failed:
            close(connection, resetting: true)
        case .nothing:
            break
        }
    }

    private enum ReadOutcome {
        case bytes(Int), ended, failed, nothing
    }

    private func read(_ fd: Int32, into queue: inout ByteQueue) -> ReadOutcome {
        let count = readBuffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if count > 0 {
            readBuffer.withUnsafeBytes { queue.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            return .bytes(count)
        }
        if count == 0 { return .ended }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .nothing : .failed
    }

    private func flush(_ connection: ProxiedConnection, toClient: Bool) {
        let condition = connection.condition
        if toClient, condition == .healthy, !connection.toClient.isEmpty {
            guard connection.toClient.write(to: connection.client) else { return close(connection, resetting: true) }
        }
        if !toClient, condition != .partition, connection.upstreamReady, !connection.toUpstream.isEmpty {
            guard connection.toUpstream.write(to: connection.upstream) else { return close(connection, resetting: true) }
        }
        endIfDone(connection)
    }

    /// A side that ended is closed on once what it sent has gone on: then both are closed.
    private func endIfDone(_ connection: ProxiedConnection) {
        guard !connection.closed else { return }
        let clientDone = connection.clientEnded && connection.toUpstream.isEmpty
        let upstreamDone = connection.upstreamEnded && connection.toClient.isEmpty
        if clientDone || upstreamDone {
            close(connection, resetting: false)
        } else {
            refresh(connection)
        }
    }

    /// Registers each descriptor for what its condition and buffers allow. A held descriptor is
    /// not registered at all: epoll reports hang-ups whatever the interest, and a partition must
    /// not notice them until it heals.
    private func refresh(_ connection: ProxiedConnection) {
        let condition = connection.condition, limit = configuration.bufferLimit
        let named = connection.named
        let clientRead = !connection.clientEnded && connection.toUpstream.count < limit && (condition != .partition || !named)
        let clientWrite = condition == .healthy && !connection.toClient.isEmpty
        connection.clientInterest = register(connection.client, read: clientRead, write: clientWrite, was: connection.clientInterest)
        guard connection.upstream >= 0 else { return }
        let upstreamRead: Bool, upstreamWrite: Bool
        if connection.upstreamReady {
            upstreamRead = condition == .healthy && !connection.upstreamEnded && connection.toClient.count < limit
            upstreamWrite = condition != .partition && !connection.toUpstream.isEmpty
        } else {
            (upstreamRead, upstreamWrite) = (false, true)  // the connect's completion
        }
        connection.upstreamInterest = register(connection.upstream, read: upstreamRead, write: upstreamWrite, was: connection.upstreamInterest)
    }

    private func register(_ fd: Int32, read: Bool, write: Bool, was: (read: Bool, write: Bool)?) -> (read: Bool, write: Bool)? {
        guard read || write else {
            if was != nil { try? thread.unwatch(fd) }
            return nil
        }
        if let was {
            if was.read != read || was.write != write { try? thread.change(fd, reading: read, writing: write) }
        } else {
            try? thread.watch(fd, reading: read, writing: write)
        }
        return (read, write)
    }

    // MARK: Ending connections

    private func reset(_ connection: ProxiedConnection) {
        counters.withLock { $0.reset += 1 }
        close(connection, resetting: true)
    }

    /// Closes both sides; `resetting` sends RST instead of FIN, so each end sees the connection
    /// reset, as a reset link or a refused reconnect shows it.
    private func close(_ connection: ProxiedConnection, resetting: Bool) {
        guard !connection.closed else { return }
        connection.closed = true
        for fd in [connection.client, connection.upstream] where fd >= 0 {
            if connections.removeValue(forKey: fd) != nil {
                try? thread.unwatch(fd)
            }
            if resetting { ProxySocket.lingerZero(fd) }
            Glibc.close(fd)
        }
        connection.clientInterest = nil
        connection.upstreamInterest = nil
        counters.withLock { $0.open -= 1 }
    }
}
