import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif
import ParkMQTT
import Synchronization
import ParkTestSupport
import Testing

extension MQTTClientPoolTests {
    /// A wrong password is refused with an error that says "not authorized", reported (and logged)
    /// once per attempt, and retried with backoff: with a 200 ms base and equal jitter (every delay
    /// at least half its ceiling: 100, 200, 400, 800 ms) at most 5 attempts fit in 1.5 s, where a
    /// tight loop would make hundreds. A client with the `.stop` policy gives up after one refusal.
    @Test func wrongPasswordIsRefusedOncePerBackoffAttempt() async throws {
        let directory = try TemporaryDirectory()
        let passwords = directory.path("passwords")
        let tool = try ChildProcess(try executablePath("mosquitto_passwd"), ["-b", "-c", passwords, "device", "s3cret"])
        #expect(tool.waitForExit(timeout: .seconds(10)) && tool.status == 0)
        let broker = try MosquittoBroker(
            options: ["allow_anonymous false", "password_file \(passwords)"], directory: directory)

        let logs = CapturedLogs()
        let logger = Logger(label: "test.mqtt") { _ in CapturingLogHandler(store: logs) }
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .init(logger: logger), delegate: recorder)
        defer { pool.shutdown() }

        let backoff = MQTTReconnectPolicy(base: .milliseconds(200), cap: .seconds(5), jitter: .equal)
        let wrongPassword = MQTTCredentials(username: "device", password: "guess")
        let start = ContinuousClock.now
        let intruder = try pool.addClient(
            .init(clientID: "intruder", port: broker.port, credentials: wrongPassword, reconnect: backoff))
        var stopping = backoff
        stopping.onAuthenticationFailure = .stop
        let quitter = try pool.addClient(
            .init(clientID: "quitter", port: broker.port, credentials: wrongPassword, reconnect: stopping))
        let device = try pool.addClient(
            .init(clientID: "device", port: broker.port, credentials: .init(username: "device", password: "s3cret")))

        try await waitUntil("the right password connects") { recorder.read { $0.connects[device] == 1 } }
        try await Task.sleep(until: start + .milliseconds(1500))  // the observation window itself

        let failures = recorder.failures(of: intruder)
        #expect(failures.count >= 2, "the client must keep retrying")
        #expect(failures.count <= 5, "\(failures.count) attempts in 1.5 s is not backing off")
        for failure in failures {
            #expect(failure.error.isAuthenticationFailure)
            #expect("\(failure.error)".contains("not authorized"), "\(failure.error)")
            #expect(failure.error == .connectionRefused(reasonCode: 5, reason: "Connection Refused: not authorised."))
            let retryIn = try #require(failure.retryIn)
            let ceiling = backoff.ceiling(afterFailures: failure.failures)
            #expect(retryIn >= ceiling / 2 && retryIn <= ceiling)
        }
        #expect(failures.map(\.failures) == Array(1...failures.count))
        for (earlier, later) in zip(failures, failures.dropFirst()) {
            #expect(later.at - earlier.at >= .milliseconds(95), "attempts only \(later.at - earlier.at) apart")
        }

        let quitterFailures = recorder.failures(of: quitter)
        #expect(quitterFailures.count == 1)
        #expect(quitterFailures.first?.retryIn == nil)
        #expect(recorder.read { $0.connects[intruder] == nil && $0.connects[quitter] == nil })

