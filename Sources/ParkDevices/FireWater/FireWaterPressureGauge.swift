import ParkCore

/// One fire-main pressure gauge: the state machine behind ``FireWaterPressureKind``.
///
/// The gauge measures every `sample_interval` and decides alarms on each measurement, but only
/// uploads telemetry every `report_interval`: a battery NB-IoT gauge cannot afford the radio
/// for every sample, and an alarm goes out at once anyway. So a pressure drop is noticed at the
/// first sample after it happens, never at the moment the harness causes it.
final class FireWaterPressureGauge: DeviceBehavior {
    private let startSpread: DeviceDuration
    private let instrument: FireWater.Instrument

    private var random: SeededRandom
    private var pressure: FireWater.Quantity
    private var battery: Battery
    private var heartbeat: PeriodicTimer
    private var report: PeriodicTimer
    private var sample: PeriodicTimer
    private var lowAlarm: FireWater.ThresholdAlarm
    private var highAlarm: FireWater.ThresholdAlarm
    private var tampered = false

    init(setup: DeviceSetup) throws(DeviceError) {
        let parameters = setup.parameters
        let rangeMax = parameters.double("range_max")
        let low = parameters.double("low_pressure_threshold")
        let high = parameters.double("high_pressure_threshold")
        // Thresholds outside the scale could never be read, so the alarm would never come.
        guard low < rangeMax else {
            throw DeviceError("low_pressure_threshold (\(JSONText.number(low)) MPa) must be below range_max (\(JSONText.number(rangeMax)) MPa)")
        }
        guard high == 0 || (high > low && high < rangeMax) else {
            throw DeviceError("high_pressure_threshold (\(JSONText.number(high)) MPa) must be 0 (off) or between low_pressure_threshold and range_max")
        }
        startSpread = parameters.duration("start_spread")
        instrument = FireWater.Instrument(fullScale: rangeMax, accuracyPercent: parameters.double("accuracy"))
        random = setup.random
        pressure = FireWater.Quantity(
            nominal: parameters.double("nominal_pressure"), fluctuation: parameters.double("pressure_fluctuation"))
        battery = Battery(parameters)
        heartbeat = PeriodicTimer(FireWater.TimerID.heartbeat, interval: parameters.duration("heartbeat_interval"))
        report = PeriodicTimer(FireWater.TimerID.report, interval: parameters.duration("report_interval"))
        sample = PeriodicTimer(FireWater.TimerID.sample, interval: parameters.duration("sample_interval"))
        let hysteresis = parameters.double("pressure_hysteresis")
        lowAlarm = FireWater.ThresholdAlarm(.below, threshold: low, hysteresis: hysteresis)
        highAlarm = FireWater.ThresholdAlarm(.above, threshold: high == 0 ? nil : high, hysteresis: hysteresis)
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
        case "leak":
            let rate = try arguments.number("rate", range: 0.0001...100, unit: "MPa/min") ?? 0.05
            pressure.move(toward: 0, perSecond: rate / 60, at: context.now, random: &random)
        case "pump-start":
            let outlet = try arguments.number("pressure", range: 0...100, unit: "MPa") ?? 0.8
            pressure.hold(outlet)
        case "pressure-set":
            guard let value = try arguments.number("pressure", range: 0...100, unit: "MPa") else {
                throw DeviceError("stimulus 'pressure-set' needs argument 'pressure'")
            }
            pressure.hold(value)
        case "restore":
            pressure.restore()
        case "tamper":
            guard !tampered else { return }
            tampered = true
            context.emit(event: "tamper")
        case "tamper-restore":
            guard tampered else { return }
            tampered = false
            context.emit(event: "tamper-clear")
        case "battery-set":
            guard let level = try arguments.number("level", range: 0...100, unit: "%") else {
                throw DeviceError("stimulus 'battery-set' needs argument 'level'")
            }
            battery.force(level, context)
        default:
            throw DeviceError("fire-water pressure gauge has no stimulus '\(stimulus.name)'; known: "
                + FireWaterPressureKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "self-test":
            battery.update(context)
            let measured = measure(context)
            // A removed gauge reads atmospheric pressure, so its readings cannot be trusted.
            let passed = !tampered && !battery.isLow
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

    /// Takes one measurement, raises or clears alarms on it, and returns the `pressure` reading.
    private func measure(_ context: DeviceContext) -> Reading {
        let truth = pressure.value(at: context.now, random: &random)
        let measured = instrument.measure(truth, random: &random)
        let reading = Reading("pressure", .double(measured), truth: .double(readingRounded(truth)))
        // Low before high: a pump start out of low pressure reads "ok, then too high".
        switch lowAlarm.evaluate(measured) {
        case .raised?: context.emit(event: "low-pressure", [reading, Reading("threshold", .double(lowAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: "pressure-ok", [reading, Reading("cleared", .string("low-pressure"))])
        case nil: break
        }
        switch highAlarm.evaluate(measured) {
        case .raised?: context.emit(event: "high-pressure", [reading, Reading("threshold", .double(highAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: "pressure-ok", [reading, Reading("cleared", .string("high-pressure"))])
        case nil: break
        }
        return reading
    }

    @discardableResult
    private func sendTelemetry(_ context: DeviceContext) -> [Reading] {
        battery.update(context)
        let readings = [measure(context), battery.reading]
        context.emit(telemetry: readings)
        return readings
    }

    private func setThresholds(_ command: DeviceCommand) -> CommandResult {
        let arguments = Arguments(command)
        do throws(DeviceError) {
            let low = try arguments.number("low", range: 0...instrument.fullScale, unit: "MPa")
            let high = try arguments.number("high", range: 0...instrument.fullScale, unit: "MPa")
            guard low != nil || high != nil else { return .rejected("set-thresholds needs low, high or both") }
            let newLow = low ?? lowAlarm.threshold ?? 0
            var newHigh = highAlarm.threshold
            if let high { newHigh = high == 0 ? nil : high }
            // A high threshold at full scale could never be read, so it would never alarm.
            if let newHigh, newHigh <= newLow || newHigh >= instrument.fullScale {
                return .rejected("thresholds must satisfy low < high < range_max (\(JSONText.number(instrument.fullScale)) MPa), or high 0 (off)")
            }
            lowAlarm.threshold = newLow
            highAlarm.threshold = newHigh
            return CommandResult(.accepted, readings: [
                Reading("low", .double(newLow)), Reading("high", .double(newHigh ?? 0)),
            ])
        } catch {
            return .rejected(error.message)
        }
    }

    private var state: String {
        if lowAlarm.isActive { return "low-pressure" }
        if highAlarm.isActive { return "high-pressure" }
        if tampered { return "tamper" }
        return "normal"
    }
}
