import ParkPluginKit

/// The `access-terminal` kind as ParkBench sees it: points, events, stimuli and the
/// parameters a model profile may set.
///
/// A pedestrian access-control terminal (门禁读卡器 / 人脸识别终端) as in seed 004's access
/// control and video-intercom hardware (L2337-2419): it opens doors by face, card, QR code or
/// password (L2355, L2368), and recognises a face within 200 ms (L2378). The harness drives it
/// with the `present` stimulus (someone shows a credential) and each decision carries the real
/// person as truth, so a platform's access records, stranger alarms and elevator linkage (the
/// person's `home_floor`, L2349, L2386) can be checked against ground truth.
enum AccessTerminalKind {
    static let description = PluginKindDescription(
        name: "access-terminal",
        summary: "Pedestrian access-control terminal: recognises a face, card, QR code or password and grants or denies entry, with false rejects, false accepts and stranger alarms",
        sources: [
            "004_5e9061d643d5fb41.txt L2378",
            "004_5e9061d643d5fb41.txt L2337-2419",
        ],
        points: [
            PluginPointDescription(name: "person", type: .string, summary: "The person as recognised (\"unknown\" when denied); the truth is the real person"),
            PluginPointDescription(name: "method", type: .string, summary: "The credential presented: face, card, qr or password"),
            PluginPointDescription(name: "floor", type: .int, summary: "The terminal's own floor (the park file's floor, else the floor parameter)"),
            PluginPointDescription(name: "home_floor", type: .int, summary: "The floor the person lives or works on, e.g. for elevator linkage"),
            PluginPointDescription(name: "similarity", type: .double, summary: "Face match score 0-1 (0.85-0.99 granted, 0.30-0.80 denied); 1.0 for card, qr and password"),
            PluginPointDescription(name: "reason", type: .string, summary: "Why entry was denied: not-recognised (an enrolled person falsely rejected) or not-enrolled"),
        ],
        events: [
            PluginEventDescription(name: "granted", severity: .info, summary: "Entry granted; readings person (value recognised, truth real), method, floor, home_floor, similarity"),
            PluginEventDescription(name: "denied", severity: .warning, summary: "Entry denied; readings person (\"unknown\", truth real), method, floor, reason, similarity"),
            PluginEventDescription(name: "stranger", severity: .warning, summary: "A face that is not enrolled was seen (follows its denied); readings person (\"unknown\", truth real), floor, similarity"),
            PluginEventDescription(name: "tamper", severity: .critical, summary: "The terminal's tamper switch tripped (opened or torn off the wall); reading floor"),
            PluginHeartbeat.event(),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "present",
                arguments: [
                    PluginArgumentDescription(name: "person", type: .string, summary: "The real person presenting, 1-64 characters, e.g. resident-0042"),
                    PluginArgumentDescription(name: "method", type: .string, required: false, summary: "face (default), card, qr or password"),
                    PluginArgumentDescription(name: "home_floor", type: .int, required: false, summary: "The person's floor (default the terminal's floor)"),
                    PluginArgumentDescription(name: "enrolled", type: .bool, required: false, summary: "Whether the person is enrolled on this terminal (default true)"),
                ],
                summary: "Someone presents a credential; granted or denied follows after the method's recognition time"),
            PluginStimulusDescription(name: "tamper", summary: "Someone opens the terminal's case or tears it off the wall: tamper at once"),
        ],
        parameters: [
            PluginParameterDescription(name: "face_time", type: .duration, defaultValue: "150ms", minimum: 0.001, maximum: 60, summary: "Mean face recognition time (004 L2378 asks for at most 200 ms)"),
            PluginParameterDescription(name: "face_jitter", type: .duration, defaultValue: "40ms", minimum: 0, maximum: 60, summary: "Each face recognition takes face_time plus or minus up to this much (uniform), never under 1 ms"),
            PluginParameterDescription(name: "card_time", type: .duration, defaultValue: "100ms", minimum: 0.001, maximum: 60, summary: "Card read time (± 10 %, uniform)"),
            PluginParameterDescription(name: "qr_time", type: .duration, defaultValue: "300ms", minimum: 0.001, maximum: 60, summary: "QR code read time (± 10 %, uniform)"),
            PluginParameterDescription(name: "password_time", type: .duration, defaultValue: "1.2s", minimum: 0.001, maximum: 60, summary: "Password check time from the stimulus, typing included (± 10 %, uniform)"),
            PluginParameterDescription(name: "false_reject_rate", type: .double, defaultValue: "0.01", minimum: 0, maximum: 1, summary: "Chance that an enrolled person is denied (not-recognised)"),
            PluginParameterDescription(name: "false_accept_rate", type: .double, defaultValue: "0.0001", minimum: 0, maximum: 1, summary: "Chance that a person who is not enrolled is granted"),
            PluginParameterDescription(name: "floor", type: .int, defaultValue: "1", summary: "The terminal's floor when the park file gives none"),
            PluginHeartbeat.parameter(),
        ])

    /// The credentials a `present` may use.
    static let methods: Set<String> = ["face", "card", "qr", "password"]

    /// Timer tags: the low byte names the timer; for recognitions the bits above carry the
    /// presentation's sequence number, so each pending presentation has its own timer.
    enum Timer: UInt32 {
        case heartbeat = 1
        case recognition = 2
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: AccessTerminalKind.description, device: AccessTerminal.self, host: host, into: plugin)
}
