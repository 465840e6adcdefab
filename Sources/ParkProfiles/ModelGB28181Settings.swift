import Yams

/// How a camera or NVR model speaks GB/T 28181, as its profile's `gb28181:` section says: the
/// things two brands do differently on the same standard, which platforms must cope with.
///
/// ```yaml
/// gb28181:
///   charset: GB2312              # GB2312 | UTF-8: the MANSCDP XML body's encoding
///   keepalive_interval: 60s      # Keepalive MESSAGE period (the device's keepalive_interval)
///   catalog_split: 4             # items per Catalog response MESSAGE (SumNum stays the total)
///   alarm_types: [motion, video-loss, tamper]   # the events this model reports as alarms
///   manufacturer: Hikvision      # DeviceInfo answers
///   model: DS-2CD2T47G2
///   firmware: V5.7.3
/// ```
///
/// Text as written; the SIP binding reads it. The section's `keepalive_interval` is the model's
/// value of the kind's parameter of that name, so the device's keepalive timer and the wire agree:
/// giving it in `parameters:` too is refused (say it once).
public struct ModelGB28181Settings: Hashable, Sendable {
    /// `GB2312` or `UTF-8`.
    public var charset: String
    /// As written (`60s`); nil when the kind's default applies.
    public var keepaliveInterval: String?
    /// Catalog items per response MESSAGE, 1…128.
    public var catalogSplit: Int
    /// Event names the model reports as GB/T 28181 alarms; empty means all of the kind's alarms.
    public var alarmTypes: [String]
    public var manufacturer: String?
    public var model: String?
    public var firmware: String?

    public init(charset: String = "GB2312", keepaliveInterval: String? = nil, catalogSplit: Int = 1, alarmTypes: [String] = [],
                manufacturer: String? = nil, model: String? = nil, firmware: String? = nil) {
        self.charset = charset
        self.keepaliveInterval = keepaliveInterval
        self.catalogSplit = catalogSplit
        self.alarmTypes = alarmTypes
        self.manufacturer = manufacturer
        self.model = model
        self.firmware = firmware
    }

    public static let charsets = ["GB2312", "UTF-8"]
    static let keys = ["charset", "keepalive_interval", "catalog_split", "alarm_types", "manufacturer", "model", "firmware"]
    /// Events of the video kinds that are not alarms, so cannot be listed in `alarm_types`.
    static let nonAlarmEvents: Set<String> = ["keepalive", "online", "offline", "ptz", "wire-fault", "alarm-reset", "tamper-clear", "video-restored"]

    static func read(_ node: Node, log: IssueLog) -> ModelGB28181Settings? {
        guard var reader = MappingReader(node, path: "gb28181", log: log, what: "GB/T 28181 settings") else { return nil }
        var settings = ModelGB28181Settings()
        if let charset = reader.string("charset", expected: "GB2312 or UTF-8") {
            if charsets.contains(charset) { settings.charset = charset } else {
                log.add("unknown charset '\(IssueLog.excerpt(charset))'; use GB2312 or UTF-8", at: reader.value("charset"), path: "gb28181.charset")
            }
        }
        if let interval = reader.duration("keepalive_interval") {
            if interval.seconds >= 1 { settings.keepaliveInterval = reader.string("keepalive_interval") } else {
                log.add("keepalive_interval must be at least 1s", at: reader.value("keepalive_interval"), path: "gb28181.keepalive_interval")
            }
        }
        settings.catalogSplit = reader.int("catalog_split", range: 1 ... 128) ?? 1
        for (index, item) in (reader.sequence("alarm_types") ?? []).enumerated() {
            if let name = MappingReader.scalarText(item, path: "gb28181.alarm_types[\(index)]", log: log, expected: "an event name such as motion") {
                settings.alarmTypes.append(name)
            }
        }
        settings.manufacturer = reader.string("manufacturer")
        settings.model = reader.string("model")
        settings.firmware = reader.string("firmware")
        reader.finish(allowed: keys)
        return settings
    }

    /// The kind must be one with a keepalive (a video kind), and every alarm type one of its
    /// alarm events, with a "did you mean" for typos.
    func check(against descriptor: KindDescriptor, node: Node?, log: IssueLog) {
        guard descriptor.parameter(named: "keepalive_interval") != nil else {
            log.add("kind '\(descriptor.name)' does not speak GB/T 28181 (it has no keepalive_interval); use a camera or nvr kind",
                    at: node, path: "gb28181")
            return
        }
        let alarms = descriptor.events.map(\.name).filter { !Self.nonAlarmEvents.contains($0) }
        let items: [Node] = if case .sequence(let sequence)? = node?["alarm_types"] { Array(sequence) } else { [] }
        for (index, name) in alarmTypes.enumerated() where !alarms.contains(name) {
            var message = "kind '\(descriptor.name)' has no alarm '\(IssueLog.excerpt(name))'"
            if let suggestion = MappingReader.closest(to: name, in: alarms) { message += "; did you mean '\(suggestion)'?" }
            log.add(message, at: index < items.count ? items[index] : node, path: "gb28181.alarm_types[\(index)]")
        }
    }
}
