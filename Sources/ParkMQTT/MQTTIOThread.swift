import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One I/O thread as the rest of the process sees it: its epoll set, its wake-up eventfd, its
/// inbox and its counters. The event loop itself (``MQTTIOLoop``) lives only on the thread.
///
/// Producers append to the inbox under its lock and write the eventfd only when the inbox goes from
/// "taken" to "pending", so a burst of 50,000 publishes costs one wake-up, not 50,000. The loop swaps
/// the whole inbox array out under the lock in O(1) and hands back its own emptied array, so the
/// steady state allocates nothing. The eventfd write happens under the lock on purpose: once
/// ``closeDescriptors()`` has run no producer can write to a closed (or reused) descriptor number.
final class MQTTIOThread: Sendable {
    static let wakeToken = UInt64.max

    let index: Int
    let epollFD: Int32
    let wakeFD: Int32
    let counters = MQTTCounters()
    /// Set while this thread has clients waiting for a connect-window slot.
    let hasConnectWaiters = Atomic<Bool>(false)

    private let publishLimit: Int
    private let inbox = Mutex(Inbox())
    private let thread = Mutex<pthread_t?>(nil)

    private struct Inbox {
        var commands: [MQTTIOCommand] = []
        var publishes = 0
        var signaled = false
        var closed = false
        var descriptorsClosed = false
    }

    init(index: Int, publishLimit: Int) throws(MQTTError) {
        let epollFD = LinuxEvents.createEpoll()
        guard epollFD >= 0 else { throw Self.systemError("epoll_create1") }
        let wakeFD = LinuxEvents.createEventFD()
        guard wakeFD >= 0 else {
            let error = Self.systemError("eventfd")
            close(epollFD)
            throw error
        }
        guard LinuxEvents.control(epollFD, LinuxEvents.add, wakeFD, events: LinuxEvents.readable, token: Self.wakeToken) == 0
        else {
            let error = Self.systemError("epoll_ctl")
            close(wakeFD)
            close(epollFD)
            throw error
        }
        self.index = index
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.publishLimit = publishLimit
    }

    private static func systemError(_ call: String) -> MQTTError {
        let code = errno
        return .system(errno: code, message: "\(call): \(String(cString: strerror(code)))")
    }

    /// Queues work for the thread; never blocks beyond the inbox lock.
    func submit(_ command: MQTTIOCommand, isPublish: Bool = false) throws(MQTTError) {
        try inbox.withLock { (inbox) throws(MQTTError) in
            guard !inbox.closed else { throw .poolShutDown }
            if isPublish {
                guard inbox.publishes < publishLimit else { throw .queueFull(limit: publishLimit) }
                inbox.publishes += 1
            }
            inbox.commands.append(command)
            if !inbox.signaled {
                inbox.signaled = true
                signal()
            }
        }
    }

    /// Closes the inbox behind a final `.shutdown`; false if that already happened.
    func submitShutdown() -> Bool {
        inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.closed = true
            inbox.commands.append(.shutdown)
            inbox.signaled = true
            signal()
            return true
        }
    }

    /// Wakes the loop without queueing anything (a connect-window slot came free elsewhere).
    func wake() {
        inbox.withLock { inbox in
            if !inbox.descriptorsClosed { signal() }
        }
    }

    /// Swaps the pending commands into `buffer` (which must be empty) and re-arms signalling.
    func takeCommands(into buffer: inout [MQTTIOCommand]) {
        inbox.withLock { inbox in
            swap(&inbox.commands, &buffer)
            inbox.publishes = 0
            inbox.signaled = false
        }
    }

    /// Resets the eventfd counter so level-triggered epoll stops reporting it.
    func drainWakeFD() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: - The OS thread

    /// The closure a pthread runs; boxed so it can travel through `pthread_create`'s `void *`.
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    func start(_ run: @escaping @Sendable () -> Void) throws(MQTTError) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(
            &handle, nil,
            { argument in
                let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
                body.run()
                return nil
            }, body)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            throw .system(errno: rc, message: "pthread_create: \(String(cString: strerror(rc)))")
        }
        thread.withLock { $0 = handle }
    }

    func join() {
        guard let handle = thread.withLock({ $0.take() }) else { return }
        pthread_join(handle, nil)
    }

    /// True when called on this I/O thread (where `join` would wait for itself).
    var isCurrentThread: Bool {
        thread.withLock { handle in handle.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// After `join`: nothing runs on the thread and the inbox is closed, so the descriptors are free.
    func closeDescriptors() {
        inbox.withLock { inbox in
            guard !inbox.descriptorsClosed else { return }
            inbox.descriptorsClosed = true
            close(wakeFD)
            close(epollFD)
        }
    }
}
