import ParkCore

/// One analog fire-water gauge (fire-main pressure, fire-pool level): the state machine behind
/// every ``AnalogGaugeKind``, parameterised by its ``AnalogGaugeKind/Gauge``.
///
/// The gauge measures every `sample_interval` and decides alarms on each measurement, but only
/// uploads telemetry every `report_interval`: a battery NB-IoT gauge cannot afford the radio
/// for every sample, and an alarm goes out at once anyway. So a crossing is noticed at the
/// first sample after it happens (which a test can compute from the stimulus's rate), never at
/// the moment the harness causes it.
///
/// Pressure and level gauges were two copies of this class that differed in the quantity's
/// name and unit, whether the high alarm can be switched off, a percent-of-nominal point,
/// tamper, and which stimuli move the water; those are now the gauge description's data.
final class AnalogGauge: DeviceBehavior {
    private let gauge: AnalogGaugeKind.Gauge
    private let instrument: FireWater.Instrument
    private let nominal: Double

    private var random: SeededRandom
    private var quantity: FireWater.Quantity
    private var battery: Battery
    private var timers: FireWater.Timers
    private var lowAlarm: FireWater.ThresholdAlarm
    private var highAlarm: FireWater.ThresholdAlarm
    private var tamper = TamperSwitch()

    init(_ gauge: AnalogGaugeKind.Gauge, setup: DeviceSetup) throws(DeviceError) {
        self.gauge = gauge
        let parameters = setup.parameters
        let names = gauge.parameterNames
        let rangeMax = parameters.double("range_max")
        let low = parameters.double(names.low)
        let high = parameters.double(names.high)
        let unit = gauge.unit
        // A threshold at or above full scale could never be read, so its alarm would never come.
        if gauge.highCanBeOff {
            guard low < rangeMax else {
                throw DeviceError("\(names.low) (\(JSONText.number(low)) \(unit)) must be below range_max (\(JSONText.number(rangeMax)) \(unit))")
            }
            guard high == 0 || (high > low && high < rangeMax) else {
                throw DeviceError("\(names.high) (\(JSONText.number(high)) \(unit)) must be 0 (off) or between \(names.low) and range_max")
            }
        } else {
            guard low < high, high < rangeMax else {
                throw DeviceError("\(gauge.quantity) thresholds must satisfy \(names.low) < \(names.high) < range_max, got "
                    + "\(JSONText.number(low)) \(unit), \(JSONText.number(high)) \(unit), \(JSONText.number(rangeMax)) \(unit)")
            }
        }
        instrument = FireWater.Instrument(fullScale: rangeMax, accuracyPercent: parameters.double("accuracy"))
        nominal = parameters.double(names.nominal)
        random = setup.random
        quantity = FireWater.Quantity(nominal: nominal, fluctuation: parameters.double(names.fluctuation))
        battery = Battery(parameters)
        timers = FireWater.Timers(parameters)
        let hysteresis = parameters.double(names.hysteresis)
        lowAlarm = FireWater.ThresholdAlarm(.below, threshold: low, hysteresis: hysteresis)
        highAlarm = FireWater.ThresholdAlarm(.above, threshold: high == 0 && gauge.highCanBeOff ? nil : high, hysteresis: hysteresis)
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        battery.update(context)
        timers.start(random: &random, context)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch timers.fire(tag, context) {
        case .heartbeat?:
            battery.update(context)
            context.emit(event: "heartbeat", [battery.reading, Reading("state", .string(state))])
        case .report?:
            sendTelemetry(context)
        case .sample?:
            _ = measure(context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        let arguments = Arguments(stimulus)
        let unit = gauge.unit
        if let action = gauge.stimuli.first(where: { $0.descriptor.name == stimulus.name })?.action {
            switch action {
            case .fall(let defaultRate, let range, let rateUnit, let secondsPerUnit):
                let rate = try arguments.number("rate", range: range, unit: rateUnit) ?? defaultRate
                quantity.move(toward: 0, perSecond: rate / secondsPerUnit, at: context.now, random: &random)
            case .fill(let defaultRate, let range, let rateUnit, let secondsPerUnit):
                let rate = try arguments.number("rate", range: range, unit: rateUnit) ?? defaultRate
                let target = try arguments.number(gauge.quantity, range: 0...100, unit: unit) ?? nominal
                let present = quantity.value(at: context.now, random: &random)
                if present < target {
                    quantity.move(toward: target, perSecond: rate / secondsPerUnit, at: context.now, random: &random)
                } else {
                    // A make-up valve only adds water: above its stop level it stays shut, but the
                    // drain it replaces is over.
                    quantity.hold(present)
                }
            case .hold(let defaultValue):
                let given = try arguments.number(gauge.quantity, range: 0...100, unit: unit)
                quantity.hold(try arguments.required(given ?? defaultValue, gauge.quantity))
            case .restore:
                quantity.restore()
            }
            return
        }
        switch stimulus.name {
        case "tamper" where gauge.tamper != nil:
            tamper.open(context)
        case "tamper-restore" where gauge.tamper != nil:
            tamper.close(context)
        case "battery-set":
            battery.force(try arguments.required(arguments.number("level", range: 0...100, unit: "%"), "level"), context)
        default:
            throw DeviceError("\(gauge.deviceName) has no stimulus '\(stimulus.name)'; known: "
                + gauge.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "self-test":
            battery.update(context)
            let measured = measure(context)
            // A removed gauge reads atmospheric pressure, so its readings cannot be trusted.
            let passed = !tamper.isOpen && !battery.isLow
            context.emit(event: "self-test", [Reading("passed", .bool(passed)), battery.reading, measured])
            return CommandResult(.accepted, readings: [Reading("passed", .bool(passed))])
        case "read":
            return CommandResult(.accepted, readings: sendTelemetry(context))
        case "set-intervals":
            return timers.setIntervals(command, context)
        case "set-thresholds":
            return setThresholds(command)
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// Takes one measurement, raises or clears alarms on it, and returns the quantity's reading.
    private func measure(_ context: DeviceContext) -> Reading {
        let truth = quantity.value(at: context.now, random: &random)
        let measured = instrument.measure(truth, random: &random)
        let reading = Reading(gauge.quantity, .double(measured), truth: .double(readingRounded(truth)))
        let events = gauge.eventNames
        // Low before high: a pump start out of low pressure reads "ok, then too high".
        switch lowAlarm.evaluate(measured) {
        case .raised?: context.emit(event: events.low, [reading, Reading("threshold", .double(lowAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: events.ok, [reading, Reading("cleared", .string(events.low))])
        case nil: break
        }
        switch highAlarm.evaluate(measured) {
        case .raised?: context.emit(event: events.high, [reading, Reading("threshold", .double(highAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: events.ok, [reading, Reading("cleared", .string(events.high))])
        case nil: break
        }
        return reading
    }

    @discardableResult
    private func sendTelemetry(_ context: DeviceContext) -> [Reading] {
        battery.update(context)
        let reading = measure(context)
        var readings = [reading]
        if gauge.percentOfNominal != nil {
            let measured = reading.value.doubleValue ?? 0
            readings.append(Reading("percent", .double(readingRounded(measured / nominal * 100))))
        }
        readings.append(battery.reading)
        context.emit(telemetry: readings)
        return readings
    }

    private func setThresholds(_ command: DeviceCommand) -> CommandResult {
        let arguments = Arguments(command)
        let unit = gauge.unit
        do throws(DeviceError) {
            let low = try arguments.number("low", range: 0...instrument.fullScale, unit: unit)
            let high = try arguments.number("high", range: 0...instrument.fullScale, unit: unit)
            guard low != nil || high != nil else { return .rejected("set-thresholds needs low, high or both") }
            let newLow = low ?? lowAlarm.threshold ?? 0
            var newHigh = highAlarm.threshold
            if let high { newHigh = high == 0 && gauge.highCanBeOff ? nil : high }
            // A high threshold at full scale could never be read, so it would never alarm.
            if let newHigh, newHigh <= newLow || newHigh >= instrument.fullScale {
                return .rejected("thresholds must satisfy low < high < range_max (\(JSONText.number(instrument.fullScale)) \(unit))"
                    + (gauge.highCanBeOff ? ", or high 0 (off)" : ""))
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

    /// The first that applies of low alarm, high alarm, tamper, normal.
    private var state: String {
        if lowAlarm.isActive { return gauge.eventNames.low }
        if highAlarm.isActive { return gauge.eventNames.high }
        if tamper.isOpen { return "tamper" }
        return "normal"
    }
}
