import Logging

/// How an ``MQTTClientPool`` runs: its I/O threads and the limits that keep thousands of clients
/// from overwhelming the broker or the process.
public struct MQTTClientPoolConfiguration: Sendable {
    /// I/O threads, each with its own epoll set; clients are dealt to them round robin. One thread
    /// drives thousands of clients; more help only when a core is saturated.
    public var ioThreads: Int
    /// Most connect attempts in flight (TCP connect started, no CONNACK yet) across the whole pool.
    /// mosquitto's listen backlog is 100: with more half-open connects than that, SYNs are dropped
    /// and the kernel retries them after 1 s, which showed up as 1 s connect stalls in measurements.
    public var connectWindow: Int
    /// An attempt without CONNACK after this long is abandoned and counts as a failure.
    public var connectTimeout: Duration
    /// Messages a single I/O thread may have waiting in its queue; beyond it `publish` throws
    /// ``MQTTError/queueFull(limit:)`` rather than letting memory grow without bound.
    public var publishQueueLimit: Int
    /// How long ``MQTTClientPool/shutdown()`` lets DISCONNECTs drain before closing sockets anyway.
    public var shutdownGracePeriod: Duration
    /// Packets read from one client per wake-up before the thread moves on to the others (fairness).
    public var readBudget: Int
    public var logger: Logger

    public init(
        ioThreads: Int = 1,
        connectWindow: Int = 64,
        connectTimeout: Duration = .seconds(10),
        publishQueueLimit: Int = 262_144,
        shutdownGracePeriod: Duration = .seconds(2),
        readBudget: Int = 64,
        logger: Logger = Logger(label: "parkbench.mqtt")
    ) {
        self.ioThreads = ioThreads
        self.connectWindow = connectWindow
        self.connectTimeout = connectTimeout
        self.publishQueueLimit = publishQueueLimit
        self.shutdownGracePeriod = shutdownGracePeriod
        self.readBudget = readBudget
        self.logger = logger
    }

    func validate() throws(MQTTError) {
        var problems: [String] = []
        if !(1...64).contains(ioThreads) { problems.append("ioThreads \(ioThreads) is not in 1...64") }
        if connectWindow < 1 { problems.append("connectWindow \(connectWindow) must be at least 1") }
        if connectTimeout <= .zero { problems.append("connectTimeout must be positive") }
        if publishQueueLimit < 1 { problems.append("publishQueueLimit must be at least 1") }
        if readBudget < 1 { problems.append("readBudget must be at least 1") }
        if !problems.isEmpty { throw .invalidArgument("MQTT pool: " + problems.joined(separator: "; ")) }
    }
}
