import Foundation
import ParkBindings
import ParkCore
import ParkProfiles
import ParkTestSupport
import ParkWire
import Testing

/// A robot on VDA 5050 through mosquitto, with paho-mqtt as the fleet controller nobody here
/// wrote: the `mobile-robot` plugin as the machine, the binding as its controller. paho sees the
/// retained ONLINE, sends an order, and watches the robot drive it — `state` with the nodes left,
/// the pick at B RUNNING then FINISHED, the last node C — then a stale update rejected with an
/// `orderUpdateError`, a dropped connection's CONNECTIONBROKEN will, and OFFLINE on stop. Every
/// message the robot wrote is checked against the VDA's published schemas by Python `jsonschema`.
@Suite(.serialized) struct VDA5050RobotInteropTests {
    @Test func aRobotDrivesAnOrderFromPaho() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let witness = try MQTTDeviceBindingTests.Collector(broker.directory, port: broker.port, filter: "uagv/#")
        defer { witness.stop() }

        let robotKind = try #require(PluginLoader.discover().kinds.first { $0.descriptor.name == "mobile-robot" }, "libParkPluginMobileRobot.so is built next to the tests")
        var model = ModelProfile(kind: "mobile-robot", model: "bot-1", vendor: "Acme", title: "", parameters: [:], file: "bot-1.yaml")
        model.vda5050 = ModelVDA5050Settings(stateInterval: .seconds(30), visualizationInterval: .milliseconds(500))
        let plan = [PlannedDevice(kind: robotKind, setup: DeviceSetup(
            id: "R-1", parameters: try DeviceParameters(descriptor: robotKind.descriptor, overrides: [
                "max_speed": "4", "report_interval": "200ms", "heartbeat_interval": "1h",
            ]), random: .forDevice("R-1", runSeed: 3), placement: Placement(zone: "A", floor: 1)))]
        let binding = VDA5050RobotBinding(
            devices: [BoundDevice(id: "R-1", kind: "mobile-robot", model: "bot-1", zone: "A")], catalog: ModelCatalog([model]),
            configuration: .init(port: broker.port, defaultActionTime: .seconds(1), mapId: "park-a"))
        #expect(binding.deviceIDs == ["R-1"])
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        await engine.start()
        try binding.start()
        let base = "uagv/v2/Acme/R-1"
        try waitFor("the robot ONLINE", seconds: 30) {
            witness.seen.contains { $0.topic == base + "/connection" && $0.json?["connectionState"] as? String == "ONLINE" && $0.retain == false }
        }

