import ParkCore

/// The GB/T 28181 network camera (IPC) as a device kind: one channel.
///
/// Parks connect hundreds of cameras over GB/T 28181 (004 L2633) and link alarms to the
/// nearest one (004 L3152). The SIP side (registration, keepalives, catalog, alarms on the wire)
/// is a binding; this kind is what the camera sees and does. Models differ in their profile's
/// `gb28181:` section (charset, keepalive interval, catalog split, alarm types).
public struct CameraKind: DeviceKind {
    public static let name = "camera"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        VideoDevice(setup: setup, channels: 1)
    }

    static let kindDescriptor = VideoDeviceKinds.descriptor(nvr: false)
}

/// The GB/T 28181 network video recorder as a device kind: one device with `channels`
/// channels (default 16, up to 128), each of which can lose video on its own.
///
/// An NVR is the case platforms get wrong: its catalog spans several MESSAGEs and its alarms
/// name a channel, so every stimulus and command takes a `channel` argument (default 1).
public struct NVRKind: DeviceKind {
    public static let name = "nvr"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        VideoDevice(setup: setup, channels: Int(setup.parameters.int("channels")))
    }

    static let kindDescriptor = VideoDeviceKinds.descriptor(nvr: true)
}

/// What ``CameraKind`` and ``NVRKind`` share: timers, the descriptor pieces, the fault stimuli.
enum VideoDeviceKinds {
    enum Timer: UInt32 {
        case keepalive = 1, rebootEnd
    }

    static func name(channels: Int) -> String { channels > 1 ? "an NVR" : "a camera" }

    /// The stimuli that switch a wire fault (issue 14 "Faults as stimuli") and the flag each sets.
    static let faultStimuli: [String: VideoDeviceState.Fault] = [
        "stop-keepalives": .keepalivesStopped,
        "resume-keepalives": .keepalivesStopped,
        "refuse-reregister": .refuseReregister,
        "alarm-in-wrong-field": .alarmInWrongField,
        "malformed-xml": .malformedXML,
    ]

    /// PTZ directions, as GB/T 28181's PTZCmd byte 4 combines them (A.3.2).
    static let ptzDirections = ["up", "down", "left", "right", "zoom-in", "zoom-out", "stop"]

    static let sources = [
        "004_5e9061d643d5fb41.txt L2633",
        "004_5e9061d643d5fb41.txt L2772",
        "004_5e9061d643d5fb41.txt L2776-2810",
        "004_5e9061d643d5fb41.txt L3152",
    ]

    static func descriptor(nvr: Bool) -> KindDescriptor {
        KindDescriptor(
            name: nvr ? NVRKind.name : CameraKind.name,
            summary: nvr
                ? "GB/T 28181 NVR: N channels (default 16), per-channel video loss and alarms, motion, tripwire, AI events, tamper, guard, PTZ, reboot, wire faults"
                : "GB/T 28181 network camera (IPC): motion, tripwire, AI events, tamper, video loss, guard, PTZ, reboot, wire faults",
            sources: sources,
            points: points(nvr: nvr),
            events: events,
            commands: commands(nvr: nvr),
            stimuli: stimuli(nvr: nvr),
            parameters: parameters(nvr: nvr))
    }

    private static func channelArgument(_ nvr: Bool) -> [ArgumentDescriptor] {
        nvr ? [ArgumentDescriptor(name: "channel", type: .int, required: false, summary: "Channel number, 1…channels (default 1)")] : []
    }

    private static func points(nvr: Bool) -> [PointDescriptor] {
        [
            PointDescriptor(name: "online", type: .bool, summary: "Powered and up (false while rebooting)"),
            PointDescriptor(name: "guard", type: .bool, summary: "Guarded (布防, 004 L2772): analytic alarms are reported only when true"),
            PointDescriptor(name: "channels", type: .int, summary: nvr ? "Number of channels" : "Always 1"),
            PointDescriptor(name: "lost_channels", type: .string, summary: "Channels without video, e.g. \"3,7\"; empty when all have video"),
        ] + VideoDeviceState.Fault.allCases.map {
            PointDescriptor(name: $0.rawValue, type: .bool, summary: "Wire fault switched on by the harness, for the SIP binding to act on")
        }
    }

