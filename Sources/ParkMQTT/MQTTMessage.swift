/// MQTT quality of service for a publish or a subscription.
public enum MQTTQoS: Int32, Sendable, Hashable, CaseIterable {
    /// Fire and forget: no acknowledgement, lost if the connection drops.
    case atMostOnce = 0
    /// PUBACK-acknowledged; may arrive more than once after a reconnect.
    case atLeastOnce = 1
    /// PUBREC/PUBREL/PUBCOMP handshake: delivered once.
    case exactlyOnce = 2
}

/// A message the broker delivered to one of the pool's clients.
public struct MQTTMessage: Sendable, Hashable {
    /// The topic it was published on (not the subscription filter that matched it).
    public var topic: String
    /// The payload bytes exactly as sent; MQTT does not interpret them.
    public var payload: [UInt8]
    /// The QoS it was delivered with: the lower of the publisher's and the subscription's.
    public var qos: MQTTQoS
    /// True when the broker sent it from its retained store (a new subscription), not live.
    public var retain: Bool
    /// The packet identifier on this client's connection; 0 for QoS 0.
    public var messageID: Int32

    public init(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool, messageID: Int32 = 0) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.messageID = messageID
    }
}

/// What became of one ``MQTTClientPool/publish(_:topic:payload:qos:retain:tag:)``, reported once per
/// message through ``MQTTClientPoolDelegate/mqttPublishDidComplete(_:tag:outcome:)``.
public enum MQTTPublishOutcome: Sendable, Hashable {
    /// QoS 0: handed to libmosquitto, which writes it now or as soon as the socket allows. QoS 0 has no
    /// acknowledgement, so this is the last word on it.
    case sent(messageID: Int32)
    /// QoS 1 PUBACK or QoS 2 PUBCOMP arrived: the broker has the message.
    case acknowledged(messageID: Int32)
    /// It never reached the broker (queue full, client stopped, bad topic) or the broker refused it.
    case failed(MQTTError)
}
