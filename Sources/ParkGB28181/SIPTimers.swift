import ParkEventLoop

/// RFC 3261 §17.1.2.2 timer values for non-INVITE client transactions over UDP, in nanoseconds
/// of ``ParkEventLoop/MonotonicClock`` (the clock every deadline here is kept in).
///
/// The defaults are the RFC's: T1 = 500 ms (round-trip estimate), T2 = 4 s (the retransmit
/// interval cap), Timer F = 64·T1 = 32 s. Tests shrink them to run fast.
public struct SIPTimers: Sendable, Equatable {
    public var t1: UInt64
    public var t2: UInt64
    /// Timer F: how long a transaction waits for a final response before it times out.
    public var timeoutF: UInt64

    public init(t1: Duration = .milliseconds(500), t2: Duration = .seconds(4), timeoutF: Duration? = nil) {
        self.t1 = t1.nanoseconds
        self.t2 = t2.nanoseconds
        self.timeoutF = timeoutF?.nanoseconds ?? 64 * t1.nanoseconds
    }

    public static let rfc3261 = SIPTimers()
}
