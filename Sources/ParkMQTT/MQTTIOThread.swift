import ParkEventLoop
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
    static let wakeToken = EventWaker.token

    let index: Int
    let selector: EpollSelector
    let waker: EventWaker
    let counters = MQTTCounters()
    /// Set while this thread has clients waiting for a connect-window slot.
    let hasConnectWaiters = Atomic<Bool>(false)

    private let publishLimit: Int
    private let inbox = Mutex(Inbox())
    private let thread = NativeThread()

    private struct Inbox {
        var commands: [MQTTIOCommand] = []
        var publishes = 0
        var signaled = false
        var closed = false
        var descriptorsClosed = false
    }

    init(index: Int, publishLimit: Int) throws(MQTTError) {
        do {
            // A selector or waker made before a later step failed closes itself when dropped.
            let selector = try EpollSelector()
            let waker = try EventWaker()
            try selector.add(waker.descriptor, interest: .readable, token: Self.wakeToken)
            self.selector = selector
            self.waker = waker
        } catch {
            throw MQTTError(error)
        }
        self.index = index
        self.publishLimit = publishLimit
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
        waker.drain()
    }

    private func signal() {
        waker.wake()
    }

    // MARK: - The OS thread

    func start(_ run: @escaping @Sendable () -> Void) throws(MQTTError) {
        do { try thread.start(run) } catch { throw MQTTError(error) }
    }

    func join() { thread.join() }

    /// True when called on this I/O thread (where `join` would wait for itself).
    var isCurrentThread: Bool { thread.isCurrent }

    /// After `join`: nothing runs on the thread and the inbox is closed, so the descriptors are free.
    func closeDescriptors() {
        inbox.withLock { inbox in
            guard !inbox.descriptorsClosed else { return }
            inbox.descriptorsClosed = true
            waker.close()
            selector.close()
        }
    }
}
