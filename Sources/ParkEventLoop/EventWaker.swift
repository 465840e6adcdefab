import CLinuxEvents
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An eventfd another thread writes to wake a thread out of its epoll wait: to stop it, or to tell
/// it work is queued. Many wakes before the thread drains collapse into one readiness.
///
/// ``close()`` must not race ``wake()`` — a wake after close would write to a closed (or by then
/// reused) descriptor number — so its owner closes only once no thread can wake it any more
/// (the MQTT I/O thread does both under its inbox lock). Idempotent; the deinitializer closes too.
public final class EventWaker: Sendable {
    /// The token under which a waker is conventionally registered: no descriptor or slot is `.max`.
    public static let token = UInt64.max

    /// The eventfd (valid until ``close()``); register it for `.readable` with a selector.
    public let descriptor: Int32
    private let closed = Atomic<Bool>(false)

    public init() throws(EventLoopError) {
        let fd = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard fd >= 0 else { throw .lastError("eventfd") }
        descriptor = fd
    }

    deinit { close() }

    /// Makes the descriptor readable until ``drain()``. Never blocks (the counter cannot overflow
    /// in practice; if it did, the descriptor is readable anyway).
    public func wake() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Resets the counter so level-triggered epoll stops reporting the waker.
    public func drain() {
        var value: UInt64 = 0
        _ = read(descriptor, &value, 8)
    }

    /// Closes the eventfd. Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(descriptor)
    }
}
