import ParkCore

/// One fire pool or tank level gauge: the state machine behind ``FireWaterLevelKind``.
///
/// Like the pressure gauge it measures every `sample_interval`, decides alarms on each
/// measurement and uploads every `report_interval`; a drain is therefore seen at the first
/// sample after the level crosses the threshold, which a test can compute from the rate.
final class FireWaterLevelGauge: DeviceBehavior {
    private let startSpread: DeviceDuration
    private let instrument: FireWater.Instrument
    private let nominalLevel: Double

    private var random: SeededRandom
    private var level: FireWater.Quantity
    private var battery: Battery
    private var heartbeat: PeriodicTimer
    private var report: PeriodicTimer
    private var sample: PeriodicTimer
    private var lowAlarm: FireWater.ThresholdAlarm
    private var highAlarm: FireWater.ThresholdAlarm

    init(setup: DeviceSetup) throws(DeviceError) {
        let parameters = setup.parameters
        let rangeMax = parameters.double("range_max")
        let low = parameters.double("low_level_threshold")
        let high = parameters.double("high_level_threshold")
        // A high threshold at or above full scale could never be read, so it would never alarm.
        guard low < high, high < rangeMax else {
            throw DeviceError("level thresholds must satisfy low_level_threshold < high_level_threshold < range_max, got "
                + "\(JSONText.number(low)) m, \(JSONText.number(high)) m, \(JSONText.number(rangeMax)) m")
        }
        startSpread = parameters.duration("start_spread")
        instrument = FireWater.Instrument(fullScale: rangeMax, accuracyPercent: parameters.double("accuracy"))
        nominalLevel = parameters.double("nominal_level")
        random = setup.random
        level = FireWater.Quantity(nominal: nominalLevel, fluctuation: parameters.double("level_fluctuation"))
        battery = Battery(parameters)
        heartbeat = PeriodicTimer(FireWater.TimerID.heartbeat, interval: parameters.duration("heartbeat_interval"))
        report = PeriodicTimer(FireWater.TimerID.report, interval: parameters.duration("report_interval"))
        sample = PeriodicTimer(FireWater.TimerID.sample, interval: parameters.duration("sample_interval"))
        let hysteresis = parameters.double("level_hysteresis")
        lowAlarm = FireWater.ThresholdAlarm(.below, threshold: low, hysteresis: hysteresis)
        highAlarm = FireWater.ThresholdAlarm(.above, threshold: high, hysteresis: hysteresis)
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        battery.update(context)
        heartbeat.start(spread: startSpread, random: &random, context)
        report.start(spread: startSpread, random: &random, context)
        sample.start(spread: startSpread, random: &random, context)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch FireWater.TimerID(rawValue: tag & 0xFF) {
        case .heartbeat:
            guard heartbeat.fire(tag, context) else { return }
            battery.update(context)
            context.emit(event: "heartbeat", [battery.reading, Reading("state", .string(state))])
        case .report:
            guard report.fire(tag, context) else { return }
            sendTelemetry(context)
        case .sample:
            guard sample.fire(tag, context) else { return }
            _ = measure(context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        let arguments = Arguments(stimulus)
        switch stimulus.name {
        case "drain":
            let rate = try arguments.number("rate", range: 0.001...1_000, unit: "m/h") ?? 1
            level.move(toward: 0, perSecond: rate / 3_600, at: context.now, random: &random)
        case "fill":
            let rate = try arguments.number("rate", range: 0.001...1_000, unit: "m/h") ?? 2
            let target = try arguments.number("level", range: 0...100, unit: "m") ?? nominalLevel
            let present = level.value(at: context.now, random: &random)
            if present < target {
                level.move(toward: target, perSecond: rate / 3_600, at: context.now, random: &random)
            } else {
                // A make-up valve only adds water: above its stop level it stays shut, but the
                // drain it replaces is over.
                level.hold(present)
            }
        case "level-set":
            guard let value = try arguments.number("level", range: 0...100, unit: "m") else {
                throw DeviceError("stimulus 'level-set' needs argument 'level'")
            }
            level.hold(value)
        case "restore":
            level.restore()
        case "battery-set":
            guard let value = try arguments.number("level", range: 0...100, unit: "%") else {
                throw DeviceError("stimulus 'battery-set' needs argument 'level'")
            }
            battery.force(value, context)
        default:
            throw DeviceError("fire-water level gauge has no stimulus '\(stimulus.name)'; known: "
                + FireWaterLevelKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "self-test":
            battery.update(context)
            let measured = measure(context)
            let passed = !battery.isLow
            context.emit(event: "self-test", [Reading("passed", .bool(passed)), battery.reading, measured])
            return CommandResult(.accepted, readings: [Reading("passed", .bool(passed))])
        case "read":
            return CommandResult(.accepted, readings: sendTelemetry(context))
        case "set-intervals":
            return FireWater.setIntervals(command, heartbeat: &heartbeat, report: &report, sample: &sample, context)
        case "set-thresholds":
            return setThresholds(command)
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// Takes one measurement, raises or clears alarms on it, and returns the `level` reading.
    private func measure(_ context: DeviceContext) -> Reading {
        let truth = level.value(at: context.now, random: &random)
        let measured = instrument.measure(truth, random: &random)
        let reading = Reading("level", .double(measured), truth: .double(readingRounded(truth)))
        switch lowAlarm.evaluate(measured) {
        case .raised?: context.emit(event: "low-level", [reading, Reading("threshold", .double(lowAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: "level-ok", [reading, Reading("cleared", .string("low-level"))])
        case nil: break
        }
        switch highAlarm.evaluate(measured) {
        case .raised?: context.emit(event: "high-level", [reading, Reading("threshold", .double(highAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: "level-ok", [reading, Reading("cleared", .string("high-level"))])
        case nil: break
        }
        return reading
    }

    @discardableResult
    private func sendTelemetry(_ context: DeviceContext) -> [Reading] {
        battery.update(context)
        let reading = measure(context)
        let measured = reading.value.doubleValue ?? 0
        let readings = [
            reading,
            Reading("percent", .double(readingRounded(measured / nominalLevel * 100))),
            battery.reading,
        ]
        context.emit(telemetry: readings)
        return readings
    }

    private func setThresholds(_ command: DeviceCommand) -> CommandResult {
        let arguments = Arguments(command)
        do throws(DeviceError) {
            let low = try arguments.number("low", range: 0...instrument.fullScale, unit: "m")
            let high = try arguments.number("high", range: 0...instrument.fullScale, unit: "m")
            guard low != nil || high != nil else { return .rejected("set-thresholds needs low, high or both") }
            let newLow = low ?? lowAlarm.threshold ?? 0
            let newHigh = high ?? highAlarm.threshold ?? instrument.fullScale
            guard newLow < newHigh, newHigh < instrument.fullScale else {
                return .rejected("thresholds must satisfy low < high < range_max (\(JSONText.number(instrument.fullScale)) m)")
            }
            lowAlarm.threshold = newLow
            highAlarm.threshold = newHigh
            return CommandResult(.accepted, readings: [Reading("low", .double(newLow)), Reading("high", .double(newHigh))])
        } catch {
            return .rejected(error.message)
        }
    }

    private var state: String {
        if lowAlarm.isActive { return "low-level" }
        if highAlarm.isActive { return "high-level" }
        return "normal"
    }
}
