import ParkEventLoop

/// How long a camera waits before registering again after a 403 or a timeout: exponential from
/// `base`, capped at `cap`, with "equal jitter" (half the step fixed, half random) so a platform
/// that refused 50,000 cameras at once does not get them back in one burst, while no camera
/// waits less than half its step.
public struct SIPBackoff: Sendable, Equatable {
    public var base: UInt64
    public var cap: UInt64

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base.nanoseconds
        self.cap = cap.nanoseconds
    }

    /// The step of the `attempt`th retry (1-based): base·2^(attempt−1), at most `cap`.
    public func step(attempt: Int) -> UInt64 {
        let shift = min(max(attempt - 1, 0), 40)
        let (scaled, overflow) = base.multipliedReportingOverflow(by: 1 << UInt64(shift))
        return overflow ? cap : min(scaled, cap)
    }

    /// A delay in [step/2, step].
    public func delay(attempt: Int, using random: inout some RandomNumberGenerator) -> UInt64 {
        let step = step(attempt: attempt)
        return step / 2 + UInt64.random(in: 0...(step - step / 2), using: &random)
    }
}

/// SplitMix64: a small seeded generator, so a run's branches, tags and jitter repeat from its
/// seed (and a registration's randomness costs no system call).
public struct SIPRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
