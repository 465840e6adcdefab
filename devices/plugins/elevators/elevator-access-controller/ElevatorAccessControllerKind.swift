import ParkPluginKit

/// The `elevator-access-controller` kind as ParkBench sees it: points, events, commands,
/// stimuli and the parameters a model profile may set.
///
/// The elevator access controller (梯控) of seed 004's access-control hardware (L2388-2400): a
/// main board in the machine room and a car-top board that decide which floor buttons a card
/// may press. The platform authorises floors, as access control and the indoor units do when
/// they call the elevator for a resident (L2386, L2457-2458). When the controller fails, its
/// link or board for instance, it falls back to free mode after about 10 s (L2396), and a fire
/// alarm signal switches it to free mode at once so the elevator stays usable (L2400).
enum ElevatorAccessControllerKind {
    static let description = PluginKindDescription(
        name: "elevator-access-controller",
        summary: "Elevator access controller: authorises floors for card holders, falls back to free mode on a fire signal at once and on a communication fault after fallback_time",
        sources: [
            "004_5e9061d643d5fb41.txt L2396-2400",
            "004_5e9061d643d5fb41.txt L2386",
            "004_5e9061d643d5fb41.txt L2457-2458",
        ],
        points: [
            PluginPointDescription(name: "mode", type: .string, summary: "controlled (floors need authorising) or free (every floor free)"),
            PluginPointDescription(name: "floor", type: .int, summary: "The floor last authorised"),
        ],
        events: [
            PluginEventDescription(name: "floor-authorized", severity: .info, summary: "A floor was authorised; readings floor, mode"),
            PluginEventDescription(name: "free-mode", severity: .warning, summary: "The controller switched to free mode; readings mode, reason (fire, fault or command)"),
            PluginEventDescription(name: "controlled", severity: .info, summary: "Back under control: floors need authorising again; reading mode"),
            PluginHeartbeat.event(readings: "mode"),
        ],
        commands: [
            PluginCommandDescription(
                name: "authorize",
                arguments: [PluginArgumentDescription(name: "floor", type: .int, summary: "The floor to authorise, 1 to 200")],
                summary: "Authorise a floor (floor-authorized follows, in free mode too)"),
            PluginCommandDescription(name: "free-mode", summary: "Switch to free mode now (reason command); accepted without an event when already free"),
            PluginCommandDescription(name: "restore", summary: "Back to controlled (controlled follows); rejected while the communication fault lasts"),
        ],
        stimuli: [
            PluginStimulusDescription(name: "fire-signal", summary: "The fire alarm's dry contact closes: free mode at once, reason fire (004 L2400)"),
            PluginStimulusDescription(name: "comm-fault", summary: "The controller loses its server or board: free mode fallback_time later, reason fault (004 L2396), unless comm-restore comes first"),
            PluginStimulusDescription(name: "comm-restore", summary: "The link is back: a pending fallback is cancelled; a controller that fell back because of the fault returns to controlled"),
        ],
        parameters: [
            PluginParameterDescription(name: "fallback_time", type: .duration, defaultValue: "10s", minimum: 0, maximum: 3_600, summary: "Time from a communication fault to free mode (004 L2396: about 10 s)"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer; for the fallback the bits above carry the
    /// communication fault's generation, so a comm-restore makes the pending fallback stale.
    enum Timer: UInt32 {
        case heartbeat = 1
        case fallback = 2
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(
        kind: ElevatorAccessControllerKind.description, device: ElevatorAccessController.self, host: host, into: plugin)
}
