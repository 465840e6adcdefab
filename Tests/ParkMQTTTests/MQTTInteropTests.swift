import Foundation
import ParkMQTT
import ParkTestSupport
import Testing

extension MQTTClientPoolTests {
    /// paho-mqtt (an independent client) receives exactly the topics and payload bytes our client
    /// publishes: binary bytes, an empty payload, a non-ASCII topic, QoS 0, 1 and 2.
    @Test func pahoReceivesWhatThePoolPublishes() async throws {
        let broker = try MosquittoBroker()
        let count = 25
        let paho = try PahoPeer.run(
            script: PahoPeer.subscriber, arguments: [broker.address, "\(broker.port)", "interop/ours/#", "\(count)", "20"],
            in: broker.directory, name: "paho-subscriber")
        try await waitUntil("paho subscribed") {
            guard paho.process.isRunning else { throw BrokerError("paho exited early: \(PahoPeer.lines(paho.output))") }
            return PahoPeer.lines(paho.output).contains { $0["event"] as? String == "subscribed" }
        }

        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }
        let client = try pool.addClient(.init(clientID: "ours-publisher", port: broker.port))
        var sent: [String: [UInt8]] = [:]
        for i in 0..<count {
            let topic = i == 3 ? "interop/ours/zone-ä/\(i)" : "interop/ours/\(i)"
            let payload: [UInt8] = i == 0 ? [] : (0..<(i * 11)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ i) }
            sent[topic] = payload
            try pool.publish(client, topic: topic, payload: payload, qos: MQTTQoS(rawValue: Int32(i % 3))!, tag: UInt64(i))
        }
        try await waitUntil("paho received \(count) messages", timeout: .seconds(20)) { !paho.process.isRunning }

        let messages = PahoPeer.lines(paho.output).filter { $0["event"] as? String == "message" }
        #expect(paho.process.status == 0, "paho exit status; output: \(PahoPeer.lines(paho.output))")
        #expect(messages.count == count)
        var received: [String: [UInt8]] = [:]
        for message in messages {
            let topic = try #require(message["topic"] as? String)
            received[topic] = try #require([UInt8](hex: try #require(message["payload"] as? String)))
        }
        #expect(received == sent)
        // paho may hold the last message before our client holds its PUBACK/PUBCOMP.
        try await waitUntil("every publish completed") { recorder.read { $0.outcomes.count } == count }
        let outcomes = recorder.read { $0.outcomes }
        #expect(outcomes.count == count)
        #expect(outcomes.values.allSatisfy { $0.count == 1 })
        for (tag, outcome) in outcomes {
            switch outcome.first {
            case .sent?: #expect(tag % 3 == 0, "QoS 0 completes as sent")
            case .acknowledged?: #expect(tag % 3 != 0, "QoS 1 and 2 complete when acknowledged")
            default: Issue.record("publish \(tag) failed: \(outcome)")
            }
        }
    }

    /// Our client receives exactly the topics and payload bytes paho-mqtt publishes.
    @Test func poolReceivesWhatPahoPublishes() async throws {
        let broker = try MosquittoBroker()
        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }
        let client = try pool.addClient(
            .init(clientID: "ours-subscriber", port: broker.port, subscriptions: [MQTTSubscription("interop/paho/#")]))
        try await waitUntil("subscribed") { recorder.isSubscribed(client, to: "interop/paho/#") }

        let count = 25
        let paho = try PahoPeer.run(
            script: PahoPeer.publisher, arguments: [broker.address, "\(broker.port)", "interop/paho", "\(count)"],
            in: broker.directory, name: "paho-publisher")
        try await waitUntil("\(count) messages from paho", timeout: .seconds(20)) {
            recorder.received(by: client).count >= count
        }
        try await waitUntil("paho exited") { !paho.process.isRunning }
        #expect(paho.process.status == 0, "paho output: \(PahoPeer.lines(paho.output))")

        let messages = recorder.received(by: client)
        #expect(messages.count == count)
        let received = Dictionary(messages.map { ($0.topic, $0.payload) }, uniquingKeysWith: { first, _ in first })
        let expected = Dictionary(uniqueKeysWithValues: (0..<count).map { ("interop/paho/\($0)", PahoPeer.expectedPayload($0)) })
        #expect(received == expected)
        #expect(messages.allSatisfy { $0.qos == .atLeastOnce })
    }
}
