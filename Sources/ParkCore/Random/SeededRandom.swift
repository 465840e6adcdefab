/// A fast, reproducible pseudo-random stream (xoshiro256**, seeded through SplitMix64).
///
/// One run seed gives one run: every device draws from its own stream, derived from
/// `(run seed, device id)` by ``forDevice(_:runSeed:)``, so adding or removing a device never
/// changes what the others do. Swift's `Hasher` is not used anywhere on this path because it
/// is seeded randomly per process.
public struct SeededRandom: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A stream seeded from one 64-bit value.
    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
    }

    /// The stream of device `deviceID` in the run seeded with `runSeed`.
    public static func forDevice(_ deviceID: String, runSeed: UInt64) -> SeededRandom {
        SeededRandom(seed: runSeed ^ StableHash.fnv1a64(deviceID) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent child stream, e.g. one per generator inside a device.
    public mutating func fork() -> SeededRandom {
        SeededRandom(seed: next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A double uniformly in [0, 1) with 53 bits of randomness.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A double uniformly in `range`.
    public mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + nextUnit() * (range.upperBound - range.lowerBound)
    }

    /// A normally distributed value (Box–Muller; one draw per call keeps the stream simple).
    public mutating func nextGaussian(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = max(nextUnit(), .leastNonzeroMagnitude)
        let u2 = nextUnit()
        return mean + standardDeviation * (-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2)
    }

    /// An exponentially distributed wait with the given mean: the gap between Poisson arrivals.
    public mutating func nextExponential(mean: Double) -> Double {
        -mean * _log(1 - nextUnit())
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// SplitMix64: turns one seed into well-mixed words for seeding xoshiro.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Hashes that are the same in every process and on every machine.
public enum StableHash {
    /// 64-bit FNV-1a over the UTF-8 bytes of `text`.
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
