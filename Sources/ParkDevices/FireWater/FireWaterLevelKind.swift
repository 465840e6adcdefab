import ParkCore

extension AnalogGaugeKind.Gauge {
    /// The smart level gauge (智能液位表) of the fire-water level monitoring system
    /// (消防水位监测系统), in a fire water pool or tank: kind `fire-water-level`.
    ///
    /// Behaviour from seed 004: it collects the fire pool's water level in real time and raises
    /// an alarm to the duty officer when it is abnormal, against 「消防管道无水可用」
    /// (L3023–3029); it measures at least 5 m of level (L3089), its battery lasts at least five
    /// years (L3087), and it pushes level-too-low, level-too-high and low-battery alarms
    /// (L3093). Drain and refill rates, the accuracy class and the sample/report split are what
    /// such gauges do in practice.
    static let fireWaterLevel = AnalogGaugeKind.Gauge(
        name: "fire-water-level",
        summary: "Fire water pool/tank smart level gauge (NB-IoT/LoRa): low/high-level alarms with hysteresis, drain and fill stimuli, low battery, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3023-3029",
            "004_5e9061d643d5fb41.txt L3083-3093",
        ],
        deviceName: "fire-water level gauge",
        quantity: "level",
        unit: "m",
        pointSummary: "Water level above the gauge's zero (measured; the ledger keeps the truth)",
        percentOfNominal: "Measured level as a share of nominal_level (the full tank)",
        lowSummary: "Level below low_level_threshold: 「水位过低」 (004 L3093)",
        highSummary: "Level above high_level_threshold: 「水位过高」 (004 L3093)",
        // A tank overflows, so too high is always an alarm.
        highCanBeOff: false,
        tamper: nil,
        stimuli: [
            .init(
                descriptor: StimulusDescriptor(
                    name: "drain",
                    arguments: [ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Level fall in m/h (default 1)")],
                    summary: "Water is drawn off (a fire, a leak, an open drain valve): the true level falls at `rate` until empty"),
                action: .fall(defaultRate: 1, range: 0.001...1_000, unit: "m/h", secondsPerUnit: 3_600)),
            .init(
                descriptor: StimulusDescriptor(
                    name: "fill",
                    arguments: [
                        ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Level rise in m/h (default 2)"),
                        ArgumentDescriptor(name: "level", type: .double, required: false, summary: "Level where filling stops, in m (default nominal_level; above it models a stuck float valve)"),
                    ],
                    summary: "The drain stops and the make-up valve fills the tank at `rate` up to `level`; already above it, the level just stays"),
                action: .fill(defaultRate: 2, range: 0.001...1_000, unit: "m/h", secondsPerUnit: 3_600)),
            .init(
                descriptor: StimulusDescriptor(
                    name: "level-set",
                    arguments: [ArgumentDescriptor(name: "level", type: .double, summary: "True level in m")],
                    summary: "Hold the true level at a value (may exceed the gauge's range)"),
                action: .hold(default: nil)),
            .init(
                descriptor: StimulusDescriptor(name: "restore", summary: "Back to the ambient level around nominal_level"),
                action: .restore),
        ],
        intervals: (heartbeat: "1h", report: "15m", sample: "1m"),
        rangeMax: .init(defaultValue: "5", minimum: 0.5, maximum: 50, summary: "Full scale; readings clip here while the truth goes on (at least 5 m, 004 L3089)"),
        nominal: .init(defaultValue: "3.5", minimum: 0.1, maximum: 50, summary: "Normal full level, where the float valve stops filling"),
        fluctuation: .init(defaultValue: "0.01", minimum: 0, maximum: 1),
        low: .init(defaultValue: "2.5", minimum: 0, maximum: 50),
        high: .init(defaultValue: "4.2", minimum: 0.1, maximum: 50),
        hysteresis: .init(defaultValue: "0.05", minimum: 0, maximum: 5))
}
