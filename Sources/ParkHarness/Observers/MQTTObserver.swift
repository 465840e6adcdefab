import Foundation
import ParkCore
import ParkMQTT
import Synchronization

/// Watches a platform's northbound MQTT topics, as a control room would, and turns each message
/// into an ``Observation`` through the profile's field mapping.
public final class MQTTObserver: MQTTClientPoolDelegate, Sendable {
    private let streams: [PlatformProfile.MQTTStream]
    private let log: ObservationLog
    private let pool: Mutex<MQTTClientPool?> = Mutex(nil)
    private let subscribed = Atomic<Bool>(false)
    private let failure = Mutex<String?>(nil)

    public init(streams: [PlatformProfile.MQTTStream], log: ObservationLog) {
        self.streams = streams
        self.log = log
    }

    /// Connects to the broker and subscribes to every stream's topic. With `keepSession` the
    /// broker keeps the observer's session (subscriptions, QoS 1 messages queued while it is
    /// away) across reconnects and, with its persistence on, across a restart of its own.
    public func start(broker: PlatformProfile.Broker, credentials: MQTTCredentials?, keepSession: Bool = false) throws(MQTTError) {
        let newPool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: self)
        pool.withLock { $0 = newPool }
        try newPool.addClient(MQTTClientConfiguration(
            clientID: "parkbench-observer-\(getpid())", host: broker.host, port: broker.port,
            session: keepSession ? .persistent() : .clean, credentials: credentials,
            subscriptions: streams.map { MQTTSubscription($0.topic, qos: .atLeastOnce) },
            reconnect: MQTTReconnectPolicy(base: .milliseconds(200), cap: .seconds(1))))
    }

    public func stop() {
        let current = pool.withLock { pool -> MQTTClientPool? in
            defer { pool = nil }
            return pool
        }
        current?.shutdown()
    }

    /// True once the broker granted the subscriptions.
    public var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    /// Why the connection failed, if it did (refused, unreachable).
    public var connectionFailure: String? { failure.withLock { $0 } }

    public func mqttClientDidSubscribe(_ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]) {
        if grantedQoS.contains(where: { $0 > 2 }) {
            failure.withLock { $0 = "the broker refused the subscription to \(subscriptions.map(\.filter).joined(separator: ", "))" }
            return
        }
        subscribed.store(true, ordering: .releasing)
    }

    public func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
        failure.withLock { $0 = "\(error)" }
    }

    public func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        Self.observe(topic: message.topic, payload: message.payload, arrived: SystemClock.wallNow().nanosecondsSinceEpoch,
                     streams: streams, log: log)
    }

    /// Turns one northbound message into observations of every stream it belongs to (streams
    /// sharing a topic tell theirs apart by `when:`), or a problem in `log`: what any transport
    /// that carries the platform's MQTT messages does with them.
    static func observe(topic: String, payload: [UInt8], arrived: Int64, streams: [PlatformProfile.MQTTStream], log: ObservationLog) {
        guard streams.contains(where: { MQTTTopicFilter.matches($0.topic, topic: topic) }) else { return }
        let source = "mqtt \(topic)"
        guard let json = try? JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed]) else {
            log.report(ObservationProblem(source: source, message: "not JSON: \(String(decoding: payload.prefix(80), as: UTF8.self))"))
            return
        }
        let mine = streams.filter { $0.accepts(topic: topic, json: json) }
        if mine.isEmpty {
            log.report(ObservationProblem(source: source, message: "matches no stream's when: condition"))
        }
        for stream in mine {
            switch Observation.mapped(json, fields: stream.fields, kind: stream.kind, source: source, arrived: arrived, topic: topic) {
            case .success(let observation): log.append(observation)
            case .failure(let problem): log.report(problem)
            }
        }
    }
}

/// MQTT topic-filter matching (`+` one level, `#` the rest), for routing received messages to
/// the stream that asked for them.
public enum MQTTTopicFilter {
    public static func matches(_ filter: String, topic: String) -> Bool {
        let filterLevels = filter.split(separator: "/", omittingEmptySubsequences: false)
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in filterLevels.enumerated() {
            if level == "#" { return true }
            guard index < topicLevels.count else { return false }
            if level != "+" && level != topicLevels[index] { return false }
        }
        return filterLevels.count == topicLevels.count
    }

    /// Whether some topic matches both filters.
    public static func overlaps(_ first: String, _ second: String) -> Bool {
        let a = first.split(separator: "/", omittingEmptySubsequences: false)
        let b = second.split(separator: "/", omittingEmptySubsequences: false)
        for index in 0 ..< max(a.count, b.count) {
            let left = index < a.count ? a[index] : nil, right = index < b.count ? b[index] : nil
            if left == "#" || right == "#" { return true }
            guard let left, let right else { return false }
            if left != "+" && right != "+" && left != right { return false }
        }
        return true
    }
}
