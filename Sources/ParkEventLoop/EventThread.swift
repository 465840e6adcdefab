import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread waiting on an ``EpollSelector`` for an endpoint's descriptors, stopped through an
/// ``EventWaker``: the event loop each Modbus and DL/T 645 endpoint runs on (never a thread per
/// connection). Descriptors are their own tokens, so ``Readiness/fd`` names what is ready.
///
/// Descriptors may be watched before ``start(timeout:handler:)`` and from the handler (on the
/// thread); the handler and timeout run only on the thread.
public final class EventThread: @unchecked Sendable {
    /// Called on the thread with the descriptors that are ready (empty when the wait timed out).
    /// The array is reused for the next pass, so a handler keeps what it needs, not the array.
    public typealias Handler = ([Readiness]) -> Void

    private let selector: EpollSelector
    private let waker: EventWaker
    private let thread = NativeThread()
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    // Set before the thread starts and cleared after it ended: never touched by two threads at once.
    private var timeout: (() -> Int32)?
    private var handler: Handler?

    /// How many events one wait takes at most; more stay ready for the next pass.
    private static let batch = 256

    public init() throws(EventLoopError) {
        selector = try EpollSelector()
        waker = try EventWaker()
        try selector.add(waker.descriptor, interest: .readable, token: EventWaker.token)
    }

    deinit { stop() }

    /// Reports `fd` to the handler whenever it is readable (and, with `writing`, writable).
    public func watch(_ fd: Int32, reading: Bool = true, writing: Bool = false) throws(EventLoopError) {
        try selector.add(fd, interest: Self.interest(reading: reading, writing: writing), token: UInt64(UInt32(bitPattern: fd)))
    }

    /// Changes what `fd` is watched for: a connection with replies queued waits to be writable,
    /// one over its output limit stops being read.
    public func change(_ fd: Int32, reading: Bool, writing: Bool) throws(EventLoopError) {
        try selector.modify(fd, interest: Self.interest(reading: reading, writing: writing), token: UInt64(UInt32(bitPattern: fd)))
    }

    /// Stops reporting `fd` (call before closing it, while the number is still this descriptor's).
    public func unwatch(_ fd: Int32) throws(EventLoopError) {
        try selector.remove(fd)
    }

    private static func interest(reading: Bool, writing: Bool) -> EventInterest {
        var interest: EventInterest = []
        if reading { interest.insert(.readable) }
        if writing { interest.insert(.writable) }
        return interest
    }

    /// Starts the thread. Call once.
    /// - Parameters:
    ///   - timeout: milliseconds to wait at most before calling the handler anyway (-1: forever);
    ///     asked before every wait, so a protocol's next deadline sets it.
    ///   - handler: what to do with the ready descriptors.
    public func start(timeout: @escaping () -> Int32, handler: @escaping Handler) throws(EventLoopError) {
        precondition(!started.exchange(true, ordering: .relaxed), "event thread already started")
        self.timeout = timeout
        self.handler = handler
        // The thread holds the EventThread until its loop ends; stop() ends it, so no cycle outlives stop.
        let unmanaged = Unmanaged.passRetained(self)
        let body = UncheckedBox(unmanaged)
        do {
            try thread.start { body.value.takeRetainedValue().run() }
        } catch {
            unmanaged.release()
            self.timeout = nil
            self.handler = nil
            throw error
        }
    }

    /// Wakes the thread, waits for it to end, and drops the handler (and what it holds). Idempotent;
    /// a no-op for a thread never started.
    public func stop() {
        guard started.load(ordering: .relaxed), !stopping.exchange(true, ordering: .relaxed) else { return }
        waker.wake()
        thread.join()
        handler = nil
        timeout = nil
    }

    private func run() {
        var events = EpollEvents(capacity: Self.batch)
        var ready: [Readiness] = []
        ready.reserveCapacity(Self.batch)
        while !stopping.load(ordering: .relaxed), let handler, let timeout {
            do {
                try selector.wait(into: &events, timeoutMilliseconds: timeout())
            } catch {
                break  // only EBADF/EINVAL: the selector itself is gone, nothing more will come
            }
            ready.removeAll(keepingCapacity: true)
            for index in 0 ..< events.count {
                let item = events[index]
                if item.token != EventWaker.token { ready.append(item) }
            }
            if stopping.load(ordering: .relaxed) { break }
            handler(ready)
        }
    }
}

/// Carries a value the type system cannot prove Sendable into the thread's closure; used only for
/// the retained reference ``EventThread`` hands its own thread, which nothing else touches.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
