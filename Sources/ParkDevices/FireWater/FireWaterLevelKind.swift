import ParkCore

/// The smart level gauge (智能液位表) of the fire-water level monitoring system
/// (消防水位监测系统), in a fire water pool or tank.
///
/// Behaviour from seed 004: it collects the fire pool's water level in real time and raises an
/// alarm to the duty officer when it is abnormal, against 「消防管道无水可用」 (L3023–3029); it
/// measures at least 5 m of level (L3089), its battery lasts at least five years (L3087), and it
/// pushes level-too-low, level-too-high and low-battery alarms (L3093). Drain and refill rates,
/// the accuracy class and the sample/report split are what such gauges do in practice.
public struct FireWaterLevelKind: DeviceKind {
    public static let name = "fire-water-level"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try FireWaterLevelGauge(setup: setup)
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Fire water pool/tank smart level gauge (NB-IoT/LoRa): low/high-level alarms with hysteresis, drain and fill stimuli, low battery, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3023-3029",
            "004_5e9061d643d5fb41.txt L3083-3093",
        ],
        points: [
            PointDescriptor(name: "level", type: .double, unit: "m", summary: "Water level above the gauge's zero (measured; the ledger keeps the truth)"),
            PointDescriptor(name: "percent", type: .double, unit: "%", summary: "Measured level as a share of nominal_level (the full tank)"),
            PointDescriptor(name: "battery", type: .double, unit: "%", summary: "Remaining battery charge"),
            PointDescriptor(name: "state", type: .string, summary: "low-level, high-level or normal"),
        ],
        events: [
            EventDescriptor(name: "low-level", severity: .alarm, summary: "Level below low_level_threshold: 「水位过低」 (004 L3093)"),
            EventDescriptor(name: "high-level", severity: .alarm, summary: "Level above high_level_threshold: 「水位过高」 (004 L3093)"),
            EventDescriptor(name: "level-ok", severity: .info, summary: "Level back inside the band by at least level_hysteresis; `cleared` names the alarm"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery and state"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test"),
        ] + FireWater.batteryEvents,
        commands: FireWater.commonCommands + [
            CommandDescriptor(
                name: "set-thresholds",
                arguments: [
                    ArgumentDescriptor(name: "low", type: .double, required: false, summary: "New low-level threshold in m"),
                    ArgumentDescriptor(name: "high", type: .double, required: false, summary: "New high-level threshold in m"),
                ],
                summary: "Change the alarm thresholds; they take effect at the next sample"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "drain",
                arguments: [ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Level fall in m/h (default 1)")],
                summary: "Water is drawn off (a fire, a leak, an open drain valve): the true level falls at `rate` until empty"),
            StimulusDescriptor(
                name: "fill",
                arguments: [
                    ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Level rise in m/h (default 2)"),
                    ArgumentDescriptor(name: "level", type: .double, required: false, summary: "Level where filling stops, in m (default nominal_level; above it models a stuck float valve)"),
                ],
                summary: "The drain stops and the make-up valve fills the tank at `rate` up to `level`; already above it, the level just stays"),
            StimulusDescriptor(
                name: "level-set",
                arguments: [ArgumentDescriptor(name: "level", type: .double, summary: "True level in m")],
                summary: "Hold the true level at a value (may exceed the gauge's range)"),
            StimulusDescriptor(name: "restore", summary: "Back to the ambient level around nominal_level"),
            FireWater.batterySetStimulus,
        ],
        parameters: FireWater.commonParameters(heartbeat: "1h", report: "15m", sample: "1m") + [
            ParameterDescriptor(name: "range_max", type: .double, defaultValue: "5", minimum: 0.5, maximum: 50, unit: "m", summary: "Full scale; readings clip here while the truth goes on (at least 5 m, 004 L3089)"),
            ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "0.5", minimum: 0, maximum: 10, unit: "% FS", summary: "Accuracy class: the reading is within ± this share of full scale of the truth"),
            ParameterDescriptor(name: "nominal_level", type: .double, defaultValue: "3.5", minimum: 0.1, maximum: 50, unit: "m", summary: "Normal full level, where the float valve stops filling"),
            ParameterDescriptor(name: "level_fluctuation", type: .double, defaultValue: "0.01", minimum: 0, maximum: 1, unit: "m", summary: "The true level wanders within nominal ± this at rest"),
            ParameterDescriptor(name: "low_level_threshold", type: .double, defaultValue: "2.5", minimum: 0, maximum: 50, unit: "m", summary: "A reading below this raises low-level"),
            ParameterDescriptor(name: "high_level_threshold", type: .double, defaultValue: "4.2", minimum: 0.1, maximum: 50, unit: "m", summary: "A reading above this raises high-level"),
            ParameterDescriptor(name: "level_hysteresis", type: .double, defaultValue: "0.05", minimum: 0, maximum: 5, unit: "m", summary: "An alarm clears only this far back inside the band; keep it above the accuracy so noise does not flap"),
        ])
}
