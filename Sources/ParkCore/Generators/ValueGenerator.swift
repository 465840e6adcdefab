/// Produces a point's true value over device time, drawing randomness from the device's stream.
///
/// Generators are values: a device owns its generators and calls them with non-decreasing
/// times. Given the same stream and the same call times they return the same values, which
/// is what makes a run reproducible from its seed.
public protocol ValueGenerator: Sendable {
    /// The value at `time`, advancing the generator's state to that time.
    mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double
}

/// Always the same value.
public struct ConstantGenerator: ValueGenerator {
    public var constant: Double
    public init(_ constant: Double) { self.constant = constant }
    public mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double { constant }
}

/// A random walk that stays within `[minimum, maximum]` by reflecting off the bounds.
///
/// The step size scales with the square root of elapsed time (Brownian motion), so sampling
/// every second or every minute gives the same spread over an hour.
public struct RandomWalkGenerator: ValueGenerator {
    public let minimum: Double
    public let maximum: Double
    /// Standard deviation of the change over one second.
    public let volatilityPerSecond: Double
    public private(set) var current: Double
    private var lastTime: MonotonicInstant?

    public init(start: Double, minimum: Double, maximum: Double, volatilityPerSecond: Double) {
        precondition(minimum <= maximum, "random walk bounds are reversed")
        self.minimum = minimum
        self.maximum = maximum
        self.volatilityPerSecond = volatilityPerSecond
        self.current = Swift.min(Swift.max(start, minimum), maximum)
    }

    public mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double {
        defer { lastTime = time }
        guard let lastTime, time > lastTime, maximum > minimum else { return current }
        let elapsed = time.duration(since: lastTime).seconds
        var next = current + random.nextGaussian(standardDeviation: volatilityPerSecond * elapsed.squareRoot())
        let width = maximum - minimum
        // Reflect until inside; a huge step can bounce more than once.
        while next < minimum || next > maximum {
            if next < minimum { next = minimum + (minimum - next) }
            if next > maximum { next = maximum - (next - maximum) }
            if !next.isFinite || abs(next - current) > 1_000 * width { next = minimum + width / 2 }
        }
        current = next
        return current
    }
}

/// A repeating daily curve (e.g. a building's load or a street's traffic) with optional noise.
///
/// `hourly` holds 24 values, one per hour of the day; values between hours are interpolated
/// linearly and the curve wraps at midnight. `startHour` says what hour of day device time
/// zero is. Noise is a Gaussian with `noiseFraction` of the curve value as standard deviation.
public struct DailyProfileGenerator: ValueGenerator {
    public let hourly: [Double]
    public let startHour: Double
    public let noiseFraction: Double

    public init(hourly: [Double], startHour: Double = 0, noiseFraction: Double = 0) {
        precondition(hourly.count == 24, "a daily profile needs 24 hourly values")
        self.hourly = hourly
        self.startHour = startHour
        self.noiseFraction = noiseFraction
    }

    /// The noiseless curve at `hourOfDay` in [0, 24).
    public func curve(atHour hourOfDay: Double) -> Double {
        let hour = hourOfDay.truncatingRemainder(dividingBy: 24)
        let lower = Int(hour) % 24
        let upper = (lower + 1) % 24
        let fraction = hour - Double(Int(hour))
        return hourly[lower] + (hourly[upper] - hourly[lower]) * fraction
    }

    public mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double {
        let base = curve(atHour: startHour + Double(time.nanoseconds) / 3.6e12)
        guard noiseFraction > 0 else { return base }
        return base + random.nextGaussian(standardDeviation: abs(base) * noiseFraction)
    }
}

/// Integrates a rate into a running total: energy (kWh) from power (kW), volume from flow.
///
/// Uses the trapezoid rule between samples, so the total is consistent with the rates reported
/// at the same instants: over a step, Δtotal = (rate₀ + rate₁) / 2 · Δt. With
/// `clampNegativeRates` (the default) negative rates add nothing, so the total never decreases,
/// as a forward-energy register must not.
public struct IntegratorGenerator<Rate: ValueGenerator>: ValueGenerator {
    public private(set) var rateGenerator: Rate
    /// The running total, in rate units × hours.
    public private(set) var total: Double
    /// The rate sampled at the last call: report this beside `total` to stay consistent.
    public private(set) var lastRate: Double = 0
    public let clampNegativeRates: Bool
    private var lastTime: MonotonicInstant?

    public init(rate: Rate, initialTotal: Double = 0, clampNegativeRates: Bool = true) {
        self.rateGenerator = rate
        self.total = initialTotal
        self.clampNegativeRates = clampNegativeRates
    }

    public mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double {
        var rate = rateGenerator.value(at: time, random: &random)
        if clampNegativeRates { rate = Swift.max(rate, 0) }
        if let lastTime, time > lastTime {
            let hours = time.duration(since: lastTime).seconds / 3_600
            total += (lastRate + rate) / 2 * hours
        }
        lastRate = rate
        lastTime = time
        return total
    }
}

/// Arrivals of a Poisson process: alarms, vehicles at a gate, people at a door.
///
/// The gaps are exponential with mean `1 / ratePerSecond`; a rate of zero never arrives.
public struct PoissonArrivals: Sendable, Hashable {
    public let ratePerSecond: Double

    public init(ratePerSecond: Double) { self.ratePerSecond = Swift.max(0, ratePerSecond) }
    public init(perHour: Double) { self.init(ratePerSecond: perHour / 3_600) }

    /// The next arrival after `time`, or nil when the rate is zero.
    public func nextArrival(after time: MonotonicInstant, random: inout SeededRandom) -> MonotonicInstant? {
        guard ratePerSecond > 0 else { return nil }
        let gap = random.nextExponential(mean: 1 / ratePerSecond)
        return time.advanced(by: .fromSeconds(Swift.max(gap, 1e-9)))
    }
}

/// A piecewise-constant value that steps at given device times (e.g. a tariff or a scripted fault).
public struct StepGenerator: ValueGenerator {
    /// `(from, value)` pairs sorted by time; before the first step the value is `initial`.
    public let steps: [(from: MonotonicInstant, value: Double)]
    public let initial: Double

    public init(initial: Double, steps: [(from: MonotonicInstant, value: Double)]) {
        self.initial = initial
        self.steps = steps.sorted { $0.from < $1.from }
    }

    public mutating func value(at time: MonotonicInstant, random: inout SeededRandom) -> Double {
        steps.last(where: { $0.from <= time })?.value ?? initial
    }
}
