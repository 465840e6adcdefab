import ParkCore

/// A battery analog gauge on the fire-water system: one Swift kind for every such gauge, the
/// fire-main pressure gauge (``fireWaterPressure``) and the fire-pool level gauge
/// (``fireWaterLevel``) among them.
///
/// The two used to be two kinds and two device classes that differed only in the quantity
/// they measure and its words; that difference is now a ``Gauge`` value, so a third analog
/// gauge is a description, not code. The kind names, points, events, parameters and their
/// defaults are those the separate kinds had, so model profiles and parks are unchanged.
public struct AnalogGaugeKind: DeviceKind {
    /// The smart pressure gauge of the fire-water pressure monitoring system.
    public static let fireWaterPressure = AnalogGaugeKind(.fireWaterPressure)
    /// The smart level gauge of the fire-water level monitoring system.
    public static let fireWaterLevel = AnalogGaugeKind(.fireWaterLevel)

    let gauge: Gauge
    public let descriptor: KindDescriptor

    init(_ gauge: Gauge) {
        self.gauge = gauge
        descriptor = gauge.kindDescriptor
    }

    /// The kind's name as profiles write it (`fire-water-pressure`).
    public var name: String { gauge.name }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try AnalogGauge(gauge, setup: setup)
    }

    /// Everything that tells one analog gauge kind from another. The measured quantity's
    /// name is the stem of the kind's other names: point `level`, events `low-level`,
    /// `high-level`, `level-ok`, parameters `nominal_level`, `level_fluctuation`,
    /// `low_level_threshold`, `high_level_threshold`, `level_hysteresis`.
    struct Gauge: Sendable {
        var name: String
        var summary: String
        var sources: [String]
        /// How errors name the device: `fire-water level gauge`.
        var deviceName: String
        /// The measured point (`pressure`, `level`) and the stem of the other names.
        var quantity: String
        /// The quantity's unit (`MPa`, `m`), also of its thresholds and stimuli.
        var unit: String
        var pointSummary: String
        /// When set, telemetry also carries `percent`, the reading as a share of nominal, with
        /// this summary.
        var percentOfNominal: String?
        /// Summaries of the low and high alarm events.
        var lowSummary: String
        var highSummary: String
        /// Whether a high threshold of 0 switches the high alarm off (a fire main has no
        /// natural ceiling, a tank has its overflow).
        var highCanBeOff: Bool
        /// When set, the gauge has a tamper switch: the `tamper` event's summary and the
        /// `tamper` stimulus's.
        var tamper: (event: String, stimulus: String)?
        /// The stimuli that move the true quantity, in the order `devices show` lists them;
        /// tamper and battery-set follow.
        var stimuli: [GaugeStimulus]
        /// Default heartbeat, report and sample intervals.
        var intervals: (heartbeat: String, report: String, sample: String)
        var rangeMax: GaugeParameter
        var nominal: GaugeParameter
        var fluctuation: GaugeParameter
        var low: GaugeParameter
        var high: GaugeParameter
        var hysteresis: GaugeParameter

        var parameterNames: (nominal: String, fluctuation: String, low: String, high: String, hysteresis: String) {
            ("nominal_\(quantity)", "\(quantity)_fluctuation", "low_\(quantity)_threshold",
             "high_\(quantity)_threshold", "\(quantity)_hysteresis")
        }

        var eventNames: (low: String, high: String, ok: String) {
            ("low-\(quantity)", "high-\(quantity)", "\(quantity)-ok")
        }
    }

    /// A stimulus that moves the true quantity, and how.
    struct GaugeStimulus: Sendable {
        enum Action: Sendable {
            /// Falls toward 0 at argument `rate` (default `defaultRate`, in `unit`, which is
            /// per `secondsPerUnit` seconds): a leak, a drain.
            case fall(defaultRate: Double, range: ClosedRange<Double>, unit: String, secondsPerUnit: Double)
            /// Rises at `rate` toward the argument named after the quantity (default nominal)
            /// and stays there; already above it, stays where it is: a make-up valve.
            case fill(defaultRate: Double, range: ClosedRange<Double>, unit: String, secondsPerUnit: Double)
            /// Held at the argument named after the quantity; required when `default` is nil.
            case hold(default: Double?)
            /// Back to the ambient wander around nominal.
            case restore
        }

        var descriptor: StimulusDescriptor
        var action: Action
    }

    /// A parameter's default and bounds; its name and unit follow from the gauge, and so does
    /// its summary where none is given.
    struct GaugeParameter: Sendable {
        var defaultValue: String
        var minimum: Double?
        var maximum: Double?
        var summary: String?
    }
}

