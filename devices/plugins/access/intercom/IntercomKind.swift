import ParkPluginKit

/// The `intercom` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// A video intercom indoor unit (可视对讲室内机) as in seed 004's video-intercom software
/// (可视对讲系统软件, L2425-2466): a visitor at the lobby door station calls a flat, the resident
/// answers and opens the door; the unit's lift button calls the lift to the flat's floor
/// (室内机招梯, L2461-2463); and a neighbour calling between floors, once answered, opens that
/// floor in the lift for the caller (层间互访, L2464-2466, linkage LK9). The harness rings the
/// unit and plays the resident (answering, opening the door, hanging up, pressing the lift
/// button), so a platform's lift linkage can be checked against ground truth. The management
/// centre's text messages to a single household (L2437-2441) arrive as the `message` command.
enum IntercomKind {
    static let description = PluginKindDescription(
        name: "intercom",
        summary: "Video intercom indoor unit: rings when the door station or a neighbour calls, the resident answers (or not) and opens the door; its lift button calls the lift to the flat's floor",
        sources: [
            "004_5e9061d643d5fb41.txt L2425-2466",
            "004_5e9061d643d5fb41.txt L2461-2466",
        ],
        points: [
            PluginPointDescription(name: "floor", type: .int, summary: "The flat's floor (the park file's floor, else the floor parameter)"),
            PluginPointDescription(name: "flat", type: .string, summary: "The flat the unit is in (the flat parameter, else the device id)"),
            PluginPointDescription(name: "state", type: .string, summary: "idle, ringing or talking"),
            PluginPointDescription(name: "caller", type: .string, summary: "Who called: a door station (e.g. door-station) or another flat (e.g. flat-0201)"),
        ],
        events: [
            PluginEventDescription(name: "ringing", severity: .info, summary: "A call came in and the unit rings; readings caller, floor, flat"),
            PluginEventDescription(name: "answered", severity: .info, summary: "The resident answered; readings floor, flat, caller"),
            PluginEventDescription(name: "missed-call", severity: .info, summary: "Nobody answered within ring_timeout; reading caller"),
            PluginEventDescription(name: "hung-up", severity: .info, summary: "The call ended (hang-up while ringing or talking, or after opening the door); reading caller"),
            PluginEventDescription(name: "door-open-request", severity: .info, summary: "The resident pressed unlock while talking (precedes its hung-up); readings floor, flat, caller"),
            PluginEventDescription(name: "elevator-call", severity: .info, summary: "The resident pressed the lift button (004 L2461); readings floor, flat"),
            PluginHeartbeat.event(readings: "state"),
        ],
        commands: [
            PluginCommandDescription(
                name: "message",
                arguments: [
                    PluginArgumentDescription(name: "text", type: .string, summary: "The notice shown on the unit's screen"),
                ],
                summary: "The management centre sends the flat a text message (004 L2437-2441): shown on the screen, accepted, nothing emitted"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "ring",
                arguments: [
                    PluginArgumentDescription(name: "caller", type: .string, required: false, summary: "Who calls, 1-64 characters (default door-station), e.g. flat-0201 for a neighbour"),
                ],
                summary: "A call comes in: ringing; answered after answer_time ± answer_jitter with probability answer_rate, else missed-call after ring_timeout. Refused while the unit is busy (ringing or talking)"),
            PluginStimulusDescription(name: "answer", summary: "The resident answers now: answered. Refused unless the unit is ringing"),
            PluginStimulusDescription(name: "open-door", summary: "The resident presses unlock while talking: door-open-request, then hung-up. Refused unless talking"),
            PluginStimulusDescription(name: "hang-up", summary: "The resident hangs up or rejects the call: hung-up, idle; nothing when already idle"),
            PluginStimulusDescription(name: "call-elevator", summary: "The resident presses the lift button (in any state): elevator-call"),
        ],
        parameters: [
            PluginParameterDescription(name: "floor", type: .int, defaultValue: "1", summary: "The flat's floor when the park file gives none"),
            PluginParameterDescription(name: "flat", type: .string, defaultValue: "", summary: "The flat's name, e.g. 0302 (empty: the device id)"),
            PluginParameterDescription(name: "answer_time", type: .duration, defaultValue: "4s", minimum: 0.001, maximum: 3_600, summary: "Mean time the resident takes to answer a ringing unit"),
            PluginParameterDescription(name: "answer_jitter", type: .duration, defaultValue: "2s", minimum: 0, maximum: 3_600, summary: "Each answer takes answer_time plus or minus up to this much (uniform), never under 1 ms"),
            PluginParameterDescription(name: "answer_rate", type: .double, defaultValue: "1.0", minimum: 0, maximum: 1, summary: "Chance that the resident answers a call by themselves"),
            PluginParameterDescription(name: "ring_timeout", type: .duration, defaultValue: "30s", minimum: 0.001, maximum: 3_600, summary: "A call nobody answers rings this long before missed-call"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer; for answers and ring timeouts the bits above
    /// carry the call's generation, so a timer from an earlier call (or one the resident has
    /// already answered or hung up) is ignored.
    enum Timer: UInt32 {
        case heartbeat = 1
        /// The resident answers the ringing unit.
        case answer = 2
        /// Nobody answered within ring_timeout.
        case ringTimeout = 3
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: IntercomKind.description, device: Intercom.self, host: host, into: plugin)
}
