import ParkCore

/// The audible/visual alarm (声光报警器) that a platform sounds when an alarm is linked to it:
/// the far end of linkage chains such as "emergency button → sound and light" (004 L2717,
/// L2892, LK7) and the gas-suppression room's sounder (L4061–4065).
///
/// It does nothing on its own: it sounds when commanded, for a set time or until stopped, and
/// says so on the wire, so a linkage check can see both that the command arrived (at the
/// device) and that the device acted on it (on the platform).
public struct SounderKind: DeviceKind {
    public static let name = "sounder"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        Sounder(setup: setup)
    }

    enum Timer: UInt32 {
        case heartbeat = 1, soundEnd
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Audible/visual alarm (sounder-strobe): sounds on command for a time or until stopped, heartbeat, self-test",
        sources: [
            "004_5e9061d643d5fb41.txt L2717",
            "004_5e9061d643d5fb41.txt L2892",
            "004_5e9061d643d5fb41.txt L4061-4065",
        ],
        points: [
            PointDescriptor(name: "sounding", type: .bool, summary: "Whether siren and strobe are on"),
        ],
        events: [
            EventDescriptor(name: "sounding", severity: .info, summary: "Siren and strobe on (by command); readings duration_s and by (the command id)"),
            EventDescriptor(name: "silenced", severity: .info, summary: "Siren and strobe off: stopped by command or the sounding time ran out; reading reason"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with the sounding state"),
            EventDescriptor(name: "self-test", severity: .info, summary: "Result of a self-test (a short chirp and flash)"),
            EventDescriptor(name: "siren-on", severity: .info, summary: "Local: the siren and strobe start"),
            EventDescriptor(name: "siren-off", severity: .info, summary: "Local: the siren and strobe stop"),
        ],
        commands: [
            CommandDescriptor(
                name: "sound",
                arguments: [ArgumentDescriptor(name: "duration", type: .duration, required: false, summary: "How long to sound (default the model's sound_duration; 0s until stopped)")],
                summary: "Start siren and strobe; sounding again restarts the time"),
            CommandDescriptor(name: "stop", summary: "Stop siren and strobe; refused when silent"),
            CommandDescriptor(name: "self-test", summary: "Chirp and flash once and report the result"),
        ],
        stimuli: [],
        parameters: [
            CommonDescriptors.heartbeatInterval(default: "1h"),
            ParameterDescriptor(name: "start_spread", type: .duration, defaultValue: "1d", summary: "The first heartbeat comes at a random phase within this span or the heartbeat interval, whichever is shorter"),
            ParameterDescriptor(name: "sound_duration", type: .duration, defaultValue: "3m", summary: "How long a `sound` without a duration lasts; 0s sounds until stopped"),
        ])
}
