/// Receives what happens to an ``MQTTClientPool``'s clients: connects, failures, acknowledgements,
/// incoming messages.
///
/// Methods run on the pool's I/O threads, possibly several at once (one per thread), and a client's
/// events always arrive in order on its own thread. They must return quickly and never block: every
/// client on that thread waits meanwhile. Calling ``MQTTClientPool/publish(_:topic:payload:qos:retain:tag:)``
/// and the other non-blocking pool methods from here is fine; ``MQTTClientPool/shutdown()`` is not
/// (it would wait for the very thread it runs on). Every method has an empty default.
public protocol MQTTClientPoolDelegate: AnyObject, Sendable {
    /// The broker accepted the client. `latency` runs from the start of this attempt's TCP connect.
    func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration)

    /// A connect attempt failed; reported once per attempt. `failures` counts consecutive failures;
    /// `retryIn` is nil when the client gives up (authentication failure with `.stop`, or shutdown).
    func mqttClientDidFailToConnect(
        _ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?)

    /// An established connection ended. `error` is nil when it ended on request (DISCONNECT sent);
    /// `retryIn` is nil when the client will not reconnect by itself.
    func mqttClientDidDisconnect(_ client: MQTTClientHandle, error: MQTTError?, retryIn: Duration?)

    /// SUBACK arrived. `grantedQoS[i]` answers `subscriptions[i]`: 0–2, or ≥ 128 for a refusal.
    func mqttClientDidSubscribe(
        _ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32])

    /// The outcome of one publish, identified by the caller's `tag`.
    func mqttPublishDidComplete(_ client: MQTTClientHandle, tag: UInt64, outcome: MQTTPublishOutcome)

    /// A message arrived for one of the client's subscriptions.
    func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage)
}

extension MQTTClientPoolDelegate {
    public func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {}
    public func mqttClientDidFailToConnect(
        _ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?
    ) {}
    public func mqttClientDidDisconnect(_ client: MQTTClientHandle, error: MQTTError?, retryIn: Duration?) {}
    public func mqttClientDidSubscribe(
        _ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]
    ) {}
    public func mqttPublishDidComplete(_ client: MQTTClientHandle, tag: UInt64, outcome: MQTTPublishOutcome) {}
    public func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {}
}

/// Names one client of one pool. Cheap to copy and store; stable across reconnects.
public struct MQTTClientHandle: Sendable, Hashable, CustomStringConvertible {
    /// Dense per pool (0, 1, 2, … in the order clients were added), so callers can index arrays by it.
    public let index: Int
    let poolID: UInt32

    public var description: String { "mqtt-client#\(index)" }
}
