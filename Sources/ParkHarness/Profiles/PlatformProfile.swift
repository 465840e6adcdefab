import Foundation
import ParkCore
import ParkProfiles
import Yams

/// How to reach and observe one system under test (`conformance/platforms/*.yaml`): its broker,
/// the northbound streams that show what it decided (MQTT topics, a webhook it calls, REST
/// endpoints to poll) with a field mapping for each, and how to ask it to command a device.
///
/// Credentials are never inline: the profile names environment variables that hold them.
public struct PlatformProfile: Sendable {
    /// The broker devices connect to and northbound topics are read from.
    public struct Broker: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// Names of environment variables holding the harness's own login, if the broker wants one.
        public var usernameEnvironment: String?
        public var passwordEnvironment: String?

        public var url: String { "mqtt://\(host):\(port)" }
    }

    /// One northbound MQTT stream.
    public struct MQTTStream: Sendable, Hashable {
        /// The topic filter subscribed to (`{name}` levels of the profile's topic become `+`).
        public var topic: String
        public var kind: ObservationKind
        public var fields: FieldMapping

        public init(topic: String, kind: ObservationKind, fields: FieldMapping) {
            self.topic = topic
            self.kind = kind
            self.fields = fields
        }

        /// Whether a message on `topic` with this JSON belongs to the stream: the filter matches
        /// and every `when:` field holds its value.
        public func accepts(topic: String, json: Any) -> Bool {
            MQTTTopicFilter.matches(self.topic, topic: topic) && fields.conditions.allSatisfy { $0.holds(in: json) }
        }
    }

    /// The webhook the platform calls; the harness listens for it.
    public struct Webhook: Sendable, Hashable {
        public var port: Int
        public var path: String
        public var kind: ObservationKind
        public var fields: FieldMapping
        /// Environment variable holding the shared secret the platform must send.
        public var secretEnvironment: String?
        public var secretHeader: String
    }

    /// A REST endpoint the harness polls.
    public struct RESTPoll: Sendable, Hashable {
        public var url: String
        public var interval: DeviceDuration
        public var kind: ObservationKind
        /// Path to the array of items in the response (`$` when the response is the array).
        public var items: FieldPath
        public var fields: FieldMapping
        /// Request headers whose values come from environment variables (header → variable),
        /// e.g. `X-Authorization: TB_JWT` for a bearer token.
        public var headerEnvironment: [String: String] = [:]
    }

    /// How to ask the platform to send a device a command: an HTTP request whose URL and body
    /// are templates over `{device}`, `{command}` and `{arguments}` (JSON).
    public struct CommandEndpoint: Sendable, Hashable {
        public var method: String
        public var url: String
        public var body: String

        public init(method: String, url: String, body: String) {
            self.method = method
            self.url = url
            self.body = body
        }
    }

    /// Where the harness serves the park's meters for the system's meter gateway to poll: every
    /// device whose model has a register map answers on Modbus TCP at `modbus` as unit 1, 2, …
    /// in park order, `unitsPerEndpoint` to a port, further ports following (`port + 1`, …); the
    /// other electricity meters answer on DL/T 645 buses at `dlt645` as meters 000000000001, …,
    /// `metersPerBus` to a port.
    public struct MeterEndpoints: Sendable, Hashable {
        public struct Endpoint: Sendable, Hashable {
            public var host: String
            public var port: Int

            public init(host: String, port: Int) {
                self.host = host
                self.port = port
            }

            /// `host:port` (port 0: a free port, printed when the run starts); nil when it is not that.
            public init?(parsing text: String) {
                guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
                      let port = Int(text[text.index(after: colon)...]), (0 ... 65535).contains(port) else { return nil }
                self.init(host: String(text[..<colon]), port: port)
            }
        }

        public init(modbus: Endpoint? = nil, unitsPerEndpoint: Int = 247, dlt645: Endpoint? = nil, metersPerBus: Int = 32) {
            self.modbus = modbus
            self.unitsPerEndpoint = unitsPerEndpoint
            self.dlt645 = dlt645
            self.metersPerBus = metersPerBus
        }

        public var modbus: Endpoint?
        public var unitsPerEndpoint: Int
        public var dlt645: Endpoint?
        public var metersPerBus: Int
    }

    public var name: String
    public var title: String
    public var file: String
    public var broker: Broker
    /// Topic template the park's devices publish on (default `park/{zone}/{kind}/{id}/{channel}`).
    public var deviceTopics: String?
    public var mqtt: [MQTTStream]
    public var webhook: Webhook?
    public var rest: [RESTPoll]
    public var commands: CommandEndpoint?
    /// Meters behind a gateway, when the system under test polls them (else every device is on MQTT).
    public var meters: MeterEndpoints?
    /// The platform's GB/T 28181 SIP server, when it takes cameras (else cameras are on MQTT).
    public var video: VideoPlatform?
    /// The OCPP central system the park's EV chargers connect to, when the platform has one.
    public var ocpp: OCPPPlatform?
    /// Where the devices that push events over HTTP POST them, when the platform takes pushes.
    public var push: PushPlatform?
    /// Commands that break the platform itself, for failover checks (`fault: platform-kill`).
    public var failover: FailoverHooks?
    /// The platform's names for the park's events and its status values.
    public var vocabulary = PlatformVocabulary() {
        didSet { applyVocabulary() }
    }

    static let topKeys = ["platform", "title", "broker", "devices", "observe", "commands", "meters", "video", "ocpp", "push", "vocabulary", "failover"]

    /// Shell commands (run with `/bin/sh -c`) that break and mend the platform under test:
    ///
    /// ```yaml
    /// failover:
    ///   kill_command: "docker kill --signal KILL park-platform-1"   # the active node, as kill -9 would
    ///   restart_command: "docker start park-platform-1"             # run after the check, to bring it back
    ///   broker_stop_command: "systemctl stop mosquitto"             # for `fault: broker-restart`
    ///   broker_start_command: "systemctl start mosquitto"           # must return once it takes connections
    ///   freeze_command: "docker pause park-platform-1"             # for `fault: platform-freeze` (SIGSTOP)
    ///   thaw_command: "docker unpause park-platform-1"
    /// ```
    ///
    /// Secrets a command needs come from its environment, never from the profile.
    public struct FailoverHooks: Sendable, Hashable {
        public var killCommand: String?
        public var restartCommand: String?
        public var brokerStopCommand: String?
        public var brokerStartCommand: String?
        public var freezeCommand: String?
        public var thawCommand: String?
        public init(
            killCommand: String? = nil, restartCommand: String? = nil, brokerStopCommand: String? = nil, brokerStartCommand: String? = nil,
            freezeCommand: String? = nil, thawCommand: String? = nil
        ) {
            self.killCommand = killCommand
            self.restartCommand = restartCommand
            self.brokerStopCommand = brokerStopCommand
            self.brokerStartCommand = brokerStartCommand
            self.freezeCommand = freezeCommand
            self.thawCommand = thawCommand
        }
    }

    /// Every stream reads status values through the vocabulary.
    private mutating func applyVocabulary() {
        for index in mqtt.indices { mqtt[index].fields.vocabulary = vocabulary }
        webhook?.fields.vocabulary = vocabulary
        for index in rest.indices { rest[index].fields.vocabulary = vocabulary }
    }

    /// The field mappings of every stream (MQTT, webhook, REST) that carries `kind`.
    public func mappings(of kind: ObservationKind) -> [FieldMapping] {
        mqtt.filter { $0.kind == kind }.map(\.fields) + [webhook].compactMap { $0 }.filter { $0.kind == kind }.map(\.fields)
            + rest.filter { $0.kind == kind }.map(\.fields)
    }

    /// Reads a platform profile. - Throws: every problem at once, `file:line:col: key.path: message`.
    public static func load(file: String) throws(ProfileErrors) -> PlatformProfile {
        let text = try ProfileText.read(file)
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String) throws(ProfileErrors) -> PlatformProfile {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a platform profile")
        else { throw ProfileErrors(log.sortedIssues) }
        let name = reader.string("platform", required: true, expected: "the platform's name") ?? ""
        let title = reader.string("title") ?? name

        var broker = Broker(host: "127.0.0.1", port: 1883)
        if let node = reader.requiredValue("broker", expected: "the broker: {url: mqtt://host:port}"),
           var brokerReader = MappingReader(node, path: "broker", log: log, what: "the broker") {
            if let url = brokerReader.string("url", required: true, expected: "mqtt://host:port") {
                if let (host, port) = parseMQTTURL(url) {
                    broker.host = host
                    broker.port = port
                } else {
                    log.add("expected mqtt://host:port, got '\(url)'", at: brokerReader.value("url"), path: "broker.url")
                }
            }
            broker.usernameEnvironment = brokerReader.string("username_env")
            broker.passwordEnvironment = brokerReader.string("password_env")
            brokerReader.finish(allowed: ["url", "username_env", "password_env"])
        }

        var deviceTopics: String?
        if let node = reader.value("devices"), var devices = MappingReader(node, path: "devices", log: log, what: "device settings") {
            deviceTopics = devices.string("topics")
            if let topics = deviceTopics, !topics.contains("{id}") {
                log.add("the device topic template must contain {id}", at: devices.value("topics"), path: "devices.topics")
            }
            devices.finish(allowed: ["topics"])
        }

        var mqtt: [MQTTStream] = []
        var webhook: Webhook?
        var rest: [RESTPoll] = []
        if let node = reader.requiredValue("observe", expected: "northbound streams: {mqtt: [...], webhook: {...}, rest: [...]}"),
           var observe = MappingReader(node, path: "observe", log: log, what: "the northbound streams") {
            for (index, item) in (observe.sequence("mqtt") ?? []).enumerated() {
                let path = "observe.mqtt[\(index)]"
                guard var stream = MappingReader(item, path: path, log: log, what: "an MQTT stream") else { continue }
                let text = stream.string("topic", required: true, expected: "the topic filter, e.g. platform/alarms")
                var pattern: TopicPattern?
                if let text {
                    do throws(FieldPathError) { pattern = try TopicPattern(text) } catch {
                        log.add(error.description, at: stream.value("topic"), path: path + ".topic")
                    }
                }
                let kind = observationKind(&stream, log: log)
                var fields = FieldMapping.parse(&stream, kind: kind, captured: Set(pattern.map { Array($0.captures.keys) } ?? []), log: log)
                fields?.topicCaptures = pattern?.captures ?? [:]
                fields?.conditions = FieldCondition.parse(&stream, log: log)
                stream.finish(allowed: ["topic", "as", "fields", "when"])
                if let pattern, let kind, let fields { mqtt.append(MQTTStream(topic: pattern.filter, kind: kind, fields: fields)) }
            }
            // Two streams that can read the same message must say which messages are whose.
            for (first, second) in mqtt.indices.flatMap({ a in mqtt.indices.filter { $0 > a }.map { (a, $0) } })
            where MQTTTopicFilter.overlaps(mqtt[first].topic, mqtt[second].topic) && mqtt[first].fields.conditions == mqtt[second].fields.conditions {
                log.add("observe.mqtt[\(first)] and observe.mqtt[\(second)] read the same messages (\(mqtt[first].topic), \(mqtt[second].topic)); "
                        + "give them different when: conditions (e.g. when: {$.type: alarm}) or topics that do not overlap",
                        at: observe.value("mqtt"), path: "observe.mqtt[\(second)]")
            }
            if let item = observe.value("webhook"), var hook = MappingReader(item, path: "observe.webhook", log: log, what: "the webhook") {
                let port = hook.int("port", range: 0 ... 65535) ?? 0
                let path = hook.string("path") ?? "/"
                let kind = observationKind(&hook, log: log)
                let fields = FieldMapping.parse(&hook, kind: kind, captured: [], log: log)
                let secret = hook.string("secret_env")
                let header = hook.string("secret_header") ?? "X-ParkBench-Secret"
                hook.finish(allowed: ["port", "path", "as", "fields", "secret_env", "secret_header"])
                if let kind, let fields {
                    webhook = Webhook(port: port, path: path, kind: kind, fields: fields, secretEnvironment: secret, secretHeader: header)
                }
            }
            for (index, item) in (observe.sequence("rest") ?? []).enumerated() {
                let path = "observe.rest[\(index)]"
                guard var poll = MappingReader(item, path: path, log: log, what: "a REST endpoint") else { continue }
                let url = poll.string("url", required: true, expected: "http://host:port/path")
                if let url, !url.hasPrefix("http://") {
                    log.add("only http:// URLs can be polled, got '\(url)'", at: poll.value("url"), path: path + ".url")
                }
                let interval = poll.duration("interval") ?? .seconds(1)
                let kind = observationKind(&poll, log: log)
                var items = try? FieldPath(parsing: "$")
                if let text = poll.string("items") {
                    do { items = try FieldPath(parsing: text) } catch {
                        log.add(error.description, at: poll.value("items"), path: path + ".items")
                        items = nil
                    }
                }
                let fields = FieldMapping.parse(&poll, kind: kind, captured: [], log: log)
                var headers: [String: String] = [:]
                for entry in poll.scalarMap("headers_env") ?? [] { headers[entry.key] = entry.text }
                poll.finish(allowed: ["url", "interval", "as", "items", "fields", "headers_env"])
                if let url, let kind, let fields, let items {
                    rest.append(RESTPoll(url: url, interval: interval, kind: kind, items: items, fields: fields, headerEnvironment: headers))
                }
            }
            observe.finish(allowed: ["mqtt", "webhook", "rest"])
        }

        var commands: CommandEndpoint?
        if let node = reader.value("commands"), var command = MappingReader(node, path: "commands", log: log, what: "the command endpoint") {
            let method = command.string("method") ?? "POST"
            let url = command.string("url", required: true, expected: "a URL template with {device}")
            let body = command.string("body") ?? #"{"command": "{command}", "arguments": {arguments}}"#
            command.finish(allowed: ["method", "url", "body"])
            if let url { commands = CommandEndpoint(method: method, url: url, body: body) }
        }
        var meters: MeterEndpoints?
        if let node = reader.value("meters"), var section = MappingReader(node, path: "meters", log: log, what: "the meter endpoints") {
            func endpoint(_ key: String) -> MeterEndpoints.Endpoint? {
                guard let address = section.string(key) else { return nil }
                if let endpoint = MeterEndpoints.Endpoint(parsing: address) { return endpoint }
                log.add("expected host:port, got '\(address)'", at: section.value(key), path: "meters.\(key)")
                return nil
            }
            let modbus = endpoint("modbus"), dlt645 = endpoint("dlt645")
            let units = section.int("units_per_endpoint", range: 1 ... 247) ?? 247
            let perBus = section.int("meters_per_bus", range: 1 ... 1000) ?? 32
            if section.value("modbus") == nil, section.value("dlt645") == nil {
                log.add("meters: needs modbus: host:port and/or dlt645: host:port (where the harness serves them)", at: node, path: "meters")
            }
            section.finish(allowed: ["modbus", "units_per_endpoint", "dlt645", "meters_per_bus"])
            if modbus != nil || dlt645 != nil {
                meters = MeterEndpoints(modbus: modbus, unitsPerEndpoint: units, dlt645: dlt645, metersPerBus: perBus)
            }
        }
        let video = reader.value("video").flatMap { VideoPlatform.read($0, log: log) }
        let ocpp = reader.value("ocpp").flatMap { OCPPPlatform.read($0, log: log) }
        let push = reader.value("push").flatMap { PushPlatform.read($0, log: log) }
        let vocabulary = reader.value("vocabulary").map { PlatformVocabulary.read($0, log: log) }
        var failover: FailoverHooks?
        if let node = reader.value("failover"), var section = MappingReader(node, path: "failover", log: log, what: "the failover commands") {
            failover = FailoverHooks(
                killCommand: section.string("kill_command"), restartCommand: section.string("restart_command"),
                brokerStopCommand: section.string("broker_stop_command"), brokerStartCommand: section.string("broker_start_command"),
                freezeCommand: section.string("freeze_command"), thawCommand: section.string("thaw_command"))
            for (first, second, why) in [("broker_stop_command", "broker_start_command", "a broker stopped must be started again"),
                                         ("freeze_command", "thaw_command", "a platform paused must be resumed")]
            where (section.value(first) == nil) != (section.value(second) == nil) {
                log.add("\(first) and \(second) go together: \(why)", at: section.value(first) ?? section.value(second), path: "failover")
            }
            section.finish(allowed: ["kill_command", "restart_command", "broker_stop_command", "broker_start_command", "freeze_command", "thaw_command"])
        }
        reader.finish(allowed: topKeys)
        if !log.issues.isEmpty { throw ProfileErrors(log.sortedIssues) }
        var profile = PlatformProfile(
            name: name, title: title, file: file, broker: broker, deviceTopics: deviceTopics, mqtt: mqtt, webhook: webhook,
            rest: rest, commands: commands, meters: meters)
        if let vocabulary { profile.vocabulary = vocabulary }
        profile.video = video
        profile.ocpp = ocpp
        profile.push = push
        profile.failover = failover
        return profile
    }

    private static func observationKind(_ reader: inout MappingReader, log: IssueLog) -> ObservationKind? {
        let allowed = ObservationKind.allCases.map(\.rawValue)
        guard let text = reader.string("as", required: true, expected: "what the stream carries: \(allowed.joined(separator: ", "))") else {
            return nil
        }
        guard let kind = ObservationKind(rawValue: text) else {
            log.add("unknown stream kind '\(text)'; expected one of: \(allowed.joined(separator: ", "))", at: reader.value("as"), path: reader.child("as"))
            return nil
        }
        return kind
    }

    /// `mqtt://host:port` → (host, port); the port defaults to 1883.
    public static func parseMQTTURL(_ url: String) -> (String, Int)? {
        guard url.hasPrefix("mqtt://") else { return nil }
        let rest = url.dropFirst("mqtt://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1 ... 65535).contains(port) else { return nil }
            return (String(host), port)
        }
        return (String(host), 1883)
    }
}

