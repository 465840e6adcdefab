import ParkProfiles
import Yams

/// The words a platform uses for what the park calls by its own names (a platform profile's
/// `vocabulary:`): so a suite stays platform-neutral — it waits for `smoke-alarm` — while the
/// platform under test shows `SMOKE`, and says `connected: true` where the park says online.
///
/// ```yaml
/// vocabulary:
///   events: {smoke-alarm: SMOKE, alarm: PANIC}     # the park's event → the platform's name
///   events_by_kind:                                 # per kind, over `events`
///     water-leak: {alarm: LEAK}
///   status:                                         # the platform's values → online/offline/abnormal
///     online: [ONLINE, 1, true]
///     offline: [OFFLINE, 0, false]
/// ```
///
/// Without `status:` values are read as they are (`online`, `Offline`…, case ignored); with it,
/// a value that matches none is counted and reported, never taken for a status.
public struct PlatformVocabulary: Sendable, Hashable {
    /// The park's event name → the platform's, for every kind.
    public var events: [String: String] = [:]
    /// Per kind: the park's event name → the platform's, over ``events``.
    public var eventsByKind: [String: [String: String]] = [:]
    /// The platform's status value (normalised by ``normalise(_:)``) → `online`, `offline` or `abnormal`.
    public var status: [String: String] = [:]

    public static let statuses = ["online", "offline", "abnormal"]

    public init(events: [String: String] = [:], eventsByKind: [String: [String: String]] = [:], status: [String: String] = [:]) {
        self.events = events
        self.eventsByKind = eventsByKind
        self.status = status
    }

    /// What the platform calls the park's `event` of a device of `kind`.
    public func platformEvent(for event: String, kind: String) -> String {
        eventsByKind[kind]?[event] ?? events[event] ?? event
    }

    /// The park's status for a value the platform showed; nil when the profile's `status:`
    /// values do not name it.
    public func parkStatus(for value: String) -> String? {
        if status.isEmpty { return value.lowercased() }
        return status[Self.normalise(value)]
    }

    /// Values compare as text, except that a JSON `true`/`false` and `1`/`0` are one value each
    /// (a platform's `state: 1` and `connected: true` are the same kind of answer), and `1.0` is `1`.
    public static func normalise(_ value: String) -> String {
        switch value.lowercased() {
        case "true", "1", "1.0": "1"
        case "false", "0", "0.0": "0"
        default: value
        }
    }

    static let keys = ["events", "events_by_kind", "status"]

    /// Reads `vocabulary:`, logging every problem with its place.
    static func read(_ node: Node, log: IssueLog) -> PlatformVocabulary {
        var vocabulary = PlatformVocabulary()
        guard var reader = MappingReader(node, path: "vocabulary", log: log, what: "the platform's vocabulary") else { return vocabulary }
        func names(_ entries: [(key: String, text: String, node: Node)], path: String) -> [String: String] {
            var names: [String: String] = [:]
            for entry in entries {
                guard !entry.text.isEmpty else {
                    log.add("the platform's name for '\(entry.key)' is empty", at: entry.node, path: "\(path).\(entry.key)")
                    continue
                }
                names[entry.key] = entry.text
            }
            return names
        }
        vocabulary.events = names(reader.scalarMap("events") ?? [], path: "vocabulary.events")
        if let byKind = reader.value("events_by_kind"),
           var kinds = MappingReader(byKind, path: "vocabulary.events_by_kind", log: log, what: "event names per kind") {
            for key in kinds.keys {
                vocabulary.eventsByKind[key] = names(kinds.scalarMap(key) ?? [], path: "vocabulary.events_by_kind.\(key)")
            }
            kinds.finish(allowed: kinds.keys)
        }
        if let statusNode = reader.value("status"),
           var statuses = MappingReader(statusNode, path: "vocabulary.status", log: log, what: "status values") {
            for status in statuses.keys {
                guard Self.statuses.contains(status) else { continue }
                for (index, item) in (statuses.sequence(status) ?? []).enumerated() {
                    let path = "vocabulary.status.\(status)[\(index)]"
                    guard let text = MappingReader.scalarText(item, path: path, log: log, expected: "a value the platform shows") else { continue }
                    let value = normalise(text)
                    if let earlier = vocabulary.status[value], earlier != status {
                        log.add("'\(text)' already means \(earlier)", at: item, path: path)
                        continue
                    }
                    vocabulary.status[value] = status
                }
            }
            statuses.finish(allowed: Self.statuses)
        }
        reader.finish(allowed: keys)
        return vocabulary
    }
}
