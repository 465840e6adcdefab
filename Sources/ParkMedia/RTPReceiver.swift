import CLinuxEvents
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A platform's RTP receivers: every stream gets its own port (UDP, or a TCP listener for a
/// device that connects, RFC 4571), all of them served by ONE thread, each stream judged by a
/// ``PSStreamInspector`` as its packets arrive. ``open(_:expectedSSRC:)`` returns the port to
/// name in the INVITE's SDP offer; ``statistics(_:)`` reads a stream's figures at any time.
public final class RTPReceiver: @unchecked Sendable {
    // @unchecked: the selector and waker are thread-safe by the kernel's contract; every stream's
    // state lives in `streams`, a Mutex, which the thread holds while it reads a stream's socket.

    /// How a stream arrives.
    public enum Transport: Sendable, Equatable {
        case udp
        /// The device connects to a port the receiver listens on (the offer's `a=setup:passive`).
        case tcpListen
    }

    /// A stream opened for an offer: its handle and the local port.
    public struct OpenedStream: Sendable, Equatable {
        public var id: Int
        public var port: Int
    }

    private struct Stream {
        var transport: Transport
        var socket: Int32
        var connection: Int32 = -1
        var deframer = RFC4571Deframer()
        var inspector: PSStreamInspector
        var arrived = 0
    }

    /// The address every port is bound on.
    public let localAddress: String
    /// Fault injection for the reference platform (`rtp-loss`): packet N, 2N, 3N … of every
    /// stream is thrown away before it is inspected, as an overrun receive buffer would — the
    /// first at packet N, so with N past a key frame's packets the stream still starts. 0: none.
    public let discardOneIn = Atomic<Int>(0)

    private let selector: EpollSelector
    private let waker: EventWaker
    private let thread = NativeThread()
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let streams = Mutex<[Int: Stream]>([:])
    private let nextID = Atomic<Int>(1)
    private let cpuMicroseconds = Atomic<UInt64>(0)

    public init(localAddress: String = "127.0.0.1") throws(MediaError) {
        self.localAddress = localAddress
        do {
            selector = try EpollSelector()
            waker = try EventWaker()
            try selector.add(waker.descriptor, interest: .readable, token: EventWaker.token)
        } catch {
            throw .socket(error.operation, code: error.code)
        }
    }

    deinit { stop() }

    /// Starts the receiving thread. Call once.
    public func start() throws(MediaError) {
        precondition(!started.exchange(true, ordering: .relaxed), "RTP receiver already started")
        let box = ReceiverBox(receiver: self)
        do {
            try thread.start { box.receiver.run() }
        } catch {
            throw .socket(error.operation, code: error.code)
        }
    }