        // A-B-C: 4 m to B at up to 2 m/s, a pick at B (HARD: the robot waits), 3 m on to C.
        let order = """
            {"headerId":0,"timestamp":"2026-12-07T08:00:00.000Z","version":"2.1.0","manufacturer":"Acme","serialNumber":"R-1",
             "orderId":"o-1","orderUpdateId":1,"nodes":[
              {"nodeId":"A","sequenceId":0,"released":true,"nodePosition":{"x":0,"y":0,"mapId":"park-a"},"actions":[]},
              {"nodeId":"B","sequenceId":2,"released":true,"nodePosition":{"x":4,"y":0,"mapId":"park-a"},
               "actions":[{"actionType":"pick","actionId":"pick-1","blockingType":"HARD","actionParameters":[{"key":"duration","value":1}]}]},
              {"nodeId":"C","sequenceId":4,"released":true,"nodePosition":{"x":4,"y":3,"mapId":"park-a"},"actions":[]}],
             "edges":[
              {"edgeId":"A-B","sequenceId":1,"released":true,"startNodeId":"A","endNodeId":"B","maxSpeed":2,"actions":[]},
              {"edgeId":"B-C","sequenceId":3,"released":true,"startNodeId":"B","endNodeId":"C","actions":[]}]}
            """.replacingOccurrences(of: "\n", with: "")
        try MQTTDeviceBindingTests().publish(broker.directory, port: broker.port, topic: base + "/order", payload: order)
        func states() -> [[String: Any]] { witness.seen.filter { $0.topic == base + "/state" }.compactMap(\.json) }
        func actions(_ state: [String: Any]) -> [[String: Any]] { state["actionStates"] as? [[String: Any]] ?? [] }
        func done(_ state: [String: Any]) -> Bool {
            let atC = state["lastNodeId"] as? String == "C"
            let nothingLeft = (state["nodeStates"] as? [Any])?.isEmpty == true
            let picked = actions(state).contains { $0["actionId"] as? String == "pick-1" && $0["actionStatus"] as? String == "FINISHED" }
            return atC && nothingLeft && picked
        }
        try waitFor("the robot at C with the pick finished", seconds: 30) { states().contains(where: done) }
        let seen = states()
        #expect(seen.contains { $0["driving"] as? Bool == true && $0["orderId"] as? String == "o-1" }, "it said it was driving")
        let pickingAtB = seen.contains { state in
            state["lastNodeId"] as? String == "B" && actions(state).contains { $0["actionStatus"] as? String == "RUNNING" }
        }
        #expect(pickingAtB, "the pick ran at B")
        let headerIds = seen.compactMap { $0["headerId"] as? Int }
        #expect(headerIds == Array(headerIds.sorted()) && Set(headerIds).count == headerIds.count, "state headerIds rise: \(headerIds)")
        // The machine really went: drives to B and C in the ledger, and it stands at (4, 3).
        let drives = try engine.ledger.records().filter { $0.deviceID == "R-1" && $0.entry == .command && $0.name == "drive" }
        #expect(drives.count == 2)
        let last = try #require(seen.last?["agvPosition"] as? [String: Any])
        #expect(abs((last["x"] as? Double ?? 0) - 4) < 0.05 && abs((last["y"] as? Double ?? 0) - 3) < 0.05, "\(last)")
        #expect(last["mapId"] as? String == "park-a", "the fleet manager's map, not the robot's zone")

        // An older update of the same order: rejected, and the state says why.
        let stale = order.replacingOccurrences(of: #""orderUpdateId":1"#, with: #""orderUpdateId":0"#)
        try MQTTDeviceBindingTests().publish(broker.directory, port: broker.port, topic: base + "/order", payload: stale)
        func errorTypes(_ state: [String: Any]) -> [String] { (state["errors"] as? [[String: Any]] ?? []).compactMap { $0["errorType"] as? String } }
        try waitFor("the stale update refused", seconds: 30) { states().contains { errorTypes($0).contains("orderUpdateError") } }
        #expect(binding.figures.orders == 2 && binding.figures.ordersRejected == 1)

        // The network gone: the broker says CONNECTIONBROKEN for it (the robot's last will).
        try binding.dropConnection("R-1", reconnect: true)
        try waitFor("the CONNECTIONBROKEN will", seconds: 30) {
            witness.seen.contains { $0.topic == base + "/connection" && $0.json?["connectionState"] as? String == "CONNECTIONBROKEN" }
        }
        try waitFor("back ONLINE", seconds: 30) {
            witness.seen.filter { $0.topic == base + "/connection" }.last?.json?["connectionState"] as? String == "ONLINE"
        }
        binding.stop()
        await engine.stop()
        try waitFor("OFFLINE on stop", seconds: 30) {
            witness.seen.filter { $0.topic == base + "/connection" }.last?.json?["connectionState"] as? String == "OFFLINE"
        }
        #expect(binding.figures.visualizations > 0)

        // Every message the robot wrote, against the VDA's own schemas.
        let written = witness.seen.filter { !$0.topic.hasSuffix("/order") }.enumerated().map { index, message in
            (name: "\(index) \(message.topic)", topic: String(message.topic.split(separator: "/").last ?? ""), json: message.payload)
        }
        #expect(written.count > 5)
        for (name, errors) in try VDA5050Schemas.validate(written) { #expect(errors.isEmpty, "\(name): \(errors)") }
    }
}
