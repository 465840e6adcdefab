import Foundation
import Logging
import ParkMQTT
import Synchronization

/// Tries one MQTT login and reports what the broker said: accepted, refused (with the CONNACK
/// reason), or no answer. The conformance `auth` check's instrument — it asks the broker the
/// way a rogue device would, and stops at the first answer (no retries).
public enum MQTTAuthProbe {
    public enum Outcome: Sendable, Hashable, CustomStringConvertible {
        case accepted
        case refused(String)
        case unreachable(String)

        public var description: String {
            switch self {
            case .accepted: "accepted"
            case .refused(let reason): "refused (\(reason))"
            case .unreachable(let reason): "no answer (\(reason))"
            }
        }
    }

    /// Connects as `clientID` with `credentials` and waits up to `timeout` for the answer.
    public static func attempt(
        host: String, port: Int, clientID: String, credentials: MQTTCredentials?, timeout: Duration = .seconds(5)
    ) async -> Outcome {
        let recorder = Recorder()
        let pool: MQTTClientPool
        do {
            // A refusal is the expected answer here, not something to warn about; the check reports it.
            var quiet = Logger(label: "parkbench.auth-probe")
            quiet.logLevel = .error
            pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1, logger: quiet), delegate: recorder)
            try pool.addClient(MQTTClientConfiguration(
                clientID: clientID, host: host, port: port, credentials: credentials,
                reconnect: MQTTReconnectPolicy(base: .seconds(60), cap: .seconds(60), onAuthenticationFailure: .stop)))
        } catch {
            return .unreachable("\(error)")
        }
        defer { pool.shutdown() }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let outcome = recorder.outcome { return outcome }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return recorder.outcome ?? .unreachable("no CONNACK within \(timeout)")
    }

    private final class Recorder: MQTTClientPoolDelegate, Sendable {
        private let state = Mutex<Outcome?>(nil)
        var outcome: Outcome? { state.withLock { $0 } }

        func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
            state.withLock { if $0 == nil { $0 = .accepted } }
        }

        func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
            state.withLock { outcome in
                guard outcome == nil else { return }
                if case .connectionRefused(let code, let reason) = error {
                    outcome = .refused("CONNACK \(code): \(reason)")
                } else {
                    outcome = .unreachable("\(error)")
                }
            }
        }
    }
}
