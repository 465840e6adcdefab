import Logging
import Synchronization

/// Thousands of MQTT clients (libmosquitto) driven by a few I/O threads, never a thread per client.
///
/// Each I/O thread owns an epoll set and an eventfd; clients are dealt to threads round robin and
/// every libmosquitto call for a client happens on its thread (`mosquitto_loop_read`/`_write`/`_misc`
/// on socket readiness, never `mosquitto_loop_start`). Everything else is non-blocking from any
/// thread: a publish is appended to the thread's queue and the thread publishes in batches; results
/// come back through an ``MQTTClientPoolDelegate``.
///
/// ```swift
/// let pool = try MQTTClientPool(configuration: .init(ioThreads: 2), delegate: observer)
/// let meter = try pool.addClient(.init(clientID: "meter-0001", host: "127.0.0.1", port: 1883))
/// try pool.publish(meter, topic: "park/A/meter-0001/energy", payload: Array("42.7".utf8), qos: .atLeastOnce, tag: 1)
/// pool.shutdown()
/// ```
///
/// Behaviour worth knowing:
/// - **Connect window.** At most ``MQTTClientPoolConfiguration/connectWindow`` attempts are in flight
///   at once across the pool; the rest wait in FIFO order. Reconnects use exponential backoff with
///   jitter (``MQTTReconnectPolicy``).
/// - **Offline messages.** Publishes to a client that is (re)connecting are held by the pool (up to
///   ``MQTTClientConfiguration/offlineQueueLimit``) and sent right after CONNACK. QoS 1/2 messages
///   already handed to libmosquitto when a connection drops stay in libmosquitto and are resent
///   after the reconnect. Publishes to a stopped client fail with ``MQTTError/clientStopped``.
/// - **Subscriptions** are sent again after every connect whose CONNACK has no session.
/// - **Limits.** libmosquitto holds three descriptors per client (the socket and a socket pair it
///   uses to interrupt its own `select`), and each thread two more. At the 20,000-descriptor limit
///   of this environment that is about 6,000 clients per process with headroom for the rest of the
///   program; run more processes (shards) beyond that. A source address has about 28,000 ephemeral
///   ports; ``MQTTClientConfiguration/bindAddress`` spreads clients over 127.0.0.0/8.
///
/// Call ``shutdown()`` when done (deinit does it too): it disconnects every client, joins the
/// threads and closes every descriptor the pool opened.
public final class MQTTClientPool: Sendable {
    private static let nextPoolID = Atomic<UInt32>(1)

    private let core: MQTTPoolCore
    private let nextIndex = Atomic<Int>(0)
    private let shutDown = Mutex(false)

    /// Starts the I/O threads. They sleep until clients are added.
    ///
    /// - Parameter delegate: receives events on the I/O threads; held until ``shutdown()``, so a
    ///   delegate that keeps a reference to the pool is no leak once the pool is shut down.
    /// - Throws: ``MQTTError/invalidArgument(_:)`` for a bad configuration, ``MQTTError/system(errno:message:)``
    ///   when a thread, epoll set or eventfd cannot be created.
    public init(
        configuration: MQTTClientPoolConfiguration = MQTTClientPoolConfiguration(),
        delegate: (any MQTTClientPoolDelegate)? = nil
    ) throws(MQTTError) {
        try configuration.validate()
        LibMosquitto.initializeOnce()
        var threads: [MQTTIOThread] = []
        do {
            for index in 0..<configuration.ioThreads {
                threads.append(try MQTTIOThread(index: index, publishLimit: configuration.publishQueueLimit))
            }
        } catch {
            for thread in threads { thread.closeDescriptors() }
            throw error
        }
        let id = Self.nextPoolID.wrappingAdd(1, ordering: .relaxed).oldValue
        let core = MQTTPoolCore(id: id, configuration: configuration, threads: threads, delegate: delegate)
        self.core = core
        for thread in threads {
            do {
                try thread.start { MQTTIOLoop(thread: thread, core: core).run() }
            } catch {
                stopThreads()
                throw error
            }
        }
        configuration.logger.debug(
            "MQTT client pool started",
            metadata: ["io-threads": "\(configuration.ioThreads)", "connect-window": "\(configuration.connectWindow)"])
    }

    deinit { shutdown() }

    /// The number of I/O threads.
    public var ioThreadCount: Int { core.threads.count }

    /// Clients added so far (removed ones included: handles are never reused).
    public var clientCount: Int { nextIndex.load(ordering: .relaxed) }

    /// Adds a client and, unless `connect` is false, starts connecting it (asynchronously, within the
    /// connect window). Returns at once; the delegate hears about the outcome.
    @discardableResult
    public func addClient(_ configuration: MQTTClientConfiguration, connect: Bool = true) throws(MQTTError)
        -> MQTTClientHandle
    {
        try configuration.validate()
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        let handle = MQTTClientHandle(index: index, poolID: core.id)
        let (thread, slot) = route(index)
        try thread.submit(.add(slot: slot, handle: handle, configuration: configuration, connect: connect))
        return handle
    }

