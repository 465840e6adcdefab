import Foundation
import ParkFaults
import ParkMQTT
import ParkTestSupport
import Testing

extension MQTTClientPoolTests {
    /// Our device client publishes through the fault proxy to a real mosquitto; paho-mqtt, an
    /// independent client subscribed straight to the broker, counts what arrives. A partition holds
    /// the device's messages (paho sees none of them) and lets them all through, in order and once,
    /// when it heals; a reset breaks the connection, the pool reconnects, and nothing is lost.
    @Test func throughTheFaultProxyPahoSeesEveryMessageOnceAPartitionHeals() async throws {
        let broker = try MosquittoBroker()
        let count = 60
        let paho = try PahoPeer.run(
            script: PahoPeer.subscriber, arguments: [broker.address, "\(broker.port)", "failover/#", "\(count)", "40"],
            in: broker.directory, name: "paho-witness")
        try await waitUntil("paho subscribed") {
            guard paho.process.isRunning else { throw BrokerError("paho exited early: \(PahoPeer.lines(paho.output))") }
            return PahoPeer.lines(paho.output).contains { $0["event"] as? String == "subscribed" }
        }
        let proxy = try FaultProxy(.init(upstreamHost: broker.address, upstreamPort: broker.port, namer: { bytes in
            if case .clientID(let id) = MQTTConnectPeek.clientID(in: bytes) { return .named(id) }
            return MQTTConnectPeek.clientID(in: bytes) == .needMore ? .needMore : .anonymous
        }))
        defer { proxy.stop() }
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }
        let device = try pool.addClient(.init(
            clientID: "gateway-7", port: proxy.port, reconnect: MQTTReconnectPolicy(base: .milliseconds(100), cap: .milliseconds(400))))
        try await waitUntil("the device connected through the proxy") { recorder.read { $0.connects[device] ?? 0 } == 1 }
        func received() -> [Int] {
            PahoPeer.lines(paho.output).filter { $0["event"] as? String == "message" }.compactMap { line in
                (line["payload"] as? String).flatMap { [UInt8](hex: $0) }.flatMap { Int(String(decoding: $0, as: UTF8.self)) }
            }
        }

        var seenWhilePartitioned = 0
        for i in 0 ..< count {
            switch i {
            case 10: proxy.set(.partition, names: ["gateway-7"])
            case 25:
                seenWhilePartitioned = received().count
                proxy.heal()
            case 35: proxy.set(.reset, names: ["gateway-7"])
            case 45: proxy.heal()
            default: break
            }
            try pool.publish(device, topic: "failover/gateway-7", payload: Array("\(i)".utf8), qos: .atLeastOnce, tag: UInt64(i))
            try await Task.sleep(for: .milliseconds(40))
        }
        try await waitUntil("paho received every message", timeout: .seconds(20)) { Set(received()).count == count }

        let order = received()
        #expect(seenWhilePartitioned <= 10, "nothing sent during the partition reached the broker: paho had \(seenWhilePartitioned)")
        #expect(Set(order) == Set(0 ..< count), "none lost")
        var firstSeen: [Int] = []
        for value in order where !firstSeen.contains(value) { firstSeen.append(value) }
        #expect(firstSeen == Array(0 ..< count), "in the order sent: \(firstSeen)")
        #expect(order.prefix(while: { $0 < 35 }).count == 35, "the partition delivered each held message once: \(order.prefix(40))")
        #expect(recorder.read { $0.connects[device] ?? 0 } >= 2, "the reset made the device reconnect")
        #expect(proxy.statistics.reset >= 1)
    }
}
