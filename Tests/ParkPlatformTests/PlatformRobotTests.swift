import Foundation
import ParkProfiles
@testable import ParkPlatform
import ParkVDA5050
import Testing

/// Robots in the reference platform (issue 19): VDA 5050 `connection` and `state` make a robot
/// online or offline, a new FATAL error (or a low battery) is an alarm once per appearance, named
/// by its errorType, on the alarm path the fault switches act on; battery and position are
/// telemetry.
@Suite struct PlatformRobotTests {
    private func state(_ errors: [VDA5050Error], battery: Double = 80, headerId: Int = 0) -> VDA5050State {
        VDA5050State(
            header: VDA5050Header(headerId: headerId, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1"),
            agvPosition: VDA5050AGVPosition(x: 3, y: 4, theta: 0, mapId: "park-a"),
            batteryState: VDA5050BatteryState(batteryCharge: battery, charging: false), errors: errors)
    }

    /// What the fleet manager sent: orders to robots, and commands to park devices as
    /// "device command" (with " floor N" for a lift's call).
    private func sent(_ actions: [PlatformCore.Action]) -> (orders: [VDA5050Order], commands: [String]) {
        var orders: [VDA5050Order] = [], commands: [String] = []
        for action in actions {
            if case .sendRobotMessage(_, _, let payload) = action, let order = try? VDA5050.decode(VDA5050Order.self, from: payload) { orders.append(order) }
            if case .sendCommand(let device, _, let payload, "fleet-manager", _) = action,
               let command = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any], let name = command["command"] as? String {
                let floor = (command["args"] as? [String: Any])?["floor"].map { " floor \($0)" } ?? ""
                commands.append("\(device) \(name)\(floor)")
            }
        }
        return (orders, commands)
    }

    /// A robot's state at `node` of `orderId`, at (x, 0), with the nodes `left` of its order.
    private func at(_ node: String, x: Double = 0, orderId: String, left: [String] = [], driving: Bool = false) -> VDA5050State {
        var message = state([])
        message.orderId = orderId
        message.lastNodeId = node
        message.agvPosition = VDA5050AGVPosition(x: x, y: 0, theta: 0, mapId: "park-a")
        message.nodeStates = left.map { VDA5050NodeState(VDA5050Node(nodeId: $0, sequenceId: 0)) }
        message.driving = driving
        return message
    }

    /// The orders among `actions` (instant actions are left out).
    private func orders(_ actions: [PlatformCore.Action]) throws -> [VDA5050Order] {
        try actions.compactMap { if case .sendRobotMessage(_, let topic, let payload) = $0, topic.hasSuffix("/order") { payload } else { nil } }.map {
            try VDA5050.decode(VDA5050Order.self, from: $0)
        }
    }

    /// A fleet manager on `map` that has heard `devices` (id, kind) with their command topics.
    private func fleetManager(on map: ParkMap, devices: [(String, String)], linkageDropped: Bool) -> PlatformCore {
        var core = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        core.faults.linkageDropped = linkageDropped
        for (id, kind) in devices {
            var device = PlatformCore.DeviceState(id: id, kind: kind, status: .online, lastSeen: 0, lastSequence: 0, gaps: 0, duplicates: 0, messages: 1)
            device.commandTopic = "park/A/\(kind)/\(id)/cmd"
            core.devices[id] = device
        }
        return core
    }

    private func alarms(_ actions: [PlatformCore.Action]) -> [String] {
        actions.compactMap { if case .raiseAlarm(let alarm, _) = $0 { alarm.event } else { nil } }
    }

    @Test func newErrorsAreAlarmsOnce() {
        var core = PlatformCore(configuration: PlatformConfiguration())
        let online = core.robotConnection("R-1", state: .online, now: 1)
        #expect(online.contains(.statusChanged(device: "R-1", from: nil, to: .online)))
        #expect(core.devices["R-1"]?.kind == "mobile-robot")
        let quiet = core.robotState("R-1", state([]), now: 2)
        #expect(alarms(quiet).isEmpty)
        #expect(quiet.contains { if case .showTelemetry(let telemetry) = $0 { telemetry.values["battery"] == 80 && telemetry.values["x"] == 3 } else { false } })
        let motor = VDA5050Error("motorFault", level: .fatal, description: "left drive")
        let first = core.robotState("R-1", state([motor]), now: 3)
        #expect(alarms(first) == ["motorFault"])
        #expect(core.devices["R-1"]?.status == .abnormal)
        #expect(alarms(core.robotState("R-1", state([motor]), now: 4)).isEmpty, "the same error again is no new alarm")
        // A warning is no alarm, except a low battery.
        let mixed = core.robotState("R-1", state([motor, VDA5050Error("obstacle"), VDA5050Error("lowBattery")], battery: 12), now: 5)
        #expect(alarms(mixed) == ["lowBattery"])
        let cleared = core.robotState("R-1", state([]), now: 6)
        #expect(alarms(cleared).isEmpty && core.devices["R-1"]?.status == .online)
        #expect(alarms(core.robotState("R-1", state([motor]), now: 7)) == ["motorFault"], "a fault that comes back is a new alarm")
        #expect(core.alarmsRaised == 3)
    }

