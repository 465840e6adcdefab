import ParkVDA5050
import Testing

/// The robot's VDA 5050 controller (its side of the protocol, without the machine): how orders
/// are driven node by node, blocking and non-blocking actions, the horizon, instant actions, and
/// what the state says at each step.
@Suite struct VDA5050VehicleSessionTests {
    private func session() -> VDA5050VehicleSession {
        VDA5050VehicleSession(manufacturer: "Acme", serialNumber: "R-1", mapId: "park", at: "A")
    }

    private func header() -> VDA5050Header {
        VDA5050Header(headerId: 0, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1")
    }

    private func drives(_ directives: [VDA5050VehicleSession.Directive]) -> [String] {
        directives.compactMap { if case .drive(let node, _) = $0 { node.nodeId } else { nil } }
    }

    private func runs(_ directives: [VDA5050VehicleSession.Directive]) -> [String] {
        directives.compactMap { if case .run(let action) = $0 { action.actionId } else { nil } }
    }

    @Test func anOrderIsDrivenNodeByNodeAndAHardActionHoldsTheRobot() {
        var robot = session()
        var clean = order("o1", 0, path: ["A", "B", "C"])
        clean.nodes[1].actions = [VDA5050Action(actionType: "clean", actionId: "c1", blockingType: .hard)]
        let (decision, first) = robot.receive(order: clean)
        #expect(decision == .accepted && drives(first) == ["B"] && robot.driving)
        let atB = robot.arrived()
        #expect(runs(atB) == ["c1"] && drives(atB).isEmpty, "the HARD action holds the robot at B")
        #expect(robot.actionStates.first { $0.actionId == "c1" }?.actionStatus == .running)
        #expect(robot.state(header: header()).lastNodeId == "B" && !robot.driving)
        let afterClean = robot.actionEnded("c1")
        #expect(drives(afterClean) == ["C"])
        #expect(robot.arrived().isEmpty)
        let state = robot.state(header: header())
        #expect(state.lastNodeId == "C" && state.lastNodeSequenceId == 4 && state.nodeStates.isEmpty && state.edgeStates.isEmpty)
        #expect(state.actionStates.map(\.actionStatus) == [.finished] && !state.driving && state.newBaseRequest == false)
        #expect(robot.book.isIdle)
    }

    @Test func noneActionsRunBesideDrivingAndEdgeActionsStartOnSettingOff() {
        var robot = session()
        var route = order("o1", 0, path: ["A", "B"])
        route.nodes[0].actions = [VDA5050Action(actionType: "beep", actionId: "n1", blockingType: .none)]
        route.edges[0].actions = [VDA5050Action(actionType: "lights", actionId: "e1", blockingType: .none)]
        let (_, directives) = robot.receive(order: route)
        #expect(runs(directives) == ["n1", "e1"] && drives(directives) == ["B"])
    }

    @Test func theRobotWaitsAtTheEndOfTheBaseForAnUpdate() {
        var robot = session()
        _ = robot.receive(order: order("o1", 0, path: ["A", "B", "C"], released: 2))
        #expect(robot.arrived().isEmpty, "C is in the horizon")
        let waiting = robot.state(header: header())
        #expect(waiting.lastNodeId == "B" && waiting.nodeStates.map(\.released) == [false] && waiting.newBaseRequest == true)
        let (decision, directives) = robot.receive(order: order("o1", 1, path: ["B", "C", "D"], firstSequence: 2))
        #expect(decision == .updated && drives(directives) == ["C"])
        #expect(drives(robot.arrived()) == ["D"])
    }

    @Test func cancelOrderStopsAndFailsWhatWasOpen() {
        var robot = session()
        var route = order("o1", 0, path: ["A", "B", "C"])
        route.nodes[2].actions = [VDA5050Action(actionType: "drop", actionId: "d1", blockingType: .hard)]
        _ = robot.receive(order: route)
        let cancel = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "cancelOrder", actionId: "x1", blockingType: .hard)])
        #expect(robot.receive(instantActions: cancel) == [.stop])
        let state = robot.state(header: header())
        #expect(state.nodeStates.isEmpty && state.edgeStates.isEmpty && !state.driving && state.orderId == "o1")
        #expect(state.actionStates.first { $0.actionId == "d1" }?.actionStatus == .failed)
        #expect(state.actionStates.first { $0.actionId == "x1" }?.actionStatus == .finished)
        #expect(robot.arrived().isEmpty, "the drive it was on is gone")
        // Nothing left to cancel: the action fails and says why.
        let again = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "cancelOrder", actionId: "x2", blockingType: .hard)])
        _ = robot.receive(instantActions: again)
        #expect(robot.actionStates.first { $0.actionId == "x2" }?.actionStatus == .failed)
        #expect(robot.errors.contains { $0.errorType == "noOrderToCancel" })
        // And the robot takes a new order from where it stopped (its last node, A).
        #expect(robot.receive(order: order("o2", 0, path: ["A", "C"])).0 == .accepted)
    }

    @Test func pauseStopsAndResumeDrivesOn() {
        var robot = session()
        _ = robot.receive(order: order("o1", 0, path: ["A", "B"]))
        let pause = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "startPause", actionId: "p1", blockingType: .hard)])
        #expect(robot.receive(instantActions: pause) == [.stop] && robot.paused && !robot.driving)
        let resume = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "stopPause", actionId: "p2", blockingType: .hard)])
        #expect(drives(robot.receive(instantActions: resume)) == ["B"] && !robot.paused)
        let unknown = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "dance", actionId: "u1")])
        _ = robot.receive(instantActions: unknown)
        #expect(robot.actionStates.first { $0.actionId == "u1" }?.actionStatus == .failed)
        #expect(robot.errors.contains { $0.errorType == "actionNotSupported" })
    }

    @Test func rejectedOrdersShowInTheStateUntilAGoodOne() {
        var robot = session()
        let (decision, directives) = robot.receive(order: order("o1", 0, path: ["Z", "B"]))
        guard case .rejected = decision else {
            Issue.record("an order starting elsewhere must be rejected")
            return
        }
        #expect(directives.isEmpty && robot.state(header: header()).errors.map(\.errorType) == ["noRouteError"])
        #expect(robot.receive(order: order("o1", 0, path: ["A", "B"])).0 == .accepted)
        #expect(robot.errors.isEmpty)
    }

    @Test func aFatalErrorOrAnEmergencyStopHoldsTheRobot() {
        var robot = session()
        robot.setError("motorFault", level: .fatal, description: "left drive")
        let (_, held) = robot.receive(order: order("o1", 0, path: ["A", "B"]))
        #expect(drives(held).isEmpty)
        robot.setError("motorFault", level: nil)
        #expect(robot.errors.isEmpty)
        robot.setEmergencyStop(true)
        #expect(robot.state(header: header()).safetyState.eStop == .manual)
        robot.setEmergencyStop(false)
        let start = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "stateRequest", actionId: "s1")])
        #expect(drives(robot.receive(instantActions: start)) == ["B"], "free again, it drives on")
    }

    @Test func chargingRunsUntilTheMachineSaysSo() {
        var robot = session()
        let charge = VDA5050InstantActions(header: header(), actions: [VDA5050Action(actionType: "startCharging", actionId: "ch1", blockingType: .hard)])
        #expect(robot.receive(instantActions: charge) == [.charge])
        #expect(robot.actionStates.first { $0.actionId == "ch1" }?.actionStatus == .running)
        robot.update(x: 0, y: 0, theta: 0, speed: 0, batteryCharge: 41.26, charging: true)
        #expect(robot.state(header: header()).batteryState == VDA5050BatteryState(batteryCharge: 41.3, charging: true))
        _ = robot.actionEnded("ch1")
        #expect(robot.actionStates.first { $0.actionId == "ch1" }?.actionStatus == .finished)
    }
}