/// Where in a northbound message the harness finds what it needs: a field path, or a level of
/// the MQTT topic (`{device}` in the stream's topic). `device` is always needed; the rest depend
/// on what the stream carries.
public struct FieldMapping: Sendable, Hashable {
    /// Nil when the device id comes from the topic (``topicCaptures``).
    public var device: FieldPath?
    public var event: FieldPath?
    public var messageID: FieldPath?
    public var sequence: FieldPath?
    public var status: FieldPath?
    public var values: FieldPath?
    /// The profile's vocabulary, for reading status values (set by the profile).
    public var vocabulary = PlatformVocabulary()
    /// Field name (`device`, `event`, …) → the topic level it is read from.
    public var topicCaptures: [String: Int] = [:]
    /// What a message must hold to belong to the stream (`when:`), when streams share a topic.
    public var conditions: [FieldCondition] = []

    /// A field's text: from the message at its path, or from the topic level it is captured from.
    public func text(_ field: String, path: FieldPath?, in json: Any, topic: String?) -> String? {
        if let path { return path.string(in: json) }
        guard let level = topicCaptures[field], let topic else { return nil }
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        return level < levels.count ? String(levels[level]) : nil
    }

    static let keys = ["device", "event", "msg_id", "seq", "status", "values"]

    /// - Parameter captured: the fields the stream's topic captures (they need no path).
    static func parse(_ reader: inout MappingReader, kind: ObservationKind?, captured: Set<String>, log: IssueLog) -> FieldMapping? {
        guard let node = reader.requiredValue("fields", expected: "the field mapping, e.g. {device: $.device}"),
              var fields = MappingReader(node, path: reader.child("fields"), log: log, what: "a field mapping")
        else { return nil }
        func path(_ key: String, required: Bool = false) -> FieldPath? {
            guard let text = fields.string(key, required: required, expected: "a field path such as $.\(key)") else { return nil }
            do { return try FieldPath(parsing: text) } catch {
                log.add(error.description, at: fields.value(key), path: fields.child(key))
                return nil
            }
        }
        let device = path("device", required: !captured.contains("device"))
        let mapping = FieldMapping(
            device: device, event: path("event"), messageID: path("msg_id"),
            sequence: path("seq"), status: path("status"), values: path("values"))
        switch kind {
        case .alarm where mapping.event == nil && !captured.contains("event"):
            log.add("an alarm stream needs fields.event (or {event} in its topic)", at: node, path: fields.path)
        case .status where mapping.status == nil && !captured.contains("status"):
            log.add("a status stream needs fields.status (or {status} in its topic)", at: node, path: fields.path)
        case .telemetry where mapping.values == nil:
            log.add("a telemetry stream needs fields.values", at: node, path: fields.path)
        default: break
        }
        for field in captured.intersection(["device", "event", "msg_id", "seq", "status"]) where fields.keys.contains(field) {
            log.add("\(field) comes from the topic ({\(field)}); a path for it as well is one too many", at: node, path: fields.child(field))
        }
        fields.finish(allowed: keys)
        if device == nil && !captured.contains("device") { return nil }
        return mapping
    }
}

