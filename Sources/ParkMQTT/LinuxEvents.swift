import CLinuxEvents

#if canImport(Glibc)
import Glibc
#endif

/// epoll and eventfd for the MQTT I/O threads, through the `CLinuxEvents` header shim (Swift's
/// Glibc module does not export `<sys/epoll.h>` or `<sys/eventfd.h>`). The event buffer is kept
/// as raw bytes with an explicit stride because `struct epoll_event` is packed on x86-64.
enum LinuxEvents {
    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangUp: UInt32 = 0x010  // EPOLLHUP

    static let add: Int32 = 1  // EPOLL_CTL_ADD
    static let delete: Int32 = 2  // EPOLL_CTL_DEL
    static let modify: Int32 = 3  // EPOLL_CTL_MOD

    static let closeOnExec: Int32 = 0o2_000_000  // EPOLL_CLOEXEC == EFD_CLOEXEC == O_CLOEXEC
    static let nonBlocking: Int32 = 0o4_000  // EFD_NONBLOCK == O_NONBLOCK

    /// `struct epoll_event` is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16).
    static let eventStride = MemoryLayout<epoll_event>.stride
    #if arch(x86_64)
    static let dataOffset = 4
    #else
    static let dataOffset = 8
    #endif

    static func createEpoll() -> Int32 { epoll_create1(closeOnExec) }

    static func createEventFD() -> Int32 { eventfd(0, closeOnExec | nonBlocking) }

    /// Registers, changes or removes `fd`; `token` comes back with every event for it.
    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, token: UInt64)
        -> Int32
    {
        withUnsafeTemporaryAllocation(byteCount: eventStride, alignment: 8) { buffer in
            let raw = buffer.baseAddress!
            raw.storeBytes(of: events, as: UInt32.self)
            raw.storeBytes(of: token, toByteOffset: dataOffset, as: UInt64.self)
            return epoll_ctl(epollFD, operation, fd, raw.assumingMemoryBound(to: epoll_event.self))
        }
    }

    static func wait(_ epollFD: Int32, into buffer: borrowing EpollEventBuffer, timeoutMilliseconds: Int32) -> Int32 {
        epoll_wait(epollFD, buffer.raw.assumingMemoryBound(to: epoll_event.self), Int32(buffer.capacity), timeoutMilliseconds)
    }
}

/// The array `epoll_wait` fills, owned by one I/O thread.
struct EpollEventBuffer: ~Copyable {
    let capacity: Int
    let raw: UnsafeMutableRawPointer

    init(capacity: Int) {
        self.capacity = capacity
        raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * LinuxEvents.eventStride, alignment: 8)
    }

    func events(at index: Int) -> UInt32 {
        raw.loadUnaligned(fromByteOffset: index * LinuxEvents.eventStride, as: UInt32.self)
    }

    func token(at index: Int) -> UInt64 {
        raw.loadUnaligned(
            fromByteOffset: index * LinuxEvents.eventStride + LinuxEvents.dataOffset, as: UInt64.self)
    }

    deinit { raw.deallocate() }
}

/// Monotonic nanoseconds for deadlines and latencies (CLOCK_MONOTONIC, never jumps with wall time).
enum MonotonicClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; attosecond precision is far below anything a socket sees.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
