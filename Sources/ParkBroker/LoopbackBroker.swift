/// A real MQTT broker a test or demo started on a free loopback port, private to it.
///
/// ``MosquittoBroker`` and ``RabbitMQBroker`` conform, so a harness run, the reference platform
/// and their tests can go through either without knowing which.
public protocol LoopbackBroker: AnyObject {
    /// Where MQTT clients connect (`127.0.0.1`).
    var address: String { get }
    /// The MQTT listener's port.
    var port: Int { get }
    /// The broker's own temporary directory (configuration, logs); tests put their files here too.
    var directory: TemporaryDirectory { get }
    /// What the broker is, for messages and reports (`mosquitto`, `RabbitMQ 3.10.8 (MQTT plugin)`).
    var brokerName: String { get }
    /// The broker's log so far, for a failing test to show.
    var log: String { get }
    /// Stops the broker; a second call does nothing.
    func stop()
}

extension MosquittoBroker: LoopbackBroker {
    public var brokerName: String { "mosquitto" }
}
