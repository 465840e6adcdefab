import CLinuxEvents
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Plays a ``PacketizedClip`` to any number of RTP receivers from ONE thread: every stream's
/// frames are due on a shared deadline heap, paced by the frame time, and sent from the clip's
/// shared bytes with only the RTP header and PS time fields written per stream. A thread per
/// stream would cost a thousand threads for a thousand cameras; this costs one.
///
/// - UDP: every stream sends from one socket (its port is the answer's port), and each pass's
///   datagrams — across all the streams that came due — go out in `sendmmsg` batches.
/// - TCP (RFC 4571): the sender connects (``Transport/tcpConnect(address:port:)``) or listens
///   (``Transport/tcpListen``) per stream; the clock starts once the connection is up. Each
///   connection has a bounded queue: a frame that would overflow it is dropped and the stream
///   waits for the next key frame, so a slow platform costs frames, counted, never memory.
/// - Playback (``Mode/playback(frames:)``) plays the clip in a loop for that many frames, then ends.
///
/// ``open(_:)``, ``begin(_:)`` and ``end(_:)`` may be called from any thread and return at once
/// (they are called under a SIP agent's lock); the thread does the rest.
public final class RTPSender: @unchecked Sendable {
    // @unchecked: `loop` is touched only by the sender thread while it runs, and by stop() after
    // it has been joined; everything else is immutable, a Mutex or an Atomic.

    /// Settings for all streams of one sender.
    public struct Configuration: Sendable {
        /// The IPv4 address UDP is sent from and TCP listens and connects on.
        public var localAddress: String
        /// Bytes a TCP connection may have queued in the sender beyond the kernel's buffer.
        public var tcpQueueLimit: Int
        /// The kernel send buffer of each TCP connection (small, so congestion reaches the queue).
        public var tcpSendBuffer: Int
        /// A frame sent more than this after its due time counts as late.
        public var lateThreshold: Duration
        /// A stream more than this behind (the thread starved, or more streams than it can send)
        /// skips to the frame due now and resumes at the next key frame, the skipped frames
        /// counted as dropped; within it, late frames are sent as soon as possible.
        public var catchUpLimit: Duration

        public init(
            localAddress: String = "127.0.0.1", tcpQueueLimit: Int = 128 * 1024, tcpSendBuffer: Int = 64 * 1024,
            lateThreshold: Duration = .milliseconds(10), catchUpLimit: Duration = .milliseconds(500)
        ) {
            self.localAddress = localAddress
            self.tcpQueueLimit = tcpQueueLimit
            self.tcpSendBuffer = tcpSendBuffer
            self.lateThreshold = lateThreshold
            self.catchUpLimit = catchUpLimit
        }
    }

    /// Where a stream's packets go.
    public enum Transport: Sendable, Equatable {
        /// Datagrams to the receiver's address and port.
        case udp(address: String, port: Int)
        /// RFC 4571 over a TCP connection the sender opens (the receiver listens: SDP `setup:passive` in its offer).
        case tcpConnect(address: String, port: Int)
        /// RFC 4571 over a TCP connection the receiver opens to the sender's listening port (offer `setup:active`).
        case tcpListen
    }

    /// Live plays until ended; playback plays so many frames, then ends by itself.
    public enum Mode: Sendable, Equatable {
        case live
        case playback(frames: UInt64)
    }

    /// What one stream needs: its destination, its clock (SSRC, starting points) and its mode.
    public struct StreamRequest: Sendable {
        public var transport: Transport
        public var clock: RTPStreamClock
        public var mode: Mode

        public init(transport: Transport, clock: RTPStreamClock, mode: Mode = .live) {
            self.transport = transport
            self.clock = clock
            self.mode = mode
        }
    }

    /// A stream that has been opened: its handle, and the local port to name in an SDP answer.
    public struct OpenedStream: Sendable, Equatable {
        public var id: Int
        public var localPort: Int
    }

    public let clip: PacketizedClip
    public let configuration: Configuration
    /// The port every UDP stream sends from.
    public let udpPort: Int

    private let selector: EpollSelector
    private let waker: EventWaker
    private let thread = NativeThread()
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let nextID = Atomic<Int>(1)
    /// Commands for the thread, and whether it still takes any (closed by stop() once it has drained them).
    private let inbox = Mutex<(commands: [SenderCommand], closed: Bool)>(([], false))
    private let published = Mutex(RTPSenderStatistics())
    private let loop: SenderLoop

    /// Opens the UDP socket and the event loop; ``start()`` starts the thread.
    public init(clip: PacketizedClip, configuration: Configuration = Configuration()) throws(MediaError) {
        self.clip = clip
        self.configuration = configuration
        do {
            selector = try EpollSelector()
            waker = try EventWaker()
            try selector.add(waker.descriptor, interest: .readable, token: EventWaker.token)
        } catch {
            throw .socket(error.operation, code: error.code)
        }
        let udp = try MediaSocket.bound(SOCK_DGRAM, host: configuration.localAddress)
        // A pass can hand the kernel hundreds of datagrams at once; room for them, not EAGAIN.
        MediaSocket.setInteger(udp, SOL_SOCKET, SO_SNDBUF, 4 << 20)
        udpPort = MediaSocket.localPort(udp)
        loop = SenderLoop(clip: clip, configuration: configuration, selector: selector, udp: udp)
    }

