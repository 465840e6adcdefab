import Foundation
import Testing
@testable import ParkCore

/// The elevator plugins (devices/plugins/elevators): the `elevator` and
/// `elevator-access-controller` kinds, loaded from the libraries SwiftPM built and run on the
/// virtual-time engine, checked against seed 004: the monitored elevator's floor, direction,
/// door and status and its fire homing to the ground floor with doors open (L3341-3359), the
/// trapped-passenger and intercom alarms (L2588, L2719), and the access controller's free mode
/// about 10 s after a fault and at once on a fire signal (L2396-2400).
@Suite struct ElevatorPluginTests {
    // MARK: elevator

    /// The elevator's vocabulary is what the platform rules and suites are written against.
    @Test func elevatorDescriptor() throws {
        let descriptor = try elevator().descriptor
        #expect(descriptor.name == "elevator")
        #expect(descriptor.points.map(\.name) == ["floor", "direction", "door", "status"])
        #expect(descriptor.points.map(\.type) == [.int, .string, .string, .string])
        #expect(descriptor.events.map(\.name) == [
            "arrived", "door-opened", "door-closed", "fire-homed", "trapped", "emergency-call", "door-fault", "overspeed",
            "fault-cleared", "released", "heartbeat",
        ])
        #expect(descriptor.events.map(\.severity) == [
            .info, .info, .info, .alarm, .alarm, .alarm, .critical, .critical, .info, .info, .info,
        ])
        #expect(descriptor.commands.map(\.name) == ["call", "fire-homing", "restore"])
        let call = try #require(descriptor.commands.first { $0.name == "call" })
        #expect(call.arguments.map(\.name) == ["floor"])
        #expect(call.arguments.map(\.type) == [.int])
        #expect(call.arguments.map(\.required) == [true])
        #expect(descriptor.stimuli.map(\.name) == [
            "car-call", "trapped", "release", "door-fault", "overspeed", "repair", "emergency-call", "maintenance",
        ])
        #expect(descriptor.stimulus(named: "car-call")?.arguments.map(\.name) == ["floor"])
        #expect(descriptor.stimulus(named: "maintenance")?.arguments.map(\.type) == [.bool])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "floors": "10", "ground_floor": "1", "start_floor": "1", "floor_time": "2s", "door_time": "3s",
            "dwell_time": "3s", "report_interval": "10s", "heartbeat_interval": "1m",
        ])
        #expect(descriptor.parameter(named: "floors")?.minimum == 2)
        #expect(descriptor.parameter(named: "floors")?.maximum == 200)
        #expect(descriptor.parameter(named: "floor_time")?.type == .duration)
        #expect(descriptor.sources == [
            "004_5e9061d643d5fb41.txt L3341-3359", "004_5e9061d643d5fb41.txt L2588", "004_5e9061d643d5fb41.txt L2719",
        ])
    }

    /// A call from floor 1 to 5: `arrived` exactly 4 × floor_time later, the doors open
    /// door_time after that and close dwell_time + door_time after they opened. The answer
    /// carries where the car is and its status. A call for the floor the car stands at just
    /// cycles the doors, with `arrived` at once.
    @Test func callTravelsAndCyclesTheDoors() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(try elevator(), id: "lift-1"))
        engine.start()
        let call = try engine.sendRecorded(DeviceCommand("call", arguments: ["floor": .int(5)]), to: "lift-1")
        #expect(call.result.outcome == .accepted)
        #expect(call.result.readings == [Reading("floor", .int(1)), Reading("status", .string("normal"))])
        let called = nanoseconds(call.record)
        engine.advance(by: .minutes(1))

        let events = try pluginEvents(engine, device: "lift-1")
        #expect(events.map(\.name) == ["arrived", "door-opened", "door-closed"])
        #expect(events.map { nanoseconds($0) - called } == [8_000_000_000, 11_000_000_000, 17_000_000_000])
        #expect(events.allSatisfy { $0.readings == [Reading("floor", .int(5))] })
        #expect(events.allSatisfy { $0.channel == .event })

        // Called from the floor it stands at, doors closed: the doors cycle, nothing travels.
        let again = nanoseconds(try engine.sendRecorded(DeviceCommand("call", arguments: ["floor": .int(5)]), to: "lift-1").record)
        engine.advance(by: .minutes(1))
        let cycle = try pluginEvents(engine, device: "lift-1").filter { nanoseconds($0) >= again }
        #expect(cycle.map(\.name) == ["arrived", "door-opened", "door-closed"])
        #expect(cycle.map { nanoseconds($0) - again } == [0, 3_000_000_000, 9_000_000_000])

        // Outside 1…floors: rejected, with the car's floor and status.
        for floor in [0, 11] as [Int64] {
            let result = try engine.send(DeviceCommand("call", arguments: ["floor": .int(floor)]), to: "lift-1")
            #expect(result.outcome == .rejected(reason: "floor \(floor) is outside 1…10"))
            #expect(result.readings == [Reading("floor", .int(5)), Reading("status", .string("normal"))])
        }
        #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("car-call", arguments: ["floor": .int(11)]), to: "lift-1")
        }
    }

    /// Hall and car calls queue up and are served in the order they came, each floor once.
    @Test func callsAreServedInOrder() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(try elevator(), id: "lift-1"))
        engine.start()
        for floor in [5, 3] as [Int64] {
            #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(floor)]), to: "lift-1").outcome == .accepted)
        }
        try engine.apply(Stimulus("car-call", arguments: ["floor": .int(8)]), to: "lift-1")
        // Already waiting, or already the target: accepted, not queued twice.
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(3)]), to: "lift-1").outcome == .accepted)
        try engine.apply(Stimulus("car-call", arguments: ["floor": .int(5)]), to: "lift-1")
        engine.advance(by: .minutes(2))

        let events = try pluginEvents(engine, device: "lift-1")
        #expect(events.map(\.name) == Array(repeating: ["arrived", "door-opened", "door-closed"], count: 3).flatMap { $0 })
        #expect(events.filter { $0.name == "arrived" }.map(\.readings) == [5, 3, 8].map { [Reading("floor", .int($0))] })
        // 1→5: 4 floors; a 9 s stop; 5→3: 2 floors; a stop; 3→8: 5 floors.
        #expect(events.filter { $0.name == "arrived" }.map { nanoseconds($0) } == [8_000_000_000, 21_000_000_000, 40_000_000_000])
        #expect(events.filter { $0.name == "door-closed" }.map { nanoseconds($0) } == [17_000_000_000, 30_000_000_000, 49_000_000_000])
    }

    /// Fire homing from floor 6 with the doors open: they close (door_time), the car travels
    /// 5 floors to the ground floor, opens its doors, and `fire-homed` comes with the doors
    /// open at exactly door_time + 5 × floor_time + door_time. Calls are rejected and the doors
    /// stay open until `restore`, which closes them; then calls are served again.
    @Test func fireHomingFromAnUpperFloor() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(try elevator(), id: "lift-1"))
        engine.start()
        _ = try engine.send(DeviceCommand("call", arguments: ["floor": .int(6)]), to: "lift-1")
        try engine.apply(Stimulus("car-call", arguments: ["floor": .int(9)]), to: "lift-1")
        // Arrived at 6 at 10 s, doors open at 13 s; at 14 s they are open, dwelling.
        engine.advance(by: .seconds(14))
        #expect(try pluginEvents(engine, device: "lift-1").map(\.name) == ["arrived", "door-opened"])

        let homing = try engine.sendRecorded(DeviceCommand("fire-homing"), to: "lift-1")
        #expect(homing.result.outcome == .accepted)
        #expect(homing.result.readings == [Reading("floor", .int(6)), Reading("status", .string("fire"))])
        let start = nanoseconds(homing.record)
        let rejected = try engine.send(DeviceCommand("call", arguments: ["floor": .int(4)]), to: "lift-1")
        #expect(rejected.outcome == .rejected(reason: "elevator in fire mode"))
        #expect(rejected.readings == [Reading("floor", .int(6)), Reading("status", .string("fire"))])
        // A passenger's button does nothing now; a second fire-homing changes nothing.
        try engine.apply(Stimulus("car-call", arguments: ["floor": .int(7)]), to: "lift-1")
        #expect(try engine.send(DeviceCommand("fire-homing"), to: "lift-1").outcome == .accepted)
        engine.advance(by: .minutes(10))

        let events = try pluginEvents(engine, device: "lift-1").filter { nanoseconds($0) >= start }
        #expect(events.map(\.name) == ["door-closed", "arrived", "door-opened", "fire-homed"])
        #expect(events.map { nanoseconds($0) - start } == [3_000_000_000, 13_000_000_000, 16_000_000_000, 16_000_000_000])
        #expect(events[0].readings == [Reading("floor", .int(6))])
        #expect(events[1].readings == [Reading("floor", .int(1))])
        #expect(events[3].readings == [Reading("floor", .int(1)), Reading("door", .string("open"))])
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(4)]), to: "lift-1").outcome
            == .rejected(reason: "elevator in fire mode"))

        let restore = try engine.sendRecorded(DeviceCommand("restore"), to: "lift-1")
        #expect(restore.result.outcome == .accepted)
        #expect(restore.result.readings == [Reading("floor", .int(1)), Reading("status", .string("normal"))])
        engine.advance(by: .seconds(10))
        let closed = try #require(try pluginEvents(engine, device: "lift-1").last)
        #expect(closed.name == "door-closed")
        #expect(nanoseconds(closed) - nanoseconds(restore.record) == 3_000_000_000)
        // The calls from before the fire are gone; a new one is served.
        let call = try engine.sendRecorded(DeviceCommand("call", arguments: ["floor": .int(3)]), to: "lift-1")
        #expect(call.result.outcome == .accepted)
        engine.advance(by: .minutes(1))
        let after = try pluginEvents(engine, device: "lift-1").filter { nanoseconds($0) >= nanoseconds(call.record) }
        #expect(after.map(\.name) == ["arrived", "door-opened", "door-closed"])
        #expect(after.first?.readings == [Reading("floor", .int(3))])
        #expect(after.first.map { nanoseconds($0) - nanoseconds(call.record) } == 4_000_000_000)
    }

    /// A car travelling away from the ground floor reaches the next floor, turns back without
    /// opening, and homes; one standing at the ground floor just opens its doors.
    @Test func fireHomingWhileTravellingAndAtTheGroundFloor() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(try elevator(), id: "lift-1"))
        try engine.add(try elevatorPlan(try elevator(), id: "lift-2", overrides: ["start_floor": "1"]))
        engine.start()
        _ = try engine.send(DeviceCommand("call", arguments: ["floor": .int(8)]), to: "lift-1")
        // Floor 2 at 2 s, half way to 3 at 3 s: it reaches 3 at 4 s, then 2 and 1.
        engine.advance(by: .seconds(3))
        let start = nanoseconds(try engine.sendRecorded(DeviceCommand("fire-homing"), to: "lift-1").record)
        let lift2 = nanoseconds(try engine.sendRecorded(DeviceCommand("fire-homing"), to: "lift-2").record)
        engine.advance(by: .minutes(1))

        let events = try pluginEvents(engine, device: "lift-1")
        #expect(events.map(\.name) == ["arrived", "door-opened", "fire-homed"])
        #expect(events.map { nanoseconds($0) - start } == [5_000_000_000, 8_000_000_000, 8_000_000_000])
        #expect(events.first?.readings == [Reading("floor", .int(1))])

        let atGround = try pluginEvents(engine, device: "lift-2")
        #expect(atGround.map(\.name) == ["door-opened", "fire-homed"])
        #expect(atGround.map { nanoseconds($0) - lift2 } == [3_000_000_000, 3_000_000_000])
        #expect(atGround.last?.readings == [Reading("floor", .int(1)), Reading("door", .string("open"))])
    }

    /// Trapped passengers stop the car where it is; calls and fire homing are rejected until the
    /// rescue releases them. Faults and maintenance reject calls likewise; an alarm call leaves
    /// the status as it is.
    @Test func trappedFaultsAndMaintenance() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(try elevator(), id: "lift-1", overrides: ["report_interval": "1s"]))
        engine.start()
        _ = try engine.send(DeviceCommand("call", arguments: ["floor": .int(7)]), to: "lift-1")
        engine.advance(by: .seconds(5))
        let trapped = try engine.apply(Stimulus("trapped"), to: "lift-1")
        engine.advance(by: .minutes(1))
        var events = try pluginEvents(engine, device: "lift-1")
        #expect(events.map(\.name) == ["trapped"])
        #expect(events.first?.readings == [Reading("floor", .int(3))])
        #expect(events.first.map(nanoseconds) == nanoseconds(trapped))
        #expect(try latestTelemetry(engine, "lift-1") == [
            Reading("floor", .int(3)), Reading("direction", .string("idle")), Reading("door", .string("closed")),
            Reading("status", .string("trapped")),
        ])
        for command in [DeviceCommand("call", arguments: ["floor": .int(1)]), DeviceCommand("fire-homing")] {
            let result = try engine.send(command, to: "lift-1")
            guard case .rejected(let reason) = result.outcome else {
                Issue.record("\(command.name) accepted while trapped")
                continue
            }
            #expect(reason.contains("trapped"))
            #expect(result.readings.last == Reading("status", .string("trapped")))
        }
        try engine.apply(Stimulus("emergency-call"), to: "lift-1")
        try engine.apply(Stimulus("release"), to: "lift-1")
        try engine.apply(Stimulus("release"), to: "lift-1")
        events = try pluginEvents(engine, device: "lift-1")
        #expect(events.map(\.name) == ["trapped", "emergency-call", "released"])
        #expect(events.map(\.readings) == Array(repeating: [Reading("floor", .int(3))], count: 3))
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(3)]), to: "lift-1").outcome == .accepted)
        engine.advance(by: .seconds(30))

        // A door fault: calls rejected, a second one says nothing new, repair clears it.
        try engine.apply(Stimulus("door-fault"), to: "lift-1")
        try engine.apply(Stimulus("door-fault"), to: "lift-1")
        try engine.apply(Stimulus("overspeed"), to: "lift-1")
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(1)]), to: "lift-1").outcome
            == .rejected(reason: "elevator in fault"))
        #expect(try engine.send(DeviceCommand("restore"), to: "lift-1").outcome
            == .rejected(reason: "elevator in fault: repair it first"))
        try engine.apply(Stimulus("repair"), to: "lift-1")
        events = try pluginEvents(engine, device: "lift-1").suffix(4).map { $0 }
        #expect(events.map(\.name) == ["door-closed", "door-fault", "overspeed", "fault-cleared"])

        // Maintenance: calls rejected, car calls ignored; back in service they are served.
        try engine.apply(Stimulus("maintenance", arguments: ["on": .bool(true)]), to: "lift-1")
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(1)]), to: "lift-1").outcome
            == .rejected(reason: "elevator in maintenance"))
        try engine.apply(Stimulus("car-call", arguments: ["floor": .int(1)]), to: "lift-1")
        engine.advance(by: .seconds(30))
        #expect(try pluginEvents(engine, device: "lift-1").last?.name == "fault-cleared")
        try engine.apply(Stimulus("maintenance", arguments: ["on": .bool(false)]), to: "lift-1")
        #expect(try engine.send(DeviceCommand("call", arguments: ["floor": .int(1)]), to: "lift-1").outcome == .accepted)
        engine.advance(by: .seconds(30))
        #expect(try pluginEvents(engine, device: "lift-1").suffix(3).map(\.name) == ["arrived", "door-opened", "door-closed"])
    }

    /// The monitoring data: telemetry every report_interval with floor, direction, door and
    /// status, in that order, following the car; heartbeats carry the status.
    @Test func telemetryFollowsTheCar() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try elevatorPlan(
            try elevator(), id: "lift-1", overrides: ["report_interval": "500ms", "heartbeat_interval": "1m"]))
        engine.start()
        _ = try engine.send(DeviceCommand("call", arguments: ["floor": .int(10)]), to: "lift-1")
        engine.advance(by: .minutes(10))
        let records = try engine.ledger.records()
        let telemetry = records.filter { $0.channel == .telemetry }
        #expect((1_199 ... 1_201).contains(telemetry.count), "\(telemetry.count) reports in 10 minutes")
        #expect(telemetry.allSatisfy { $0.name == "telemetry" && $0.readings.map(\.point) == ["floor", "direction", "door", "status"] })
        let states = Set(telemetry.map { $0.readings.dropFirst().map(\.value.description).joined(separator: " ") })
        #expect(states.isSuperset(of: [
            "up closed normal", "idle opening normal", "idle open normal", "idle closing normal", "idle closed normal",
        ]))
        let floors = telemetry.compactMap { record -> Int64? in
            if case .int(let floor) = record.readings.first?.value { floor } else { nil }
        }
        #expect(floors.first == 1 && floors.last == 10)
        #expect(zip(floors, floors.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Set(floors) == Set(1 ... 10))

        let heartbeats = records.filter { $0.name == "heartbeat" }
        #expect((9 ... 11).contains(heartbeats.count))
        #expect(heartbeats.allSatisfy { $0.channel == .event && $0.readings == [Reading("status", .string("normal"))] })
    }

    /// Start and ground floors must be floors the elevator serves.
    @Test func elevatorRefusesFloorsOutsideItsRange() throws {
        let kind = try elevator()
        for overrides in [["start_floor": "11"], ["ground_floor": "12"], ["floors": "5", "start_floor": "6"]] {
            let engine = VirtualTimeEngine()
            #expect(throws: EngineError.self) { try engine.add(try elevatorPlan(kind, id: "lift-1", overrides: overrides)) }
        }
    }

    // MARK: elevator-access-controller

    /// The controller's vocabulary is what the platform rules and suites are written against.
    @Test func controllerDescriptor() throws {
        let descriptor = try elevatorAccessController().descriptor
        #expect(descriptor.name == "elevator-access-controller")
        #expect(descriptor.points.map(\.name) == ["mode", "floor"])
        #expect(descriptor.points.map(\.type) == [.string, .int])
        #expect(descriptor.events.map(\.name) == ["floor-authorized", "free-mode", "controlled", "heartbeat"])
        #expect(descriptor.events.map(\.severity) == [.info, .warning, .info, .info])
        #expect(descriptor.commands.map(\.name) == ["authorize", "free-mode", "restore"])
        #expect(descriptor.commands.first?.arguments.map(\.name) == ["floor"])
        #expect(descriptor.commands.first?.arguments.map(\.required) == [true])
        #expect(descriptor.stimuli.map(\.name) == ["fire-signal", "comm-fault", "comm-restore"])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == ["fallback_time": "10s", "heartbeat_interval": "1m"])
        #expect(descriptor.sources == [
            "004_5e9061d643d5fb41.txt L2396-2400", "004_5e9061d643d5fb41.txt L2386", "004_5e9061d643d5fb41.txt L2457-2458",
        ])
    }

    /// A communication fault: free mode exactly fallback_time later (reason fault); the link
    /// coming back returns the controller to controlled. A link back within fallback_time
    /// means no free mode at all; restore is refused while the link is down.
    @Test func commFaultFallsBackAfterFallbackTime() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try controllerPlan(try elevatorAccessController(), id: "eac-1"))
        engine.start()
        let fault = nanoseconds(try engine.apply(Stimulus("comm-fault"), to: "eac-1"))
        engine.advance(by: .seconds(9))
        #expect(try engine.send(DeviceCommand("restore"), to: "eac-1").outcome
            == .rejected(reason: "communication fault: the link is still down"))
        // A second fault report does not restart the countdown.
        try engine.apply(Stimulus("comm-fault"), to: "eac-1")
        engine.advance(by: .minutes(1))
        var events = try pluginEvents(engine, device: "eac-1")
        #expect(events.map(\.name) == ["free-mode"])
        #expect(events.first.map { nanoseconds($0) - fault } == 10_000_000_000)
        #expect(events.first?.readings == [Reading("mode", .string("free")), Reading("reason", .string("fault"))])

        let restored = nanoseconds(try engine.apply(Stimulus("comm-restore"), to: "eac-1"))
        events = try pluginEvents(engine, device: "eac-1")
        #expect(events.map(\.name) == ["free-mode", "controlled"])
        #expect(events.last?.readings == [Reading("mode", .string("controlled"))])
        #expect(events.last.map(nanoseconds) == restored)

        // Back within fallback_time: the pending fallback is cancelled.
        try engine.apply(Stimulus("comm-fault"), to: "eac-1")
        engine.advance(by: .milliseconds(9_999))
        try engine.apply(Stimulus("comm-restore"), to: "eac-1")
        engine.advance(by: .minutes(5))
        #expect(try pluginEvents(engine, device: "eac-1").map(\.name) == ["free-mode", "controlled"])
        #expect(try engine.send(DeviceCommand("authorize", arguments: ["floor": .int(2)]), to: "eac-1").readings
            == [Reading("floor", .int(2)), Reading("mode", .string("controlled"))])
    }

    /// A fire signal frees every floor at once and holds until restore; the link coming back
    /// does not end it. free-mode by command, authorisations in either mode, restore.
    @Test func fireSignalAuthorizeAndRestore() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try controllerPlan(try elevatorAccessController(), id: "eac-1", overrides: ["fallback_time": "8s"]))
        engine.start()
        let authorize = try engine.send(DeviceCommand("authorize", arguments: ["floor": .int(12)]), to: "eac-1")
        #expect(authorize.outcome == .accepted)
        #expect(authorize.readings == [Reading("floor", .int(12)), Reading("mode", .string("controlled"))])
        for floor in [0, 201] as [Int64] {
            #expect(try engine.send(DeviceCommand("authorize", arguments: ["floor": .int(floor)]), to: "eac-1").outcome
                == .rejected(reason: "floor \(floor) is outside 1…200"))
        }
        engine.advance(by: .seconds(1))
        let fire = nanoseconds(try engine.apply(Stimulus("fire-signal"), to: "eac-1"))
        try engine.apply(Stimulus("comm-fault"), to: "eac-1")
        engine.advance(by: .seconds(20))
        try engine.apply(Stimulus("comm-restore"), to: "eac-1")
        _ = try engine.send(DeviceCommand("authorize", arguments: ["floor": .int(3)]), to: "eac-1")
        var events = try pluginEvents(engine, device: "eac-1")
        #expect(events.map(\.name) == ["floor-authorized", "free-mode", "floor-authorized"])
        #expect(events[0].readings == [Reading("floor", .int(12)), Reading("mode", .string("controlled"))])
        #expect(nanoseconds(events[1]) == fire)
        #expect(events[1].readings == [Reading("mode", .string("free")), Reading("reason", .string("fire"))])
        #expect(events[2].readings == [Reading("floor", .int(3)), Reading("mode", .string("free"))])

        let restore = try engine.send(DeviceCommand("restore"), to: "eac-1")
        #expect(restore.outcome == .accepted)
        #expect(restore.readings == [Reading("mode", .string("controlled"))])
        #expect(try engine.send(DeviceCommand("restore"), to: "eac-1").outcome == .accepted)
        #expect(try engine.send(DeviceCommand("free-mode"), to: "eac-1").readings == [Reading("mode", .string("free"))])
        #expect(try engine.send(DeviceCommand("free-mode"), to: "eac-1").outcome == .accepted)
        _ = try engine.send(DeviceCommand("restore"), to: "eac-1")
        events = try pluginEvents(engine, device: "eac-1").suffix(3).map { $0 }
        #expect(events.map(\.name) == ["controlled", "free-mode", "controlled"])
        #expect(events[1].readings == [Reading("mode", .string("free")), Reading("reason", .string("command"))])
    }

    /// One seed gives one run, byte for byte; another seed another run.
    @Test func elevatorsAreReproducible() throws {
        let lift = try elevator()
        let controller = try elevatorAccessController()
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            for index in 1 ... 2 {
                try engine.add(try elevatorPlan(lift, id: "lift-\(index)", seed: seed, quiet: false))
                try engine.add(try controllerPlan(controller, id: "eac-\(index)", seed: seed, quiet: false))
            }
            engine.start()
            for step in 0 ..< 60 {
                let index = step % 2 + 1
                _ = try engine.send(DeviceCommand("call", arguments: ["floor": .int(Int64(step * 7 % 10 + 1))]), to: "lift-\(index)")
                _ = try engine.send(DeviceCommand("authorize", arguments: ["floor": .int(Int64(step % 10 + 1))]), to: "eac-\(index)")
                if step == 30 {
                    _ = try engine.send(DeviceCommand("fire-homing"), to: "lift-1")
                    try engine.apply(Stimulus("comm-fault"), to: "eac-2")
                }
                engine.advance(by: .seconds(15))
            }
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 8)
        #expect(first.count > 300)
        #expect(try ledgerLines(seed: 8) == first)
        #expect(try ledgerLines(seed: 9) != first)
    }
}

