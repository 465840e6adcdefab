import Foundation
import ParkMQTT
import ParkTestSupport
import Testing

/// The pool against real mosquitto brokers. Serialized: the descriptor-count test needs the process
/// to itself, and two cores are better spent on one broker at a time.
@Suite("MQTT client pool", .serialized)
struct MQTTClientPoolTests {
    /// 200 clients on 2 I/O threads each publish QoS 1 to their own topic, straight after being
    /// added (so the first messages wait in the offline queue); one subscriber gets all 200, and
    /// the counters agree with the events.
    @Test func twoHundredClientsPublishThroughTwoThreads() async throws {
        let broker = try MosquittoBroker()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(ioThreads: 2, connectWindow: 16), delegate: recorder)
        defer { pool.shutdown() }

        let subscriber = try pool.addClient(
            .init(clientID: "collector", port: broker.port, subscriptions: [MQTTSubscription("load/#", qos: .atLeastOnce)]))
        try await waitUntil("collector subscribed") { recorder.isSubscribed(subscriber, to: "load/#") }

        var publishers: [MQTTClientHandle] = []
        var maximumInFlight = 0
        for index in 0..<200 {
            let client = try pool.addClient(.init(clientID: "load-\(index)", port: broker.port))
            publishers.append(client)
            try pool.publish(
                client, topic: "load/\(index)", payload: Array("reading \(index)".utf8), qos: .atLeastOnce,
                tag: UInt64(index))
            maximumInFlight = max(maximumInFlight, pool.statistics.connectsInFlight)
        }
        let connectTime = try await waitUntil("201 clients connected") {
            maximumInFlight = max(maximumInFlight, pool.statistics.connectsInFlight)
            return pool.statistics.connectedClients == 201
        }
        try await waitUntil("200 acknowledgements and 200 deliveries", timeout: .seconds(20)) {
            recorder.acknowledgedCount() == 200 && recorder.received(by: subscriber).count >= 200
        }

        let messages = recorder.received(by: subscriber)
        #expect(messages.count == 200, "no duplicates expected on a healthy connection")
        let expected = Set((0..<200).map { "load/\($0)=reading \($0)" })
        #expect(Set(messages.map { "\($0.topic)=\(String(decoding: $0.payload, as: UTF8.self))" }) == expected)
        #expect(messages.allSatisfy { $0.qos == .atLeastOnce && !$0.retain })

