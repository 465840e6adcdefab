import Foundation
import ParkEventLoop

/// How a certification waits on what its peer does: it asks `find` every 10 ms until it gives a
/// value or `timeout` passes. The peers answer in milliseconds to seconds; polling a log keeps the
/// cases straight-line code instead of callbacks.
func poll<T>(_ timeout: Duration, _ find: () -> T?) -> T? {
    let deadline = MonotonicClock.now() + nanoseconds(timeout)
    while true {
        if let found = find() { return found }
        guard MonotonicClock.now() < deadline else { return nil }
        usleep(10_000)
    }
}

/// `duration` in whole nanoseconds, negative ones as zero.
func nanoseconds(_ duration: Duration) -> UInt64 {
    UInt64(max(0, duration.components.seconds)) * 1_000_000_000 + UInt64(max(0, duration.components.attoseconds) / 1_000_000_000)
}