    /// Stops the thread and closes every stream. Idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        if started.load(ordering: .relaxed) {
            waker.wake()
            thread.join()
        }
        streams.withLock { streams in
            for stream in streams.values { Self.closeSockets(of: stream) }
            streams.removeAll()
        }
        selector.close()
        waker.close()
    }

    /// Opens a port for one stream. `expectedSSRC` is the offer's `y=`; `recordingLimit` keeps up
    /// to that many bytes of the PS stream for ``recording(_:)``.
    public func open(_ transport: Transport, expectedSSRC: UInt32?, recordingLimit: Int = 0) throws(MediaError) -> OpenedStream {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let fd: Int32
        switch transport {
        case .udp:
            fd = try MediaSocket.bound(SOCK_DGRAM, host: localAddress)
            // Key frames arrive as bursts of dozens of datagrams; room for a few of them.
            MediaSocket.setInteger(fd, SOL_SOCKET, SO_RCVBUF, 1 << 20)
        case .tcpListen:
            fd = try MediaSocket.bound(SOCK_STREAM, host: localAddress)
            guard listen(fd, 1) == 0 else {
                let code = errno
                Glibc.close(fd)
                throw .socket("listen", code: code)
            }
        }
        var inspector = PSStreamInspector(expectedSSRC: expectedSSRC)
        inspector.recordingLimit = recordingLimit
        let port = MediaSocket.localPort(fd)
        streams.withLock { $0[id] = Stream(transport: transport, socket: fd, inspector: inspector) }
        do {
            try selector.add(fd, interest: .readable, token: Self.token(id, connection: false))
        } catch {
            streams.withLock { _ = $0.removeValue(forKey: id) }
            Glibc.close(fd)
            throw .socket(error.operation, code: error.code)
        }
        return OpenedStream(id: id, port: port)
    }

    /// Closes a stream's sockets; its figures are gone with it (read them first).
    public func close(_ id: Int) {
        guard let stream = streams.withLock({ $0.removeValue(forKey: id) }) else { return }
        Self.closeSockets(of: stream)
    }

    /// A stream's figures so far; nil for an unknown or closed stream.
    public func statistics(_ id: Int) -> PSStreamInspector.Statistics? {
        streams.withLock { $0[id]?.inspector.statistics }
    }

    /// The PS bytes kept for a stream opened with a recording limit.
    public func recording(_ id: Int) -> [UInt8] {
        streams.withLock { $0[id]?.inspector.recording ?? [] }
    }

    /// Streams open now.
    public var count: Int { streams.withLock { $0.count } }

    /// CPU time the receiving thread has used, as of its last second (and its end).
    public var threadCPUMicroseconds: UInt64 { cpuMicroseconds.load(ordering: .relaxed) }

    private static func closeSockets(of stream: Stream) {
        // Closing a descriptor removes it from every epoll set.
        Glibc.close(stream.socket)
        if stream.connection >= 0 { Glibc.close(stream.connection) }
    }

    private static func token(_ id: Int, connection: Bool) -> UInt64 { UInt64(id) << 1 | (connection ? 1 : 0) }

    private func run() {
        var events = EpollEvents(capacity: 256)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer {
            buffer.deallocate()
            cpuMicroseconds.store(UInt64(max(0, parkbench_thread_cpu_microseconds())), ordering: .relaxed)
        }
        var lastCPU: UInt64 = 0
        while !stopping.load(ordering: .relaxed) {
            do { try selector.wait(into: &events, timeoutMilliseconds: 1_000) } catch { break }
            if stopping.load(ordering: .relaxed) { break }
            let now = MonotonicClock.now()
            if now &- lastCPU >= 1_000_000_000 {
                lastCPU = now
                cpuMicroseconds.store(UInt64(max(0, parkbench_thread_cpu_microseconds())), ordering: .relaxed)
            }
            for index in 0..<events.count {
                let event = events[index]
                if event.token == EventWaker.token {
                    waker.drain()
                    continue
                }
                let id = Int(event.token >> 1)
                let onConnection = event.token & 1 == 1
                streams.withLock { streams in
                    guard var stream = streams[id] else { return }
                    if onConnection {
                        readConnection(&stream, buffer: buffer, now: now)
                    } else if stream.transport == .udp {
                        readDatagrams(&stream, buffer: buffer, now: now)
                    } else {
                        accept(&stream, id: id)
                    }
                    streams[id] = stream
                }
            }
        }
    }

    private func deliver(_ packet: ArraySlice<UInt8>, to stream: inout Stream, now: UInt64) {
        stream.arrived += 1
        let oneIn = discardOneIn.load(ordering: .relaxed)
        if oneIn > 0, stream.arrived % oneIn == 0 { return }
        stream.inspector.receive(packet, at: now)
    }

    private func readDatagrams(_ stream: inout Stream, buffer: UnsafeMutableRawBufferPointer, now: UInt64) {
        // Bounded, so one flooded port cannot starve the others.
        for _ in 0..<256 {
            let count = recv(stream.socket, buffer.baseAddress, buffer.count, 0)
            guard count > 0 else { return }
            deliver(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))[...], to: &stream, now: now)
        }
    }

    private func accept(_ stream: inout Stream, id: Int) {
        // accept4 is GNU-only in Swift's Glibc; the flags are set right after instead.
        let fd = Glibc.accept(stream.socket, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard stream.connection < 0, (try? selector.add(fd, interest: .readable, token: Self.token(id, connection: true))) != nil else {
            // One connection per stream: a second one is not the device's.
            Glibc.close(fd)
            return
        }
        stream.connection = fd
    }

    private func readConnection(_ stream: inout Stream, buffer: UnsafeMutableRawBufferPointer, now: UInt64) {
        for _ in 0..<64 {
            let count = recv(stream.connection, buffer.baseAddress, buffer.count, 0)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) {
                // The device hung up: keep the figures, stop watching.
                Glibc.close(stream.connection)
                stream.connection = -2
                return
            }
            guard count > 0 else { return }
            stream.deframer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            while let packet = stream.deframer.next() { deliver(packet[...], to: &stream, now: now) }
        }
    }
}

/// Hands the receiver to its own thread's closure.
private struct ReceiverBox: Sendable {
    let receiver: RTPReceiver
}