// MARK: - Fixtures

private func elevator() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginElevator")
}

private func elevatorAccessController() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginElevatorAccess")
}

/// One elevator with its own random stream of run `seed`. Quiet (the default): heartbeats and
/// reports a day apart unless overridden, so the event timings read cleanly.
private func elevatorPlan(
    _ kind: PluginDeviceKind, id: String, seed: UInt64 = 1, quiet: Bool = true, overrides: [String: String] = [:]
) throws -> PlannedDevice {
    let base = quiet ? ["heartbeat_interval": "1d", "report_interval": "1d"] : [:]
    return try pluginDevicePlan(kind, id: id, seed: seed, overrides: base.merging(overrides) { $1 })
}

/// One elevator access controller; quiet: heartbeats a day apart unless overridden.
private func controllerPlan(
    _ kind: PluginDeviceKind, id: String, seed: UInt64 = 1, quiet: Bool = true, overrides: [String: String] = [:]
) throws -> PlannedDevice {
    let base = quiet ? ["heartbeat_interval": "1d"] : [:]
    return try pluginDevicePlan(kind, id: id, seed: seed, overrides: base.merging(overrides) { $1 })
}

/// The device's last telemetry readings.
private func latestTelemetry(_ engine: VirtualTimeEngine, _ id: String) throws -> [Reading]? {
    try engine.ledger.records().last { $0.deviceID == id && $0.channel == .telemetry }?.readings
}

private func nanoseconds(_ record: LedgerRecord) -> UInt64 { record.time.monotonic.nanoseconds }
