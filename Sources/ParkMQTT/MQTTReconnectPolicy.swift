import ParkEventLoop

/// When a client tries again after a failed connect or a lost connection.
///
/// The delay after the n-th consecutive failure is drawn below a ceiling of `min(cap, base · 2ⁿ⁻¹)`.
/// With ``Jitter-swift.enum/full`` (the default) it is uniform in `0...ceiling`, so a thousand clients
/// that lost the same broker come back spread over the window instead of in lock step, which would
/// overflow the broker's listen backlog again ("Exponential Backoff and Jitter", AWS Architecture
/// Blog, 2015). A connection that lasted ``resetAfter`` resets the count; one that is dropped sooner
/// (say, a duplicate client ID taking the session over) keeps backing off instead of flapping.
public struct MQTTReconnectPolicy: Sendable, Hashable {
    /// How the delay is drawn below the exponential ceiling.
    public enum Jitter: Sendable, Hashable {
        /// Uniform in `0...ceiling`: the best spread; a single delay may be near zero.
        case full
        /// `ceiling/2` plus uniform in `0...ceiling/2`: some spread, and a guaranteed minimum gap.
        case equal
        /// Exactly the ceiling: deterministic, for tests and for brokers that want strict pacing.
        case none
    }

    /// What to do when the broker refuses the credentials (see ``MQTTError/isAuthenticationFailure``).
    public enum AuthenticationFailure: Sendable, Hashable {
        /// Keep retrying with backoff, as a real device with a wrong or revoked secret would. Each
        /// refusal is reported once (log warning + delegate), never in a tight loop.
        case retry
        /// Stop the client after the first such refusal; ``MQTTClientPool/connect(_:)`` restarts it.
        case stop
    }

    public var base: Duration
    public var cap: Duration
    public var jitter: Jitter
    public var onAuthenticationFailure: AuthenticationFailure
    /// A connection that stayed up at least this long resets the failure count.
    public var resetAfter: Duration

    public init(
        base: Duration = .milliseconds(500),
        cap: Duration = .seconds(30),
        jitter: Jitter = .full,
        onAuthenticationFailure: AuthenticationFailure = .retry,
        resetAfter: Duration = .seconds(5)
    ) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.onAuthenticationFailure = onAuthenticationFailure
        self.resetAfter = resetAfter
    }

    /// `min(cap, base · 2^(failures-1))`, the most the delay after `failures` failures can be.
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = UInt64(max(0, min(failures - 1, 40)))
        let (scaled, overflow) = base.nanoseconds.multipliedReportingOverflow(by: 1 << exponent)
        let ceiling = overflow ? cap.nanoseconds : min(cap.nanoseconds, scaled)
        return .nanoseconds(Int64(clamping: ceiling))
    }

    /// The delay before the next attempt after `failures` consecutive failures (1 for the first).
    public func delay(afterFailures failures: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(afterFailures: failures).nanoseconds
        let nanoseconds: UInt64
        switch jitter {
        case .full: nanoseconds = UInt64.random(in: 0...ceiling, using: &generator)
        case .equal: nanoseconds = ceiling / 2 + UInt64.random(in: 0...(ceiling - ceiling / 2), using: &generator)
        case .none: nanoseconds = ceiling
        }
        return .nanoseconds(Int64(clamping: nanoseconds))
    }

    func problems() -> [String] {
        var problems: [String] = []
        if base <= .zero { problems.append("reconnect base \(base) must be positive") }
        if cap < base { problems.append("reconnect cap \(cap) is below its base \(base)") }
        return problems
    }
}

/// SplitMix64: a cheap per-I/O-thread generator for backoff jitter. `SystemRandomNumberGenerator`
/// costs a `getrandom` system call per draw, which a reconnect storm of thousands does not need.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
