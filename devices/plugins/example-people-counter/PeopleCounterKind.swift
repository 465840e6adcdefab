import ParkPluginKit

/// The `people-counter` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// A door or gate people counter as in seed 004's passenger-flow analysis system: cameras over
/// the main entrances count people in and out (L3691-3697), the counted area raises an alarm
/// when the number of people passes a set value, and counting is at least 99% accurate
/// (L3730-3734).
enum PeopleCounterKind {
    static let description = PluginKindDescription(
        name: "people-counter",
        summary: "Door/gate people counter: counts in and out, reports occupancy, alarms over capacity",
        sources: [
            "004_5e9061d643d5fb41.txt L3691-3697",
            "004_5e9061d643d5fb41.txt L3730-3734",
        ],
        points: [
            PluginPointDescription(name: "count_in", type: .int, unit: "people", summary: "People counted entering since the last reset"),
            PluginPointDescription(name: "count_out", type: .int, unit: "people", summary: "People counted leaving since the last reset"),
            PluginPointDescription(name: "occupancy", type: .int, unit: "people", summary: "People the counter believes are inside (never below zero)"),
        ],
        events: [
            PluginEventDescription(name: "over-capacity", severity: .warning, summary: "Occupancy rose above the capacity parameter"),
            PluginEventDescription(name: "capacity-ok", severity: .info, summary: "Occupancy is back at or below capacity"),
        ],
        commands: [
            PluginCommandDescription(name: "reset", summary: "Zero the in/out counts and occupancy; answers with the counts before the reset"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "crowd",
                arguments: [PluginArgumentDescription(name: "people", type: .int, summary: "How many people walk in at once (1-100000)")],
                summary: "A group walks in through the door at once"),
        ],
        parameters: [
            PluginParameterDescription(name: "arrivals_per_hour", type: .double, defaultValue: "120", minimum: 0, maximum: 1_000_000, unit: "people/h", summary: "Mean arrival rate; arrivals are a Poisson process"),
            PluginParameterDescription(name: "mean_stay", type: .duration, defaultValue: "20m", minimum: 1, summary: "Mean time a person stays inside (exponentially distributed)"),
            PluginParameterDescription(name: "capacity", type: .int, defaultValue: "50", minimum: 0, unit: "people", summary: "Occupancy above this raises over-capacity"),
            PluginParameterDescription(name: "report_interval", type: .duration, defaultValue: "1m", minimum: 0.001, summary: "Time between telemetry reports"),
            PluginParameterDescription(name: "miss_rate", type: .double, defaultValue: "0.005", minimum: 0, maximum: 1, summary: "Chance that one crossing is not counted (004 L3734 asks for at least 99% accuracy)"),
        ])

    /// Timer tags: the low byte names the timer, the bits above carry a generation.
    enum Timer: UInt32 {
        case report = 1
        case movement = 2
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: PeopleCounterKind.description, device: PeopleCounter.self, host: host, into: plugin)
}
