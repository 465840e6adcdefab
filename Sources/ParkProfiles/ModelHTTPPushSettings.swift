import Yams

/// Which of a model's events it pushes to the platform over HTTP, as its profile's
/// `http_push:` section says: the way vendors' plate cameras and face terminals report a read —
/// a JSON POST to a URL the platform gives, the decision in the answer — rather than on MQTT.
/// The device stays on MQTT for everything else (its status, its other events, its commands).
///
/// ```yaml
/// http_push:
///   events: [plate]      # the events that go by HTTP; left out: every event
///   retries: 3           # a push that fails is sent again up to this often (0: never)
///   retry_interval: 2s   # before the first retry; each next waits twice as long
/// ```
///
/// Cameras keep a read they could not deliver and send it again (vendors call it resume after
/// the network is back, 断网续传); how often and how patiently differs by model.
public struct ModelHTTPPushSettings: Hashable, Sendable {
    /// The events pushed; empty: every event the kind has.
    public var events: [String]
    /// How many times a failed push is sent again.
    public var retries: Int
    /// The wait before the first retry; it doubles for each one after.
    public var retryInterval: DeviceDuration

    public init(events: [String] = [], retries: Int = 0, retryInterval: DeviceDuration = .seconds(2)) {
        self.events = events
        self.retries = retries
        self.retryInterval = retryInterval
    }

    /// The wait before retry number `attempt` (1 for the first): `retry_interval` doubled for each
    /// retry before it, at most 64 times the interval.
    public func delay(beforeRetry attempt: Int) -> DeviceDuration {
        DeviceDuration(nanoseconds: retryInterval.nanoseconds << UInt64(min(max(attempt - 1, 0), 6)))
    }

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
        let retries = reader.int("retries", range: 0...10) ?? 0
        let interval = reader.duration("retry_interval") ?? .seconds(2)
        if interval < .milliseconds(1) || interval > .minutes(10) {
            log.add("expected a retry_interval from 1ms to 10m, got \(interval)", at: reader.value("retry_interval"), path: "http_push.retry_interval")
        }
        reader.finish(allowed: ["events", "retries", "retry_interval"])
        return ModelHTTPPushSettings(events: events, retries: retries, retryInterval: interval)
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
