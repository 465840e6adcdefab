#if canImport(Glibc)
import Glibc
#endif

/// CLOCK_MONOTONIC as plain integers, for deadlines, timeouts and latencies on the socket threads:
/// never jumps with wall time, and costs a vDSO call, not a system call or an allocation.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    public static func microseconds() -> UInt64 { now() / 1_000 }

    public static func milliseconds() -> UInt64 { now() / 1_000_000 }
}

extension Duration {
    /// Whole nanoseconds, saturating (negative: 0); attosecond precision is far below anything a
    /// socket sees, and deadlines are kept as ``MonotonicClock`` nanoseconds.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        // Below a second, a negative duration has seconds 0 and negative attoseconds.
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
