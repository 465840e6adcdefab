import Foundation
import Logging
import ParkMQTT
import Synchronization

extension MQTTClientPoolConfiguration {
    /// Pool settings for tests: the pool's own log is kept to errors (the recorder sees every event).
    static func forTests(ioThreads: Int = 1, connectWindow: Int = 64) -> MQTTClientPoolConfiguration {
        var logger = Logger(label: "parkmqtt.tests")
        logger.logLevel = .error
        return MQTTClientPoolConfiguration(ioThreads: ioThreads, connectWindow: connectWindow, logger: logger)
    }
}

/// An ``MQTTClientPoolDelegate`` that writes down everything, for tests to poll.
final class PoolRecorder: MQTTClientPoolDelegate {
    struct ConnectFailure {
        var client: MQTTClientHandle
        var error: MQTTError
        var failures: Int
        var retryIn: Duration?
        var at: ContinuousClock.Instant
    }

    struct Events {
        var connects: [MQTTClientHandle: Int] = [:]
        var sessionPresent: [MQTTClientHandle: [Bool]] = [:]
        var connectedAt: [MQTTClientHandle: ContinuousClock.Instant] = [:]
        var connectFailures: [ConnectFailure] = []
        var disconnects: [(client: MQTTClientHandle, error: MQTTError?)] = []
        var subscribed: [MQTTClientHandle: [String: Int32]] = [:]
        var outcomes: [UInt64: [MQTTPublishOutcome]] = [:]
        var received: [(client: MQTTClientHandle, message: MQTTMessage)] = []
    }

    let events = Mutex(Events())

    func read<T>(_ body: (Events) -> T) -> T { events.withLock { body($0) } }

    func isSubscribed(_ client: MQTTClientHandle, to filter: String) -> Bool {
        read { $0.subscribed[client]?[filter] != nil }
    }

    func received(by client: MQTTClientHandle) -> [MQTTMessage] {
        read { $0.received.filter { $0.client == client }.map(\.message) }
    }

    func acknowledgedCount() -> Int {
        read { events in
            events.outcomes.values.filter { outcomes in
                outcomes.contains { if case .acknowledged = $0 { true } else { false } }
            }.count
        }
    }

    func failures(of client: MQTTClientHandle) -> [ConnectFailure] {
        read { $0.connectFailures.filter { $0.client == client } }
    }

    func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        let now = ContinuousClock.now
        events.withLock {
            $0.connects[client, default: 0] += 1
            $0.sessionPresent[client, default: []].append(sessionPresent)
            $0.connectedAt[client] = now
        }
    }

    func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
        let failure = ConnectFailure(client: client, error: error, failures: failures, retryIn: retryIn, at: .now)
        events.withLock { $0.connectFailures.append(failure) }
    }

    func mqttClientDidDisconnect(_ client: MQTTClientHandle, error: MQTTError?, retryIn: Duration?) {
        events.withLock { $0.disconnects.append((client, error)) }
    }

    func mqttClientDidSubscribe(_ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]) {
        events.withLock {
            for (subscription, granted) in zip(subscriptions, grantedQoS) {
                $0.subscribed[client, default: [:]][subscription.filter] = granted
            }
        }
    }

    func mqttPublishDidComplete(_ client: MQTTClientHandle, tag: UInt64, outcome: MQTTPublishOutcome) {
        events.withLock { $0.outcomes[tag, default: []].append(outcome) }
    }

    func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        events.withLock { $0.received.append((client, message)) }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` every few milliseconds until it holds; throws after `timeout`. Returns how long
/// it took. Tests wait for conditions this way, never with fixed sleeps.
@discardableResult
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () throws -> Bool
) async throws -> Duration {
    let start = ContinuousClock.now
    while try !condition() {
        guard ContinuousClock.now - start < timeout else {
            throw TimedOut(description: "timed out after \(timeout) waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    return ContinuousClock.now - start
}

/// Lets time pass while checking that `condition` keeps holding (for "nothing more happens" checks
/// that have no event to wait for).
func holds(for duration: Duration, _ condition: () -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + duration
    while ContinuousClock.now < end {
        guard condition() else { return false }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
