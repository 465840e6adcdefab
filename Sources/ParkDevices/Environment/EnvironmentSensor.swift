#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ParkCore

/// One air-quality and noise monitor: the state machine behind ``EnvironmentSensorKind``.
///
/// Two layers. The *air* is the truth: daily curves for temperature, CO2 and noise, bounded
/// random walks for humidity, PM and CO, plus any pollution episodes the harness injected.
/// The *instrument* reads it through an error model per point,
/// `measured = truth × (1 + bias + drift) + N(0, sigma)`, clipped to what the sensor can show.
/// Bias is the factory gain error and stays; drift is what ageing adds and what `calibrate`
/// and auto-zero remove. Limits are judged on the measured value, because that is what a real
/// station alarms on: a sensor that reads high alarms early, and the ledger shows it.
///
/// Each point draws its truth and its error from streams of its own, forked from the device's
/// stream in a fixed order, so enabling a point or changing its noise never changes another
/// point's values.
final class EnvironmentSensor: DeviceBehavior {
    typealias Timer = EnvironmentSensorKind.Timer
    typealias Point = EnvironmentSensorKind.Point

    /// A gain drift, possibly still ramping toward its target.
    private struct Drift {
        var from: Double = 0
        var to: Double = 0
        var start: MonotonicInstant = .zero
        var span: DeviceDuration = .zero

        func value(at time: MonotonicInstant) -> Double {
            let elapsed = time.duration(since: start)
            guard span > .zero, elapsed < span else { return to }
            return from + (to - from) * elapsed.seconds / span.seconds
        }
    }

    /// One sensor of the instrument: its error model, alarm state and fault.
    private struct Sensor {
        let point: Point
        let enabled: Bool
        let bias: Double
        let sigma: Double
        var limit: Double
        var overLimit = false
        var faultCode: String?
        var drift = Drift()
        var random: SeededRandom

        var reporting: Bool { enabled && faultCode == nil }
    }

    /// A pollution episode: it holds its peak for `hold`, then fades exponentially.
    private struct Episode {
        let start: MonotonicInstant
        let hold: DeviceDuration
        let pm25: Double
        let pm10: Double
        let co: Double

        func weight(at time: MonotonicInstant, decaySeconds: Double) -> Double {
            let elapsed = time.duration(since: start)
            guard elapsed > hold else { return 1 }
            return exp(-(elapsed.seconds - hold.seconds) / decaySeconds)
        }
    }

    /// What the air held and what the instrument made of it at one instant, indexed by
    /// ``EnvironmentSensorKind/Point/rawValue`` and rounded as reported.
    private struct Sample {
        var truth: [Double]
        var measured: [Double]
    }

    private var heartbeat: PeriodicTimer
    private var report: PeriodicTimer
    private let startSpread: DeviceDuration
    private var autoZero: PeriodicTimer
    private let hysteresis: Double
    private let decaySeconds: Double

    private var random: SeededRandom
    private var truthRandom: [SeededRandom]
    private var sensors: [Sensor]

    private var temperatureCurve: DailyProfileGenerator
    private var temperatureWeather: RandomWalkGenerator
    private var humidity: RandomWalkGenerator
    private var pm25Background: RandomWalkGenerator
    private var pm10Ratio: RandomWalkGenerator
    private var co2Curve: DailyProfileGenerator
    private var coBackground: RandomWalkGenerator
    private var noiseCurve: DailyProfileGenerator
    private var episodes: [Episode] = []

    /// Power off stops the periodic timers; power on starts new chains.
    private var powered = true

