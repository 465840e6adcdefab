import ParkCore

/// One smart outdoor hydrant: the state machine behind ``HydrantKind``.
///
/// Impact, cap and flow come from switch-type sensors that wake the device, so they are
/// reported the moment the harness causes them (「及时报警」, 004 L3101, L3105). Pressure is an
/// analog sensor sampled every `sample_interval`, so a pressure drop is reported at the next
/// sample. An open outlet draws the pressure down in proportion to its flow, which is how a
/// theft can also show up as low pressure.
final class Hydrant: DeviceBehavior {
    private let instrument: FireWater.Instrument
    private let flowPressureDrop: Double
    private let flowThreshold: Double
    private let impactThreshold: Double
    private let tiltThreshold: Double

    private var random: SeededRandom
    private var staticPressure: FireWater.Quantity
    private var battery: Battery
    private var timers: FireWater.Timers
    private var lowAlarm: FireWater.ThresholdAlarm

    private var tilt: Double = 0
    private var capOpen = false
    /// True outflow in L/s; the sensor sees it only from `flowThreshold` up.
    private var flowRate: Double = 0
    private var flowDetected = false
    /// Water drawn since the outflow started, integrated up to `flowAccountedAt`: all of it,
    /// and what the sensor saw (a trickle below `flowThreshold` goes unmetered, as with a
    /// real turbine sensor, which is how slow theft escapes notice).
    private var episodeVolume: Double = 0
    private var episodeVolumeSeen: Double = 0
    /// When the sensor started seeing the flow: water-stopped reports the span the platform
    /// saw between water-flowing and itself.
    private var flowSeenSince = MonotonicInstant.zero
    private var flowAccountedAt = MonotonicInstant.zero