        let statistics = pool.statistics
        #expect(statistics.connectedClients == 201)
        #expect(statistics.connectsSucceeded == 201)
        #expect(statistics.connectsAttempted == 201)
        #expect(statistics.connectsFailed == 0)
        #expect(statistics.messagesPublished == 200)
        #expect(statistics.messagesAcknowledged == 200)
        #expect(statistics.publishesFailed == 0)
        #expect(statistics.messagesReceived == 200)
        let payloadBytes = (0..<200).reduce(0) { $0 + "reading \($1)".utf8.count }
        #expect(statistics.bytesPublished == payloadBytes)
        #expect(statistics.bytesReceived == payloadBytes)
        #expect(statistics.connectLatency.count == 201)
        #expect(maximumInFlight <= 16, "connect window of 16 exceeded: \(maximumInFlight)")
        print("200 clients connected in \(connectTime); connect latency p50 \(statistics.connectLatency.percentile(0.5)!), p99 \(statistics.connectLatency.percentile(0.99)!)")
    }

    /// MQTT 5: a QoS 2 retained message round-trips, and a client that subscribes afterwards gets it
    /// from the retained store with the retain flag set.
    @Test func mqtt5RoundTripWithRetainedMessage() async throws {
        let broker = try MosquittoBroker()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }

        let first = try pool.addClient(
            .init(
                clientID: "v5-a", port: broker.port, protocolVersion: .v5,
                subscriptions: [MQTTSubscription("v5/#", qos: .exactlyOnce)]))
        try await waitUntil("v5 subscriber ready") { recorder.isSubscribed(first, to: "v5/#") }
        let payload: [UInt8] = [0x00, 0x01, 0xFE, 0xFF] + Array("ünïcode".utf8)
        try pool.publish(first, topic: "v5/state", payload: payload, qos: .exactlyOnce, retain: true, tag: 7)

        try await waitUntil("QoS 2 round trip") {
            recorder.received(by: first).count == 1 && recorder.acknowledgedCount() == 1
        }
        let live = try #require(recorder.received(by: first).first)
        #expect(live.topic == "v5/state")
        #expect(live.payload == payload)
        #expect(live.qos == .exactlyOnce)
        #expect(!live.retain, "a live delivery is not flagged retained")

        let late = try pool.addClient(
            .init(
                clientID: "v5-b", port: broker.port, protocolVersion: .v5,
                subscriptions: [MQTTSubscription("v5/state", qos: .atLeastOnce)]))
        try await waitUntil("retained message delivered") { !recorder.received(by: late).isEmpty }
        let retained = try #require(recorder.received(by: late).first)
        #expect(retained.retain)
        #expect(retained.payload == payload)
        #expect(retained.qos == .atLeastOnce, "delivered at the subscription's lower QoS")
    }

    /// MQTT 5 persistent session (clean start off, session expiry sent as a CONNECT property): after a
    /// dropped connection the broker still has the session, and a subscription added while the client
    /// was offline is sent on reconnect even though the session is present.
    @Test func mqtt5PersistentSessionKeepsSubscriptions() async throws {
        let broker = try MosquittoBroker()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }

        let device = try pool.addClient(
            .init(
                clientID: "v5-persistent", port: broker.port, protocolVersion: .v5,
                session: .persistent(expiry: .seconds(60)), subscriptions: [MQTTSubscription("cmd/v5-persistent/#")]))
        try await waitUntil("subscribed") { recorder.isSubscribed(device, to: "cmd/v5-persistent/#") }
        try pool.dropConnection(device, reconnect: false)
        try await waitUntil("dropped") { recorder.read { !$0.disconnects.isEmpty } }

        try pool.subscribe(device, [MQTTSubscription("cmd/all", qos: .exactlyOnce)])
        let commander = try pool.addClient(.init(clientID: "v5-commander", port: broker.port, protocolVersion: .v5))
        try await waitUntil("commander connected") { recorder.read { $0.connects[commander] == 1 } }
        try pool.publish(commander, topic: "cmd/v5-persistent/reboot", payload: Array("now".utf8), qos: .atLeastOnce, tag: 1)
        try await waitUntil("command stored by the broker") { recorder.acknowledgedCount() == 1 }

        try pool.connect(device)
        try await waitUntil("reconnected with the new subscription") { recorder.isSubscribed(device, to: "cmd/all") }
        #expect(recorder.read { $0.sessionPresent[device] } == [false, true])
        try await waitUntil("command queued while offline delivered") { !recorder.received(by: device).isEmpty }
        #expect(recorder.received(by: device).map(\.topic) == ["cmd/v5-persistent/reboot"])

        try pool.publish(commander, topic: "cmd/all", payload: Array("hello".utf8), qos: .exactlyOnce, tag: 2)
        try await waitUntil("message on the subscription added offline") { recorder.received(by: device).count == 2 }
        #expect(recorder.received(by: device).last?.qos == .exactlyOnce)
    }

    /// Every descriptor the pool opens (3 per client, 2 per I/O thread) is closed by `shutdown()`:
    /// the TCP sockets and socket pairs exactly, even while other tests run in this process.
    @Test func shutdownClosesEveryDescriptor() async throws {
        let broker = try MosquittoBroker()
        let baseline = openDescriptors()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(ioThreads: 2), delegate: recorder)
        var clients: [MQTTClientHandle] = []
        for index in 0..<100 {
            clients.append(try pool.addClient(.init(clientID: "fd-\(index)", port: broker.port)))
        }
        try await waitUntil("100 clients connected") { pool.statistics.connectedClients == 100 }
        let whileRunning = openDescriptors()
        let unixSocketsWhileRunning = unixSocketInodes()
        // Counted as new (fd, target) pairs, not as a difference of totals: tests running in
        // parallel close descriptors of their own meanwhile, which a difference would subtract.
        #expect(whileRunning.subtracting(baseline).count >= 100 * 3 + 2 * 2, "3 descriptors per client expected")

        let brokerSockets = socketInodes(connectedToPort: broker.port)
        #expect(brokerSockets.count >= 100, "the pool's 100 connections are visible in /proc/net/tcp")
        pool.shutdown()
        #expect(pool.statistics.connectedClients == 0)
        // The pool's own TCP sockets are told apart exactly (their peer is this test's broker);
        // every one must be gone. Other descriptors cannot be told from those of tests running in
        // parallel in this process, so for them a transient one gets a generous moment to go.
        try await waitUntil("the pool's sockets to the broker closed", timeout: .seconds(10)) {
            openDescriptors().allSatisfy { !brokerSockets.contains($0.target) }
        }
        // libmosquitto's wake-up socket pairs: the reader end is a unix socket, which nothing else
        // in this process opens; the writer end is replaced by /dev/null under the same number (see
        // limitWakeSocketPair). The I/O threads' epoll and eventfd (2 per thread) cannot be told
        // from SwiftNIO's in tests running alongside, so they are counted only while running.
        let added = whileRunning.subtracting(baseline)
        let unixWhileRunning = Set(added.map(\.target)).intersection(unixSocketsWhileRunning)
        #expect(unixWhileRunning.count >= 100, "a socket-pair reader end per client expected")
        let nullWriters = added.filter { $0.target == "/dev/null" }
        #expect(nullWriters.count >= 100, "each client's wake-up writer is /dev/null, not a socket that fills up")
        var leaked: Set<OpenDescriptor> = []
        try await waitUntil("the pool's socket pairs closed", timeout: .seconds(10)) {
            let open = openDescriptors()
            leaked = open.filter { unixWhileRunning.contains($0.target) }.union(open.intersection(nullWriters))
            return leaked.isEmpty
        }
        #expect(leaked.isEmpty, "descriptors left open: \(leaked.sorted { $0.fd < $1.fd })")
        #expect(throws: MQTTError.poolShutDown) {
            try pool.publish(clients[0], topic: "x", payload: [])
        }
    }
}

/// An open descriptor of this process: its number and what it points at.
struct OpenDescriptor: Hashable {
    var fd: Int
    var target: String
}

/// `socket:[inode]` names of this machine's TCP sockets whose remote port is `port`.
func socketInodes(connectedToPort port: Int) -> Set<String> {
    var inodes: Set<String> = []
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = readProcFile(file)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, let remote = fields[2].split(separator: ":").last, Int(remote, radix: 16) == port else { continue }
            inodes.insert("socket:[\(fields[9])]")
        }
    }
    return inodes
}

/// A /proc file's whole text: they report size 0 and hand out a page per read, so read until
/// read(2) returns 0 rather than trusting the size or a single read.
func readProcFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += chunk[0 ..< count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `socket:[inode]` names of the unix-domain sockets in /proc/net/unix.
func unixSocketInodes() -> Set<String> {
    let text = readProcFile("/proc/net/unix")
    return Set(text.split(separator: "\n").dropFirst().compactMap { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count > 6 ? "socket:[\(fields[6])]" : nil
    })
}

func openDescriptors() -> Set<OpenDescriptor> {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(
        names.compactMap { name in
            guard let fd = Int(name),
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")
            else { return nil }
            return OpenDescriptor(fd: fd, target: target)
        })
}