/// A `when:` condition of a stream: the field at `path` must read `value` (as text).
public struct FieldCondition: Sendable, Hashable {
    public var path: FieldPath
    public var value: String

    public func holds(in json: Any) -> Bool { path.string(in: json) == value }

    /// Reads `when: {$.type: alarm, …}`; none when absent.
    static func parse(_ reader: inout MappingReader, log: IssueLog) -> [FieldCondition] {
        var conditions: [FieldCondition] = []
        for entry in reader.scalarMap("when") ?? [] {
            do { conditions.append(FieldCondition(path: try FieldPath(parsing: entry.key), value: entry.text)) } catch {
                log.add(error.description, at: entry.node, path: reader.child("when"))
            }
        }
        return conditions.sorted { ($0.path.description, $0.value) < ($1.path.description, $1.value) }
    }
}

/// A stream's topic as a profile writes it: an MQTT filter whose whole levels may be `{name}`,
/// a `+` that also gives the field `name` (`acme/{device}/alarm`).
struct TopicPattern {
    var filter: String
    var captures: [String: Int]

    static let capturable = ["device", "event", "msg_id", "seq", "status"]

    init(_ text: String) throws(FieldPathError) {
        var levels: [String] = []
        var captures: [String: Int] = [:]
        for (index, level) in text.split(separator: "/", omittingEmptySubsequences: false).enumerated() {
            if level.hasPrefix("{") && level.hasSuffix("}") && level.count > 2 {
                let name = String(level.dropFirst().dropLast())
                guard Self.capturable.contains(name) else {
                    throw FieldPathError("'{\(name)}' in topic '\(text)': a topic level can give \(Self.capturable.joined(separator: ", "))")
                }
                guard captures[name] == nil else { throw FieldPathError("'{\(name)}' twice in topic '\(text)'") }
                captures[name] = index
                levels.append("+")
            } else if level.contains("{") || level.contains("}") {
                throw FieldPathError("topic '\(text)': '{name}' must be a whole level, got '\(level)'")
            } else {
                levels.append(String(level))
            }
        }
        filter = levels.joined(separator: "/")
        self.captures = captures
    }
}
