import ParkCore

/// The smart outdoor hydrant (智能消火栓) of the hydrant monitoring system (消防栓监测系统).
///
/// Behaviour from seed 004: it watches the hydrant against 「消防用水被破坏、消防用水被盗用、消防
/// 管道压力不足」 (L3030–3036); its battery lasts at least five years (L3099); it alarms at once
/// when the hydrant is struck (L3101), when the cap is opened (anti-theft, L3103), when water
/// flows out (anti water theft, L3105), and when the pipe pressure is abnormal (L3107). Tilt,
/// the flow sensor's cut-in threshold and the pressure drop of an open outlet are what such
/// hydrants do in practice.
public struct HydrantKind: DeviceKind {
    public static let name = "hydrant"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try Hydrant(setup: setup)
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Smart outdoor hydrant monitor (NB-IoT/LoRa): impact/tilt, cap open, water flowing (theft), low pressure with hysteresis, low battery, heartbeat",
        sources: [
            "004_5e9061d643d5fb41.txt L3030-3036",
            "004_5e9061d643d5fb41.txt L3095-3107",
        ],
        points: [
            PointDescriptor(name: "pressure", type: .double, unit: "MPa", summary: "Water pressure at the hydrant (measured; the ledger keeps the truth)"),
            PointDescriptor(name: "flow", type: .double, unit: "L/s", summary: "Outflow; the sensor reads 0 below flow_threshold"),
            PointDescriptor(name: "volume", type: .double, unit: "L", summary: "Water drawn since the flow started as the sensor metered it (a trickle below flow_threshold is not); in water-stopped, the whole episode"),
            PointDescriptor(name: "cap_open", type: .bool, summary: "Whether an outlet cap is off"),
            PointDescriptor(name: "tilt", type: .double, unit: "°", summary: "Lean from vertical"),
            PointDescriptor(name: "shock", type: .double, unit: "g", summary: "Peak acceleration of an impact"),
            CommonDescriptors.batteryPoint,
            PointDescriptor(name: "state", type: .string, summary: "impact, water-flowing, cap-open, low-pressure or normal, the first that applies"),
        ],
        events: [
            EventDescriptor(name: "impact", severity: .alarm, summary: "Struck (shock ≥ impact_threshold) or knocked over (tilt ≥ tilt_threshold) (004 L3101)"),
            EventDescriptor(name: "impact-clear", severity: .info, summary: "A knocked-over hydrant stands upright again"),
            EventDescriptor(name: "cap-open", severity: .alarm, summary: "An outlet cap was opened (anti-theft, 004 L3103)"),
            EventDescriptor(name: "cap-closed", severity: .info, summary: "The cap is back on"),
            EventDescriptor(name: "water-flowing", severity: .alarm, summary: "Water flows out: use or theft (004 L3105)"),
            EventDescriptor(name: "water-stopped", severity: .info, summary: "The flow stopped; carries the volume drawn and how long it ran"),
            EventDescriptor(name: "low-pressure", severity: .alarm, summary: "Pipe pressure below low_pressure_threshold (004 L3107)"),
            EventDescriptor(name: "pressure-ok", severity: .info, summary: "Pressure back above the threshold by at least pressure_hysteresis"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery and state"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test"),
        ] + FireWater.batteryEvents,
        commands: FireWater.commonCommands + [
            CommandDescriptor(
                name: "set-thresholds",
                arguments: [ArgumentDescriptor(name: "low", type: .double, summary: "New low-pressure threshold in MPa")],
                summary: "Change the low-pressure threshold; it takes effect at the next sample"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "impact",
                arguments: [
                    ArgumentDescriptor(name: "shock", type: .double, required: false, summary: "Peak acceleration in g (default 5)"),
                    ArgumentDescriptor(name: "tilt", type: .double, required: false, summary: "Lean after the impact in degrees (default 0; the hydrant never straightens by itself)"),
                ],
                summary: "A vehicle or a vandal strikes the hydrant"),
            StimulusDescriptor(name: "upright", summary: "The hydrant is stood upright (repaired)"),
            StimulusDescriptor(name: "cap-open", summary: "Someone takes an outlet cap off"),
            StimulusDescriptor(name: "cap-close", summary: "The cap is put back"),
            StimulusDescriptor(
                name: "flow-start",
                arguments: [ArgumentDescriptor(name: "rate", type: .double, required: false, summary: "Outflow in L/s (default 10); a second flow-start changes the rate")],
                summary: "Someone opens the valve and draws water"),
            StimulusDescriptor(name: "flow-stop", summary: "The valve is closed"),
            StimulusDescriptor(
                name: "pressure-set",
                arguments: [ArgumentDescriptor(name: "pressure", type: .double, summary: "True static pressure in MPa")],
                summary: "Hold the main's static pressure at a value (an open outlet still draws it down)"),
            StimulusDescriptor(name: "restore", summary: "Back to the ambient main pressure"),
            FireWater.batterySetStimulus,
        ],
        parameters: FireWater.commonParameters(heartbeat: "1h", report: "15m", sample: "1m") + [
            ParameterDescriptor(name: "range_max", type: .double, defaultValue: "1.6", minimum: 0.1, maximum: 100, unit: "MPa", summary: "Pressure sensor full scale; readings clip here"),
            ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "1", minimum: 0, maximum: 10, unit: "% FS", summary: "Pressure accuracy class: the reading is within ± this share of full scale of the truth"),
            ParameterDescriptor(name: "nominal_pressure", type: .double, defaultValue: "0.35", minimum: 0, maximum: 100, unit: "MPa", summary: "Normal static pressure of the main"),
            ParameterDescriptor(name: "pressure_fluctuation", type: .double, defaultValue: "0.01", minimum: 0, maximum: 1, unit: "MPa", summary: "The true pressure wanders within nominal ± this at rest"),
            ParameterDescriptor(name: "low_pressure_threshold", type: .double, defaultValue: "0.14", minimum: 0, maximum: 100, unit: "MPa", summary: "A reading below this raises low-pressure"),
            ParameterDescriptor(name: "pressure_hysteresis", type: .double, defaultValue: "0.03", minimum: 0, maximum: 1, unit: "MPa", summary: "low-pressure clears only this far above the threshold; keep it above the accuracy so noise does not flap"),
            ParameterDescriptor(name: "flow_pressure_drop", type: .double, defaultValue: "0.01", minimum: 0, maximum: 1, unit: "MPa per L/s", summary: "How far an open outlet draws the pressure down per L/s of outflow"),
            ParameterDescriptor(name: "flow_threshold", type: .double, defaultValue: "0.5", minimum: 0.01, maximum: 100, unit: "L/s", summary: "Smallest outflow the flow sensor sees; a trickle below it reads 0"),
            ParameterDescriptor(name: "impact_threshold", type: .double, defaultValue: "2", minimum: 0.1, maximum: 100, unit: "g", summary: "Shock that raises impact"),
            ParameterDescriptor(name: "tilt_threshold", type: .double, defaultValue: "15", minimum: 1, maximum: 90, unit: "°", summary: "Lean that raises impact and counts as knocked over"),
        ])
}
