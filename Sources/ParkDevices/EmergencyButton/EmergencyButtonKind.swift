import ParkCore

/// The one-key emergency button and intrusion detector of the smart-park emergency alarm
/// system (紧急报警系统).
///
/// Behaviour from seed 004: one-key alarm devices report alarm events to the platform in real
/// time over wired or wireless links (L2582–2586, L2712) within 2 s (L2714); removing a detector
/// or cutting its line raises a sound-and-light alarm (L2716); the centre arms and disarms zones
/// (L2884–2886); the system reports self-test, tamper and fault (L2888); an alarm shows sound
/// and light until it is reset by hand and is recorded (L2892). Heartbeat, battery and the
/// intrusion panel's entry delay are what such devices do in practice.
///
/// One kind covers both the panic button and the intrusion detector because the platform sees
/// the same zone either way; `trigger` in the alarm says which it was.
public struct EmergencyButtonKind: DeviceKind {
    public static let name = "emergency-button"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        EmergencyButton(setup: setup)
    }

    /// Timer tags used by ``EmergencyButton``; the low byte names the timer, the rest carries a
    /// generation where the timer can be superseded.
    enum Timer: UInt32 {
        case heartbeat = 1, entryDelay
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "One-key emergency button / intrusion detector: latched alarm until reset, arm/disarm, entry delay, tamper, line cut, fault, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L2582-2586",
            "004_5e9061d643d5fb41.txt L2710-2717",
            "004_5e9061d643d5fb41.txt L2880-2892",
        ],
        points: [
            PointDescriptor(name: "armed", type: .bool, summary: "Whether the zone is armed (intrusion alarms only when armed; presses always alarm)"),
            CommonDescriptors.batteryPoint,
            PointDescriptor(name: "zone_state", type: .string, summary: "alarm, line-cut, tamper, fault, entry-delay or normal, the first that applies"),
        ],
        events: [
            EventDescriptor(name: "alarm", severity: .critical, summary: "Emergency press or intrusion in an armed zone; latched until reset (trigger = press | intrusion)"),
            EventDescriptor(name: "alarm-clear", severity: .info, summary: "The latched alarm was reset; carries how many triggers it absorbed"),
            EventDescriptor(name: "tamper", severity: .alarm, summary: "Casing opened or device removed (004 L2716)"),
            EventDescriptor(name: "tamper-clear", severity: .info, summary: "Casing closed again"),
            EventDescriptor(name: "line-cut", severity: .alarm, summary: "The wired alarm loop is cut (004 L2716); presses and intrusions are not seen until it is restored"),
            EventDescriptor(name: "line-restore", severity: .info, summary: "The alarm loop is whole again"),
            EventDescriptor(name: "fault", severity: .warning, summary: "Sensor or electronics fault; intrusion detection unavailable (004 L2888)"),
            EventDescriptor(name: "fault-clear", severity: .info, summary: "Fault cleared"),
            EventDescriptor(name: "armed", severity: .info, summary: "The zone was armed"),
            EventDescriptor(name: "disarmed", severity: .info, summary: "The zone was disarmed; a pending entry delay is cancelled"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test (004 L2888)"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery, armed and zone_state"),
        ] + CommonDescriptors.batteryEvents() + [
            EventDescriptor(name: "entry-delay", severity: .info, summary: "Local: intrusion seen in an armed zone, entry delay running (not sent on the wire)"),
            EventDescriptor(name: "siren-on", severity: .info, summary: "Local: sound and light start (004 L2716, L2892)"),
            EventDescriptor(name: "siren-off", severity: .info, summary: "Local: sound and light stop"),
        ],
        commands: [
            CommandDescriptor(name: "arm", summary: "Arm the zone; refused while the loop is cut or the casing is open"),
            CommandDescriptor(name: "disarm", summary: "Disarm the zone and cancel a running entry delay; a latched alarm stays until reset"),
            CommandDescriptor(name: "reset", summary: "Clear the latched alarm (manual reset, 004 L2892); refused when none is latched"),
            CommonDescriptors.selfTestCommand,
        ],
        stimuli: [
            StimulusDescriptor(name: "press", summary: "Someone presses the emergency button: alarms at once, armed or not"),
            StimulusDescriptor(name: "intrusion", summary: "The detector sees an intruder: alarms only in an armed zone, after alarm_delay"),
            StimulusDescriptor(name: "tamper", summary: "Someone opens the casing or removes the device"),
            StimulusDescriptor(name: "tamper-restore", summary: "The casing is closed again"),
            StimulusDescriptor(name: "cut-line", summary: "Someone cuts the wired alarm loop"),
            StimulusDescriptor(name: "restore-line", summary: "The loop is repaired"),
            CommonDescriptors.faultStimulus(defaultCode: "sensor", summary: "The device develops a fault"),
            StimulusDescriptor(name: "fault-clear", summary: "The fault goes away"),
            CommonDescriptors.batterySetStimulus(),
        ],
        parameters: [
            CommonDescriptors.heartbeatInterval(default: "1h"),
            CommonDescriptors.startSpread(.firstHeartbeat),
            ParameterDescriptor(name: "armed_at_start", type: .bool, defaultValue: "true", summary: "Whether the zone is armed when the device starts"),
            ParameterDescriptor(name: "alarm_delay", type: .duration, defaultValue: "0s", summary: "Entry delay: an intrusion alarms only if the zone is still armed this long after it was seen; presses are never delayed"),
            ParameterDescriptor(name: "sounder", type: .bool, defaultValue: "true", summary: "Whether the device has local sound and light; false models a silent hold-up button"),
        ] + CommonDescriptors.batteryParameters(life: "1825d"))
}
