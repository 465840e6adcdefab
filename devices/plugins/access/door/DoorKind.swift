import ParkPluginKit

/// The `door` kind as ParkBench sees it: points, events, commands, stimuli and the parameters
/// a model profile may set.
///
/// An access-controlled door as in seed 004's access-control system (门禁管理系统, L2337-2419):
/// an electric lock (电锁) the platform or the exit button (开门按钮, L2339) releases for a
/// while, and a door contact that tells when the door is open. The platform unlocks it when an
/// access terminal at the door grants entry; the harness opens and closes the door, forces it,
/// holds it open and presses the exit button, so forced-open and held-open alarms can be
/// checked against ground truth.
enum DoorKind {
    static let description = PluginKindDescription(
        name: "door",
        summary: "Access-controlled door: electric lock and door contact; unlocks on command or exit button, relocks after unlock_time, alarms when forced or held open",
        sources: ["004_5e9061d643d5fb41.txt L2337-2419"],
        points: [
            PluginPointDescription(name: "locked", type: .bool, summary: "Whether the lock is engaged"),
            PluginPointDescription(name: "open", type: .bool, summary: "Whether the door contact reports the door open"),
        ],
        events: [
            PluginEventDescription(name: "unlocked", severity: .info, summary: "The lock released; readings locked, by (command or exit-button)"),
            PluginEventDescription(name: "locked", severity: .info, summary: "The lock engaged again; reading locked"),
            PluginEventDescription(name: "opened", severity: .info, summary: "The door contact opened; readings open, locked"),
            PluginEventDescription(name: "closed", severity: .info, summary: "The door contact closed; readings open, locked"),
            PluginEventDescription(name: "forced-open", severity: .critical, summary: "The door opened while locked (precedes its opened); readings open, locked"),
            PluginEventDescription(name: "held-open", severity: .alarm, summary: "The door has been open longer than held_open_time; readings open, locked"),
            PluginHeartbeat.event(readings: "locked, open"),
        ],
        commands: [
            PluginCommandDescription(
                name: "unlock",
                arguments: [
                    PluginArgumentDescription(name: "duration", type: .duration, required: false, summary: "How long to stay unlocked (default unlock_time, must be longer than 0s): text such as 5s, or a number of seconds"),
                ],
                summary: "Release the lock now (unlocked); it relocks after the duration, or when the door closes if it is open then. Answers locked, open"),
            PluginCommandDescription(name: "lock", summary: "Engage the lock now (locked), or when the door closes if it is open. Answers locked, open"),
        ],
        stimuli: [
            PluginStimulusDescription(name: "open", summary: "Someone opens the door: forced-open first if it is locked, then opened; the held-open timer starts"),
            PluginStimulusDescription(name: "close", summary: "The door closes: closed; the held-open timer stops, and a relock that was due happens now"),
            PluginStimulusDescription(name: "exit-button", summary: "Someone presses the exit button inside: unlocked (by exit-button) for unlock_time"),
        ],
        parameters: [
            PluginParameterDescription(name: "unlock_time", type: .duration, defaultValue: "5s", minimum: 0.001, maximum: 3_600, summary: "How long an unlock lasts unless the command gives a duration"),
            PluginParameterDescription(name: "held_open_time", type: .duration, defaultValue: "30s", minimum: 0.001, summary: "The door may stay open this long before held-open"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer, the bits above carry a generation where a
    /// newer unlock, lock or opening supersedes the pending one.
    enum Timer: UInt32 {
        case heartbeat = 1
        /// The unlock runs out and the door relocks.
        case relock = 2
        /// The door has been open for held_open_time.
        case heldOpen = 3
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: DoorKind.description, device: Door.self, host: host, into: plugin)
}
