import ParkCore
import ParkGB28181
import ParkWire

/// How the video kinds' alarm events become GB/T 28181 Alarm notifications (§A.2.5.2): the
/// AlarmMethod and AlarmType the standard has for each, and a priority from the event's severity.
///
/// Events the standard has no type for (most AI events of 004 L2776–2810) go as method 7 (other);
/// every alarm carries its event name in AlarmDescription so a platform can tell them apart.
enum GB28181AlarmMapping {
    /// The alarm for `event` at `time`; nil for an event that is not an alarm of a video kind.
    static func notification(event: String, severity: EventSeverity?, time: String) -> AlarmNotification? {
        guard let severity, severity != .info else { return nil }
        let (method, type) = GB28181AlarmTypes.byEvent[event] ?? (7, nil)
        let priority = switch severity {
        case .critical: 1
        case .alarm: 2
        case .warning: 3
        case .info: 4
        }
        return AlarmNotification(priority: priority, method: method, time: time, description: event, type: type)
    }

    /// `yyyy-MM-ddTHH:mm:ss` in Beijing time: GB/T 28181 dateTimes carry no zone, and the devices
    /// of the parks these documents describe keep China Standard Time (UTC+8, no daylight saving).
    static func localTime(nanosecondsSinceEpoch: Int64) -> String {
        String(WireTime.iso8601(nanosecondsSinceEpoch: nanosecondsSinceEpoch + 8 * 3_600_000_000_000).prefix(19))
    }
}