        // Counters, delegate and log agree: one refusal reported per attempt.
        try await waitUntil("counters settle") {
            let statistics = pool.statistics
            return statistics.connectsFailed == recorder.read { $0.connectFailures.count }
                && statistics.connectsAttempted - statistics.connectsSucceeded - statistics.connectsFailed <= 1
        }
        let statistics = pool.statistics
        #expect(statistics.connectsRefused == statistics.connectsFailed)
        #expect(statistics.connectedClients == 1)
        // A warning opens each streak of failures (and one says when the client gives up); the
        // retries in between are debug lines, not a flood.
        let warnings = logs.messages(containing: "MQTT connect failed", client: "intruder")
        #expect(!warnings.isEmpty)
        #expect(warnings.count == recorder.failures(of: intruder).filter { $0.failures == 1 || $0.retryIn == nil }.count)
        #expect(warnings.allSatisfy { $0.contains("not authorized") })
    }

    /// Clients with persistent sessions and QoS 1 subscriptions survive a broker restart (with
    /// `persistence true`): they reconnect by themselves, the subscriber's session is still there
    /// (`sessionPresent`), and every message is delivered, including ones published while the
    /// subscriber was away.
    ///
    /// The second batch is published while the publisher itself is disconnected, so the pool holds it
    /// (offline queue) and sends it right after its reconnect; the broker then keeps it for the
    /// subscriber, whose backoff (1.5 s, no jitter) makes it return later than the publisher.
    @Test func persistentSessionsSurviveBrokerRestart() async throws {
        let directory = try TemporaryDirectory()
        let broker = try MosquittoBroker(
            options: ["persistence true", "persistence_location \(directory.url.path)/"], directory: directory)
        let recorder = PoolRecorder()
        let slowReturn = MQTTReconnectPolicy(base: .milliseconds(1500), cap: .milliseconds(1500), jitter: .none)
        let quickReturn = MQTTReconnectPolicy(base: .milliseconds(50), cap: .milliseconds(200), jitter: .none)
        let pool = try MQTTClientPool(configuration: .forTests(ioThreads: 2), delegate: recorder)
        defer { pool.shutdown() }

        let subscriber = try pool.addClient(
            .init(
                clientID: "persistent-subscriber", port: broker.port, session: .persistent(),
                subscriptions: [MQTTSubscription("plant/#", qos: .atLeastOnce)], reconnect: slowReturn))
        let publisher = try pool.addClient(
            .init(clientID: "persistent-publisher", port: broker.port, session: .persistent(), reconnect: quickReturn))
        try await waitUntil("subscribed") { recorder.isSubscribed(subscriber, to: "plant/#") }
        try await waitUntil("publisher connected") { recorder.read { $0.connects[publisher] == 1 } }

        func publish(batch: Int) throws {
            for i in 0..<10 {
                try pool.publish(
                    publisher, topic: "plant/meter-\(i)", payload: Array("batch \(batch) reading \(i)".utf8),
                    qos: .atLeastOnce, tag: UInt64(batch * 100 + i))
            }
        }
        try publish(batch: 1)
        try await waitUntil("batch 1 delivered") { recorder.received(by: subscriber).count >= 10 }

        broker.stop()
        try await waitUntil("both clients noticed the broker is gone") {
            recorder.read { events in Set(events.disconnects.map(\.client)) == [subscriber, publisher] }
        }
        #expect(pool.statistics.connectedClients == 0)
        try publish(batch: 2)  // held by the pool: the publisher is disconnected

        try broker.start()
        let restartedAt = ContinuousClock.now
        try await waitUntil("batch 2 acknowledged by the restarted broker") { recorder.acknowledgedCount() == 20 }
        let publisherBack = try #require(recorder.read { $0.connectedAt[publisher] }) - restartedAt
        #expect(recorder.read { $0.connects[subscriber] } == 1, "the subscriber must still be away for this test to mean anything")

        try await waitUntil("subscriber reconnected and caught up", timeout: .seconds(15)) {
            Set(recorder.received(by: subscriber).map { String(decoding: $0.payload, as: UTF8.self) }).count == 20
        }
        let subscriberBack = try #require(recorder.read { $0.connectedAt[subscriber] }) - restartedAt
        #expect(recorder.read { $0.sessionPresent[subscriber] } == [false, true], "session restored from disk")

        let expected = Set((1...2).flatMap { batch in (0..<10).map { "batch \(batch) reading \($0)" } })
        let received = recorder.received(by: subscriber)
        #expect(Set(received.map { String(decoding: $0.payload, as: UTF8.self) }) == expected)
        #expect(received.count - expected.count >= 0, "QoS 1 may duplicate, never lose")
        let statistics = pool.statistics
        #expect(statistics.messagesPublished == 20)
        #expect(statistics.messagesAcknowledged == 20)
        #expect(statistics.publishesFailed == 0)
        #expect(statistics.reconnects == 2)
        #expect(statistics.connectionsLost == 2)
        print("broker restart: publisher back after \(publisherBack), subscriber after \(subscriberBack); \(received.count - expected.count) duplicate(s)")
    }

    /// A session left on the broker is gone after ``MQTTSessionEnd/end(clientID:host:port:credentials:timeout:)``:
    /// the next persistent connect under that id finds none (and a broker that is not there is
    /// reported at once, not after the timeout).
    @Test func endingASessionLeavesNoneBehind() async throws {
        let broker = try MosquittoBroker()
        func connectPersistent() async throws -> Bool {
            let recorder = PoolRecorder()
            let pool = try MQTTClientPool(configuration: .forTests(ioThreads: 1), delegate: recorder)
            defer { pool.shutdown() }
            let client = try pool.addClient(.init(
                clientID: "left-behind", port: broker.port, session: .persistent(), subscriptions: [MQTTSubscription("plant/#", qos: .atLeastOnce)]))
            try await waitUntil("connected") { recorder.read { $0.connects[client] == 1 } }
            return try #require(recorder.read { $0.sessionPresent[client]?.first })
        }
        #expect(try await connectPersistent() == false)
        #expect(try await connectPersistent() == true, "mosquitto kept the session of the first")
        #expect(MQTTSessionEnd.end(clientID: "left-behind", host: "127.0.0.1", port: broker.port, credentials: nil))
        #expect(try await connectPersistent() == false, "the clean connect discarded it")

        broker.stop()
        let started = ContinuousClock.now
        #expect(!MQTTSessionEnd.end(clientID: "left-behind", host: "127.0.0.1", port: broker.port, credentials: nil))
        #expect(ContinuousClock.now - started < .seconds(1), "a refused connect ends the wait")
    }

    /// Idle clients stay connected past 1.5 × keep-alive, the point where mosquitto drops a client it
    /// has not heard from: the pool's `mosquitto_loop_misc` sweep sends PINGREQ in time.
    @Test func keepAliveHoldsIdleConnections() async throws {
        let broker = try MosquittoBroker(options: ["log_type debug"])
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(ioThreads: 2), delegate: recorder)
        defer { pool.shutdown() }
        for index in 0..<4 {
            try pool.addClient(.init(clientID: "idle-\(index)", port: broker.port, keepAlive: .seconds(5)))
        }
        try await waitUntil("idle clients connected") { pool.statistics.connectedClients == 4 }
        let stayed = try await holds(for: .seconds(8)) { recorder.read { $0.disconnects.isEmpty } }
        #expect(stayed, "disconnects: \(recorder.read { $0.disconnects })")
        #expect(pool.statistics.connectionsLost == 0)
        for index in 0..<4 {
            #expect(broker.log.contains("Received PINGREQ from idle-\(index)"))
        }
    }

    /// A "broker" that completes the TCP handshake (the kernel does that) but never answers CONNECT:
    /// the attempt fails with a connect timeout, gives its connect-window slot back, and retries.
    @Test func silentBrokerTimesOutAndFreesTheConnectWindow() async throws {
        let listener = try SilentListener()
        let recorder = PoolRecorder()
        var configuration = MQTTClientPoolConfiguration.forTests(connectWindow: 1)
        configuration.connectTimeout = .milliseconds(300)
        let pool = try MQTTClientPool(configuration: configuration, delegate: recorder)
        defer { pool.shutdown() }
        let policy = MQTTReconnectPolicy(base: .seconds(30), cap: .seconds(30), jitter: .none)
        let first = try pool.addClient(.init(clientID: "patient-1", port: listener.port, reconnect: policy))
        let second = try pool.addClient(.init(clientID: "patient-2", port: listener.port, reconnect: policy))

        try await waitUntil("both attempts timed out", timeout: .seconds(5)) {
            !recorder.failures(of: first).isEmpty && !recorder.failures(of: second).isEmpty
        }
        let firstFailure = try #require(recorder.failures(of: first).first)
        let secondFailure = try #require(recorder.failures(of: second).first)
        #expect(firstFailure.error == .connectTimeout(milliseconds: 300))
        #expect(secondFailure.error == .connectTimeout(milliseconds: 300))
        // A window of one: the second attempt could only start once the first gave its slot back.
        #expect(secondFailure.at - firstFailure.at >= .milliseconds(250))
        #expect(firstFailure.retryIn == .seconds(30))
        let statistics = pool.statistics
        #expect(statistics.connectsInFlight == 0)
        #expect(statistics.connectsFailed == 2 && statistics.connectsAttempted == 2)
    }

    /// A client whose connection is cut without DISCONNECT has its will published; one that
    /// disconnects politely does not.
    @Test func lastWillIsPublishedOnAbruptDisconnect() async throws {
        let broker = try MosquittoBroker()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }

        let watcher = try pool.addClient(
            .init(clientID: "watcher", port: broker.port, subscriptions: [MQTTSubscription("t/status")]))
        try await waitUntil("watcher subscribed") { recorder.isSubscribed(watcher, to: "t/status") }
        let polite = try pool.addClient(
            .init(clientID: "polite", port: broker.port, will: MQTTWill(topic: "t/status", payload: Array("polite gone".utf8))))
        let crashing = try pool.addClient(
            .init(clientID: "crashing", port: broker.port, will: MQTTWill(topic: "t/status", payload: Array("sensor-7 offline".utf8))))
        try await waitUntil("clients connected") { pool.statistics.connectedClients == 3 }

        try pool.disconnect(polite)
        try await waitUntil("polite client disconnected") {
            recorder.read { $0.disconnects.contains { $0.client == polite && $0.error == nil } }
        }
        try pool.dropConnection(crashing, reconnect: false)
        try await waitUntil("will delivered") { !recorder.received(by: watcher).isEmpty }

        let received = recorder.received(by: watcher).map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(received == ["sensor-7 offline"])
        let drop = try #require(recorder.read { $0.disconnects.first { $0.client == crashing } })
        #expect(drop.error == .connectionLost("dropped on request, without DISCONNECT"))
        #expect(pool.statistics.connectedClients == 1)
    }
}

/// Keeps what a ``CapturingLogHandler`` logged, for assertions.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Lines containing `text` whose metadata names the MQTT client `client`.
    func messages(containing text: String, client: String) -> [String] {
        lines.withLock { lines in
            lines.filter { $0.contains(text) && $0.split(separator: " ").contains("mqtt.client=\(client)") }
        }
    }
}

/// A swift-log handler (a value, as swift-log expects) that renders into a shared ``CapturedLogs``.
struct CapturingLogHandler: LogHandler {
    let store: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        store.append("\(event.level) \(event.message) \(rendered)")
    }
}

/// A TCP listener on 127.0.0.1 that never accepts or answers: connects complete in the kernel's
/// backlog and then hear nothing, like a hung broker.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw BrokerError("could not listen on 127.0.0.1: errno \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
