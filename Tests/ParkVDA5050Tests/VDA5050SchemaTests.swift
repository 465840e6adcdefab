import Foundation
import ParkTestSupport
import ParkVDA5050
import Testing

/// Every kind of message ParkBench writes, validated against the VDA's own JSON schemas for
/// VDA 5050 2.1.0 by an independent validator (Python `jsonschema`); and messages built to
/// violate them, which the validator and ParkBench's decoder must both refuse.
@Suite struct VDA5050SchemaTests {
    @Test func writtenMessagesMatchThePublishedSchemas() throws {
        _ = try #require(VDA5050Schemas.directory(), "the VDA 5050 schemas (../shared/vda5050-schemas) are not found: set VDA5050_SCHEMAS")
        let directory = try TemporaryDirectory()
        var files: [String: (topic: String, valid: Bool)] = [:]
        func write<Message: Encodable>(_ name: String, _ topic: VDA5050.Topic, _ message: Message) throws {
            try Data(VDA5050.encode(message)).write(to: URL(fileURLWithPath: directory.path(name + ".json")))
            files[name + ".json"] = (topic.rawValue, true)
        }
        func writeBroken(_ name: String, _ topic: VDA5050.Topic, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory.path(name + ".json")))
            files[name + ".json"] = (topic.rawValue, false)
        }

        var counter = VDA5050HeaderCounter()
        func header(_ topic: VDA5050.Topic) -> VDA5050Header {
            counter.header(topic, manufacturer: "Acme", serialNumber: "CLEAN-01", nanosecondsSinceEpoch: 1_796_630_400_123_000_000)
        }
        var withActions = order("o1", 0, path: ["A", "B", "C"], released: 2, actions: ["clean-1"])
        withActions.nodes[2].actions[0].actionParameters = [
            VDA5050ActionParameter(key: "area", value: .string("B1")), VDA5050ActionParameter(key: "width", value: .number(0.6)),
            VDA5050ActionParameter(key: "wet", value: .bool(true)),
            VDA5050ActionParameter(key: "zones", value: .array([.string("z1"), .number(2)])),
            VDA5050ActionParameter(key: "extra", value: .object(["k": .string("v")])),
        ]
        try write("order-1", .order, withActions)
        try write("instantActions-1", .instantActions, VDA5050InstantActions(header: header(.instantActions), actions: [
            VDA5050Action(actionType: "cancelOrder", actionId: "i1", blockingType: .hard),
            VDA5050Action(actionType: "startPause", actionId: "i2", blockingType: .hard),
            VDA5050Action(actionType: "stateRequest", actionId: "i3"),
            VDA5050Action(actionType: "startCharging", actionId: "i4", blockingType: .soft,
                          actionParameters: [VDA5050ActionParameter(key: "until", value: .number(95))]),
        ]))
        try write("state-idle", .state, VDA5050State(header: header(.state), batteryState: VDA5050BatteryState(batteryCharge: 87.5, charging: false)))
        var book = VDA5050OrderBook()
        _ = book.receive(withActions)
        _ = book.reachNextNode()
        try write("state-driving", .state, VDA5050State(
            header: header(.state), orderId: book.orderId, orderUpdateId: book.orderUpdateId, lastNodeId: book.lastNodeId,
            lastNodeSequenceId: book.lastNodeSequenceId, nodeStates: book.nodes.map(VDA5050NodeState.init),
            edgeStates: book.edges.map(VDA5050EdgeState.init),
            agvPosition: VDA5050AGVPosition(x: 4.2, y: 0, theta: 0, mapId: "park"), velocity: VDA5050Velocity(vx: 1.2, vy: 0, omega: 0),
            driving: true, paused: false, newBaseRequest: false,
            actionStates: [VDA5050ActionState(actionId: "clean-1", actionType: "clean", actionStatus: .waiting)],
            batteryState: VDA5050BatteryState(batteryCharge: 64, charging: false, reach: 1_800)))
        var rejected = VDA5050OrderBook()
        guard case .rejected(let error) = rejected.receive(order("o9", 0, path: [])) else { throw VDA5050DecodingError("expected a rejection") }
        try write("state-errors", .state, VDA5050State(
            header: header(.state), actionStates: [VDA5050ActionState(actionId: "i4", actionType: "startCharging", actionStatus: .failed, resultDescription: "no charger")],
            batteryState: VDA5050BatteryState(batteryCharge: 9, charging: true),
            errors: [error, VDA5050Error("motorFault", level: .fatal, description: "left drive")],
            safetyState: VDA5050SafetyState(eStop: .autoAck, fieldViolation: true)))
        for state in [VDA5050Connection.State.online, .offline, .broken] {
            try write("connection-\(state.rawValue)", .connection, VDA5050Connection(header: header(.connection), connectionState: state))
        }
        try write("visualization-1", .visualization, VDA5050Visualization(
            header: header(.visualization), agvPosition: VDA5050AGVPosition(x: 1, y: 2, theta: 3.1, mapId: "park"), velocity: VDA5050Velocity(vx: 0.5)))

        // Built to violate the schemas: each must be refused by both.
        let idle = String(decoding: VDA5050.encode(VDA5050State(header: header(.state), batteryState: VDA5050BatteryState(batteryCharge: 50, charging: false))), as: UTF8.self)
        let orderText = String(decoding: VDA5050.encode(withActions), as: UTF8.self)
        let connection = String(decoding: VDA5050.encode(VDA5050Connection(header: header(.connection), connectionState: .online)), as: UTF8.self)
        let broken: [(String, VDA5050.Topic, String)] = [
            ("bad-state-no-battery", .state, idle.replacingOccurrences(of: #""batteryState":{"batteryCharge":50,"charging":false},"#, with: "")),
            ("bad-order-sequence-text", .order, orderText.replacingOccurrences(of: #""sequenceId":0"#, with: #""sequenceId":"0""#)),
            ("bad-connection-state", .connection, connection.replacingOccurrences(of: "ONLINE", with: "UP")),
            ("bad-order-blocking", .order, orderText.replacingOccurrences(of: #""blockingType":"HARD""#, with: #""blockingType":"SOMETIMES""#)),
        ]
        for (name, topic, text) in broken {
            #expect(text.utf8.count > 10)
            try writeBroken(name, topic, text)
        }
        #expect(idle.contains(#""batteryState":{"batteryCharge":50,"charging":false},"#), "the broken state must really lack batteryState: \(idle)")

        var messages: [(name: String, topic: String, json: String)] = []
        for (file, expectation) in files {
            messages.append((file, expectation.topic, try String(contentsOfFile: directory.path(file), encoding: .utf8)))
        }
        let verdicts = try VDA5050Schemas.validate(messages)
        #expect(verdicts.count == files.count)
        for (file, expectation) in files.sorted(by: { $0.key < $1.key }) {
            let errors = verdicts[file] ?? ["not validated"]
            if expectation.valid {
                #expect(errors.isEmpty, "\(file) against \(expectation.topic).schema: \(errors)")
            } else {
                #expect(!errors.isEmpty, "\(file) should be invalid against \(expectation.topic).schema")
            }
        }
        // The decoder agrees with the validator on the broken ones.
        for (name, topic, text) in broken {
            let bytes = Array(text.utf8)
            let refused: Bool
            switch topic {
            case .state: refused = (try? VDA5050.decode(VDA5050State.self, from: bytes)) == nil
            case .order: refused = (try? VDA5050.decode(VDA5050Order.self, from: bytes)) == nil
            case .connection: refused = (try? VDA5050.decode(VDA5050Connection.self, from: bytes)) == nil
            default: refused = false
            }
            #expect(refused, "\(name) was read although the schema refuses it")
        }
    }
}
