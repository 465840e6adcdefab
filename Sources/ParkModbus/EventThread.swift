import CLinuxEvents
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread waiting on epoll for an endpoint's descriptors, stopped through an eventfd: the
/// event loop every ParkModbus endpoint runs on (never a thread per connection).
final class EventThread: @unchecked Sendable {
    /// A descriptor epoll reported, and what it is ready for.
    struct Readiness {
        var fd: Int32
        var readable: Bool
        var writable: Bool
        /// The peer hung up or the descriptor has an error: reading it tells which.
        var failed: Bool
    }

    /// Called on the thread with the descriptors that are ready (empty when the wait timed out).
    typealias Handler = ([Readiness]) -> Void

    private let epollFD: Int32
    private let wakeFD: Int32
    private var thread: pthread_t?
    private let stopping = Atomic<Bool>(false)
    private var timeout: (() -> Int32)?
    private var handler: Handler?

    init() throws(ModbusError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFD >= 0, wakeFD >= 0 else {
            let reason = String(cString: strerror(errno))
            if epollFD >= 0 { close(epollFD) }
            if wakeFD >= 0 { close(wakeFD) }
            throw ModbusError("epoll/eventfd: \(reason)")
        }
        watch(wakeFD)
    }

    deinit {
        stop()
        close(epollFD)
        close(wakeFD)
    }

    /// Reports `fd` to the handler whenever it is readable (and, with `writing`, writable).
    func watch(_ fd: Int32, reading: Bool = true, writing: Bool = false) {
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_ADD, fd, Self.mask(reading: reading, writing: writing), UInt64(UInt32(bitPattern: fd)))
    }

    /// Changes what `fd` is watched for: a connection with replies queued waits to be writable,
    /// one over its output limit stops being read.
    func change(_ fd: Int32, reading: Bool, writing: Bool) {
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_MOD, fd, Self.mask(reading: reading, writing: writing), UInt64(UInt32(bitPattern: fd)))
    }

    func unwatch(_ fd: Int32) {
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
    }

    private static func mask(reading: Bool, writing: Bool) -> UInt32 {
        (reading ? EPOLLIN.rawValue : 0) | (writing ? EPOLLOUT.rawValue : 0)
    }

    /// Starts the thread. - Parameters:
    ///   - timeout: milliseconds to wait at most before calling the handler anyway (-1: forever).
    func start(timeout: @escaping () -> Int32, handler: @escaping Handler) throws(ModbusError) {
        precondition(thread == nil, "event thread already started")
        self.timeout = timeout
        self.handler = handler
        let unmanaged = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { argument in
            Unmanaged<EventThread>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            throw ModbusError("cannot start an endpoint thread: \(String(cString: strerror(rc)))")
        }
        thread = handle
    }

    /// Wakes the thread, waits for it to end, and drops the handler (and what it holds). Idempotent.
    func stop() {
        guard let thread, !stopping.exchange(true, ordering: .relaxed) else { return }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
        pthread_join(thread, nil)
        self.thread = nil
        handler = nil
        timeout = nil
    }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        let failure = EPOLLERR.rawValue | EPOLLHUP.rawValue
        while !stopping.load(ordering: .relaxed), let handler, let timeout {
            let count = parkbench_epoll_wait(epollFD, &tokens, &events, 256, timeout())
            if count < 0, errno != EINTR { break }
            var ready: [Readiness] = []
            for index in 0 ..< max(0, Int(count)) {
                let fd = Int32(truncatingIfNeeded: tokens[index])
                guard fd != wakeFD else { continue }
                let mask = events[index]
                ready.append(Readiness(fd: fd, readable: mask & EPOLLIN.rawValue != 0, writable: mask & EPOLLOUT.rawValue != 0,
                                       failed: mask & failure != 0))
            }
            if stopping.load(ordering: .relaxed) { break }
            handler(ready)
        }
    }
}
