import Testing
@testable import ParkCore

/// Seeded streams and value generators.
@Suite struct RandomAndGeneratorTests {
    /// One seed gives one stream; another seed or another device gives another.
    @Test func streamsAreReproducibleAndIndependent() {
        var a = SeededRandom.forDevice("smoke-A1-01", runSeed: 42)
        var b = SeededRandom.forDevice("smoke-A1-01", runSeed: 42)
        var c = SeededRandom.forDevice("smoke-A1-02", runSeed: 42)
        var d = SeededRandom.forDevice("smoke-A1-01", runSeed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        #expect(first != (0..<8).map { _ in d.next() })
    }

    /// The stream's first values are pinned (computed with an independent Python rendering of
    /// SplitMix64 + xoshiro256**), so a change to the algorithm, which would change every
    /// recorded run, cannot slip in unnoticed.
    @Test func streamIsStableAcrossReleases() {
        var random = SeededRandom(seed: 1)
        #expect((0..<3).map { _ in random.next() } == [0xB3F2_AF6D_0FC7_10C5, 0x853B_5596_4736_4CEA, 0x92F8_9756_082A_4514])
        #expect(StableHash.fnv1a64("") == 0xCBF2_9CE4_8422_2325)
        #expect(StableHash.fnv1a64("a") == 0xAF63_DC4C_8601_EC8C)
    }

    /// Uniform doubles stay in [0, 1) and average one half.
    @Test func unitDoublesAreUniform() {
        var random = SeededRandom(seed: 7)
        let samples = (0..<100_000).map { _ in random.nextUnit() }
        #expect(samples.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = samples.reduce(0, +) / Double(samples.count)
        #expect(abs(mean - 0.5) < 0.01)
    }

    /// A random walk never leaves its bounds, however long it runs or however big its steps.
    @Test func randomWalkStaysInBounds() {
        var random = SeededRandom(seed: 3)
        var walk = RandomWalkGenerator(start: 20, minimum: 18, maximum: 26, volatilityPerSecond: 2)
        var values: [Double] = []
        for second in 0..<20_000 {
            values.append(walk.value(at: MonotonicInstant(nanoseconds: UInt64(second) * 1_000_000_000), random: &random))
        }
        #expect(values.allSatisfy { $0 >= 18 && $0 <= 26 })
        #expect(Set(values).count > 1_000, "the walk should move")
    }

    /// The integrator's total equals the trapezoid integral of the rates it reported, and never
    /// decreases even when the rate goes negative.
    @Test func integratorIsConsistentWithRateAndMonotonic() {
        var random = SeededRandom(seed: 11)
        let rate = RandomWalkGenerator(start: 5, minimum: -2, maximum: 10, volatilityPerSecond: 0.5)
        var energy = IntegratorGenerator(rate: rate)
        var expected = 0.0
        var previousRate: Double?
        var previousTotal = 0.0
        for minute in 0...600 {
            let time = MonotonicInstant(nanoseconds: UInt64(minute) * 60_000_000_000)
            let total = energy.value(at: time, random: &random)
            let reported = energy.lastRate
            #expect(reported >= 0)
            if let previousRate { expected += (previousRate + reported) / 2 * (1.0 / 60) }
            previousRate = reported
            #expect(total >= previousTotal)
            previousTotal = total
            #expect(abs(total - expected) < 1e-9)
        }
        #expect(previousTotal > 0)
    }

    /// A constant 2 kW for 3 hours integrates to exactly 6 kWh.
    @Test func integratorOfConstantIsExact() {
        var random = SeededRandom(seed: 1)
        var energy = IntegratorGenerator(rate: ConstantGenerator(2))
        _ = energy.value(at: .zero, random: &random)
        #expect(energy.value(at: MonotonicInstant.zero.advanced(by: .hours(3)), random: &random) == 6)
    }

    /// The daily profile passes through its hourly points and interpolates between them.
    @Test func dailyProfileInterpolates() {
        var hourly = Array(repeating: 10.0, count: 24)
        hourly[9] = 50
        hourly[10] = 70
        let profile = DailyProfileGenerator(hourly: hourly)
        #expect(profile.curve(atHour: 9) == 50)
        #expect(profile.curve(atHour: 9.5) == 60)
        #expect(profile.curve(atHour: 33) == 50, "wraps at midnight")
    }

    /// Poisson gaps average 1/rate, and a zero rate never arrives.
    @Test func poissonArrivalsHaveTheRightMean() {
        var random = SeededRandom(seed: 5)
        let arrivals = PoissonArrivals(perHour: 3_600)
        var time = MonotonicInstant.zero
        for _ in 0..<20_000 {
            guard let next = arrivals.nextArrival(after: time, random: &random) else { Issue.record("no arrival"); return }
            #expect(next > time)
            time = next
        }
        let meanGap = time.duration(since: .zero).seconds / 20_000
        #expect(abs(meanGap - 1) < 0.03)
        #expect(PoissonArrivals(perHour: 0).nextArrival(after: .zero, random: &random) == nil)
    }
}
