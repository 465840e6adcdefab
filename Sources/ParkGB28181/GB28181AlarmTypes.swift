/// The alarm events GB/T 28181-2016 §A.2.5.2 numbers, by the names ParkBench's device kinds give
/// them: both sides need the table — a device to fill in AlarmMethod and AlarmType, a platform
/// to tell which event an Alarm notify is when its AlarmDescription does not say.
public enum GB28181AlarmTypes {
    /// Method and type per event name; nil type: the method's default.
    public static let byEvent: [String: (method: Int, type: Int?)] = [
        // Method 5, video alarms: 2 motion, 5 tripwire, 6 intrusion, 10 density.
        "motion": (5, 2),
        "intrusion-line": (5, 5),
        "area-intrusion": (5, 6),
        "crowd": (5, 10),
        // Method 2, device alarms: 1 video loss, 2 tamper.
        "video-loss": (2, 1),
        "tamper": (2, 2),
    ]

    /// The event an alarm is: its AlarmDescription when that is an event name (lowercase
    /// letters, digits and dashes, as the devices send it), else the standard's method and type,
    /// else nil.
    public static func event(of alarm: AlarmNotification) -> String? {
        if let description = alarm.description, (1...40).contains(description.utf8.count),
           description.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }) {
            return description
        }
        return byEvent.first { $0.value.method == alarm.method && $0.value.type == alarm.type }?.key
    }
}
