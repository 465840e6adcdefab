import CLinuxEvents
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a descriptor is watched for. Hang-up and error are always reported (epoll cannot mask
/// them), so they are not part of an interest.
public struct EventInterest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = EventInterest(rawValue: EPOLLIN.rawValue)
    public static let writable = EventInterest(rawValue: EPOLLOUT.rawValue)
}

/// One event epoll reported: the token the descriptor was registered with and what it is ready
/// for, decoded once here so no caller tests epoll bits by hand.
public struct Readiness: Sendable, Hashable {
    /// The token given to ``EpollSelector/add(_:interest:token:)``.
    public let token: UInt64
    /// The raw epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
    public let mask: UInt32

    @inlinable public init(token: UInt64, mask: UInt32) {
        self.token = token
        self.mask = mask
    }

    /// The token read back as a descriptor, for owners that register descriptors as their tokens.
    @inlinable public var fd: Int32 { Int32(truncatingIfNeeded: token) }
    @inlinable public var readable: Bool { mask & EPOLLIN.rawValue != 0 }
    @inlinable public var writable: Bool { mask & EPOLLOUT.rawValue != 0 }
    /// The peer hung up (both directions closed); reading tells whether data is still buffered.
    @inlinable public var hangUp: Bool { mask & EPOLLHUP.rawValue != 0 }
    /// The descriptor has a pending error; reading or writing it returns which.
    @inlinable public var error: Bool { mask & EPOLLERR.rawValue != 0 }
    /// Hang-up or error: the descriptor will keep being reported until it is read, closed or removed.
    @inlinable public var failed: Bool { mask & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 }
}

/// The events one ``EpollSelector/wait(into:timeoutMilliseconds:)`` filled, in a buffer the waiting
/// thread allocates once and reuses for every pass (no allocation per wake-up).
///
/// `struct epoll_event` is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16), so the
/// buffer is opaque bytes sized by C and read through C accessors: no layout is assumed in Swift.
public struct EpollEvents: ~Copyable {
    /// How many events one wait can return at most.
    public let capacity: Int
    /// How many events the last wait returned.
    public internal(set) var count = 0
    @usableFromInline let raw: UnsafeMutableRawPointer

    public init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "epoll buffer capacity out of range")
        self.capacity = capacity
        raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.eventSize, alignment: 8)
    }

    deinit { raw.deallocate() }

    /// `sizeof(struct epoll_event)` as C sees it.
    public static let eventSize = parkbench_epoll_event_size()

    /// The `index`th event of the last wait (`index < count`). Inlinable: the I/O loops read every
    /// event through it.
    @inlinable public subscript(index: Int) -> Readiness {
        precondition(index >= 0 && index < count, "epoll event index out of range")
        let position = Int32(truncatingIfNeeded: index)
        return Readiness(token: parkbench_epoll_event_token(raw, position), mask: parkbench_epoll_event_mask(raw, position))
    }
}

/// An epoll set: descriptors registered with a token each, waited on level-triggered. The one
/// selector every socket thread of ParkBench waits on (Modbus/DL-T 645 endpoints, MQTT I/O threads).
///
/// Registration may be changed from any thread (epoll is thread-safe); ``wait(into:timeoutMilliseconds:)``
/// belongs to one thread. ``close()`` must not race a wait or a registration — its owner calls it
/// after the waiting thread has ended — and is idempotent; the deinitializer closes too.
public final class EpollSelector: Sendable {
    /// The epoll descriptor (valid until ``close()``).
    public let descriptor: Int32
    private let closed = Atomic<Bool>(false)

    public init() throws(EventLoopError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw .lastError("epoll_create1") }
        descriptor = fd
    }

    deinit { close() }

    /// Starts reporting `fd` with `token` whenever it is ready for `interest` (or failed).
    public func add(_ fd: Int32, interest: EventInterest, token: UInt64) throws(EventLoopError) {
        try control(EPOLL_CTL_ADD, fd, interest, token, "epoll_ctl(ADD)")
    }

    /// Changes what a registered `fd` is reported for, and its token.
    public func modify(_ fd: Int32, interest: EventInterest, token: UInt64) throws(EventLoopError) {
        try control(EPOLL_CTL_MOD, fd, interest, token, "epoll_ctl(MOD)")
    }

    /// Stops reporting `fd`. (Closing a descriptor's last copy removes it too; a number that may have
    /// been closed and reused must not be removed, since that would remove the new owner's entry.)
    public func remove(_ fd: Int32) throws(EventLoopError) {
        try control(EPOLL_CTL_DEL, fd, [], 0, "epoll_ctl(DEL)")
    }

    private func control(_ operation: Int32, _ fd: Int32, _ interest: EventInterest, _ token: UInt64, _ name: String)
        throws(EventLoopError)
    {
        guard parkbench_epoll_control(descriptor, operation, fd, interest.rawValue, token) == 0 else {
            throw .lastError(name)
        }
    }

    /// Waits until something is ready or `timeoutMilliseconds` pass (-1: forever, 0: just look) and
    /// fills `events`. A wait interrupted by a signal returns no events rather than throwing: the
    /// caller's loop goes round again anyway.
    public func wait(into events: inout EpollEvents, timeoutMilliseconds: Int32) throws(EventLoopError) {
        let count = parkbench_epoll_wait(descriptor, events.raw, Int32(events.capacity), timeoutMilliseconds)
        if count < 0 {
            let code = errno
            events.count = 0
            guard code == EINTR else { throw EventLoopError("epoll_wait", code: code) }
            return
        }
        events.count = Int(count)
    }

    /// Closes the epoll descriptor. Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(descriptor)
    }
}
