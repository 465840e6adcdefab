import ParkCore

/// The wireless (NB-IoT) smoke and heat detector of the smart-park fire system.
///
/// Behaviour from seed 004: it samples smoke density and temperature, sounds locally and pushes
/// an alarm to the platform when a threshold is crossed (L3048–3054); its battery lasts at least
/// three years (L3123); on low battery it chirps every 40 s until the battery is replaced
/// (L3130). Tamper, fault, heartbeat and self-test are what such detectors report in practice.
public struct SmokeDetectorKind: DeviceKind {
    public static let name = "smoke-detector"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        SmokeDetector(setup: setup)
    }

    /// Timer tags used by ``SmokeDetector``.
    enum Timer: UInt32 {
        case heartbeat = 1, report, chirp, alarmConfirm
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Wireless smoke/heat detector (NB-IoT): smoke and heat alarms, low-battery chirp, tamper, fault, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3048-3054",
            "004_5e9061d643d5fb41.txt L3121-3130",
        ],
        points: [
            PointDescriptor(name: "smoke_density", type: .double, unit: "dB/m", summary: "Optical smoke density in the chamber"),
            PointDescriptor(name: "temperature", type: .double, unit: "°C", summary: "Air temperature at the detector"),
            CommonDescriptors.batteryPoint,
        ],
        events: [
            EventDescriptor(name: "smoke-alarm", severity: .critical, summary: "Smoke density above the alarm threshold"),
            EventDescriptor(name: "smoke-clear", severity: .info, summary: "Smoke density back below the threshold"),
            EventDescriptor(name: "heat-alarm", severity: .critical, summary: "Temperature above the heat threshold"),
            EventDescriptor(name: "heat-clear", severity: .info, summary: "Temperature back below the heat threshold"),
            EventDescriptor(name: "low-battery", severity: .warning, summary: "Battery below the low-battery threshold; chirping every chirp_interval"),
            EventDescriptor(name: "battery-ok", severity: .info, summary: "Battery replaced"),
            EventDescriptor(name: "battery-depleted", severity: .warning, summary: "Last message before the device goes silent"),
            EventDescriptor(name: "tamper", severity: .alarm, summary: "Detector removed from its base"),
            EventDescriptor(name: "tamper-clear", severity: .info, summary: "Detector back on its base"),
            EventDescriptor(name: "fault", severity: .warning, summary: "Chamber or electronics fault; smoke detection unavailable"),
            EventDescriptor(name: "fault-clear", severity: .info, summary: "Fault cleared"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery level"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test (button or command)"),
            EventDescriptor(name: "chirp", severity: .info, summary: "Local: the low-battery chirp (not sent on the wire)"),
            EventDescriptor(name: "sounder-on", severity: .info, summary: "Local: alarm sounder starts (> 85 dB at 3 m, 004 L3129)"),
            EventDescriptor(name: "sounder-off", severity: .info, summary: "Local: alarm sounder stops"),
        ],
        commands: [
            CommonDescriptors.selfTestCommand,
            CommandDescriptor(name: "silence", summary: "Silence the local sounder; the alarm itself stays raised"),
            CommandDescriptor(
                name: "set-threshold",
                arguments: [ArgumentDescriptor(name: "smoke_threshold", type: .double, summary: "New smoke alarm threshold in dB/m")],
                summary: "Change the smoke alarm threshold"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "smoke",
                arguments: [ArgumentDescriptor(name: "density", type: .double, required: false, summary: "Smoke density in dB/m (default 0.5)")],
                summary: "Smoke reaches the detector"),
            StimulusDescriptor(name: "smoke-clear", summary: "The smoke clears"),
            StimulusDescriptor(
                name: "heat",
                arguments: [ArgumentDescriptor(name: "temperature", type: .double, required: false, summary: "Air temperature in °C (default 70)")],
                summary: "Hot air reaches the detector"),
            StimulusDescriptor(name: "heat-clear", summary: "The air cools to ambient"),
            StimulusDescriptor(name: "tamper", summary: "Someone removes the detector from its base"),
            StimulusDescriptor(name: "tamper-restore", summary: "The detector is put back"),
            CommonDescriptors.faultStimulus(defaultCode: "chamber", summary: "The detector develops a fault"),
            StimulusDescriptor(name: "fault-clear", summary: "The fault goes away"),
            StimulusDescriptor(name: "test-button", summary: "Someone presses the test button"),
            StimulusDescriptor(name: "battery-replace", summary: "A new battery is fitted"),
            CommonDescriptors.batterySetStimulus(),
        ],
        parameters: [
            CommonDescriptors.heartbeatInterval(default: "1h"),
            ParameterDescriptor(name: "report_interval", type: .duration, defaultValue: "5m", minimum: 0.001, summary: "Time between telemetry reports"),
            CommonDescriptors.startSpread(.eachTimer),
            ParameterDescriptor(name: "smoke_threshold", type: .double, defaultValue: "0.15", minimum: 0.01, maximum: 2, unit: "dB/m", summary: "Smoke alarm threshold"),
            ParameterDescriptor(name: "heat_threshold", type: .double, defaultValue: "57", minimum: 30, maximum: 120, unit: "°C", summary: "Heat alarm threshold (EN 54-5 class A1 static response)"),
            ParameterDescriptor(name: "alarm_delay", type: .duration, defaultValue: "0s", summary: "The detector's own confirmation time before it raises an alarm"),
        ] + CommonDescriptors.batteryParameters(life: "1095d", lifeSummary: "Time for a full battery to drain at rest (at least 3 years, 004 L3123)") + [
            ParameterDescriptor(name: "alarm_drain_per_hour", type: .double, defaultValue: "2", minimum: 0, unit: "%", summary: "Extra battery drain while the sounder is on"),
            ParameterDescriptor(name: "chirp_interval", type: .duration, defaultValue: "40s", minimum: 1, summary: "Low-battery chirp period (004 L3130)"),
            ParameterDescriptor(name: "ambient_temperature", type: .double, defaultValue: "22", minimum: -40, maximum: 60, unit: "°C", summary: "Mean ambient temperature"),
            ParameterDescriptor(name: "measurement_noise", type: .double, defaultValue: "0.002", minimum: 0, unit: "dB/m", summary: "Standard deviation of the smoke sensor's error"),
        ])
}
