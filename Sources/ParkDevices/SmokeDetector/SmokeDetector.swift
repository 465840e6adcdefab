import ParkCore

/// One smoke/heat detector: the state machine behind ``SmokeDetectorKind``.
///
/// The true environment (smoke density, air temperature) comes from stimuli and an ambient
/// random walk; the detector samples it at each report and at once when a stimulus arrives.
/// Battery charge is a function of time (linear drain over `battery_life`, faster while the
/// sounder is on) and is checked at every heartbeat and report, as real detectors do. The
/// drain is the shared ``Battery``; what happens at the thresholds (chirping, going silent at
/// 0 %, battery-ok only for a new battery) is this detector's own.
final class SmokeDetector: DeviceBehavior {
    typealias Timer = SmokeDetectorKind.Timer

    private let startSpread: DeviceDuration
    private var smokeThreshold: Double
    private let heatThreshold: Double
    private let alarmDelay: DeviceDuration
    private let alarmDrainPerSecond: Double
    private let chirpInterval: DeviceDuration
    private let measurementNoise: Double

    private var random: SeededRandom
    private var ambientTemperature: RandomWalkGenerator
    private var ambientSmoke: RandomWalkGenerator

    // The environment the harness created; nil means ambient.
    private var smokeTruth: Double?
    private var heatTruth: Double?

    private var battery: Battery
    private var smokeAlarm = false
    private var heatAlarm = false
    private var tamper = TamperSwitch()
    private var fault = FaultLatch()
    private var lowBattery = false
    private var depleted = false
    private var sounderOn = false
    private var silenced = false
    // Heartbeat and report restart when a new battery powers the detector up; a dead one
    // lets them lapse.
    private var heartbeat: PeriodicTimer
    private var report: PeriodicTimer
    private var chirp = TimerChain(Timer.chirp)
    private var alarmConfirm = TimerChain(Timer.alarmConfirm)