    init(setup: DeviceSetup) throws(DeviceError) {
        let parameters = setup.parameters
        let rangeMax = parameters.double("range_max")
        let low = parameters.double("low_pressure_threshold")
        guard low < rangeMax else {
            throw DeviceError("low_pressure_threshold (\(JSONText.number(low)) MPa) must be below range_max (\(JSONText.number(rangeMax)) MPa)")
        }
        instrument = FireWater.Instrument(fullScale: rangeMax, accuracyPercent: parameters.double("accuracy"))
        flowPressureDrop = parameters.double("flow_pressure_drop")
        flowThreshold = parameters.double("flow_threshold")
        impactThreshold = parameters.double("impact_threshold")
        tiltThreshold = parameters.double("tilt_threshold")
        random = setup.random
        staticPressure = FireWater.Quantity(
            nominal: parameters.double("nominal_pressure"), fluctuation: parameters.double("pressure_fluctuation"))
        battery = Battery(parameters)
        timers = FireWater.Timers(parameters)
        lowAlarm = FireWater.ThresholdAlarm(.below, threshold: low, hysteresis: parameters.double("pressure_hysteresis"))
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        battery.update(context)
        flowAccountedAt = context.now
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
            _ = measurePressure(context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        let arguments = Arguments(stimulus)
        switch stimulus.name {
        case "impact":
            let shock = try arguments.number("shock", range: 0...1_000, unit: "g") ?? 5
            let lean = try arguments.number("tilt", range: 0...90, unit: "°") ?? 0
            // A struck hydrant does not straighten by itself; only `upright` brings it back.
            tilt = max(tilt, lean)
            guard shock >= impactThreshold || lean >= tiltThreshold else { return }
            context.emit(event: "impact", [Reading("shock", .double(shock)), Reading("tilt", .double(tilt))])
        case "upright":
            let wasKnockedOver = tilt >= tiltThreshold
            tilt = 0
            if wasKnockedOver { context.emit(event: "impact-clear", [Reading("tilt", .double(0))]) }
        case "cap-open":
            guard !capOpen else { return }
            capOpen = true
            context.emit(event: "cap-open", [Reading("cap_open", .bool(true))])
        case "cap-close":
            guard capOpen else { return }
            capOpen = false
            context.emit(event: "cap-closed", [Reading("cap_open", .bool(false))])
        case "flow-start":
            let rate = try arguments.number("rate", range: 0.001...1_000, unit: "L/s") ?? 10
            setFlow(rate, context)
        case "flow-stop":
            setFlow(0, context)
        case "pressure-set":
            staticPressure.hold(try arguments.required(arguments.number("pressure", range: 0...100, unit: "MPa"), "pressure"))
        case "restore":
            staticPressure.restore()
        case "battery-set":
            battery.force(try arguments.required(arguments.number("level", range: 0...100, unit: "%"), "level"), context)
        default:
            throw DeviceError("hydrant has no stimulus '\(stimulus.name)'; known: "
                + HydrantKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "self-test":
            battery.update(context)
            let pressure = measurePressure(context)
            // A knocked-over hydrant may have sheared its sensors; it needs a visit either way.
            let passed = !battery.isLow && tilt < tiltThreshold
            context.emit(event: "self-test", [Reading("passed", .bool(passed)), battery.reading, pressure])
            return CommandResult(.accepted, readings: [Reading("passed", .bool(passed))])
        case "read":
            return CommandResult(.accepted, readings: sendTelemetry(context))
        case "set-intervals":
            return timers.setIntervals(command, context)
        case "set-thresholds":
            do throws(DeviceError) {
                guard let low = try Arguments(command).number("low", range: 0...instrument.fullScale, unit: "MPa")
                else { return .rejected("set-thresholds needs low") }
                lowAlarm.threshold = low
                return CommandResult(.accepted, readings: [Reading("low", .double(low))])
            } catch {
                return .rejected(error.message)
            }
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// Changes the true outflow; the sensor reports a start or stop only when its reading
    /// crosses `flowThreshold`.
    private func setFlow(_ rate: Double, _ context: DeviceContext) {
        accountFlow(context.now)
        if flowRate == 0, rate > 0 {
            episodeVolume = 0
            episodeVolumeSeen = 0
        }
        flowRate = rate
        let seen = rate >= flowThreshold
        if seen, !flowDetected {
            flowDetected = true
            flowSeenSince = context.now
            context.emit(event: "water-flowing", [flowReading, Reading("cap_open", .bool(capOpen))])
        } else if !seen, flowDetected {
            flowDetected = false
            let duration = context.now.duration(since: flowSeenSince).seconds
            context.emit(event: "water-stopped", [volumeReading, Reading("duration_s", .double(duration))])
        }
    }

    private func accountFlow(_ now: MonotonicInstant) {
        let drawn = flowRate * now.duration(since: flowAccountedAt).seconds
        episodeVolume += drawn
        if flowDetected { episodeVolumeSeen += drawn }
        flowAccountedAt = now
    }

    private var volumeReading: Reading {
        Reading("volume", .double(readingRounded(episodeVolumeSeen)), truth: .double(readingRounded(episodeVolume)))
    }

    private var flowReading: Reading {
        Reading("flow", .double(flowDetected ? readingRounded(flowRate) : 0), truth: .double(readingRounded(flowRate)))
    }

    /// Takes one pressure measurement, raises or clears low-pressure on it, and returns the
    /// `pressure` reading.
    private func measurePressure(_ context: DeviceContext) -> Reading {
        let truth = max(0, staticPressure.value(at: context.now, random: &random) - flowRate * flowPressureDrop)
        let measured = instrument.measure(truth, random: &random)
        let reading = Reading("pressure", .double(measured), truth: .double(readingRounded(truth)))
        switch lowAlarm.evaluate(measured) {
        case .raised?: context.emit(event: "low-pressure", [reading, Reading("threshold", .double(lowAlarm.threshold ?? 0))])
        case .cleared?: context.emit(event: "pressure-ok", [reading])
        case nil: break
        }
        return reading
    }

    @discardableResult
    private func sendTelemetry(_ context: DeviceContext) -> [Reading] {
        battery.update(context)
        accountFlow(context.now)
        let readings = [
            measurePressure(context),
            flowReading,
            volumeReading,
            Reading("cap_open", .bool(capOpen)),
            Reading("tilt", .double(tilt)),
            battery.reading,
        ]
        context.emit(telemetry: readings)
        return readings
    }

    private var state: String {
        if tilt >= tiltThreshold { return "impact" }
        if flowDetected { return "water-flowing" }
        if capOpen { return "cap-open" }
        if lowAlarm.isActive { return "low-pressure" }
        return "normal"
    }
}
