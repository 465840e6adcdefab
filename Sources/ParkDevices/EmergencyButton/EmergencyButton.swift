import ParkCore

/// One emergency button or intrusion detector zone: the state machine behind
/// ``EmergencyButtonKind``.
///
/// The alarm latches: once raised it stays raised, and further triggers are only counted, until
/// the platform sends `reset` (004 L2892 「手动复位」). A press alarms whether or not the zone is
/// armed, because a panic button that could be disarmed would fail exactly when it is needed;
/// arming gates intrusion only (004 S11 check "disarmed zones do not alarm").
///
/// A cut loop hides the contact from the panel, so triggers while the line is cut are not seen;
/// the cut itself is already an alarm-severity event. A fault blinds the intrusion sensor but
/// not the mechanical press contact.
///
/// Battery charge drains linearly over `battery_life` and is brought up to date whenever the
/// device speaks (``Battery``); unlike the smoke detector this kind does not model going
/// silent at 0 %.
final class EmergencyButton: DeviceBehavior {
    typealias Timer = EmergencyButtonKind.Timer

    private let startSpread: DeviceDuration
    private let alarmDelay: DeviceDuration
    private let hasSounder: Bool

    private var random: SeededRandom

    private var armed: Bool
    /// The trigger of the latched alarm; nil when no alarm is latched.
    private var latchedTrigger: String?
    /// Triggers seen since the alarm latched, the first included.
    private var triggerCount: Int64 = 0
    private var entryPending = false
    private var tamper = TamperSwitch()
    private var lineCut = false
    private var fault = FaultLatch()
    private var sirenOn = false
    private var battery: Battery
    private var heartbeat: PeriodicTimer
    /// Cancelled whenever a pending entry delay must no longer raise.
    private var entryDelay = TimerChain(Timer.entryDelay)

    init(setup: DeviceSetup) {
        let parameters = setup.parameters
        heartbeat = PeriodicTimer(Timer.heartbeat, interval: parameters.duration("heartbeat_interval"))
        startSpread = parameters.duration("start_spread")
        alarmDelay = parameters.duration("alarm_delay")
        hasSounder = parameters.bool("sounder")
        battery = Battery(parameters)
        armed = parameters.bool("armed_at_start")
        random = setup.random
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        // A random phase keeps a park of buttons from reporting in lock step.
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
                Reading("armed", .bool(armed)),
                Reading("zone_state", .string(zoneState)),
            ])
        case .entryDelay:
            guard entryPending, armed, entryDelay.isCurrent(tag) else { return }
            entryPending = false
            // The delay ran out with the zone still armed. Cut-line and fault are not checked
            // again: the intruder was seen before either happened.
            raiseAlarm(trigger: "intrusion", context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        switch stimulus.name {
        case "press":
            guard !lineCut else { return }
            raiseAlarm(trigger: "press", context)
        case "intrusion":
            guard armed, !lineCut, fault.code == nil else { return }
            if latchedTrigger != nil || alarmDelay == .zero {
                raiseAlarm(trigger: "intrusion", context)
            } else if !entryPending {
                // The delay counts from the first detection; more movement does not extend it.
                entryPending = true
                entryDelay.start(after: alarmDelay, context)
                context.emit(Emission(channel: .local, name: "entry-delay", readings: [
                    Reading("delay_s", .double(alarmDelay.seconds)),
                ]))
            }
        case "tamper":
            guard tamper.open(context, [Reading("armed", .bool(armed))]) else { return }
            updateSiren(context)
        case "tamper-restore":
            guard tamper.close(context) else { return }
            updateSiren(context)
        case "cut-line":
            guard !lineCut else { return }
            lineCut = true
            context.emit(event: "line-cut", [Reading("armed", .bool(armed))])
            updateSiren(context)
        case "restore-line":
            guard lineCut else { return }
            lineCut = false
            context.emit(event: "line-restore")
            updateSiren(context)
        case "fault":
            fault.raise(Arguments(stimulus).string("code", default: "sensor"), context)
        case "fault-clear":
            fault.clear(context)
        case "battery-set":
            let arguments = Arguments(stimulus)
            battery.force(try arguments.required(arguments.number("level"), "level"), context)
        default:
            throw DeviceError("emergency button has no stimulus '\(stimulus.name)'; known: "
                + EmergencyButtonKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "arm":
            // Arming over an open loop or casing would hide an intrusion behind a fault the
            // guard already knows about; panels call this "zone not ready".
            if lineCut { return .rejected("zone not ready: alarm loop is cut") }
            if tamper.isOpen { return .rejected("zone not ready: casing is open") }
            if !armed {
                armed = true
                context.emit(event: "armed", [Reading("armed", .bool(true))])
            }
            // Arming an armed zone is accepted without an event, so a platform that retries
            // does not see duplicate state changes.
            return CommandResult(.accepted, readings: [Reading("armed", .bool(true))])
        case "disarm":
            if entryPending {
                entryPending = false
                entryDelay.cancel()
            }
            if armed {
                armed = false
                context.emit(event: "disarmed", [Reading("armed", .bool(false))])
            }
            return CommandResult(.accepted, readings: [Reading("armed", .bool(false))])
        case "reset":
            guard let trigger = latchedTrigger else { return .rejected("no alarm is latched") }
            let readings = [Reading("trigger", .string(trigger)), Reading("triggers", .int(triggerCount))]
            latchedTrigger = nil
            triggerCount = 0
            context.emit(event: "alarm-clear", readings)
            updateSiren(context)
            return CommandResult(.accepted, readings: readings)
        case "self-test":
            return CommandResult(.accepted, readings: [Reading("passed", .bool(selfTest(context)))])
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// Raises the alarm, or only counts the trigger if one is already latched: the platform
    /// must see one alarm per incident, however often a frightened person presses.
    private func raiseAlarm(trigger: String, _ context: DeviceContext) {
        triggerCount += 1
        guard latchedTrigger == nil else { return }
        latchedTrigger = trigger
        if entryPending {
            // A press during an entry delay already raised the alarm the delay was waiting for.
            entryPending = false
            entryDelay.cancel()
        }
        battery.update(context)
        context.emit(event: "alarm", [
            Reading("trigger", .string(trigger)),
            Reading("armed", .bool(armed)),
            battery.reading,
        ])
        updateSiren(context)
    }

    /// Sound and light run while anything needs a guard's attention (004 L2716, L2892).
    private func updateSiren(_ context: DeviceContext) {
        let wanted = hasSounder && (latchedTrigger != nil || tamper.isOpen || lineCut)
        guard wanted != sirenOn else { return }
        sirenOn = wanted
        context.emit(Emission(channel: .local, name: wanted ? "siren-on" : "siren-off"))
    }

    private var zoneState: String {
        if latchedTrigger != nil { return "alarm" }
        if lineCut { return "line-cut" }
        if tamper.isOpen { return "tamper" }
        if fault.code != nil { return "fault" }
        if entryPending { return "entry-delay" }
        return "normal"
    }

    private func selfTest(_ context: DeviceContext) -> Bool {
        battery.update(context)
        let passed = fault.code == nil && !lineCut && !tamper.isOpen && battery.level > battery.lowThreshold
        var readings = [Reading("passed", .bool(passed)), battery.reading]
        if let faultCode = fault.code { readings.append(Reading("fault", .string(faultCode))) }
        context.emit(event: "self-test", readings)
        return passed
    }

}
