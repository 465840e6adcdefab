import Yams

/// Which of a model's events it pushes to the platform over HTTP, as its profile's
/// `http_push:` section says: the way vendors' plate cameras and face terminals report a read —
/// a JSON POST to a URL the platform gives, the decision in the answer — rather than on MQTT.
/// The device stays on MQTT for everything else (its status, its other events, its commands).
///
/// ```yaml
/// http_push:
///   events: [plate]      # the events that go by HTTP; left out: every event
/// ```
public struct ModelHTTPPushSettings: Hashable, Sendable {
    /// The events pushed; empty: every event the kind has.
    public var events: [String]

    public init(events: [String] = []) { self.events = events }

    /// Whether an event of this name goes by HTTP.
    public func pushes(_ event: String) -> Bool { events.isEmpty || events.contains(event) }

    static func read(_ node: Node, log: IssueLog) -> ModelHTTPPushSettings? {
        guard var reader = MappingReader(node, path: "http_push", log: log, what: "HTTP push settings") else { return nil }
        var events: [String] = []
        for (index, item) in (reader.sequence("events") ?? []).enumerated() {
            if let name = MappingReader.scalarText(item, path: "http_push.events[\(index)]", log: log, expected: "an event name") {
                events.append(name)
            }
        }
        reader.finish(allowed: ["events"])
        return ModelHTTPPushSettings(events: events)
    }

    /// Every event named must be one the kind reports.
    func check(against descriptor: KindDescriptor, node: Node?, log: IssueLog) {
        let known = Set(descriptor.events.map(\.name))
        for name in events where !known.contains(name) {
            var message = "kind '\(descriptor.name)' has no event '\(IssueLog.excerpt(name))'"
            if let suggestion = MappingReader.closest(to: name, in: descriptor.events.map(\.name)) { message += "; did you mean '\(suggestion)'?" }
            log.add(message, at: node, path: "http_push.events")
        }
    }
}