    @Test func aBrokenConnectionIsOfflineAndDropAlarmsDropsThem() {
        var core = PlatformCore(configuration: PlatformConfiguration())
        _ = core.robotConnection("R-1", state: .online, now: 1)
        let broken = core.robotConnection("R-1", state: .broken, now: 2)
        #expect(broken == [.statusChanged(device: "R-1", from: .online, to: .offline)])
        #expect(core.robotState("R-1", state([]), now: 3).contains(.statusChanged(device: "R-1", from: .offline, to: .online)))
        core.faults.dropAlarms = true
        #expect(alarms(core.robotState("R-1", state([VDA5050Error("motorFault", level: .fatal)]), now: 4)).isEmpty)
        #expect(core.alarmsDropped == 1)
    }

    /// On the platform itself: the topics are read, a broken payload is counted, not fatal.
    @Test func robotTopicsAreReadFromTheWire() {
        let platform = ReferencePlatform(endpoints: .init())
        let base = "uagv/v2/Acme/R-7"
        let online = VDA5050Connection(
            header: VDA5050Header(headerId: 0, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-7"), connectionState: .online)
        platform.receive(topic: base + "/connection", payload: VDA5050.encode(online))
        #expect(platform.devices["R-7"]?.status == .online)
        platform.receive(topic: base + "/state", payload: VDA5050.encode(state([VDA5050Error("localizationError", level: .fatal)])))
        #expect(platform.counters.raised == 1 && platform.devices["R-7"]?.status == .abnormal)
        platform.receive(topic: base + "/state", payload: Array(#"{"headerId":"x"}"#.utf8))
        #expect(platform.counters.malformed == 1)
        platform.receive(topic: base + "/visualization", payload: Array("{}".utf8))
        #expect(platform.counters.malformed == 1, "an empty visualization says nothing and breaks nothing")
    }

    /// With the park's map, a low battery sends the robot to the nearest charger by the shortest
    /// way, from the node nearest to it, ending in startCharging: one order per low battery.
    @Test func aLowBatterySendsTheRobotToTheNearestCharger() throws {
        let map = try ParkMap.parse("""
            map: park-a
            nodes:
              - {id: dock-1, x: 0, y: 0, charger: true}
              - {id: dock-2, x: 100, y: 0, charger: true}
              - {id: yard, x: 10, y: 0}
              - {id: lobby, x: 40, y: 0}
            edges:
              - {from: dock-1, to: yard}
              - {from: yard, to: lobby, max_speed: 0.5}
              - {from: lobby, to: dock-2}
            """, file: "m.yaml")
        var core = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        var low = state([VDA5050Error("lowBattery")], battery: 12)
        low.agvPosition = VDA5050AGVPosition(x: 38, y: 1, theta: 0, mapId: "park-a")
        let actions = core.robotState("R-1", low, now: 1_796_630_400_000_000_000)
        #expect(alarms(actions) == ["lowBattery"])
        let sent = actions.compactMap { if case .sendRobotMessage(let device, let topic, let payload) = $0 { (device, topic, payload) } else { nil } }
        #expect(sent.count == 1 && sent.first?.0 == "R-1" && sent.first?.1 == "uagv/v2/Acme/R-1/order")
        let order = try VDA5050.decode(VDA5050Order.self, from: try #require(sent.first?.2))
        #expect(VDA5050OrderBook.validate(order) == nil)
        // From the lobby (nearest), dock-1 is 40 m away, dock-2 60 m.
        #expect(order.nodes.map(\.nodeId) == ["lobby", "yard", "dock-1"])
        #expect(order.nodes.last?.actions.map(\.actionType) == ["startCharging"] && order.nodes.allSatisfy { $0.nodePosition?.mapId == "park-a" })
        #expect(order.edges.map(\.maxSpeed) == [0.5, nil] && order.timestamp == "2026-12-07T08:00:00.000Z")
        // The same low battery again: no second order; once gone and back: a new one.
        #expect(!core.robotState("R-1", low, now: 2).contains { if case .sendRobotMessage = $0 { true } else { false } })
        _ = core.robotState("R-1", state([], battery: 90), now: 3)
        let again = core.robotState("R-1", low, now: 4).compactMap { if case .sendRobotMessage(_, _, let payload) = $0 { payload } else { nil } }
        let second = try VDA5050.decode(VDA5050Order.self, from: try #require(again.first))
        #expect(second.orderId != order.orderId && second.headerId > order.headerId)

        // A robot on a task when its battery runs low: told to cancel, then sent home from the
        // node it last reached; the task goes back on its list. A return the robot refuses is
        // asked again on the next state.
        var busy = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        _ = busy.robotState("R-1", at("yard", x: 10, orderId: ""), now: 1)
        let task = try #require(try orders(busy.robotTask("R-1", to: "dock-2", commandID: "api-7", now: 2).get()).first)
        var draining = at("lobby", x: 41, orderId: task.orderId, left: ["dock-2"], driving: true)
        draining.errors = [VDA5050Error("lowBattery")]
        let home = busy.robotState("R-1", draining, now: 3)
        let topics = home.compactMap { if case .sendRobotMessage(_, let topic, _) = $0 { topic } else { nil } }
        // (The task's own release comes first: the robot stands at its base's end.)
        #expect(topics.suffix(2) == ["uagv/v2/Acme/R-1/instantActions", "uagv/v2/Acme/R-1/order"], "cancelOrder first, then the way home")
        let way = try #require(try orders(home).last)
        #expect(way.nodes.first?.nodeId == "lobby" && busy.devices["R-1"]?.robotQueue.map(\.destination) == ["dock-2"])
        var refused = draining
        refused.errors.append(VDA5050Error("orderError", references: [VDA5050ErrorReference("orderId", way.orderId)]))
        let retried = try orders(busy.robotState("R-1", refused, now: 4))
        #expect(retried.count == 1 && retried.first?.orderId != way.orderId, "refused: asked again")

        var deaf = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        deaf.faults.robotErrorsIgnored = true
        let ignored = deaf.robotState("R-1", low, now: 1)
        #expect(alarms(ignored).isEmpty && !ignored.contains { if case .sendRobotMessage = $0 { true } else { false } })
    }

    /// A task (`goto`): planned from where the robot stands (its visualization, when no state has
    /// said), the first half released and the rest held back; released by update 1 when the robot
    /// stands at the base's end; a `task-completed` record when it is at the destination with
    /// nothing left. The two fault switches break exactly the release.
    @Test func aTaskIsReleasedInTwoStepsAndShownDone() throws {
        let map = try ParkMap.parse("""
            map: park-a
            nodes:
              - {id: a, x: 0, y: 0}
              - {id: b, x: 10, y: 0}
              - {id: c, x: 20, y: 0}
              - {id: d, x: 30, y: 0}
            edges:
              - {from: a, to: b}
              - {from: b, to: c}
              - {from: c, to: d}
            """, file: "m.yaml")
        func records(_ actions: [PlatformCore.Action]) -> [PlatformRecord] {
            actions.compactMap { if case .showRecord(let record) = $0 { record } else { nil } }
        }
        let visualization = VDA5050Visualization(
            header: VDA5050Header(headerId: 0, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1"),
            agvPosition: VDA5050AGVPosition(x: 0.2, y: 0, theta: 0, mapId: "park-a"), velocity: nil)

        var core = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        _ = core.robotConnection("R-1", state: .online, now: 1)
        let asked = try #require(try? core.robotTask("R-1", to: "d", commandID: "api-1", now: 2).get())
        #expect(asked.isEmpty, "nothing is sent before the robot has said where it is")
        let planned = try orders(core.robotVisualization("R-1", visualization, now: 3))
        let order = try #require(planned.first)
        #expect(planned.count == 1 && VDA5050OrderBook.validate(order) == nil)
        #expect(order.nodes.map(\.nodeId) == ["a", "b", "c", "d"] && order.nodes.map(\.released) == [true, true, true, false])
        #expect(order.edges.map(\.released) == [true, true, false] && order.orderUpdateId == 0)
        #expect(try orders(core.robotState("R-1", at("b", x: 10, orderId: order.orderId, left: ["c", "d"], driving: true), now: 4)).isEmpty)
        let release = try orders(core.robotState("R-1", at("c", x: 20, orderId: order.orderId, left: ["d"]), now: 5))
        let update = try #require(release.first)
        #expect(release.count == 1 && update.orderId == order.orderId && update.orderUpdateId == 1 && update.headerId == order.headerId + 1)
        let queued = records(try core.robotTask("R-1", to: "a", commandID: "api-9", now: 5).get())
        #expect(queued.map(\.event) == ["task-queued"] && queued.first?.values["waiting"] == 1, "busy: on its task list")
        #expect(update.nodes.map(\.nodeId) == ["c", "d"] && update.nodes.map(\.sequenceId) == [4, 6] && update.nodes.allSatisfy(\.released))
        #expect(try orders(core.robotState("R-1", at("c", x: 20, orderId: order.orderId, left: ["d"], driving: true), now: 6)).isEmpty, "released once")
        let finished = core.robotState("R-1", at("d", x: 30, orderId: order.orderId), now: 7)
        let done = records(finished)
        #expect(done.map(\.event) == ["task-completed"] && done.first?.texts["to"] == "d" && done.first?.messageID == "api-1")
        let next = try #require(try orders(finished).first, "free, the robot takes the next task on its list")
        #expect(next.nodes.map(\.nodeId) == ["d", "c", "b", "a"] && next.orderId != order.orderId && core.devices["R-1"]?.robotQueue.isEmpty == true)
        let nextDone = records(core.robotState("R-1", at("a", x: 0, orderId: next.orderId), now: 8))
        #expect(nextDone.map(\.event) == ["task-completed"] && nextDone.first?.messageID == "api-9")
        #expect(core.devices["R-1"]?.robotTask == nil && records(core.robotState("R-1", at("a", x: 0, orderId: next.orderId), now: 9)).isEmpty)
        // The list has room for robotQueueLimit tasks; one more is refused.
        _ = try core.robotTask("R-1", to: "d", commandID: "api-10", now: 10).get()
        for index in 0 ..< PlatformCore.robotQueueLimit { _ = try core.robotTask("R-1", to: "b", commandID: "api-q\(index)", now: 11).get() }
        #expect(throws: PlatformError.self, "the task list is full") { try core.robotTask("R-1", to: "c", commandID: "api-full", now: 12).get() }

        // The switches: the release repeats update 0, or never comes.
        for (stale, kept) in [(true, false), (false, true)] {
            var faulty = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
            faulty.faults.robotUpdatesStale = stale
            faulty.faults.robotHorizonKept = kept
            _ = faulty.robotState("R-1", at("a", x: 0, orderId: ""), now: 1)
            let first = try #require(try orders(faulty.robotTask("R-1", to: "d", commandID: "api-2", now: 2).get()).first)
            let released = try orders(faulty.robotState("R-1", at("c", x: 20, orderId: first.orderId, left: ["d"]), now: 3))
            #expect(released.map(\.orderUpdateId) == (stale ? [0] : []))
        }

        // A task whose order the robot refuses ends, shown failed with the robot's reason.
        var refused = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        _ = refused.robotState("R-1", at("a", x: 0, orderId: "cleaning-7"), now: 1)
        let doomed = try #require(try orders(refused.robotTask("R-1", to: "d", commandID: "api-4", now: 2).get()).first)
        var busy = at("a", x: 0, orderId: "cleaning-7", left: ["x"], driving: true)
        busy.errors = [VDA5050Error("orderError", description: "still driving cleaning-7", references: [VDA5050ErrorReference("orderId", doomed.orderId)])]
        let failed = records(refused.robotState("R-1", busy, now: 3))
        #expect(failed.map(\.event) == ["task-failed"] && failed.first?.texts["reason"]?.hasPrefix("orderError") == true)
        #expect(refused.devices["R-1"]?.robotTask == nil)

        // What cannot be a task is refused, naming why.
        var refusing = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        _ = refusing.robotState("R-1", at("a", x: 0, orderId: ""), now: 1)
        #expect(throws: PlatformError.self) { try refusing.robotTask("R-1", to: "moon", commandID: "x", now: 2).get() }
        #expect(throws: PlatformError.self) { try refusing.robotTask("R-9", to: "d", commandID: "x", now: 2).get() }
        var mapless = PlatformCore(configuration: PlatformConfiguration())
        _ = mapless.robotState("R-1", at("a", x: 0, orderId: ""), now: 1)
        #expect(throws: PlatformError.self) { try mapless.robotTask("R-1", to: "d", commandID: "x", now: 2).get() }
    }

    /// A way through an access door (LK21): the base ends before the door, the door is told to
    /// unlock (on the linkage path: linkage-dropped drops it) when the robot waits there, and its
    /// `unlocked` releases the way on.
    @Test func aDoorOnTheWayIsUnlockedBeforeTheRobotIsSentThrough() throws {
        let map = try ParkMap.parse("""
            map: park-a
            nodes:
              - {id: a, x: 0, y: 0}
              - {id: b, x: 10, y: 0}
              - {id: gate, x: 12, y: 0, door: door-1}
              - {id: c, x: 14, y: 0}
            edges:
              - {from: a, to: b}
              - {from: b, to: gate}
              - {from: gate, to: c}
            """, file: "m.yaml")
        for dropped in [false, true] {
            var core = fleetManager(on: map, devices: [("door-1", "door")], linkageDropped: dropped)
            _ = core.robotState("R-1", at("a", x: 0, orderId: ""), now: 1)
            let order = try #require(sent(try core.robotTask("R-1", to: "c", commandID: "api-3", now: 2).get()).orders.first)
            #expect(order.nodes.map(\.released) == [true, true, false, false], "the base ends before the door")
            let waiting = sent(core.robotState("R-1", at("b", x: 10, orderId: order.orderId), now: 3))
            #expect(waiting.orders.isEmpty && waiting.commands == (dropped ? [] : ["door-1 unlock"]))
            #expect(sent(core.robotState("R-1", at("b", x: 10, orderId: order.orderId), now: 4)).commands.isEmpty, "asked once")
            #expect(sent(core.gateEvent("door-1", event: "locked", values: [:], now: 5)).orders.isEmpty)
            let released = sent(core.gateEvent("door-1", event: "unlocked", values: [:], now: 6)).orders
            #expect(released.map(\.orderUpdateId) == [1] && released.first?.nodes.map(\.nodeId) == ["b", "gate", "c"])
        }
    }

    /// A way through a door and up a lift (004 L2048): held before the door until it says
    /// unlocked, before the lift until the car, called to the robot's floor, opens there, and in
    /// the car until, called to the floor the way leaves it at, it opens there — each release an
    /// order update to the next hold. A car that closes at the robot's floor without it is called
    /// again; under linkage-dropped nothing is asked and the robot waits.
    @Test func aLiftOnTheWayIsCalledToBoardAndToRide() throws {
        let map = try ParkMap.parse("""
            map: park-a
            nodes:
              - {id: a, x: 0, y: 0}
              - {id: b, x: 10, y: 0}
              - {id: gate, x: 12, y: 0, door: door-1}
              - {id: hall, x: 14, y: 0}
              - {id: car-1, x: 14, y: 1, elevator: lift-1, floor: 1}
              - {id: car-2, x: 14, y: 1, elevator: lift-1, floor: 2}
              - {id: office, x: 17, y: 1, floor: 2}
            edges:
              - {from: a, to: b}
              - {from: b, to: gate}
              - {from: gate, to: hall}
              - {from: hall, to: car-1}
              - {from: car-1, to: car-2, length: 10}
              - {from: car-2, to: office}
            """, file: "m.yaml")
        for dropped in [false, true] {
            var core = fleetManager(on: map, devices: [("door-1", "door"), ("lift-1", "elevator")], linkageDropped: dropped)
            _ = core.robotState("R-1", at("a", orderId: ""), now: 1)
            let order = try #require(sent(try core.robotTask("R-1", to: "office", commandID: "api-5", now: 2).get()).orders.first)
            #expect(order.nodes.map(\.released) == [true, true, false, false, false, false, false], "the base ends before the door")
            #expect(sent(core.robotState("R-1", at("b", orderId: order.orderId), now: 3)).commands == (dropped ? [] : ["door-1 unlock"]))
            let throughDoor = sent(core.gateEvent("door-1", event: "unlocked", values: [:], now: 4)).orders
            #expect(throughDoor.map(\.orderUpdateId) == [1] && throughDoor.first?.nodes.filter(\.released).map(\.nodeId) == ["b", "gate", "hall"])
            #expect(sent(core.robotState("R-1", at("hall", orderId: order.orderId), now: 5)).commands == (dropped ? [] : ["lift-1 call floor 1"]))
            #expect(sent(core.gateEvent("lift-1", event: "door-opened", values: ["floor": 2], now: 6)).orders.isEmpty, "open at another floor")
            if !dropped {
                #expect(sent(core.gateEvent("lift-1", event: "door-closed", values: ["floor": 1], now: 7)).commands == ["lift-1 call floor 1"], "left without it")
            }
            let boarding = sent(core.gateEvent("lift-1", event: "door-opened", values: ["floor": 1], now: 8)).orders
            #expect(boarding.map(\.orderUpdateId) == [2] && boarding.first?.nodes.filter(\.released).map(\.nodeId) == ["hall", "car-1"])
            #expect(sent(core.robotState("R-1", at("car-1", orderId: order.orderId), now: 9)).commands == (dropped ? [] : ["lift-1 call floor 2"]))
            #expect(sent(core.gateEvent("lift-1", event: "door-closed", values: ["floor": 1], now: 10)).commands.isEmpty, "riding: not its floor")
            let riding = sent(core.gateEvent("lift-1", event: "door-opened", values: ["floor": 2], now: 11)).orders
            #expect(riding.map(\.orderUpdateId) == [3] && riding.first?.nodes.map(\.nodeId) == ["car-1", "car-2", "office"])
            #expect(riding.first?.nodes.allSatisfy(\.released) == true)
            let done = sent(core.robotState("R-1", at("office", orderId: order.orderId), now: 12))
            #expect(done.orders.isEmpty && core.devices["R-1"]?.robotTask == nil)
        }
        // A way that starts in the car and leaves it: held there until the car, called to that
        // floor, opens; one that starts at a door: held until it is unlocked.
        var inCar = fleetManager(on: map, devices: [("lift-1", "elevator"), ("door-1", "door")], linkageDropped: false)
        _ = inCar.robotState("R-1", at("car-2", orderId: ""), now: 1)
        let out = try #require(sent(try inCar.robotTask("R-1", to: "office", commandID: "api-6", now: 2).get()).orders.first)
        #expect(out.nodes.map(\.released) == [true, false])
        #expect(sent(inCar.robotState("R-1", at("car-2", orderId: out.orderId), now: 3)).commands == ["lift-1 call floor 2"])
        #expect(sent(inCar.gateEvent("lift-1", event: "door-opened", values: ["floor": 2], now: 4)).orders.first?.nodes.allSatisfy(\.released) == true)
        var atDoor = fleetManager(on: map, devices: [("door-1", "door")], linkageDropped: false)
        _ = atDoor.robotState("R-1", at("gate", orderId: ""), now: 1)
        let through = try #require(sent(try atDoor.robotTask("R-1", to: "a", commandID: "api-8", now: 2).get()).orders.first)
        #expect(through.nodes.map(\.released) == [true, false, false])
        #expect(sent(atDoor.robotState("R-1", at("gate", orderId: through.orderId), now: 3)).commands == ["door-1 unlock"])
    }

    /// The map's view of a robot: every visualization's position is shown; under
    /// `robot-view-sampled` at most once per interval (states' positions too), battery always.
    @Test func positionsAreShownAsTheyComeUnlessSampled() {
        func visualization(_ x: Double) -> VDA5050Visualization {
            VDA5050Visualization(
                header: VDA5050Header(headerId: 0, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1"),
                agvPosition: VDA5050AGVPosition(x: x, y: 0, theta: 0, mapId: "park-a"), velocity: nil)
        }
        func shownX(_ actions: [PlatformCore.Action]) -> [Double] {
            actions.compactMap { if case .showTelemetry(let telemetry) = $0 { telemetry.values["x"] } else { nil } }
        }
        var core = PlatformCore(configuration: PlatformConfiguration())
        _ = core.robotConnection("R-1", state: .online, now: 0)
        #expect(shownX(core.robotVisualization("R-1", visualization(1), now: 1_000_000_000)) == [1])
        #expect(shownX(core.robotVisualization("R-1", visualization(2), now: 1_500_000_000)) == [2])
        core.faults.robotViewInterval = .seconds(5)
        #expect(shownX(core.robotVisualization("R-1", visualization(3), now: 2_000_000_000)) == [3])
        #expect(shownX(core.robotVisualization("R-1", visualization(4), now: 3_000_000_000)).isEmpty)
        let state = core.robotState("R-1", state([]), now: 4_000_000_000)
        #expect(shownX(state).isEmpty && state.contains { if case .showTelemetry(let telemetry) = $0 { telemetry.values["battery"] == 80 } else { false } })
        #expect(shownX(core.robotVisualization("R-1", visualization(5), now: 7_000_000_000)) == [5])
    }
}
