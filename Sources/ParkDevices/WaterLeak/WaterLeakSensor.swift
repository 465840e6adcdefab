import ParkCore

/// One water-leak sensor: the state machine behind ``WaterLeakSensorKind``.
///
/// `water` is the truth the harness sets; `leak` is what the sensor has told the platform. They
/// differ while an alarm waits out `alarm_delay` and while the probe is disconnected, and every
/// `leak` reading carries both so a check can tell a slow platform from a slow sensor.
///
/// Battery charge drains linearly over `battery_life` and is brought up to date whenever the
/// device speaks (``Battery``); like the emergency button, this kind does not model going
/// silent at 0 %.
final class WaterLeakSensor: DeviceBehavior {
    typealias Timer = WaterLeakSensorKind.Timer

    private let startSpread: DeviceDuration
    private let alarmDelay: DeviceDuration
    private let cableLength: Double

    private var random: SeededRandom

    private var water = false
    /// Where on the cable the water is; nil for a spot probe or when dry.
    private var waterPosition: Double?
    private var leak = false
    private var confirming = false
    private var tamper = TamperSwitch()
    private var fault = FaultLatch()
    private var battery: Battery
    private var heartbeat: PeriodicTimer
    /// Cancelled whenever a pending confirmation must no longer raise.
    private var confirmation = TimerChain(Timer.alarmConfirm)

    init(setup: DeviceSetup) {
        let parameters = setup.parameters
        heartbeat = PeriodicTimer(Timer.heartbeat, interval: parameters.duration("heartbeat_interval"))
        startSpread = parameters.duration("start_spread")
        alarmDelay = parameters.duration("alarm_delay")
        cableLength = parameters.double("cable_length")
        battery = Battery(parameters)
        random = setup.random
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        // A random phase keeps a park of sensors from reporting in lock step.
        heartbeat.start(spread: startSpread, random: &random, context)
        battery.update(context)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            guard heartbeat.fire(tag, context) else { return }
            battery.update(context)
            context.emit(event: "heartbeat", [
                battery.reading,
                Reading("leak", .bool(leak), truth: .bool(water)),
            ])
        case .alarmConfirm:
            guard confirming, confirmation.isCurrent(tag) else { return }
            confirming = false
            // Dry and fault both cancel the confirmation, so water is still there and seen.
            raiseLeak(context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        switch stimulus.name {
        case "water":
            let given = try givenPosition(stimulus)
            guard !water else { return }
            water = true
            waterPosition = given ?? (cableLength > 0 ? random.nextDouble(in: 0...cableLength) : nil)
            evaluate(context)
        case "dry":
            guard water else { return }
            water = false
            waterPosition = nil
            evaluate(context)
        case "tamper":
            tamper.open(context)
        case "tamper-restore":
            tamper.close(context)
        case "fault":
            guard fault.raise(Arguments(stimulus).string("code", default: "probe-disconnected"), context) else { return }
            cancelConfirmation()
        case "fault-clear":
            guard fault.clear(context) else { return }
            evaluate(context)
        case "test-button":
            selfTest(context)
        case "battery-set":
            let arguments = Arguments(stimulus)
            battery.force(try arguments.required(arguments.number("level"), "level"), context)
        default:
            throw DeviceError("water-leak sensor has no stimulus '\(stimulus.name)'; known: "
                + WaterLeakSensorKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "self-test":
            return CommandResult(.accepted, readings: [Reading("passed", .bool(selfTest(context)))])
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// Brings what the sensor reports in line with the water. A disconnected probe sees
    /// nothing, so it changes nothing: a leak raised before the fault stays raised until the
    /// probe is back and dry.
    private func evaluate(_ context: DeviceContext) {
        guard fault.code == nil else { return }
        if water, !leak {
            if alarmDelay == .zero {
                raiseLeak(context)
            } else if !confirming {
                // The delay counts from the first wetting; it is not extended while water stays.
                confirming = true
                confirmation.start(after: alarmDelay, context)
            }
        } else if !water {
            cancelConfirmation()
            if leak {
                leak = false
                context.emit(event: "leak-clear", [Reading("leak", .bool(false), truth: .bool(water))])
            }
        }
    }

    private func raiseLeak(_ context: DeviceContext) {
        leak = true
        battery.update(context)
        var readings = [Reading("leak", .bool(true), truth: .bool(water))]
        if let waterPosition {
            readings.append(Reading("position", .double(readingRounded(waterPosition)), truth: .double(readingRounded(waterPosition))))
        }
        readings.append(battery.reading)
        context.emit(event: "leak", readings)
    }

    private func cancelConfirmation() {
        guard confirming else { return }
        confirming = false
        confirmation.cancel()
    }

    /// The stimulus's `position` on the cable, checked; nil when it gives none.
    private func givenPosition(_ stimulus: Stimulus) throws(DeviceError) -> Double? {
        guard let argument = stimulus.arguments["position"] else { return nil }
        guard cableLength > 0 else {
            throw DeviceError("stimulus 'water' argument 'position' needs a sensing cable (cable_length > 0); this is a spot probe")
        }
        guard let position = argument.doubleValue, position >= 0, position <= cableLength else {
            throw DeviceError("stimulus 'water' argument 'position' must be a number from 0 to \(JSONText.number(cableLength)) m, got \(argument.jsonText)")
        }
        return position
    }

    @discardableResult
    private func selfTest(_ context: DeviceContext) -> Bool {
        battery.update(context)
        let passed = fault.code == nil && !tamper.isOpen && battery.level > battery.lowThreshold
        var readings = [Reading("passed", .bool(passed)), battery.reading]
        if let faultCode = fault.code { readings.append(Reading("fault", .string(faultCode))) }
        context.emit(event: "self-test", readings)
        return passed
    }

}
