/// One publish waiting for its I/O thread. The topic and payload are the caller's values, retained
/// rather than copied, so enqueueing allocates nothing when the caller reuses them.
struct MQTTOutgoingMessage: Sendable {
    var slot: Int
    var topic: String
    var payload: [UInt8]
    var tag: UInt64
    var qos: MQTTQoS
    var retain: Bool
}

/// Work handed from any thread to an I/O thread, in one FIFO so a client's commands and publishes
/// keep the order the caller issued them in (a publish before `disconnect` goes out first).
enum MQTTIOCommand: Sendable {
    case publish(MQTTOutgoingMessage)
    indirect case add(slot: Int, handle: MQTTClientHandle, configuration: MQTTClientConfiguration, connect: Bool)
    case connect(slot: Int)
    case disconnect(slot: Int)
    case dropConnection(slot: Int, reconnect: Bool)
    case remove(slot: Int)
    case subscribe(slot: Int, [MQTTSubscription])
    case unsubscribe(slot: Int, [String])
    case shutdown
}