extension AnalogGaugeKind.Gauge {
    /// The descriptor `devices show` prints, built from the description in the order the
    /// separate kinds listed it.
    var kindDescriptor: KindDescriptor {
        let names = parameterNames
        let events = eventNames
        let capitalised = quantity.prefix(1).uppercased() + quantity.dropFirst()
        let off = highCanBeOff
        func parameter(_ name: String, _ spec: AnalogGaugeKind.GaugeParameter, unit: String? = nil, summary: String? = nil) -> ParameterDescriptor {
            ParameterDescriptor(
                name: name, type: .double, defaultValue: spec.defaultValue, minimum: spec.minimum, maximum: spec.maximum,
                unit: unit ?? self.unit, summary: spec.summary ?? summary ?? "")
        }
        var tamperEvents: [EventDescriptor] = []
        var tamperStimuli: [StimulusDescriptor] = []
        if let tamper {
            tamperEvents = [
                EventDescriptor(name: "tamper", severity: .alarm, summary: tamper.event),
                EventDescriptor(name: "tamper-clear", severity: .info, summary: "Casing closed again"),
            ]
            tamperStimuli = [
                StimulusDescriptor(name: "tamper", summary: tamper.stimulus),
                StimulusDescriptor(name: "tamper-restore", summary: "The casing is closed again"),
            ]
        }
        return KindDescriptor(
            name: name,
            summary: summary,
            sources: sources,
            points: [PointDescriptor(name: quantity, type: .double, unit: unit, summary: pointSummary)]
                + (percentOfNominal.map { [PointDescriptor(name: "percent", type: .double, unit: "%", summary: $0)] } ?? [])
                + [
                    CommonDescriptors.batteryPoint,
                    PointDescriptor(
                        name: "state", type: .string,
                        summary: tamper == nil
                            ? "\(events.low), \(events.high) or normal"
                            : "\(events.low), \(events.high), tamper or normal, the first that applies"),
                ],
            events: [
                EventDescriptor(name: events.low, severity: .alarm, summary: lowSummary),
                EventDescriptor(name: events.high, severity: .alarm, summary: highSummary),
                EventDescriptor(
                    name: events.ok, severity: .info,
                    summary: "\(capitalised) back inside the band by at least \(names.hysteresis); `cleared` names the alarm"),
            ] + tamperEvents + [
                EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with battery and state"),
                EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test"),
            ] + FireWater.batteryEvents,
            commands: FireWater.commonCommands + [
                CommandDescriptor(
                    name: "set-thresholds",
                    arguments: [
                        ArgumentDescriptor(name: "low", type: .double, required: false, summary: "New \(events.low) threshold in \(unit)"),
                        ArgumentDescriptor(
                            name: "high", type: .double, required: false,
                            summary: "New \(events.high) threshold in \(unit)" + (off ? "; 0 switches it off" : "")),
                    ],
                    summary: "Change the alarm thresholds; they take effect at the next sample"),
            ],
            stimuli: stimuli.map(\.descriptor) + tamperStimuli + [FireWater.batterySetStimulus],
            parameters: FireWater.commonParameters(heartbeat: intervals.heartbeat, report: intervals.report, sample: intervals.sample) + [
                parameter("range_max", rangeMax),
                ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "0.5", minimum: 0, maximum: 10, unit: "% FS", summary: "Accuracy class: the reading is within ± this share of full scale of the truth"),
                parameter(names.nominal, nominal),
                parameter(names.fluctuation, fluctuation, summary: "The true \(quantity) wanders within nominal ± this at rest"),
                parameter(names.low, low, summary: "A reading below this raises \(events.low)"),
                parameter(
                    names.high, high,
                    summary: "A reading above this raises \(events.high)" + (off ? "; 0 switches the alarm off" : "")),
                parameter(
                    names.hysteresis, hysteresis,
                    summary: "An alarm clears only this far back inside the band; keep it above the accuracy so noise does not flap"),
            ])
    }
}
