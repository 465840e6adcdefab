import ParkCore

/// The smart pressure gauge (智能压力表) of the fire-water pressure monitoring system
/// (消防水压监测系统), mounted on the fire main.
///
/// Behaviour from seed 004: it collects the pipe-network pressure in real time and raises an
/// alarm to the duty officer when it is abnormal, against 「消防管道压力不足」 (L3015–3021); it
/// measures 0–2.5 MPa (L3078), its battery lasts at least five years (L3076), and it pushes
/// low-pressure and low-battery alarms (L3081). The high-pressure alarm (pump surge), tamper,
/// heartbeat, the sample/report split and the accuracy class are what such gauges do in practice.
public struct FireWaterPressureKind: DeviceKind {
    public static let name = "fire-water-pressure"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try FireWaterPressureGauge(setup: setup)
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Fire-main smart pressure gauge (NB-IoT/LoRa): low/high-pressure alarms with hysteresis, leak and pump stimuli, tamper, low battery, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3015-3021",
            "004_5e9061d643d5fb41.txt L3072-3081",
        ],
        points: [
            PointDescriptor(name: "pressure", type: .double, unit: "MPa", summary: "Pipe-network water pressure (measured; the ledger keeps the truth)"),
            PointDescriptor(name: "battery", type: .double, unit: "%", summary: "Remaining battery charge"),
            PointDescriptor(name: "state", type: .string, summary: "low-pressure, high-pressure, tamper or normal, the first that applies"),
        ],
        events: [
            EventDescriptor(name: "low-pressure", severity: .alarm, summary: "Pressure below low_pressure_threshold: 「水压不足」 (004 L3081)"),
            EventDescriptor(name: "high-pressure", severity: .alarm, summary: "Pressure above high_pressure_threshold (when set)"),
            EventDescriptor(name: "pressure-ok", severity: .info, summary: "Pressure back inside the band by at least pressure_hysteresis; `cleared` names the alarm"),
            EventDescriptor(name: "tamper", severity: .alarm, summary: "Gauge casing opened or gauge removed from the pipe"),
            EventDescriptor(name: "tamper-clear", severity: .info, summary: "Casing closed again"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery and state"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test"),
        ] + FireWater.batteryEvents,
        commands: FireWater.commonCommands + [
            CommandDescriptor(
                name: "set-thresholds",
                arguments: [
                    ArgumentDescriptor(name: "low", type: .double, required: false, summary: "New low-pressure threshold in MPa"),
                    ArgumentDescriptor(name: "high", type: .double, required: false, summary: "New high-pressure threshold in MPa; 0 switches it off"),
                ],
                summary: "Change the alarm thresholds; they take effect at the next sample"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "leak",
                arguments: [ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Pressure fall in MPa/min (default 0.05)")],
                summary: "A leak or a closed supply valve: the true pressure falls at `rate` until 0"),
            StimulusDescriptor(
                name: "pump-start",
                arguments: [ArgumentDescriptor(name: "pressure", type: .double, required: false, summary: "Pump outlet pressure in MPa (default 0.8)")],
                summary: "The fire pump starts: the pipe is held at its outlet pressure, overriding a leak"),
            StimulusDescriptor(
                name: "pressure-set",
                arguments: [ArgumentDescriptor(name: "pressure", type: .double, summary: "True pressure in MPa")],
                summary: "Hold the true pressure at a value (may exceed the gauge's range)"),
            StimulusDescriptor(name: "restore", summary: "Leak repaired, pump stopped: back to the ambient network pressure"),
            StimulusDescriptor(name: "tamper", summary: "Someone opens the casing or unscrews the gauge"),
            StimulusDescriptor(name: "tamper-restore", summary: "The casing is closed again"),
            FireWater.batterySetStimulus,
        ],
        parameters: FireWater.commonParameters(heartbeat: "1h", report: "15m", sample: "1m") + [
            ParameterDescriptor(name: "range_max", type: .double, defaultValue: "2.5", minimum: 0.1, maximum: 100, unit: "MPa", summary: "Full scale; readings clip here while the truth goes on (0–2.5 MPa, 004 L3078)"),
            ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "0.5", minimum: 0, maximum: 10, unit: "% FS", summary: "Accuracy class: the reading is within ± this share of full scale of the truth"),
            ParameterDescriptor(name: "nominal_pressure", type: .double, defaultValue: "0.4", minimum: 0, maximum: 100, unit: "MPa", summary: "Normal static pressure of the fire main"),
            ParameterDescriptor(name: "pressure_fluctuation", type: .double, defaultValue: "0.02", minimum: 0, maximum: 1, unit: "MPa", summary: "The true pressure wanders within nominal ± this at rest"),
            ParameterDescriptor(name: "low_pressure_threshold", type: .double, defaultValue: "0.15", minimum: 0, maximum: 100, unit: "MPa", summary: "A reading below this raises low-pressure"),
            ParameterDescriptor(name: "high_pressure_threshold", type: .double, defaultValue: "0", minimum: 0, maximum: 100, unit: "MPa", summary: "A reading above this raises high-pressure; 0 switches the alarm off"),
            ParameterDescriptor(name: "pressure_hysteresis", type: .double, defaultValue: "0.02", minimum: 0, maximum: 1, unit: "MPa", summary: "An alarm clears only this far back inside the band; keep it above the accuracy so noise does not flap"),
        ])
}
