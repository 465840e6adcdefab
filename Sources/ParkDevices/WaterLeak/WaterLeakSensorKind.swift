import ParkCore

/// The water-leak sensor of the smart-park water and power rooms (漏水检测): a battery spot
/// probe, or a sensing cable that also says where along it the water is.
///
/// Behaviour from the seeds: leak detection with rapid response is a required scenario
/// (「漏水检测与快速响应」, 000 L164), and the district dashboard counts leak-cable alarms in
/// the switch rooms (「变配电/漏水线异常」, 004 L4729, L5557). Neither document specifies the
/// device, so the rest is what such sensors do in practice: an alarm when water bridges the
/// probe (optionally confirmed for `alarm_delay` so a splash does not alarm), a clear when it
/// dries, tamper, low battery, heartbeat and self-test.
public struct WaterLeakSensorKind: DeviceKind {
    public static let name = "water-leak"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        WaterLeakSensor(setup: setup)
    }

    /// Timer tags used by ``WaterLeakSensor``; the low byte names the timer, the rest carries a
    /// generation where the timer can be superseded.
    enum Timer: UInt32 {
        case heartbeat = 1, alarmConfirm
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Water-leak sensor (spot probe or sensing cable): leak alarm and clear with optional confirmation, leak position on a cable, tamper, probe fault, low battery, heartbeat, self-test",
        sources: [
            "000_d2d2437d3c7b6906.txt L164",
            "004_5e9061d643d5fb41.txt L4729",
            "004_5e9061d643d5fb41.txt L5557",
        ],
        points: [
            PointDescriptor(name: "leak", type: .bool, summary: "Whether the sensor reports water; its truth is whether water is there"),
            PointDescriptor(name: "position", type: .double, unit: "m", summary: "Where along a sensing cable the water is (cable models only)"),
            CommonDescriptors.batteryPoint,
        ],
        events: [
            EventDescriptor(name: "leak", severity: .critical, summary: "Water at the probe or cable"),
            EventDescriptor(name: "leak-clear", severity: .info, summary: "The probe or cable is dry again"),
            EventDescriptor(name: "tamper", severity: .alarm, summary: "Casing opened or sensor moved"),
            EventDescriptor(name: "tamper-clear", severity: .info, summary: "Casing closed again"),
            EventDescriptor(name: "fault", severity: .warning, summary: "Probe or cable disconnected; water is not seen until fault-clear"),
            EventDescriptor(name: "fault-clear", severity: .info, summary: "Probe or cable connected again"),
        ] + CommonDescriptors.batteryEvents() + [
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery and leak state, so a lost alarm shows up at the next heartbeat"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test (button or command)"),
        ],
        commands: [
            CommonDescriptors.selfTestCommand,
        ],
        stimuli: [
            StimulusDescriptor(
                name: "water",
                arguments: [ArgumentDescriptor(name: "position", type: .double, required: false, summary: "Metres along the cable (cable models only; default a random point)")],
                summary: "Water reaches the probe or cable; a second wet spot while wet changes nothing"),
            StimulusDescriptor(name: "dry", summary: "The water is gone"),
            StimulusDescriptor(name: "tamper", summary: "Someone opens the casing or moves the sensor"),
            StimulusDescriptor(name: "tamper-restore", summary: "The casing is closed again"),
            CommonDescriptors.faultStimulus(defaultCode: "probe-disconnected", summary: "The probe or cable comes loose"),
            StimulusDescriptor(name: "fault-clear", summary: "The probe or cable is reconnected"),
            StimulusDescriptor(name: "test-button", summary: "Someone presses the test button"),
            CommonDescriptors.batterySetStimulus(),
        ],
        parameters: [
            CommonDescriptors.heartbeatInterval(default: "6h"),
            CommonDescriptors.startSpread(.firstHeartbeat),
            ParameterDescriptor(name: "alarm_delay", type: .duration, defaultValue: "0s", summary: "Water must stay this long before the sensor alarms, so a splash does not; 0s alarms at once"),
            ParameterDescriptor(name: "cable_length", type: .double, defaultValue: "0", minimum: 0, maximum: 1_500, unit: "m", summary: "Length of a sensing cable (漏水线, 004 L4729); leak events then carry the position. 0 is a spot probe"),
        ] + CommonDescriptors.batteryParameters(life: "1825d"))
}
