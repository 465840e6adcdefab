import ParkCore

extension AnalogGaugeKind.Gauge {
    /// The smart pressure gauge (智能压力表) of the fire-water pressure monitoring system
    /// (消防水压监测系统), mounted on the fire main: kind `fire-water-pressure`.
    ///
    /// Behaviour from seed 004: it collects the pipe-network pressure in real time and raises
    /// an alarm to the duty officer when it is abnormal, against 「消防管道压力不足」
    /// (L3015–3021); it measures 0–2.5 MPa (L3078), its battery lasts at least five years
    /// (L3076), and it pushes low-pressure and low-battery alarms (L3081). The high-pressure
    /// alarm (pump surge), tamper, heartbeat, the sample/report split and the accuracy class are
    /// what such gauges do in practice.
    static let fireWaterPressure = AnalogGaugeKind.Gauge(
        name: "fire-water-pressure",
        summary: "Fire-main smart pressure gauge (NB-IoT/LoRa): low/high-pressure alarms with hysteresis, leak and pump stimuli, tamper, low battery, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3015-3021",
            "004_5e9061d643d5fb41.txt L3072-3081",
        ],
        deviceName: "fire-water pressure gauge",
        quantity: "pressure",
        unit: "MPa",
        pointSummary: "Pipe-network water pressure (measured; the ledger keeps the truth)",
        percentOfNominal: nil,
        lowSummary: "Pressure below low_pressure_threshold: 「水压不足」 (004 L3081)",
        highSummary: "Pressure above high_pressure_threshold (when set)",
        // A fire main has no natural ceiling: the surge alarm is optional.
        highCanBeOff: true,
        tamper: (event: "Gauge casing opened or gauge removed from the pipe", stimulus: "Someone opens the casing or unscrews the gauge"),
        stimuli: [
            .init(
                descriptor: StimulusDescriptor(
                    name: "leak",
                    arguments: [ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Pressure fall in MPa/min (default 0.05)")],
                    summary: "A leak or a closed supply valve: the true pressure falls at `rate` until 0"),
                action: .fall(defaultRate: 0.05, range: 0.0001...100, unit: "MPa/min", secondsPerUnit: 60)),
            .init(
                descriptor: StimulusDescriptor(
                    name: "pump-start",
                    arguments: [ArgumentDescriptor(name: "pressure", type: .double, required: false, summary: "Pump outlet pressure in MPa (default 0.8)")],
                    summary: "The fire pump starts: the pipe is held at its outlet pressure, overriding a leak"),
                action: .hold(default: 0.8)),
            .init(
                descriptor: StimulusDescriptor(
                    name: "pressure-set",
                    arguments: [ArgumentDescriptor(name: "pressure", type: .double, summary: "True pressure in MPa")],
                    summary: "Hold the true pressure at a value (may exceed the gauge's range)"),
                action: .hold(default: nil)),
            .init(
                descriptor: StimulusDescriptor(name: "restore", summary: "Leak repaired, pump stopped: back to the ambient network pressure"),
                action: .restore),
        ],
        intervals: (heartbeat: "1h", report: "15m", sample: "1m"),
        rangeMax: .init(defaultValue: "2.5", minimum: 0.1, maximum: 100, summary: "Full scale; readings clip here while the truth goes on (0–2.5 MPa, 004 L3078)"),
        nominal: .init(defaultValue: "0.4", minimum: 0, maximum: 100, summary: "Normal static pressure of the fire main"),
        fluctuation: .init(defaultValue: "0.02", minimum: 0, maximum: 1),
        low: .init(defaultValue: "0.15", minimum: 0, maximum: 100),
        high: .init(defaultValue: "0", minimum: 0, maximum: 100),
        hysteresis: .init(defaultValue: "0.02", minimum: 0, maximum: 1))
}
