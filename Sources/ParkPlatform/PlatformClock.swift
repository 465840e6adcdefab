import Dispatch
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The time the reference platform and the meter gateway run on: the wall-clock instant they
/// stamp on what they receive and publish, work they schedule for later (the heartbeat sweep, a
/// delayed alarm) and the pause between polling rounds.
///
/// A real run uses ``SystemPlatformClock``. Tests use ``ManualPlatformClock`` and move time
/// themselves, so the rules that are about time — offline after a heartbeat timeout, an alarm
/// held back by the `alarm-delay` fault, a meter offline after three missed 3 s polls — are
/// proven in milliseconds, at instants the test chose, instead of by waiting on the wall clock.
public protocol PlatformClock: Sendable {
    /// Wall-clock nanoseconds since the Unix epoch, comparable with the devices' `ts_ns`.
    func now() -> UInt64

    /// Runs `work` once, `delay` from now, off the caller's thread (or, on a manual clock, on the
    /// thread that moves time past it).
    @discardableResult
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork

    /// Runs `work` every `interval`, the first time one interval from now, until cancelled.
    @discardableResult
    func scheduleRepeating(every interval: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork

    /// Blocks the calling thread until the clock reaches `deadline` (``now()`` nanoseconds) or
    /// `wake` is signalled, whichever comes first. Callers re-check ``now()`` afterwards: a wake
    /// may be early or spurious.
    func wait(until deadline: UInt64, or wake: DispatchSemaphore)
}

/// Work a ``PlatformClock`` will run later; cancelling it keeps it from running again.
public final class ScheduledWork: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let onCancel: @Sendable () -> Void

    init(onCancel: @escaping @Sendable () -> Void = {}) { self.onCancel = onCancel }

    /// Stops the work; it does not run after this returns, unless it is already running.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onCancel()
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// The clock of a real run: `CLOCK_REALTIME` for stamps, Dispatch timers for scheduled work.
public struct SystemPlatformClock: PlatformClock {
    private let queue: DispatchQueue

    /// - Parameter label: names the serial queue scheduled work runs on (one per platform, so a
    ///   slow publish delays only its own platform's sweep).
    public init(label: String = "parkbench.platform.clock") {
        queue = DispatchQueue(label: label)
    }

    public func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        let handle = ScheduledWork()
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: delay.nanoseconds))) {
            if !handle.isCancelled { work() }
        }
        return handle
    }

    @discardableResult
    public func scheduleRepeating(every interval: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let nanoseconds = Int(clamping: interval.nanoseconds)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
        timer.setEventHandler(handler: work)
        timer.resume()
        let source = UncheckedTimer(timer)
        return ScheduledWork { source.timer.cancel() }
    }

    public func wait(until deadline: UInt64, or wake: DispatchSemaphore) {
        let current = now()
        guard deadline > current else { return }
        _ = wake.wait(timeout: .now() + .nanoseconds(Int(min(deadline - current, UInt64(Int.max)))))
    }

}

/// A Dispatch timer handed to a `@Sendable` cancel closure: `DispatchSourceTimer` is thread-safe
/// but not marked `Sendable`.
private struct UncheckedTimer: @unchecked Sendable {
    let timer: any DispatchSourceTimer
    init(_ timer: any DispatchSourceTimer) { self.timer = timer }
}

/// A clock that moves only when told to: ``advance(by:)`` runs the work that falls due, in
/// deadline order, on the caller's thread, and wakes threads waiting in ``wait(until:or:)``.
/// For tests of the platform's and the gateway's time rules, and for runs on virtual time.
public final class ManualPlatformClock: PlatformClock {
    private struct Entry {
        var deadline: UInt64
        var order: Int
        var interval: UInt64?
        var work: @Sendable () -> Void
        var handle: ScheduledWork
    }

    private struct State {
        var now: UInt64
        var entries: [Entry] = []
        var waiters: [(deadline: UInt64, semaphore: DispatchSemaphore)] = []
        var nextOrder = 0
    }

    private let state: Mutex<State>

    /// - Parameter start: the wall-clock instant the clock shows first (ns since the epoch).
    public init(start: UInt64 = 1_800_000_000_000_000_000) {
        state = Mutex(State(now: start))
    }

    public func now() -> UInt64 { state.withLock { $0.now } }

    /// When the earliest scheduled work falls due; nil when nothing is scheduled.
    package var nextDeadline: UInt64? {
        state.withLock { state in state.entries.filter { !$0.handle.isCancelled }.map(\.deadline).min() }
    }

    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        add(after: delay, interval: nil, work)
    }

    @discardableResult
    public func scheduleRepeating(every interval: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        add(after: interval, interval: max(1, interval.nanoseconds), work)
    }

    private func add(after delay: Duration, interval: UInt64?, _ work: @escaping @Sendable () -> Void) -> ScheduledWork {
        let handle = ScheduledWork()
        state.withLock { state in
            state.entries.append(Entry(
                deadline: state.now + delay.nanoseconds, order: state.nextOrder, interval: interval,
                work: work, handle: handle))
            state.nextOrder += 1
        }
        return handle
    }

    public func wait(until deadline: UInt64, or wake: DispatchSemaphore) {
        let due = state.withLock { state -> Bool in
            if state.now >= deadline { return true }
            state.waiters.append((deadline, wake))
            return false
        }
        if !due { wake.wait() }
    }

    /// Moves time forward by `duration`, running each piece of work as the clock reaches its
    /// deadline (so work sees ``now()`` at its own deadline, and work it schedules within the
    /// step runs too).
    public func advance(by duration: Duration) {
        let target = state.withLock { $0.now } + duration.nanoseconds
        while let entry = nextDue(before: target) {
            if !entry.handle.isCancelled { entry.work() }
        }
        let woken = state.withLock { state -> [DispatchSemaphore] in
            state.now = max(state.now, target)
            return takeWaiters(&state)
        }
        woken.forEach { $0.signal() }
    }

    /// Takes the earliest work due by `target`, sets the clock to its deadline and re-arms it if
    /// it repeats; wakes the threads whose deadline that passes.
    private func nextDue(before target: UInt64) -> Entry? {
        let (entry, woken) = state.withLock { state -> (Entry?, [DispatchSemaphore]) in
            state.entries.removeAll { $0.handle.isCancelled }
            guard let index = state.entries.indices.filter({ state.entries[$0].deadline <= target })
                .min(by: { (state.entries[$0].deadline, state.entries[$0].order) < (state.entries[$1].deadline, state.entries[$1].order) })
            else { return (nil, []) }
            let entry = state.entries[index]
            state.now = max(state.now, entry.deadline)
            if let interval = entry.interval {
                state.entries[index].deadline += interval
                state.entries[index].order = state.nextOrder
                state.nextOrder += 1
            } else {
                state.entries.remove(at: index)
            }
            return (entry, takeWaiters(&state))
        }
        woken.forEach { $0.signal() }
        return entry
    }

    private func takeWaiters(_ state: inout State) -> [DispatchSemaphore] {
        let now = state.now
        let due = state.waiters.filter { $0.deadline <= now }.map(\.semaphore)
        state.waiters.removeAll { $0.deadline <= now }
        return due
    }
}