    init(setup: DeviceSetup) throws(DeviceError) {
        let parameters = setup.parameters
        heartbeat = PeriodicTimer(Timer.heartbeat, interval: parameters.duration("heartbeat_interval"))
        report = PeriodicTimer(Timer.report, interval: parameters.duration("report_interval"))
        startSpread = parameters.duration("start_spread")
        autoZero = PeriodicTimer(Timer.autoZero, interval: parameters.duration("auto_zero_interval"))
        hysteresis = parameters.double("limit_hysteresis")
        decaySeconds = max(parameters.duration("pollution_decay").seconds, 1e-9)

        var enabled = Set<Point>()
        for name in parameters.string("points").split(separator: ",") {
            let trimmed = name.filter { !$0.isWhitespace }
            if trimmed.isEmpty { continue }
            guard let point = Point(name: trimmed) else {
                throw DeviceError("environment sensor has no point '\(trimmed)' (parameter points); known: "
                    + EnvironmentSensorKind.allPointNames)
            }
            enabled.insert(point)
        }
        guard !enabled.isEmpty else { throw DeviceError("environment sensor needs at least one point (parameter points)") }

        // Fork every stream before drawing phases from the device's own, in a fixed order, so
        // the streams do not depend on which points a model has.
        var random = setup.random
        truthRandom = Point.allCases.map { _ in random.fork() }
        sensors = Point.allCases.map { point in
            Sensor(
                point: point, enabled: enabled.contains(point),
                bias: parameters.double("\(point.name)_bias"), sigma: parameters.double("\(point.name)_sigma"),
                limit: parameters.double("\(point.name)_limit"), random: random.fork())
        }
        self.random = random

        let startHour = parameters.double("start_hour")
        let temperatureMean = parameters.double("temperature_mean")
        let swing = parameters.double("temperature_swing")
        temperatureCurve = DailyProfileGenerator(
            hourly: (0..<24).map { temperatureMean + swing * cos(2 * .pi * (Double($0) - 14) / 24) }, startHour: startHour)
        temperatureWeather = RandomWalkGenerator(start: 0, minimum: -2, maximum: 2, volatilityPerSecond: 0.003)
        let humidityMean = parameters.double("humidity_mean")
        humidity = RandomWalkGenerator(
            start: humidityMean, minimum: max(0, humidityMean - 20), maximum: min(100, humidityMean + 20),
            volatilityPerSecond: 0.03)
        let pm25 = parameters.double("pm25_background")
        pm25Background = RandomWalkGenerator(start: pm25, minimum: 0.4 * pm25, maximum: 1.6 * pm25, volatilityPerSecond: 0.002 * pm25)
        let ratio = parameters.double("pm10_ratio")
        pm10Ratio = RandomWalkGenerator(start: ratio, minimum: max(1, ratio - 0.4), maximum: ratio + 0.4, volatilityPerSecond: 0.0005)
        let co2Base = parameters.double("co2_base")
        let co2Peak = parameters.double("co2_peak")
        // People breathe out CO2, so the curve follows a working day's occupancy.
        let occupancy: [Double] = [0, 0, 0, 0, 0, 0, 0.05, 0.3, 0.7, 1, 1, 1, 0.9, 0.9, 1, 1, 1, 1, 0.6, 0.3, 0.15, 0.05, 0, 0]
        co2Curve = DailyProfileGenerator(hourly: occupancy.map { co2Base + (co2Peak - co2Base) * $0 }, startHour: startHour, noiseFraction: 0.01)
        let co = parameters.double("co_background")
        coBackground = RandomWalkGenerator(start: co, minimum: 0.4 * co, maximum: 1.6 * co, volatilityPerSecond: 0.002 * co)
        let night = parameters.double("noise_night")
        let day = parameters.double("noise_day")
        // Traffic: quiet at night, peaks at the rush hours, a little lower in between.
        let traffic: [Double] = [0, 0, 0, 0, 0, 0, 0.5, 1, 1, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 1, 1, 1, 0.7, 0.7, 0.3, 0.1]
        noiseCurve = DailyProfileGenerator(hourly: traffic.map { night + (day - night) * $0 }, startHour: startHour, noiseFraction: 0.02)
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        // A random phase per timer keeps a park of stations from reporting in lock step.
        heartbeat.start(spread: startSpread, random: &random, context)
        report.start(spread: startSpread, random: &random, context)
        if autoZero.interval > .zero {
            autoZero.start(spread: startSpread, random: &random, context)
        }
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        guard powered else { return }
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            guard heartbeat.fire(tag, context) else { return }
            context.emit(event: "heartbeat", [Reading("status", .string(status))])
        case .report:
            guard report.fire(tag, context) else { return }
            let sample = self.sample(at: context.now)
            let readings = self.readings(sample)
            // A station whose every sensor has failed has nothing to report; its heartbeat says why.
            if !readings.isEmpty { context.emit(telemetry: readings) }
            checkLimits(sample, context)
        case .autoZero:
            guard autoZero.fire(tag, context) else { return }
            zeroDrift(of: sensors.indices.filter { sensors[$0].enabled }, source: "auto", context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        switch stimulus.name {
        case "pollution":
            let pm25 = try number(stimulus, "pm25", default: 150)
            let pm10 = try number(stimulus, "pm10", default: 1.5 * pm25)
            let co = try number(stimulus, "co", default: 0)
            guard pm25 >= 0, pm10 >= 0, co >= 0 else {
                throw DeviceError("stimulus 'pollution' adds pollution: pm25, pm10 and co must not be negative")
            }
            // Every particle below 2.5 µm is also below 10 µm; less added PM10 would break PM10 ≥ PM2.5.
            guard pm10 >= pm25 else {
                throw DeviceError("stimulus 'pollution' argument 'pm10' (\(JSONText.number(pm10))) must be at least 'pm25' (\(JSONText.number(pm25)))")
            }
            let hold = try duration(stimulus, "duration", default: .minutes(30))
            episodes.append(Episode(start: context.now, hold: hold, pm25: pm25, pm10: pm10, co: co))
        case "drift":
            let index = try requiredSensor(stimulus)
            let fraction = try number(stimulus, "fraction", default: nil)
            guard fraction > -1, fraction <= 10 else {
                throw DeviceError("stimulus 'drift' argument 'fraction' must be above -1 and at most 10, got \(JSONText.number(fraction))")
            }
            let over = try duration(stimulus, "over", default: .zero)
            let current = sensors[index].drift.value(at: context.now)
            sensors[index].drift = Drift(from: current, to: fraction, start: context.now, span: over)
        case "fault":
            let index = try requiredSensor(stimulus)
            let code: String
            if case .string(let given)? = stimulus.arguments["code"] { code = given } else { code = "sensor" }
            guard sensors[index].faultCode == nil else { return }
            sensors[index].faultCode = code
            if powered {
                context.emit(event: "fault", [Reading("point", .string(sensors[index].point.name)), Reading("code", .string(code))])
            }
        case "fault-clear":
            let only = try optionalSensor(stimulus)
            for index in sensors.indices where (only == nil || only == index) && sensors[index].faultCode != nil {
                sensors[index].faultCode = nil
                if powered { context.emit(event: "fault-clear", [Reading("point", .string(sensors[index].point.name))]) }
            }
        case "power-off":
            guard powered else { return }
            powered = false
            // Their pending firings are ignored; power-on starts new chains.
            heartbeat.stop()
            report.stop()
            autoZero.stop()
        case "power-on":
            guard !powered else { return }
            powered = true
            start(context: context)
        default:
            throw DeviceError("environment sensor has no stimulus '\(stimulus.name)'; known: "
                + EnvironmentSensorKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        guard powered else { return .rejected("powered off") }
        switch command.name {
        case "calibrate":
            var indices = sensors.indices.filter { sensors[$0].enabled }
            if let argument = command.arguments["point"] {
                guard case .string(let name) = argument, let point = Point(name: name), sensors[point.rawValue].enabled else {
                    return .rejected("point must be one this model measures: \(enabledNames)")
                }
                indices = [point.rawValue]
            }
            return CommandResult(.accepted, readings: zeroDrift(of: indices, source: "command", context))
        case "set-limit":
            guard case .string(let name)? = command.arguments["point"], let point = Point(name: name), sensors[point.rawValue].enabled else {
                return .rejected("point must be one this model measures: \(enabledNames)")
            }
            guard let limit = command.arguments["limit"]?.doubleValue, point.limitRange.contains(limit) else {
                return .rejected("limit for \(name) must be a number from \(JSONText.number(point.limitRange.lowerBound)) to \(JSONText.number(point.limitRange.upperBound)) \(point.unit)")
            }
            sensors[point.rawValue].limit = limit
            return CommandResult(.accepted, readings: [Reading("point", .string(name)), Reading("limit", .double(limit))])
        case "read":
            return CommandResult(.accepted, readings: readings(sample(at: context.now)))
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    private func sample(at now: MonotonicInstant) -> Sample {
        var truth = [Double](repeating: 0, count: Point.allCases.count)
        var excess = (pm25: 0.0, pm10: 0.0, co: 0.0)
        for episode in episodes {
            let weight = episode.weight(at: now, decaySeconds: decaySeconds)
            excess.pm25 += weight * episode.pm25
            excess.pm10 += weight * episode.pm10
            excess.co += weight * episode.co
        }
        // Nothing left of an episode once it is below a billionth of its peak.
        episodes.removeAll { $0.weight(at: now, decaySeconds: decaySeconds) < 1e-9 }

        truth[Point.temperature.rawValue] = temperatureCurve.value(at: now, random: &truthRandom[Point.temperature.rawValue])
            + temperatureWeather.value(at: now, random: &truthRandom[Point.temperature.rawValue])
        truth[Point.humidity.rawValue] = humidity.value(at: now, random: &truthRandom[Point.humidity.rawValue])
        let background = pm25Background.value(at: now, random: &truthRandom[Point.pm25.rawValue])
        truth[Point.pm25.rawValue] = background + excess.pm25
        // The background's PM10 is its PM2.5 times a ratio of at least 1, so PM10 ≥ PM2.5 holds.
        truth[Point.pm10.rawValue] = background * pm10Ratio.value(at: now, random: &truthRandom[Point.pm10.rawValue]) + excess.pm10
        truth[Point.co2.rawValue] = co2Curve.value(at: now, random: &truthRandom[Point.co2.rawValue])
        truth[Point.co.rawValue] = coBackground.value(at: now, random: &truthRandom[Point.co.rawValue]) + excess.co
        truth[Point.noise.rawValue] = noiseCurve.value(at: now, random: &truthRandom[Point.noise.rawValue])

        var measured = truth
        for index in sensors.indices {
            let sensor = sensors[index]
            var value = truth[index] * (1 + sensor.bias + sensor.drift.value(at: now))
            if sensor.sigma > 0 { value += sensors[index].random.nextGaussian(standardDeviation: sensor.sigma) }
            measured[index] = min(max(value, sensor.point.physicalRange.lowerBound), sensor.point.physicalRange.upperBound)
        }
        // An optical particle counter weighs PM10 as PM2.5 plus the coarse particles, so it never
        // shows less PM10 than PM2.5, whatever each channel's error.
        measured[Point.pm10.rawValue] = max(measured[Point.pm10.rawValue], measured[Point.pm25.rawValue])
        return Sample(truth: truth.map(rounded), measured: measured.map(rounded))
    }

    private func readings(_ sample: Sample) -> [Reading] {
        sensors.indices.filter { sensors[$0].reporting }.map { index in
            Reading(sensors[index].point.name, .double(sample.measured[index]), truth: .double(sample.truth[index]))
        }
    }

    /// Raises over-limit once a value goes above its limit, and clears it only when the value
    /// is back below the limit by the hysteresis margin. A failed sensor's state is left alone:
    /// it cannot tell whether the air got better.
    private func checkLimits(_ sample: Sample, _ context: DeviceContext) {
        for index in sensors.indices where sensors[index].reporting {
            let sensor = sensors[index]
            let value = sample.measured[index]
            let readings = [
                Reading("point", .string(sensor.point.name)),
                Reading("value", .double(value), truth: .double(sample.truth[index])),
                Reading("limit", .double(sensor.limit)),
            ]
            if !sensor.overLimit, value > sensor.limit {
                sensors[index].overLimit = true
                context.emit(event: "over-limit", readings)
            } else if sensor.overLimit, value <= sensor.limit - abs(sensor.limit) * hysteresis {
                sensors[index].overLimit = false
                context.emit(event: "limit-ok", readings)
            }
        }
    }

    /// Zeroes the drift of the given sensors, reports it, and returns the drift removed.
    @discardableResult
    private func zeroDrift(of indices: [Int], source: String, _ context: DeviceContext) -> [Reading] {
        let removed = indices.map { index in
            let drift = sensors[index].drift.value(at: context.now)
            sensors[index].drift = Drift()
            return Reading("\(sensors[index].point.name)_drift", .double(rounded(drift)))
        }
        context.emit(event: "calibrated", [Reading("source", .string(source))] + removed)
        return removed
    }

    private var status: String {
        let active = sensors.filter(\.enabled)
        if active.contains(where: \.overLimit) { return "over-limit" }
        if active.contains(where: { $0.faultCode != nil }) { return "fault" }
        return "normal"
    }

    private var enabledNames: String { sensors.filter(\.enabled).map(\.point.name).joined(separator: ", ") }


    /// The sensor a stimulus names in `point`, which must be one the model has.
    private func requiredSensor(_ stimulus: Stimulus) throws(DeviceError) -> Int {
        guard let index = try optionalSensor(stimulus) else {
            throw DeviceError("stimulus '\(stimulus.name)' needs argument 'point'")
        }
        return index
    }

    /// The sensor a stimulus names in `point`, or nil when it names none.
    private func optionalSensor(_ stimulus: Stimulus) throws(DeviceError) -> Int? {
        guard let argument = stimulus.arguments["point"] else { return nil }
        guard case .string(let name) = argument, let point = Point(name: name), sensors[point.rawValue].enabled else {
            throw DeviceError("stimulus '\(stimulus.name)' argument 'point' must be one this model measures (\(enabledNames)), got \(argument.jsonText)")
        }
        return point.rawValue
    }

    private func number(_ stimulus: Stimulus, _ name: String, default fallback: Double?) throws(DeviceError) -> Double {
        if let value = stimulus.arguments[name] {
            guard let number = value.doubleValue, number.isFinite else {
                throw DeviceError("stimulus '\(stimulus.name)' argument '\(name)' must be a number, got \(value.jsonText)")
            }
            return number
        }
        guard let fallback else { throw DeviceError("stimulus '\(stimulus.name)' needs argument '\(name)'") }
        return fallback
    }

    /// A duration argument: nanoseconds as park files deliver it, or text such as `30m`.
    private func duration(_ stimulus: Stimulus, _ name: String, default fallback: DeviceDuration) throws(DeviceError) -> DeviceDuration {
        guard let value = stimulus.arguments[name] else { return fallback }
        switch value {
        case .int(let nanoseconds) where nanoseconds >= 0: return DeviceDuration(nanoseconds: UInt64(nanoseconds))
        case .string(let text): if let parsed = DeviceDuration(parsing: text) { return parsed }
        default: break
        }
        throw DeviceError("stimulus '\(stimulus.name)' argument '\(name)' must be a duration such as 30m, got \(value.jsonText)")
    }

    private func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
