import Synchronization

/// A snapshot of an ``MQTTClientPool``'s counters, summed over its I/O threads.
///
/// Counters are cumulative since the pool started, except the gauges ``connectedClients`` and
/// ``connectsInFlight``.
/// Each is exact at the moment its thread updated it; a snapshot taken while traffic flows may mix
/// values a few microseconds apart.
public struct MQTTPoolStatistics: Sendable, Hashable {
    /// Clients whose last CONNACK accepted them and whose connection is still up.
    public var connectedClients = 0
    /// Connect attempts in flight right now (TCP connect started, no CONNACK yet): the part of the
    /// pool's connect window in use. A gauge.
    public var connectsInFlight = 0
    /// CONNECT attempts started (each TCP connect, first or retry).
    public var connectsAttempted = 0
    /// Attempts that ended with an accepting CONNACK.
    public var connectsSucceeded = 0
    /// Attempts that ended any other way: refusal, network error, TLS failure, timeout.
    public var connectsFailed = 0
    /// The part of ``connectsFailed`` that the broker refused in CONNACK.
    public var connectsRefused = 0
    /// Successful connects of clients that had been connected before (recovery after a loss).
    public var reconnects = 0
    /// Established connections that ended without the pool asking (broker gone, keep-alive, drop).
    public var connectionsLost = 0
    /// Messages handed to libmosquitto (`mosquitto_publish` returned success).
    public var messagesPublished = 0
    /// QoS 1/2 messages the broker acknowledged.
    public var messagesAcknowledged = 0
    /// Publishes reported as ``MQTTPublishOutcome/failed(_:)``.
    public var publishesFailed = 0
    /// Messages delivered to the pool's clients.
    public var messagesReceived = 0
    /// Payload bytes of ``messagesPublished`` (MQTT headers not included).
    public var bytesPublished = 0
    /// Payload bytes of ``messagesReceived``.
    public var bytesReceived = 0
    /// Time from starting a connect attempt to its accepting CONNACK.
    public var connectLatency = MQTTLatencyHistogram()
    /// CLOCK_MONOTONIC nanoseconds of the latest accepting CONNACK (0 before the first): with
    /// ``connectedClients`` it tells when a population finished connecting, to the microsecond.
    public var lastConnectedAtNanoseconds: UInt64 = 0

    public init() {}
}

/// One I/O thread's counters. Each thread writes only its own (relaxed atomics on its own cache
/// lines), and readers sum all threads, so counting costs no cross-thread contention.
final class MQTTCounters: Sendable {
    let connected = Atomic<Int>(0)
    let connectsAttempted = Atomic<Int>(0)
    let connectsSucceeded = Atomic<Int>(0)
    let connectsFailed = Atomic<Int>(0)
    let connectsRefused = Atomic<Int>(0)
    let reconnects = Atomic<Int>(0)
    let connectionsLost = Atomic<Int>(0)
    let messagesPublished = Atomic<Int>(0)
    let messagesAcknowledged = Atomic<Int>(0)
    let publishesFailed = Atomic<Int>(0)
    let messagesReceived = Atomic<Int>(0)
    let bytesPublished = Atomic<Int>(0)
    let bytesReceived = Atomic<Int>(0)
    let connectLatency = Mutex(MQTTLatencyHistogram())
    let lastConnectedAt = Atomic<UInt64>(0)

    func add(to statistics: inout MQTTPoolStatistics) {
        statistics.connectedClients += connected.load(ordering: .relaxed)
        statistics.connectsAttempted += connectsAttempted.load(ordering: .relaxed)
        statistics.connectsSucceeded += connectsSucceeded.load(ordering: .relaxed)
        statistics.connectsFailed += connectsFailed.load(ordering: .relaxed)
        statistics.connectsRefused += connectsRefused.load(ordering: .relaxed)
        statistics.reconnects += reconnects.load(ordering: .relaxed)
        statistics.connectionsLost += connectionsLost.load(ordering: .relaxed)
        statistics.messagesPublished += messagesPublished.load(ordering: .relaxed)
        statistics.messagesAcknowledged += messagesAcknowledged.load(ordering: .relaxed)
        statistics.publishesFailed += publishesFailed.load(ordering: .relaxed)
        statistics.messagesReceived += messagesReceived.load(ordering: .relaxed)
        statistics.bytesPublished += bytesPublished.load(ordering: .relaxed)
        statistics.bytesReceived += bytesReceived.load(ordering: .relaxed)
        statistics.lastConnectedAtNanoseconds = max(statistics.lastConnectedAtNanoseconds, lastConnectedAt.load(ordering: .relaxed))
        let latency = connectLatency.withLock { $0 }
        statistics.connectLatency.merge(latency)
    }
}

extension Atomic where Value == Int {
    @inline(__always)
    func increment(by amount: Int = 1) { wrappingAdd(amount, ordering: .relaxed) }
}