    init(setup: DeviceSetup) {
        let parameters = setup.parameters
        heartbeat = PeriodicTimer(Timer.heartbeat, interval: parameters.duration("heartbeat_interval"))
        report = PeriodicTimer(Timer.report, interval: parameters.duration("report_interval"))
        startSpread = parameters.duration("start_spread")
        smokeThreshold = parameters.double("smoke_threshold")
        heatThreshold = parameters.double("heat_threshold")
        alarmDelay = parameters.duration("alarm_delay")
        alarmDrainPerSecond = parameters.double("alarm_drain_per_hour") / 3_600
        chirpInterval = parameters.duration("chirp_interval")
        measurementNoise = parameters.double("measurement_noise")
        battery = Battery(parameters)
        random = setup.random
        let ambient = parameters.double("ambient_temperature")
        ambientTemperature = RandomWalkGenerator(
            start: ambient, minimum: ambient - 4, maximum: ambient + 4, volatilityPerSecond: 0.01)
        ambientSmoke = RandomWalkGenerator(start: 0.01, minimum: 0, maximum: 0.04, volatilityPerSecond: 0.0005)
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        battery.restartClock(at: context.now)
        // A random phase per timer keeps a park of detectors from reporting in lock step.
        heartbeat.start(spread: startSpread, random: &random, context)
        report.start(spread: startSpread, random: &random, context)
        if battery.level <= battery.lowThreshold { enterLowBattery(context) }
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        guard !depleted else { return }
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            guard heartbeat.isCurrent(tag) else { return }
            updateBattery(context)
            guard !depleted else { return }
            context.emit(event: "heartbeat", [battery.reading])
            heartbeat.scheduleNext(context)
        case .report:
            guard report.isCurrent(tag) else { return }
            updateBattery(context)
            guard !depleted else { return }
            let (measured, truth) = sampleSmoke(context.now)
            let temperature = currentTemperature(context.now)
            context.emit(telemetry: [
                Reading("smoke_density", .double(readingRounded(measured)), truth: .double(readingRounded(truth))),
                Reading("temperature", .double(readingRounded(temperature)), truth: .double(readingRounded(temperature))),
                battery.reading,
            ])
            evaluate(smoke: measured, truthSmoke: truth, temperature: temperature, context)
            report.scheduleNext(context)
        case .chirp:
            guard lowBattery, chirp.isCurrent(tag) else { return }
            updateBattery(context)
            guard !depleted else { return }
            context.emit(Emission(channel: .local, name: "chirp", readings: [battery.reading]))
            chirp.continue(after: chirpInterval, context)
        case .alarmConfirm:
            guard alarmConfirm.isCurrent(tag) else { return }
            let (measured, truth) = sampleSmoke(context.now)
            raiseAlarmsIfConfirmed(smoke: measured, truthSmoke: truth, temperature: currentTemperature(context.now), context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        if depleted, stimulus.name != "battery-replace" { return }
        let arguments = Arguments(stimulus)
        switch stimulus.name {
        case "smoke":
            smokeTruth = try arguments.number("density") ?? 0.5
            sampleNow(context)
        case "smoke-clear":
            smokeTruth = nil
            sampleNow(context)
        case "heat":
            heatTruth = try arguments.number("temperature") ?? 70
            sampleNow(context)
        case "heat-clear":
            heatTruth = nil
            sampleNow(context)
        case "tamper":
            tamper.open(context)
        case "tamper-restore":
            tamper.close(context)
        case "fault":
            fault.raise(arguments.string("code", default: "chamber"), context)
        case "fault-clear":
            guard fault.clear(context) else { return }
            sampleNow(context)
        case "test-button":
            selfTest(context)
        case "battery-replace":
            let wasDepleted = depleted
            battery.set(100)
            battery.restartClock(at: context.now)
            depleted = false
            if lowBattery || wasDepleted {
                lowBattery = false
                chirp.cancel()
                context.emit(event: "battery-ok", [Reading("battery", .double(100))])
            }
            if wasDepleted {
                // A dead detector lost its timers; fitting a battery powers it up again.
                start(context: context)
            }
        case "battery-set":
            updateBattery(context)
            battery.set(try arguments.required(arguments.number("level"), "level"))
            checkBatteryThresholds(context)
        default:
            throw DeviceError("smoke detector has no stimulus '\(stimulus.name)'; known: "
                + SmokeDetectorKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        guard !depleted else { return .rejected("battery depleted") }
        switch command.name {
        case "self-test":
            let passed = selfTest(context)
            return CommandResult(.accepted, readings: [Reading("passed", .bool(passed))])
        case "silence":
            guard sounderOn else { return .rejected("no alarm is sounding") }
            silenced = true
            setSounder(false, context)
            return .accepted
        case "set-threshold":
            guard let value = command.arguments["smoke_threshold"]?.doubleValue, value >= 0.01, value <= 2 else {
                return .rejected("smoke_threshold must be a number from 0.01 to 2 dB/m")
            }
            smokeThreshold = value
            return .accepted
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    private func sampleNow(_ context: DeviceContext) {
        let (measured, truth) = sampleSmoke(context.now)
        evaluate(smoke: measured, truthSmoke: truth, temperature: currentTemperature(context.now), context)
    }

    private func sampleSmoke(_ now: MonotonicInstant) -> (measured: Double, truth: Double) {
        let ambient = ambientSmoke.value(at: now, random: &random)
        let truth = smokeTruth ?? ambient
        let measured = max(0, truth + random.nextGaussian(standardDeviation: measurementNoise))
        return (measured, truth)
    }

    private func currentTemperature(_ now: MonotonicInstant) -> Double {
        let ambient = ambientTemperature.value(at: now, random: &random)
        return heatTruth ?? ambient
    }

    /// Raises alarms at once, or after `alarm_delay` if the detector confirms; clears at once.
    private func evaluate(smoke: Double, truthSmoke: Double, temperature: Double, _ context: DeviceContext) {
        let smokeNow = fault.code == nil && smoke >= smokeThreshold
        let heatNow = temperature >= heatThreshold
        if smokeAlarm, !smokeNow {
            smokeAlarm = false
            context.emit(event: "smoke-clear", [Reading("smoke_density", .double(readingRounded(smoke)), truth: .double(readingRounded(truthSmoke)))])
        }
        if heatAlarm, !heatNow {
            heatAlarm = false
            context.emit(event: "heat-clear", [Reading("temperature", .double(readingRounded(temperature)))])
        }
        if (smokeNow && !smokeAlarm) || (heatNow && !heatAlarm) {
            if alarmDelay == .zero {
                raiseAlarmsIfConfirmed(smoke: smoke, truthSmoke: truthSmoke, temperature: temperature, context)
            } else {
                alarmConfirm.start(after: alarmDelay, context)
            }
        }
        if !smokeAlarm, !heatAlarm, sounderOn { setSounder(false, context) }
    }

    private func raiseAlarmsIfConfirmed(smoke: Double, truthSmoke: Double, temperature: Double, _ context: DeviceContext) {
        if fault.code == nil, smoke >= smokeThreshold, !smokeAlarm {
            smokeAlarm = true
            context.emit(event: "smoke-alarm", [
                Reading("smoke_density", .double(readingRounded(smoke)), truth: .double(readingRounded(truthSmoke))),
                Reading("threshold", .double(smokeThreshold)),
            ])
        }
        if temperature >= heatThreshold, !heatAlarm {
            heatAlarm = true
            context.emit(event: "heat-alarm", [
                Reading("temperature", .double(readingRounded(temperature))),
                Reading("threshold", .double(heatThreshold)),
            ])
        }
        if (smokeAlarm || heatAlarm), !sounderOn, !silenced { setSounder(true, context) }
    }

    private func setSounder(_ on: Bool, _ context: DeviceContext) {
        updateBattery(context)
        sounderOn = on
        if !on, !smokeAlarm, !heatAlarm { silenced = false }
        context.emit(Emission(channel: .local, name: on ? "sounder-on" : "sounder-off"))
    }

    @discardableResult
    private func selfTest(_ context: DeviceContext) -> Bool {
        updateBattery(context)
        let passed = fault.code == nil && battery.level > battery.lowThreshold
        var readings = [Reading("passed", .bool(passed)), battery.reading]
        if let faultCode = fault.code { readings.append(Reading("fault", .string(faultCode))) }
        context.emit(event: "self-test", readings)
        return passed
    }

    /// Brings the battery level up to `context.now` and reacts to thresholds crossed.
    private func updateBattery(_ context: DeviceContext) {
        battery.drain(to: context.now, extraPerSecond: sounderOn ? alarmDrainPerSecond : 0)
        checkBatteryThresholds(context)
    }

    private func checkBatteryThresholds(_ context: DeviceContext) {
        if battery.level <= 0, !depleted {
            depleted = true
            context.emit(event: "battery-depleted", [Reading("battery", .double(0))])
            sounderOn = false
        } else if battery.level <= battery.lowThreshold, !lowBattery {
            enterLowBattery(context)
        }
    }

    private func enterLowBattery(_ context: DeviceContext) {
        lowBattery = true
        context.emit(event: "low-battery", [battery.reading])
        context.emit(Emission(channel: .local, name: "chirp", readings: [battery.reading]))
        chirp.start(after: chirpInterval, context)
    }

}
