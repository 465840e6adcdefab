import ParkCore

/// Descriptor pieces several built-in kinds declare in the same words: the battery, the
/// heartbeat, start spread, self-test, fault and battery-set.
///
/// `devices show` and the platform's event table read these texts, so kinds that mean the same
/// thing should say it the same way; one definition keeps them from drifting. A kind whose
/// words differ (the smoke detector's battery-ok means "replaced") still writes its own.
enum CommonDescriptors {
    static let batteryPoint = PointDescriptor(name: "battery", type: .double, unit: "%", summary: "Remaining battery charge")

    static let selfTestCommand = CommandDescriptor(name: "self-test", summary: "Run a self-test and report the result")

    /// `heartbeat_interval`, for kinds whose heartbeat may be as short as a millisecond.
    static func heartbeatInterval(default value: String) -> ParameterDescriptor {
        ParameterDescriptor(name: "heartbeat_interval", type: .duration, defaultValue: value, minimum: 0.001, summary: "Time between heartbeats")
    }

    /// What `start_spread` staggers: only the first heartbeat, or each periodic timer.
    enum Spread { case firstHeartbeat, eachTimer }

    /// `start_spread`, default one day.
    static func startSpread(_ spread: Spread) -> ParameterDescriptor {
        let what = switch spread {
        case .firstHeartbeat: "The first heartbeat comes at a random phase within this span or the heartbeat interval"
        case .eachTimer: "Each periodic timer starts at a random phase within this span or its own period"
        }
        return ParameterDescriptor(
            name: "start_spread", type: .duration, defaultValue: "1d",
            summary: what + ", whichever is shorter, so a park does not report in lock step; 0s starts every device at once")
    }

    /// The three parameters ``Battery`` reads: `battery_life` (its default and summary are the
    /// kind's), `initial_battery` and `low_battery_threshold`.
    static func batteryParameters(life: String, lifeSummary: String = "Time for a full battery to drain") -> [ParameterDescriptor] {
        [
            ParameterDescriptor(name: "battery_life", type: .duration, defaultValue: life, minimum: 1, summary: lifeSummary),
            ParameterDescriptor(name: "initial_battery", type: .double, defaultValue: "100", minimum: 0, maximum: 100, unit: "%", summary: "Battery level at start"),
            ParameterDescriptor(name: "low_battery_threshold", type: .double, defaultValue: "15", minimum: 0, maximum: 100, unit: "%", summary: "Battery level that raises low-battery"),
        ]
    }

    /// The events ``Battery`` reports.
    static func batteryEvents(
        low: String = "Battery below the low-battery threshold", ok: String = "Battery back above the low-battery threshold"
    ) -> [EventDescriptor] {
        [
            EventDescriptor(name: "low-battery", severity: .warning, summary: low),
            EventDescriptor(name: "battery-ok", severity: .info, summary: ok),
        ]
    }

    /// `battery-set`: force the battery level.
    static func batterySetStimulus(summary: String = "Force the battery level (fault injection)") -> StimulusDescriptor {
        StimulusDescriptor(
            name: "battery-set",
            arguments: [ArgumentDescriptor(name: "level", type: .double, summary: "Battery level in %")],
            summary: summary)
    }

    /// `fault` with an optional `code` argument that defaults to `defaultCode`.
    static func faultStimulus(defaultCode: String, summary: String) -> StimulusDescriptor {
        StimulusDescriptor(
            name: "fault",
            arguments: [ArgumentDescriptor(name: "code", type: .string, required: false, summary: "Fault code (default \(defaultCode))")],
            summary: summary)
    }
}
