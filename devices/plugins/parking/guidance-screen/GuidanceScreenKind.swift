import ParkPluginKit

/// The `guidance-screen` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// An LED guidance screen of seed 004's parking guidance and reverse car-finding system
/// (L2179-2199): at an aisle junction it shows the free spaces in one to three directions
/// (L2191), at the entrance the free spaces of the whole car park (L2197). The platform counts
/// the spaces from the space detectors and sends each panel its number with `show`; the harness
/// breaks the LED module with `fault`.
enum GuidanceScreenKind {
    static let description = PluginKindDescription(
        name: "guidance-screen",
        summary: "LED parking guidance screen: shows the free spaces the platform sends, per direction, refresh_time after each command; rejects commands while the LED module is faulty",
        sources: [
            "004_5e9061d643d5fb41.txt L2191",
            "004_5e9061d643d5fb41.txt L2197",
        ],
        points: [
            PluginPointDescription(name: "free", type: .int, unit: "spaces", summary: "The number shown; -1 when the panel is blank"),
            PluginPointDescription(name: "direction", type: .string, summary: "The panel: ahead, left or right (the model's first directions of ahead, left, right)"),
        ],
        events: [
            PluginEventDescription(name: "shown", severity: .info, summary: "A panel now shows the number (free -1: blank); readings free, direction"),
            PluginHeartbeat.event(),
        ],
        commands: [
            PluginCommandDescription(
                name: "show",
                arguments: [
                    PluginArgumentDescription(name: "free", type: .int, summary: "The number to show, 0 to 99999"),
                    PluginArgumentDescription(name: "direction", type: .string, required: false, summary: "The panel: ahead (default), left or right, one of the model's directions"),
                ],
                summary: "Show a number on a panel: accepted at once (answered with free, direction), shown follows refresh_time later; a newer show or blank for the same panel before then replaces it. Rejected in fault"),
            PluginCommandDescription(
                name: "blank",
                arguments: [
                    PluginArgumentDescription(name: "direction", type: .string, required: false, summary: "The panel: ahead (default), left or right, one of the model's directions"),
                ],
                summary: "Show nothing on a panel: accepted at once, shown with free -1 follows refresh_time later. Rejected in fault"),
        ],
        stimuli: [
            PluginStimulusDescription(name: "fault", summary: "The LED module fails: nothing pending is shown and commands are rejected with \"screen fault\""),
            PluginStimulusDescription(name: "repair", summary: "The LED module is repaired: commands are accepted again"),
        ],
        parameters: [
            PluginParameterDescription(name: "directions", type: .int, defaultValue: "3", minimum: 1, maximum: 3, unit: "directions", summary: "Panels on the screen: the first directions of ahead, left, right (004 L2191: 1-3)"),
            PluginParameterDescription(name: "refresh_time", type: .duration, defaultValue: "200ms", minimum: 0.001, maximum: 60, summary: "Time from a show or blank command to the panel showing it"),
            PluginHeartbeat.parameter(),
        ])

    /// The directions a screen may have, in the order a model's `directions` takes them.
    static let allDirections = ["ahead", "left", "right"]

    /// Timer tags: the low byte names the timer; for refreshes the next byte carries the
    /// panel's index and the upper 16 bits the panel's generation, so a newer command for the
    /// same panel (or a fault) makes a pending refresh stale.
    enum Timer: UInt32 {
        case heartbeat = 1
        case refresh = 2
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: GuidanceScreenKind.description, device: GuidanceScreen.self, host: host, into: plugin)
}