    /// Starts connecting a stopped client (added with `connect: false`, disconnected, or given up
    /// after an authentication failure), or cuts a pending backoff short.
    public func connect(_ client: MQTTClientHandle) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.connect(slot: slot))
    }

    /// Sends DISCONNECT (so no will is published) and stops reconnecting. Messages held for the
    /// client fail with ``MQTTError/clientStopped``.
    public func disconnect(_ client: MQTTClientHandle) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.disconnect(slot: slot))
    }

    /// Cuts the client's connection without DISCONNECT, as a crash or a network failure would, so the
    /// broker publishes its will. Fault injection for the harness and for tests. With `reconnect`
    /// the client then reconnects under its policy; otherwise it stays stopped.
    public func dropConnection(_ client: MQTTClientHandle, reconnect: Bool = true) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.dropConnection(slot: slot, reconnect: reconnect))
    }

    /// Disconnects the client and frees it. Publishes to its handle then fail with
    /// ``MQTTError/unknownClient`` (reported through the delegate, like every publish outcome).
    public func removeClient(_ client: MQTTClientHandle) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.remove(slot: slot))
    }

    /// Adds (or changes the QoS of) subscriptions; they are sent now if connected and again after
    /// any reconnect without a session. SUBACKs arrive through the delegate.
    public func subscribe(_ client: MQTTClientHandle, _ subscriptions: [MQTTSubscription]) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.subscribe(slot: slot, subscriptions))
    }

    public func unsubscribe(_ client: MQTTClientHandle, filters: [String]) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(.unsubscribe(slot: slot, filters))
    }

    /// Queues a message for the client's I/O thread and returns at once.
    ///
    /// The outcome arrives later as ``MQTTClientPoolDelegate/mqttPublishDidComplete(_:tag:outcome:)``
    /// with `tag`: ``MQTTPublishOutcome/sent(messageID:)`` for QoS 0 once libmosquitto has it,
    /// ``MQTTPublishOutcome/acknowledged(messageID:)`` when the broker acknowledges QoS 1/2. Measure
    /// latency from just before this call to that callback.
    ///
    /// Nothing is allocated here when the caller reuses `topic` and `payload` values: they are
    /// retained, not copied, until the I/O thread has handed them to `mosquitto_publish`.
    ///
    /// - Throws: ``MQTTError/queueFull(limit:)`` when the thread is that far behind (back off and
    ///   retry, or count the message as dropped); ``MQTTError/unknownClient`` for a handle of another
    ///   pool; ``MQTTError/poolShutDown``.
    public func publish(
        _ client: MQTTClientHandle, topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce,
        retain: Bool = false, tag: UInt64 = 0
    ) throws(MQTTError) {
        let (thread, slot) = try route(client)
        try thread.submit(
            .publish(MQTTOutgoingMessage(slot: slot, topic: topic, payload: payload, tag: tag, qos: qos, retain: retain)),
            isPublish: true)
    }

    /// Current counters, summed over the I/O threads. Safe from any thread at any time.
    public var statistics: MQTTPoolStatistics {
        var statistics = MQTTPoolStatistics()
        for thread in core.threads { thread.counters.add(to: &statistics) }
        statistics.connectsInFlight = core.window.current
        return statistics
    }

    /// Disconnects every client (DISCONNECT, waiting up to the grace period for it to be written),
    /// stops and joins the I/O threads, and closes their epoll and eventfd descriptors. Afterwards
    /// every call throws ``MQTTError/poolShutDown``. Idempotent; blocks until done.
    ///
    /// Must not be called from a delegate callback: it would wait for the thread it runs on.
    public func shutdown() {
        shutDown.withLock { done in
            guard !done else { return }
            done = true
            precondition(
                !core.threads.contains { $0.isCurrentThread },
                "MQTTClientPool.shutdown() called on one of its own I/O threads (from a delegate callback)")
            stopThreads()
            let final = statistics
            core.configuration.logger.debug(
                "MQTT client pool stopped",
                metadata: [
                    "published": "\(final.messagesPublished)", "acknowledged": "\(final.messagesAcknowledged)",
                    "received": "\(final.messagesReceived)", "connects": "\(final.connectsSucceeded)",
                ])
        }
    }

    private func stopThreads() {
        for thread in core.threads { _ = thread.submitShutdown() }
        for thread in core.threads { thread.join() }
        for thread in core.threads { thread.closeDescriptors() }
        core.releaseDelegate()
    }

    private func route(_ index: Int) -> (MQTTIOThread, Int) {
        let count = core.threads.count
        return (core.threads[index % count], index / count)
    }

    private func route(_ client: MQTTClientHandle) throws(MQTTError) -> (MQTTIOThread, Int) {
        guard client.poolID == core.id, client.index >= 0, client.index < nextIndex.load(ordering: .relaxed) else {
            throw .unknownClient
        }
        return route(client.index)
    }
}
