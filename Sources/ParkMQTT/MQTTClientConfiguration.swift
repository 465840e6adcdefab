import CMosquitto

/// The MQTT protocol revision a client speaks (libmosquitto's `MOSQ_OPT_PROTOCOL_VERSION`).
public enum MQTTProtocolVersion: Sendable, Hashable {
    /// MQTT 3.1.1 (protocol level 4).
    case v311
    /// MQTT 5.0 (protocol level 5): reason codes on every acknowledgement, session expiry.
    case v5

    var mosquittoValue: Int32 {
        switch self {
        case .v311: return MQTT_PROTOCOL_V311
        case .v5: return MQTT_PROTOCOL_V5
        }
    }
}

/// Whether the broker keeps a client's session (subscriptions, queued QoS 1/2 messages) between
/// connections.
public enum MQTTSessionMode: Sendable, Hashable {
    /// 3.1.1 clean session / MQTT 5 clean start with no expiry: each connection starts afresh, and the
    /// pool subscribes again after every connect.
    case clean
    /// 3.1.1 `clean_session = false` / MQTT 5 clean start off with this session expiry. Under 3.1.1 the
    /// expiry is the broker's business (mosquitto's `persistent_client_expiration`) and `expiry` is
    /// ignored. The client identifier must be stable and non-empty.
    ///
    /// MQTT 5 note: libmosquitto 2.0 accepts CONNECT properties (where session expiry lives) only in
    /// its blocking `mosquitto_connect_bind_v5`, so MQTT 5 persistent clients connect with it: the TCP
    /// handshake (microseconds on loopback, one round trip to a remote broker) blocks their I/O thread.
    case persistent(expiry: Duration = .seconds(3600))

    var isClean: Bool { self == .clean }
}

/// User name and password sent in CONNECT (`mosquitto_username_pw_set`).
public struct MQTTCredentials: Sendable, Hashable {
    public var username: String
    public var password: String?

    public init(username: String, password: String?) {
        self.username = username
        self.password = password
    }
}

/// The message the broker publishes for a client whose connection ends without DISCONNECT.
public struct MQTTWill: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// A topic filter and the maximum QoS to receive it with.
public struct MQTTSubscription: Sendable, Hashable {
    public var filter: String
    public var qos: MQTTQoS

    public init(_ filter: String, qos: MQTTQoS = .atLeastOnce) {
        self.filter = filter
        self.qos = qos
    }
}

/// Everything one client of an ``MQTTClientPool`` needs: where to connect, as whom, and how to
/// behave when the connection fails.
public struct MQTTClientConfiguration: Sendable {
    /// MQTT client identifier; must be unique per broker (a duplicate takes the other's session over).
    public var clientID: String
    /// Broker address. Prefer a numeric address at scale: libmosquitto resolves names with a
    /// blocking `getaddrinfo` on every (re)connect, on the I/O thread.
    public var host: String
    public var port: Int
    /// Local source address (e.g. `127.0.0.23`). Each source address has its own ~28,000 ephemeral
    /// ports, so spreading clients over 127.0.0.0/8 lets one machine exceed that many connections.
    public var bindAddress: String?
    public var protocolVersion: MQTTProtocolVersion
    /// MQTT keep-alive; whole seconds, at least 5 (libmosquitto's minimum).
    public var keepAlive: Duration
    public var session: MQTTSessionMode
    public var credentials: MQTTCredentials?
    public var will: MQTTWill?
    public var tls: MQTTTLSConfiguration?
    /// Subscribed after every connect whose CONNACK says the broker has no session for us (always,
    /// for clean sessions), so they survive reconnects without the caller doing anything.
    public var subscriptions: [MQTTSubscription]
    public var reconnect: MQTTReconnectPolicy
    /// Messages published while the client is (re)connecting are held, up to this many, and sent
    /// on connect; beyond it they fail with ``MQTTError/offlineQueueFull(limit:)``. 0 fails them at once.
    public var offlineQueueLimit: Int
    /// Disables Nagle's algorithm: libmosquitto writes each packet on its own, and Nagle would hold
    /// small publishes back for the previous one's ACK, adding latency the harness would measure.
    public var tcpNoDelay: Bool
    /// Outgoing QoS 1/2 messages in flight before libmosquitto queues further ones (its default: 20;
    /// MQTT 5 brokers may lower it with Receive Maximum).
    public var maxInflightMessages: Int?

    public init(
        clientID: String,
        host: String = "127.0.0.1",
        port: Int = 1883,
        bindAddress: String? = nil,
        protocolVersion: MQTTProtocolVersion = .v311,
        keepAlive: Duration = .seconds(60),
        session: MQTTSessionMode = .clean,
        credentials: MQTTCredentials? = nil,
        will: MQTTWill? = nil,
        tls: MQTTTLSConfiguration? = nil,
        subscriptions: [MQTTSubscription] = [],
        reconnect: MQTTReconnectPolicy = MQTTReconnectPolicy(),
        offlineQueueLimit: Int = 1000,
        tcpNoDelay: Bool = true,
        maxInflightMessages: Int? = nil
    ) {
        self.clientID = clientID
        self.host = host
        self.port = port
        self.bindAddress = bindAddress
        self.protocolVersion = protocolVersion
        self.keepAlive = keepAlive
        self.session = session
        self.credentials = credentials
        self.will = will
        self.tls = tls
        self.subscriptions = subscriptions
        self.reconnect = reconnect
        self.offlineQueueLimit = offlineQueueLimit
        self.tcpNoDelay = tcpNoDelay
        self.maxInflightMessages = maxInflightMessages
    }

    var keepAliveSeconds: Int32 { Int32(clamping: keepAlive.components.seconds) }

    /// Rejects what libmosquitto would reject later on the I/O thread, so the caller gets the error.
    func validate() throws(MQTTError) {
        var problems: [String] = []
        if host.isEmpty { problems.append("host is empty") }
        if !(1...65535).contains(port) { problems.append("port \(port) is not in 1...65535") }
        if keepAliveSeconds < 5 { problems.append("keep-alive \(keepAlive) is below libmosquitto's 5 s minimum") }
        if !session.isClean && clientID.isEmpty {
            problems.append("a persistent session needs a non-empty client ID")
        }
        if offlineQueueLimit < 0 { problems.append("offlineQueueLimit \(offlineQueueLimit) is negative") }
        if let inflight = maxInflightMessages, inflight < 0 {
            problems.append("maxInflightMessages \(inflight) is negative")
        }
        problems += reconnect.problems()
        if let tls { problems += tls.problems() }
        if !problems.isEmpty {
            throw .invalidArgument("client \"\(clientID)\": " + problems.joined(separator: "; "))
        }
    }
}