    deinit { stop() }

    /// Starts the sender thread. Call once.
    public func start() throws(MediaError) {
        precondition(!started.exchange(true, ordering: .relaxed), "RTP sender already started")
        let box = LoopBox(sender: self)
        do {
            try thread.start { box.sender.run() }
        } catch {
            throw .socket(error.operation, code: error.code)
        }
    }

    /// Ends every stream, stops the thread and closes the sockets. Idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        if started.load(ordering: .relaxed) {
            waker.wake()
            thread.join()
        }
        // The thread has ended (or never ran): its state is ours now. Commands sent meanwhile are
        // run here, so their sockets are closed with the rest; later ones are refused in send().
        let pending = inbox.withLock { inbox in
            inbox.closed = true
            return inbox.commands.take()
        }
        for command in pending { loop.handle(command, now: MonotonicClock.now()) }
        loop.closeAll()
        published.withLock { $0 = loop.statistics }
        selector.close()
        waker.close()
    }

    /// Opens a stream's socket (TCP: bound, and listening for ``Transport/tcpListen``) and returns
    /// its handle and local port; it sends nothing until ``begin(_:)``.
    /// - Throws: ``MediaError/badAddress(_:)`` or ``MediaError/socket(_:code:)``.
    public func open(_ request: StreamRequest) throws(MediaError) -> OpenedStream {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let endpoint: SenderCommand.Endpoint
        let port: Int
        switch request.transport {
        case .udp(let address, let remotePort):
            endpoint = .udp(try MediaSocket.address(address, port: remotePort))
            port = udpPort
        case .tcpConnect(let address, let remotePort):
            let remote = try MediaSocket.address(address, port: remotePort)
            let fd = try MediaSocket.bound(SOCK_STREAM, host: configuration.localAddress)
            MediaSocket.setInteger(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: configuration.tcpSendBuffer))
            endpoint = .tcpConnect(fd, remote)
            port = MediaSocket.localPort(fd)
        case .tcpListen:
            let fd = try MediaSocket.bound(SOCK_STREAM, host: configuration.localAddress)
            guard listen(fd, 1) == 0 else {
                let code = errno
                close(fd)
                throw .socket("listen", code: code)
            }
            endpoint = .tcpListen(fd)
            port = MediaSocket.localPort(fd)
        }
        send(.open(id: id, endpoint: endpoint, clock: request.clock, mode: request.mode))
        return OpenedStream(id: id, localPort: port)
    }

    /// Starts the stream's clock (TCP: once connected too). Unknown or ended ids are ignored.
    public func begin(_ id: Int) { send(.begin(id)) }

    /// Stops the stream and closes its socket. Unknown or ended ids are ignored.
    public func end(_ id: Int) { send(.end(id)) }

    /// The figures as of the sender's last pass.
    public var statistics: RTPSenderStatistics { published.withLock { $0 } }

    private func send(_ command: SenderCommand) {
        let taken = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.commands.append(command)
            return true
        }
        guard taken else {
            // Stopped: nothing will run it, so release what it holds here.
            if case .open(_, let endpoint, _, _) = command { endpoint.close() }
            return
        }
        waker.wake()
    }

    private func run() {
        var events = EpollEvents(capacity: 256)
        var lastCPU: UInt64 = 0
        while !stopping.load(ordering: .relaxed) {
            let timeout = loop.timeoutMilliseconds(now: MonotonicClock.now())
            do { try selector.wait(into: &events, timeoutMilliseconds: timeout) } catch { break }
            if stopping.load(ordering: .relaxed) { break }
            var now = MonotonicClock.now()
            for index in 0..<events.count {
                let event = events[index]
                if event.token == EventWaker.token {
                    waker.drain()
                } else {
                    loop.ready(event, now: now)
                }
            }
            let commands = inbox.withLock { $0.commands.take() }
            for command in commands { loop.handle(command, now: now) }
            now = MonotonicClock.now()
            loop.sendDue(now: now)
            if now &- lastCPU >= 1_000_000_000 {
                lastCPU = now
                loop.statistics.threadCPUMicroseconds = UInt64(max(0, parkbench_thread_cpu_microseconds()))
            }
            published.withLock { $0 = loop.statistics }
        }
        loop.statistics.threadCPUMicroseconds = UInt64(max(0, parkbench_thread_cpu_microseconds()))
        published.withLock { $0 = loop.statistics }
    }
}

/// Hands the sender to its own thread's closure (the sender is Sendable; this only names it).
private struct LoopBox: Sendable {
    let sender: RTPSender
}

extension Array {
    /// The contents, leaving the array empty (capacity kept for the next fill).
    fileprivate mutating func take() -> [Element] {
        let taken = self
        removeAll(keepingCapacity: true)
        return taken
    }
}
