import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ends a persistent MQTT 3.1.1 session a client left on the broker: connects once more under the
/// same client id with a clean session (the broker then discards the stored one — its
/// subscriptions and what it queued) and disconnects.
///
/// For a process that keeps a persistent session while it runs (to come through a broker
/// restart) but should not leave one behind when it stops cleanly: a session nobody resumes keeps
/// queueing QoS 1 messages on the broker.
public enum MQTTSessionEnd {
    /// Connects `clientID` with a clean session and disconnects; false when the broker did not
    /// accept the connection within `timeout` or refused it (the session, if any, then stays).
    @discardableResult
    public static func end(
        clientID: String, host: String, port: Int, credentials: MQTTCredentials?, timeout: Duration = .seconds(2)
    ) -> Bool {
        let watcher = ConnectWatcher()
        guard let pool = try? MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: watcher) else { return false }
        defer { pool.shutdown() }
        guard (try? pool.addClient(MQTTClientConfiguration(
            clientID: clientID, host: host, port: port, session: .clean, credentials: credentials,
            reconnect: MQTTReconnectPolicy(onAuthenticationFailure: .stop)))) != nil else { return false }
        let deadline = ContinuousClock.now + timeout
        while !watcher.connected.load(ordering: .acquiring), !watcher.failed.load(ordering: .acquiring), ContinuousClock.now < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
            nanosleep(&pause, nil)
        }
        return watcher.connected.load(ordering: .acquiring)
    }

    private final class ConnectWatcher: MQTTClientPoolDelegate, Sendable {
        let connected = Atomic<Bool>(false)
        let failed = Atomic<Bool>(false)
        func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
            failed.store(true, ordering: .releasing)
        }
        func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
            connected.store(true, ordering: .releasing)
        }
    }
}