    private static let events: [EventDescriptor] = VideoAlarm.analytics.map(\.descriptor) + [
        EventDescriptor(name: "tamper", severity: .alarm, summary: "The lens was covered or the housing opened; reading channel"),
        EventDescriptor(name: "tamper-clear", severity: .info, summary: "The view is clear again"),
        EventDescriptor(name: "video-loss", severity: .alarm, summary: "A channel lost its video; readings channel, lost_channels"),
        EventDescriptor(name: "video-restored", severity: .info, summary: "A channel's video is back; readings channel, lost_channels"),
        EventDescriptor(name: "alarm-reset", severity: .info, summary: "The alarm output was reset (ResetAlarm); readings alarms, count"),
        EventDescriptor(name: "keepalive", severity: .info, summary: "Status: periodic keep-alive (the binding's Keepalive MESSAGE); readings guard, lost_channels"),
        EventDescriptor(name: "offline", severity: .warning, summary: "Status: going down (reason reboot)"),
        EventDescriptor(name: "online", severity: .info, summary: "Status: up again after a reboot"),
        EventDescriptor(name: "ptz", severity: .info, summary: "Local: the camera moved (preset or direction)"),
        EventDescriptor(name: "wire-fault", severity: .info, summary: "Local: a wire fault was switched on or off; readings fault, enabled"),
    ]

    private static func commands(nvr: Bool) -> [CommandDescriptor] {
        let channel = channelArgument(nvr)
        return [
            CommandDescriptor(name: "ptz", arguments: channel + [
                ArgumentDescriptor(name: "preset", type: .int, required: false, summary: "Go to preset 1–255"),
                ArgumentDescriptor(name: "direction", type: .string, required: false, summary: ptzDirections.joined(separator: " | ")),
            ], summary: "Move to a preset or in a direction (PTZCmd); acknowledged with what was done"),
            CommandDescriptor(name: "guard", arguments: [
                ArgumentDescriptor(name: "action", type: .string, required: false, summary: "set (default) or reset, as GuardCmd SetGuard/ResetGuard"),
            ], summary: "Guard or unguard the device (DeviceControl GuardCmd, 004 L2772)"),
            CommandDescriptor(name: "reset-alarm", summary: "Reset the alarm output (DeviceControl AlarmCmd ResetAlarm); refused when no alarm is active"),
            CommandDescriptor(name: "reboot", summary: "Reboot (TeleBoot): offline for reboot_duration, then online"),
        ]
    }

    static func stimuli(nvr: Bool) -> [StimulusDescriptor] {
        let channel = channelArgument(nvr)
        let enabled = [ArgumentDescriptor(name: "enabled", type: .bool, required: false, summary: "false switches the fault off (default true)")]
        return [
            StimulusDescriptor(name: "motion", arguments: channel, summary: "Something moves in the picture"),
            StimulusDescriptor(name: "intrusion", arguments: channel, summary: "Someone crosses the tripwire (event intrusion-line)"),
            StimulusDescriptor(name: "ai", arguments: channel + [
                ArgumentDescriptor(name: "type", type: .string, summary: VideoAlarm.ai.map(\.name).joined(separator: " | ")),
            ], summary: "The video analysis recognises an AI event (004 L2776–2810)"),
            StimulusDescriptor(name: "tamper", arguments: channel, summary: "The lens is covered or the housing opened"),
            StimulusDescriptor(name: "tamper-restore", summary: "The view is clear again"),
            StimulusDescriptor(name: "video-loss", arguments: channel, summary: "A channel loses its video (cable cut, camera dead)"),
            StimulusDescriptor(name: "video-restore", arguments: channel, summary: "A channel's video comes back"),
            StimulusDescriptor(name: "stop-keepalives", summary: "Wire fault: stop Keepalive MESSAGEs while registered"),
            StimulusDescriptor(name: "resume-keepalives", summary: "Send keepalives again"),
            StimulusDescriptor(name: "refuse-reregister", arguments: enabled, summary: "Wire fault: do not refresh the registration"),
            StimulusDescriptor(name: "alarm-in-wrong-field", arguments: enabled, summary: "Wire fault: alarms carry the channel id in the wrong field"),
            StimulusDescriptor(name: "malformed-xml", arguments: enabled, summary: "Wire fault: MANSCDP bodies are not well-formed"),
        ]
    }

    private static func parameters(nvr: Bool) -> [ParameterDescriptor] {
        var list = [
            ParameterDescriptor(name: "keepalive_interval", type: .duration, defaultValue: "60s", minimum: 1, summary: "Time between Keepalive MESSAGEs (GB/T 28181 default 60 s)"),
            ParameterDescriptor(name: "register_expires", type: .duration, defaultValue: "3600s", minimum: 60, summary: "Expires the device asks for in REGISTER; it refreshes before then"),
            CommonDescriptors.startSpread(.firstHeartbeat),
            ParameterDescriptor(name: "guard_at_start", type: .bool, defaultValue: "true", summary: "Whether the device is guarded when it starts"),
            ParameterDescriptor(name: "reboot_duration", type: .duration, defaultValue: "30s", summary: "How long a reboot keeps the device offline"),
        ]
        if nvr {
            list.append(ParameterDescriptor(name: "channels", type: .int, defaultValue: "16", minimum: 1, maximum: 128, summary: "Number of channels (video inputs)"))
        }
        return list
    }
}
