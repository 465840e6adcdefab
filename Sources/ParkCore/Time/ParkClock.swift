import ParkWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A point on a monotonic time line, in nanoseconds.
///
/// On a ``SystemClock`` this is `CLOCK_MONOTONIC` (the same clock SwiftNIO's `NIODeadline`
/// uses, so deadlines convert without drift); on a ``ManualClock`` it starts at zero.
public struct MonotonicInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = MonotonicInstant(nanoseconds: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// The instant `duration` later. Saturates instead of wrapping.
    public func advanced(by duration: DeviceDuration) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds.addingReportingOverflow(duration.nanoseconds).overflow
            ? .max : nanoseconds + duration.nanoseconds)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    public func duration(since earlier: MonotonicInstant) -> DeviceDuration {
        DeviceDuration(nanoseconds: nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0)
    }

    public var description: String { DeviceDuration(nanoseconds: nanoseconds).description }
}

/// Wall-clock time as nanoseconds since the Unix epoch (UTC).
public struct WallTime: Hashable, Comparable, Sendable {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }

    /// RFC 3339 with millisecond precision, e.g. `2026-01-01T00:00:01.250Z`.
    public var iso8601: String { WireTime.iso8601(nanosecondsSinceEpoch: nanosecondsSinceEpoch) }
}

/// One reading of a clock: the monotonic instant for ordering and latency, the wall time for
/// correlating with timestamps a platform writes.
public struct ClockReading: Sendable, Hashable {
    public var monotonic: MonotonicInstant
    public var wall: WallTime

    public init(monotonic: MonotonicInstant, wall: WallTime) {
        self.monotonic = monotonic
        self.wall = wall
    }
}

/// The source of time for devices, schedulers and the ledger.
///
/// Two implementations: ``SystemClock`` for real runs, and ``ManualClock`` for behaviour tests
/// and virtual-time simulation, where hours of device time pass in milliseconds.
public protocol ParkClock: AnyObject, Sendable {
    /// Reads the clock once.
    func now() -> ClockReading
}

/// The machine's clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
public final class SystemClock: ParkClock {
    public init() {}

    public func now() -> ClockReading {
        ClockReading(monotonic: SystemClock.monotonicNow(), wall: SystemClock.wallNow())
    }

    /// `CLOCK_MONOTONIC` in nanoseconds.
    public static func monotonicNow() -> MonotonicInstant {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return MonotonicInstant(nanoseconds: UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec))
    }

    /// `CLOCK_REALTIME` in nanoseconds since the epoch.
    public static func wallNow() -> WallTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return WallTime(nanosecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}

/// A clock that moves only when told to.
///
/// Wall time is `wallOrigin` plus the monotonic offset, so a run on a manual clock is
/// reproducible to the byte (the default origin is 2026-01-01T00:00:00Z).
public final class ManualClock: ParkClock {
    private let state: Mutex<UInt64>
    private let wallOrigin: WallTime

    /// 2026-01-01T00:00:00Z.
    public static let defaultWallOrigin = WallTime(nanosecondsSinceEpoch: 1_767_225_600_000_000_000)

    public init(start: MonotonicInstant = .zero, wallOrigin: WallTime = ManualClock.defaultWallOrigin) {
        self.state = Mutex(start.nanoseconds)
        self.wallOrigin = wallOrigin
    }

    public func now() -> ClockReading {
        let nanoseconds = state.withLock { $0 }
        return ClockReading(
            monotonic: MonotonicInstant(nanoseconds: nanoseconds),
            wall: WallTime(nanosecondsSinceEpoch: wallOrigin.nanosecondsSinceEpoch + Int64(nanoseconds)))
    }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: DeviceDuration) {
        state.withLock { $0 += duration.nanoseconds }
    }

    /// Moves the clock to `instant`; an instant in the past is ignored (time never runs backwards).
    public func advance(to instant: MonotonicInstant) {
        state.withLock { $0 = Swift.max($0, instant.nanoseconds) }
    }
}
