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
        #expect(platform.counters.malformed == 1, "visualization is not read")
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

        var deaf = PlatformCore(configuration: PlatformConfiguration(robotMap: map))
        deaf.faults.robotErrorsIgnored = true
        let ignored = deaf.robotState("R-1", low, now: 1)
        #expect(alarms(ignored).isEmpty && !ignored.contains { if case .sendRobotMessage = $0 { true } else { false } })
    }
}
