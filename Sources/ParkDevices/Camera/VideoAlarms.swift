import ParkCore

/// The alarms a camera or NVR channel raises on its own analysis, each with the seed line that
/// asks for it.
///
/// One table serves the descriptors (`devices show`), the `ai` stimulus's check of its `type`
/// argument and the device's emission, so a new analytic is one line here. Which GB/T 28181
/// AlarmMethod/AlarmType each becomes is the SIP binding's mapping, not the device's.
struct VideoAlarm: Sendable {
    let name: String
    let severity: EventSeverity
    let summary: String

    /// Alarms from motion, tripwire and AI analysis, guarded by `guard` (004 L2772: 布防/撤防).
    static let analytics: [VideoAlarm] = [
        VideoAlarm(name: "motion", severity: .warning, summary: "Motion detected in the picture"),
        VideoAlarm(name: "intrusion-line", severity: .alarm, summary: "Someone crossed a tripwire or climbed a wall (004 L2780)"),
    ] + ai

    /// The AI events of the video-analysis system, 004 L2776–2810 (section (2) 视频 AI 识别).
    static let ai: [VideoAlarm] = [
        VideoAlarm(name: "face-watchlist", severity: .alarm, summary: "A person on the watch list was recognised (004 L2776)"),
        VideoAlarm(name: "off-post", severity: .warning, summary: "A guard left the post longer than allowed (004 L2784)"),
        VideoAlarm(name: "crowd", severity: .warning, summary: "A crowd gathered in a watched area (004 L2788)"),
        VideoAlarm(name: "fall", severity: .alarm, summary: "A person fell on stairs or in a play area (004 L2792)"),
        VideoAlarm(name: "area-intrusion", severity: .alarm, summary: "A person entered a danger area: pool, roof (004 L2796)"),
        VideoAlarm(name: "vehicle-gate-crash", severity: .alarm, summary: "A vehicle forced the car-park barrier (004 L2800)"),
        VideoAlarm(name: "vehicle-congestion", severity: .warning, summary: "Vehicles queue in a car-park lane (004 L2804)"),
        VideoAlarm(name: "ebike-in-elevator", severity: .alarm, summary: "An electric bike entered a lift (004 L2808)"),
        VideoAlarm(name: "bin-overflow", severity: .info, summary: "A rubbish bin is overflowing (004 L2810)"),
    ]

    var descriptor: EventDescriptor {
        EventDescriptor(name: name, severity: severity, summary: summary + "; readings channel, guard")
    }
}
