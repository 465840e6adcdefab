import Foundation
import Testing
@testable import ParkCore
import ParkProfiles

/// The `mobile-robot` plugin kind (devices/plugins/robots): the machine of seed 004's cleaning,
/// delivery and patrol robots, loaded from the library SwiftPM built and run on the
/// virtual-time engine. Drives arrive exactly distance / speed later, obstacles delay them by
/// exactly their duration, tasks run their time (clean: area / clean_rate), the battery follows
/// its formula to 1e-6 and its low (L1795, L2075), empty and full instants are exact.
@Suite struct MobileRobotPluginTests {
    /// The vocabulary is what the fleet layer and the platform's rules are written against.
    @Test func descriptor() throws {
        let descriptor = try mobileRobot().descriptor
        #expect(descriptor.name == "mobile-robot")
        #expect(descriptor.points.map(\.name) == [
            "x", "y", "theta", "speed", "battery", "charging", "driving", "state", "task", "ref", "distance", "area_cleaned", "reason",
        ])
        #expect(descriptor.points.map(\.type) == [
            .double, .double, .double, .double, .double, .bool, .bool, .string, .string, .string, .double, .double, .string,
        ])
        #expect(descriptor.events.map(\.name) == [
            "arrived", "task-started", "task-finished", "task-failed", "drive-failed", "blocked", "unblocked", "low-battery",
            "fault", "fault-cleared", "estop", "estop-released", "charging-started", "charged", "heartbeat",
        ])
        #expect(descriptor.events.map(\.severity) == [
            .info, .info, .info, .warning, .warning, .warning, .info, .alarm, .critical, .info, .critical, .info, .info, .info, .info,
        ])
        #expect(descriptor.commands.map(\.name) == ["drive", "stop", "task", "charge", "release"])
        let drive = try #require(descriptor.command(named: "drive"))
        #expect(drive.arguments.map(\.name) == ["x", "y", "speed", "ref"])
        #expect(drive.arguments.map(\.type) == [.double, .double, .double, .string])
        #expect(drive.arguments.map(\.required) == [true, true, false, false])
        let task = try #require(descriptor.command(named: "task"))
        #expect(task.arguments.map(\.name) == ["type", "duration", "area", "ref"])
        #expect(task.arguments.map(\.type) == [.string, .duration, .double, .string])
        #expect(task.arguments.map(\.required) == [true, false, false, false])
        #expect(descriptor.stimuli.map(\.name) == ["obstacle", "estop", "motor-fault", "localization-lost", "repair", "battery"])
        #expect(descriptor.stimulus(named: "obstacle")?.arguments.map(\.type) == [.duration])
        #expect(descriptor.stimulus(named: "battery")?.arguments.map(\.name) == ["level"])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "max_speed": "1.0", "drain_per_km": "2.0", "idle_drain": "1.0", "task_drain": "20.0", "charge_rate": "50.0",
            "clean_rate": "1000", "low_battery": "20", "start_battery": "100", "start_x": "0", "start_y": "0",
            "report_interval": "1s", "heartbeat_interval": "1m",
        ])
        #expect(descriptor.parameters.map(\.name).last == "heartbeat_interval")
        #expect(descriptor.parameter(named: "report_interval")?.type == .duration)
        #expect(descriptor.parameters.filter { $0.type == .double }.count == 10)
        for line in ["L1688", "L1690", "L1700", "L1795", "L2048", "L2075", "L2592-2596", "L2725-2737"] {
            #expect(descriptor.sources.contains("004_5e9061d643d5fb41.txt \(line)"), "missing source \(line)")
        }
    }

    /// `arrived` exactly distance / speed after `drive`, at the target, with the battery the
    /// metres cost; the answer carries state and battery. Above max_speed the speed is capped; a
    /// drive to the point the robot stands on arrives after 1 ms; a speed of 0 is refused.
    @Test func driveArrivesAfterDistanceOverSpeed() throws {
        let engine = try robotEngine(["drain_per_km": "2", "idle_drain": "0"])
        let drive = try engine.sendRecorded(driveCommand(3, 4, speed: 0.5, ref: "d-1"), to: robotID)
        #expect(drive.result.outcome == .accepted)
        #expect(drive.result.readings == [Reading("state", .string("driving")), Reading("battery", .double(100))])
        engine.advance(by: .seconds(30))
        let arrived = try #require(try pluginEvents(engine, named: "arrived").first)
        #expect(nanoseconds(arrived) - nanoseconds(drive.record) == 10_000_000_000)
        #expect(arrived.readings.map(\.point) == ["ref", "x", "y", "battery"])
        #expect(arrived.readings[0].value == .string("d-1"))
        #expect(arrived.readings[1].value == .double(3) && arrived.readings[2].value == .double(4))
        #expect(abs(try number(arrived, "battery") - (100 - 5 * 2.0 / 1000)) < 1e-9)

        // 10 m at 5 m/s asked, 1 m/s allowed: 10 s.
        let fast = nanoseconds(try engine.sendRecorded(driveCommand(13, 4, speed: 5), to: robotID).record)
        engine.advance(by: .seconds(30))
        let second = try #require(try pluginEvents(engine, named: "arrived").last)
        #expect(nanoseconds(second) - fast == 10_000_000_000)
        #expect(second.readings[0].value == .string(""))

        let stay = nanoseconds(try engine.sendRecorded(driveCommand(13, 4), to: robotID).record)
        engine.advance(by: .seconds(1))
        #expect(try pluginEvents(engine, named: "arrived").last.map { nanoseconds($0) - stay } == 1_000_000)
        #expect(try pluginEvents(engine, named: "arrived").count == 3)

        for speed in [0.0, -1.0] {
            let refused = try engine.send(driveCommand(0, 0, speed: speed), to: robotID)
            guard case .rejected(let reason) = refused.outcome else {
                Issue.record("a drive at \(speed) m/s was accepted")
                continue
            }
            #expect(reason.contains("speed"))
        }
        #expect(try engine.send(DeviceCommand("drive", arguments: ["x": .double(1)]), to: robotID).outcome
            == .rejected(reason: "'drive' needs argument 'y' (a number)"))
    }

    /// `stop` halfway: drive-failed (stopped) at once, the robot stands where it was at that
    /// instant (telemetry), and a drive from there to a point 3 m away takes exactly 3 s.
    @Test func stopLeavesTheRobotWhereItWas() throws {
        let engine = try robotEngine(["report_interval": "1s"])
        _ = try engine.send(driveCommand(10, 0, ref: "long"), to: robotID)
        engine.advance(by: .milliseconds(4_250))
        let stop = try engine.sendRecorded(DeviceCommand("stop"), to: robotID)
        #expect(stop.result.outcome == .accepted)
        #expect(stop.result.readings.first == Reading("state", .string("idle")))
        let failed = try pluginEvents(engine, named: "drive-failed")
        #expect(failed.map(\.readings) == [[Reading("ref", .string("long")), Reading("reason", .string("stopped"))]])
        #expect(failed.first.map(nanoseconds) == nanoseconds(stop.record))
        engine.advance(by: .seconds(2))
        let report = try #require(try latestTelemetry(engine))
        #expect(report.map(\.point) == ["x", "y", "theta", "speed", "battery", "charging", "driving", "state"])
        #expect(abs(try value(report, "x") - 4.25) < 1e-9)
        #expect(try value(report, "y") == 0 && value(report, "speed") == 0)
        #expect(report[6].value == .bool(false) && report[7].value == .string("idle"))

        let onwards = nanoseconds(try engine.sendRecorded(driveCommand(4.25, 3), to: robotID).record)
        engine.advance(by: .seconds(10))
        let arrived = try #require(try pluginEvents(engine, named: "arrived").first)
        #expect(nanoseconds(arrived) - onwards == 3_000_000_000)
        // Heading north now: theta is π/2.
        engine.advance(by: .seconds(2))
        #expect(abs(try value(try #require(try latestTelemetry(engine)), "theta") - Double.pi / 2) < 1e-9)
        #expect(try engine.send(DeviceCommand("stop"), to: robotID).outcome == .accepted)
        #expect(try pluginEvents(engine, named: "drive-failed").count == 1)
    }

    /// A new drive replaces the one under way from where the robot is, silently: 4 m along the
    /// x axis at 4 s, then 3 m north, arrives at 7 s and only the new drive arrives.
    @Test func newDriveReplacesTheOldOne() throws {
        let engine = try robotEngine()
        let first = nanoseconds(try engine.sendRecorded(driveCommand(10, 0, ref: "a"), to: robotID).record)
        engine.advance(by: .seconds(4))
        #expect(try engine.send(driveCommand(4, 3, ref: "b"), to: robotID).outcome == .accepted)
        engine.advance(by: .minutes(1))
        let arrived = try pluginEvents(engine, named: "arrived")
        #expect(arrived.count == 1)
        #expect(arrived.first.map { nanoseconds($0) - first } == 7_000_000_000)
        #expect(arrived.first?.readings.prefix(3).map(\.value) == [.string("b"), .double(4), .double(3)])
        #expect(try pluginEvents(engine, named: "drive-failed").isEmpty)
    }

    /// An obstacle 3 s into a 10 s drive stops the robot for 5 s: blocked at once where it
    /// stands, unblocked 5 s later, arrived at exactly 15 s. A second obstacle while blocked
    /// that clears earlier changes nothing; standing still, an obstacle is nothing at all.
    @Test func obstacleDelaysArrivalByItsDuration() throws {
        let engine = try robotEngine()
        try engine.apply(obstacle("5s"), to: robotID)
        let start = nanoseconds(try engine.sendRecorded(driveCommand(10, 0, ref: "r"), to: robotID).record)
        engine.advance(by: .seconds(3))
        try engine.apply(obstacle("5s"), to: robotID)
        engine.advance(by: .seconds(1))
        try engine.apply(obstacle("2s"), to: robotID)
        engine.advance(by: .minutes(1))

        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["blocked", "unblocked", "arrived"])
        #expect(events.map { nanoseconds($0) - start } == [3_000_000_000, 8_000_000_000, 15_000_000_000])
        let blocked = try #require(events.first)
        #expect(blocked.readings.map(\.point) == ["ref", "x", "y"])
        #expect(blocked.readings.first?.value == .string("r"))
        #expect(abs(try number(blocked, "x") - 3) < 1e-9)
        #expect(try number(blocked, "y") == 0)
        #expect(events[1].readings == [Reading("ref", .string("r"))])
        #expect(events[2].readings.prefix(3).map(\.value) == [.string("r"), .double(10), .double(0)])
    }

    /// A task runs its duration; a clean task given an area runs area / clean_rate hours and
    /// adds the area; one given only a time cleans clean_rate × time. Refused while driving or
    /// working, and without a duration (or, for clean, an area).
    @Test func tasksRunTheirTime() throws {
        let engine = try robotEngine(["clean_rate": "1200"])
        let patrol = try engine.sendRecorded(taskCommand("patrol", duration: "10m", ref: "t-1"), to: robotID)
        #expect(patrol.result.outcome == .accepted)
        #expect(patrol.result.readings.first == Reading("state", .string("working")))
        for command in [taskCommand("patrol", duration: "1m"), driveCommand(1, 1), DeviceCommand("charge")] {
            #expect(try engine.send(command, to: robotID).outcome == .rejected(reason: "working"), "\(command.name) while working")
        }
        engine.advance(by: .minutes(11))
        var events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["task-started", "task-finished"])
        #expect(events.map { nanoseconds($0) - nanoseconds(patrol.record) } == [0, 600_000_000_000])
        #expect(events[0].readings == [Reading("ref", .string("t-1")), Reading("task", .string("patrol"))])
        #expect(events[1].readings == [
            Reading("ref", .string("t-1")), Reading("task", .string("patrol")), Reading("area_cleaned", .double(0)),
        ])

        // 600 m² at 1,200 m²/h: half an hour.
        let clean = nanoseconds(try engine.sendRecorded(taskCommand("clean", area: 600, ref: "c-1"), to: robotID).record)
        engine.advance(by: .hours(1))
        events = try pluginEvents(engine, named: "task-finished")
        #expect(events.last.map { nanoseconds($0) - clean } == 1_800_000_000_000)
        #expect(events.last?.readings.last == Reading("area_cleaned", .double(600)))
        // A quarter of an hour of cleaning without an area: 300 m².
        _ = try engine.send(taskCommand("clean", duration: "15m"), to: robotID)
        engine.advance(by: .hours(1))
        #expect(try pluginEvents(engine, named: "task-finished").last?.readings.last == Reading("area_cleaned", .double(300)))

        for command in [
            taskCommand("patrol"), taskCommand("clean"), taskCommand("patrol", area: 100), taskCommand("clean", area: 0),
            taskCommand("clean", duration: "0s"), taskCommand("", duration: "1m"),
        ] {
            let result = try engine.send(command, to: robotID)
            guard case .rejected(let reason) = result.outcome else {
                Issue.record("accepted: \(command.arguments)")
                continue
            }
            #expect(reason.hasPrefix("task"), "\(reason)")
        }
        _ = try engine.send(driveCommand(50, 0), to: robotID)
        #expect(try engine.send(taskCommand("patrol", duration: "1m"), to: robotID).outcome == .rejected(reason: "driving"))
        #expect(try pluginEvents(engine, named: "task-started").count == 3)
    }

    /// Over a measured drive, an idle hour and a task the battery loses exactly metres ×
    /// drain_per_km / 1000 + hours × idle_drain + hours × task_drain.
    @Test func batteryFollowsTheFormula() throws {
        let (drainPerKm, idleDrain, taskDrain, startBattery) = (3.0, 1.5, 12.0, 90.0)
        let engine = try robotEngine([
            "drain_per_km": "\(drainPerKm)", "idle_drain": "\(idleDrain)", "task_drain": "\(taskDrain)",
            "start_battery": "\(startBattery)", "low_battery": "10",
        ])
        // 500 m at 1 m/s.
        _ = try engine.send(driveCommand(300, 400), to: robotID)
        engine.advance(by: .seconds(500))
        let arrived = try #require(try pluginEvents(engine, named: "arrived").first)
        let afterDrive = startBattery - 500 * drainPerKm / 1000
        #expect(abs(try number(arrived, "battery") - afterDrive) < 1e-6)

        engine.advance(by: .hours(1))
        _ = try engine.send(taskCommand("deliver", duration: "30m"), to: robotID)
        engine.advance(by: .minutes(30))
        #expect(try pluginEvents(engine, named: "task-finished").count == 1)
        let answer = try engine.send(DeviceCommand("stop"), to: robotID)
        let expected = afterDrive - 1 * idleDrain - 0.5 * taskDrain
        #expect(abs(try value(answer.readings, "battery") - expected) < 1e-6, "\(answer.readings)")
    }

    /// low-battery comes the instant the battery drains to low_battery, once: setting it lower
    /// or charging short of low_battery + 10 raises nothing new; after charging past that, the
    /// next crossing raises it again.
    @Test func lowBatteryOncePerCrossing() throws {
        let engine = try robotEngine([
            "start_battery": "30", "low_battery": "20", "task_drain": "20", "idle_drain": "0", "charge_rate": "50",
        ])
        // 30 → 20 at 20 %/h: half an hour into the task.
        let task = nanoseconds(try engine.sendRecorded(taskCommand("clean", duration: "1h"), to: robotID).record)
        engine.advance(by: .hours(2))
        var low = try pluginEvents(engine, named: "low-battery")
        #expect(low.count == 1)
        #expect(low.first.map { nanoseconds($0) - task } == 1_800_000_000_000)
        #expect(abs(try number(try #require(low.first), "battery") - 20) < 1e-6)

        for level in [15.0, 25, 10] { try engine.apply(Stimulus("battery", arguments: ["level": .double(level)]), to: robotID) }
        // Charged from 10 to 25 (18 min at 50 %/h): still short of 30, still disarmed.
        _ = try engine.send(DeviceCommand("charge"), to: robotID)
        engine.advance(by: .minutes(18))
        let stopped = try engine.send(DeviceCommand("stop"), to: robotID)
        #expect(abs(try value(stopped.readings, "battery") - 25) < 1e-6)
        try engine.apply(Stimulus("battery", arguments: ["level": .double(5)]), to: robotID)
        #expect(try pluginEvents(engine, named: "low-battery").count == 1)

        // Full charge re-arms it: the next fall below raises it again, at once.
        _ = try engine.send(DeviceCommand("charge"), to: robotID)
        engine.advance(by: .hours(3))
        #expect(try pluginEvents(engine, named: "charged").count == 1)
        let drop = try engine.apply(Stimulus("battery", arguments: ["level": .double(15)]), to: robotID)
        low = try pluginEvents(engine, named: "low-battery")
        #expect(low.count == 2)
        #expect(low.last.map(nanoseconds) == nanoseconds(drop))
        #expect(low.last?.readings == [Reading("battery", .double(15))])
    }

    /// Charging from 40 % at 50 %/h: charging-started at once, charged exactly 1.2 h later at
    /// 100 %, then idle. A drive while charging ends the charge; charge is refused while driving.
    @Test func chargingEndsWithChargedAtThePredictedTime() throws {
        let engine = try robotEngine(["start_battery": "40", "charge_rate": "50", "idle_drain": "0"])
        let charge = try engine.sendRecorded(DeviceCommand("charge"), to: robotID)
        #expect(charge.result.readings == [Reading("state", .string("charging")), Reading("battery", .double(40))])
        #expect(try engine.send(DeviceCommand("charge"), to: robotID).outcome == .accepted)
        engine.advance(by: .hours(2))
        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["charging-started", "charged"])
        #expect(events[0].readings == [Reading("battery", .double(40))])
        #expect(events[1].readings == [Reading("battery", .double(100))])
        #expect(nanoseconds(events[1]) - nanoseconds(charge.record) == 4_320_000_000_000)
        #expect(try engine.send(DeviceCommand("stop"), to: robotID).readings == [
            Reading("state", .string("idle")), Reading("battery", .double(100)),
        ])

        try engine.apply(Stimulus("battery", arguments: ["level": .double(50)]), to: robotID)
        _ = try engine.send(DeviceCommand("charge"), to: robotID)
        engine.advance(by: .minutes(30))
        let drive = try engine.send(driveCommand(10, 0), to: robotID)
        #expect(drive.readings.first == Reading("state", .string("driving")))
        #expect(abs(try value(drive.readings, "battery") - 75) < 1e-6)
        #expect(try engine.send(DeviceCommand("charge"), to: robotID).outcome == .rejected(reason: "driving"))
        engine.advance(by: .hours(2))
        #expect(try pluginEvents(engine, named: "charged").count == 1)
        let arrived = try #require(try pluginEvents(engine, named: "arrived").last)
        #expect(abs(try number(arrived, "battery") - (75 - 10 * 2.0 / 1000)) < 1e-6)
    }

    /// A drive on 1 % at 2 %/km runs dry after exactly 500 m: drive-failed and fault, both
    /// battery-empty, at 500 s, the robot standing there. Everything is refused until repair;
    /// then driving and working are refused for the empty battery, charging is not. A task runs
    /// dry likewise.
    @Test func batteryRunsDryAtThePredictedInstant() throws {
        let engine = try robotEngine(["drain_per_km": "2", "idle_drain": "0", "report_interval": "1s"])
        try engine.apply(Stimulus("battery", arguments: ["level": .double(1)]), to: robotID)
        let start = nanoseconds(try engine.sendRecorded(driveCommand(1_000, 0, ref: "far"), to: robotID).record)
        engine.advance(by: .minutes(20))
        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["low-battery", "drive-failed", "fault"])
        // 1 % at 2 %/km is 500 m; at 1 m/s, 500 s.
        let predicted = UInt64((1 / (2.0 / 1000) / 1 * 1e9).rounded())
        #expect(events.dropFirst().map { nanoseconds($0) - start } == [predicted, predicted])
        #expect(events[1].readings == [Reading("ref", .string("far")), Reading("reason", .string("battery-empty"))])
        #expect(events[2].readings == [Reading("reason", .string("battery-empty"))])
        let report = try #require(try latestTelemetry(engine))
        #expect(abs(try value(report, "x") - 500) < 1e-6)
        #expect(try value(report, "battery") == 0 && report.last?.value == .string("fault"))

        for command in [driveCommand(0, 0), taskCommand("patrol", duration: "1m"), DeviceCommand("charge")] {
            #expect(try engine.send(command, to: robotID).outcome == .rejected(reason: "fault"), "\(command.name)")
        }
        try engine.apply(Stimulus("repair"), to: robotID)
        #expect(try engine.send(driveCommand(0, 0), to: robotID).outcome == .rejected(reason: "battery-empty"))
        #expect(try engine.send(taskCommand("patrol", duration: "1m"), to: robotID).outcome == .rejected(reason: "battery-empty"))
        #expect(try engine.send(DeviceCommand("charge"), to: robotID).outcome == .accepted)

        // 2 % at 20 %/h: six minutes.
        let working = try robotEngine(["task_drain": "20", "start_battery": "2", "low_battery": "0"])
        let task = nanoseconds(try working.sendRecorded(taskCommand("clean", duration: "1h", ref: "w"), to: robotID).record)
        working.advance(by: .hours(1))
        let failed = try pluginEvents(working)
        #expect(failed.map(\.name) == ["task-started", "task-failed", "fault"])
        #expect(failed.dropFirst().map { nanoseconds($0) - task } == [360_000_000_000, 360_000_000_000])
        #expect(failed[1].readings == [
            Reading("ref", .string("w")), Reading("task", .string("clean")), Reading("reason", .string("battery-empty")),
        ])
    }

    /// The emergency stop and the faults stop whatever is going on (drive-failed / task-failed
    /// with estop or fault), hold the robot where it is and refuse drive, task and charge until
    /// release or repair. A second press or fault says nothing new.
    @Test func estopAndFaultsStopEverything() throws {
        let engine = try robotEngine(["report_interval": "10s"])
        _ = try engine.send(driveCommand(100, 0, ref: "e"), to: robotID)
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("estop"), to: robotID)
        try engine.apply(Stimulus("estop"), to: robotID)
        for command in [driveCommand(0, 0), taskCommand("patrol", duration: "1m"), DeviceCommand("charge")] {
            let result = try engine.send(command, to: robotID)
            #expect(result.outcome == .rejected(reason: "estop"), "\(command.name)")
            #expect(result.readings.first == Reading("state", .string("estop")))
        }
        #expect(try engine.send(DeviceCommand("stop"), to: robotID).outcome == .accepted)
        engine.advance(by: .seconds(20))
        let report = try #require(try latestTelemetry(engine))
        #expect(abs(try value(report, "x") - 10) < 1e-9)
        #expect(try value(report, "speed") == 0)
        #expect(report.last?.value == .string("estop"))
        #expect(try engine.send(DeviceCommand("release"), to: robotID).readings.first == Reading("state", .string("idle")))
        #expect(try engine.send(DeviceCommand("release"), to: robotID).outcome == .rejected(reason: "not in estop"))
        #expect(try pluginEvents(engine).map(\.name) == ["drive-failed", "estop", "estop-released"])
        #expect(try pluginEvents(engine).first?.readings == [Reading("ref", .string("e")), Reading("reason", .string("estop"))])

        let task = try engine.sendRecorded(taskCommand("clean", duration: "1h", ref: "w"), to: robotID)
        #expect(task.result.outcome == .accepted)
        engine.advance(by: .minutes(10))
        try engine.apply(Stimulus("motor-fault"), to: robotID)
        try engine.apply(Stimulus("localization-lost"), to: robotID)
        for command in [driveCommand(0, 0), taskCommand("patrol", duration: "1m"), DeviceCommand("charge")] {
            #expect(try engine.send(command, to: robotID).outcome == .rejected(reason: "fault"), "\(command.name)")
        }
        #expect(try engine.send(DeviceCommand("release"), to: robotID).outcome == .rejected(reason: "not in estop"))
        engine.advance(by: .hours(1))
        try engine.apply(Stimulus("repair"), to: robotID)
        try engine.apply(Stimulus("repair"), to: robotID)
        var events = try pluginEvents(engine).dropFirst(3).map { $0 }
        #expect(events.map(\.name) == ["task-started", "task-failed", "fault", "fault-cleared"])
        #expect(events[1].readings == [Reading("ref", .string("w")), Reading("task", .string("clean")), Reading("reason", .string("fault"))])
        #expect(events[2].readings == [Reading("reason", .string("motor"))])

        // Charging, then the robot loses its position: charging ends, no `charged` ever comes.
        try engine.apply(Stimulus("battery", arguments: ["level": .double(60)]), to: robotID)
        #expect(try engine.send(DeviceCommand("charge"), to: robotID).outcome == .accepted)
        try engine.apply(Stimulus("localization-lost"), to: robotID)
        try engine.apply(Stimulus("estop"), to: robotID)
        engine.advance(by: .hours(2))
        try engine.apply(Stimulus("repair"), to: robotID)
        // Repaired but still pressed: estop until released.
        #expect(try engine.send(DeviceCommand("stop"), to: robotID).readings.first == Reading("state", .string("estop")))
        #expect(try engine.send(DeviceCommand("release"), to: robotID).readings.first == Reading("state", .string("idle")))
        events = try pluginEvents(engine).dropFirst(7).map { $0 }
        #expect(events.map(\.name) == ["charging-started", "fault", "estop", "fault-cleared", "estop-released"])
        #expect(events[1].readings == [Reading("reason", .string("localization"))])
    }

    /// Telemetry every report_interval with x, y, theta, speed, battery, charging, driving,
    /// state in that order, following a drive; heartbeats carry the state.
    @Test func telemetryFollowsTheRobot() throws {
        let engine = try robotEngine([
            "report_interval": "500ms", "heartbeat_interval": "10s", "start_x": "5", "start_y": "-2", "max_speed": "2",
        ])
        _ = try engine.send(driveCommand(25, -2, speed: 2), to: robotID)
        engine.advance(by: .seconds(30))
        let records = try engine.ledger.records()
        let telemetry = records.filter { $0.channel == .telemetry }
        #expect((59 ... 61).contains(telemetry.count), "\(telemetry.count) reports in 30 s")
        #expect(telemetry.allSatisfy { $0.readings.map(\.point) == ["x", "y", "theta", "speed", "battery", "charging", "driving", "state"] })
        let xs = try telemetry.map { try value($0.readings, "x") }
        #expect(xs.first.map { $0 >= 5 && $0 < 6 } == true && xs.last == 25)
        #expect(zip(xs, xs.dropFirst()).allSatisfy { $0 <= $1 })
        let moving = telemetry.filter { $0.readings[6].value == .bool(true) }
        #expect((19 ... 21).contains(moving.count))
        #expect(moving.allSatisfy { $0.readings[3].value == .double(2) && $0.readings[7].value == .string("driving") })
        #expect(telemetry.last?.readings[7].value == .string("idle") && telemetry.last?.readings[3].value == .double(0))
        let heartbeats = records.filter { $0.name == "heartbeat" }
        #expect((2 ... 4).contains(heartbeats.count))
        #expect(heartbeats.allSatisfy { $0.readings.map(\.point) == ["state"] })
    }

    /// The three models load against the kind's descriptor, carry the figures they were given,
    /// and behave by them: a drive of 120 m takes 120 / max_speed and costs 120 × drain_per_km /
    /// 1000; the cleaner cleans its clean_rate in an hour and lasts 4 h of cleaning (004 L1688,
    /// L1690).
    @Test(arguments: [
        ("acme-cleaner-c50", 0.8, 3.0, 22.0, 40.0, 20.0),
        ("acme-courier-d20", 1.2, 3.8, 5.0, 60.0, 25.0),
        ("acme-patrol-p10", 1.5, 2.5, 8.0, 50.0, 30.0),
    ] as [(String, Double, Double, Double, Double, Double)])
    func modelsLoadAndBehaveByTheirFigures(
        model: String, maxSpeed: Double, drainPerKm: Double, taskDrain: Double, chargeRate: Double, lowBattery: Double
    ) throws {
        let kind = try mobileRobot()
        let file = pluginModelsDirectory("robots").appendingPathComponent("\(model).yaml").path
        let profile = try ModelProfile.load(file: file, kinds: RobotCatalog(descriptor: kind.descriptor))
        #expect(profile.kind == "mobile-robot" && profile.model == model && profile.vendor == "Acme")
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: profile.parameters)
        #expect(parameters.double("max_speed") == maxSpeed)
        #expect(parameters.double("drain_per_km") == drainPerKm)
        #expect(parameters.double("task_drain") == taskDrain)
        #expect(parameters.double("charge_rate") == chargeRate)
        #expect(parameters.double("low_battery") == lowBattery)

        let engine = try robotEngine(profile.parameters.merging(["idle_drain": "0"]) { $1 })
        let drive = nanoseconds(try engine.sendRecorded(driveCommand(120, 0), to: robotID).record)
        engine.advance(by: .minutes(5))
        let arrived = try #require(try pluginEvents(engine, named: "arrived").first)
        #expect(nanoseconds(arrived) - drive == UInt64((120 / maxSpeed * 1e9).rounded()))
        #expect(abs(try number(arrived, "battery") - (100 - 120 * drainPerKm / 1000)) < 1e-6)

        guard model == "acme-cleaner-c50" else { return }
        let cleanRate = parameters.double("clean_rate")
        #expect(cleanRate >= 1_000, "004 L1690: at least 1,000 m²/h")
        try engine.apply(Stimulus("battery", arguments: ["level": .double(100)]), to: robotID)
        let hour = nanoseconds(try engine.sendRecorded(taskCommand("clean", area: cleanRate), to: robotID).record)
        engine.advance(by: .hours(2))
        #expect(try pluginEvents(engine, named: "task-finished").last.map { nanoseconds($0) - hour } == 3_600_000_000_000)
        try engine.apply(Stimulus("battery", arguments: ["level": .double(100)]), to: robotID)
        _ = try engine.send(taskCommand("clean", duration: "4h"), to: robotID)
        engine.advance(by: .hours(5))
        #expect(try pluginEvents(engine, named: "task-finished").count == 2, "004 L1688: at least 4 h of cleaning")
        #expect(try pluginEvents(engine, named: "fault").isEmpty)
    }

    /// Parameters that bypass the descriptor's checks are refused by the device itself, naming
    /// the device and the parameter; the descriptor refuses them in a profile.
    @Test func refusesParametersOutOfRange() throws {
        let kind = try mobileRobot()
        let defaults = try DeviceParameters(descriptor: kind.descriptor).values
        let bad: [(String, PointValue)] = [
            ("max_speed", .double(0)), ("charge_rate", .double(0)), ("low_battery", .double(95)),
            ("start_battery", .double(101)), ("drain_per_km", .double(-1)), ("report_interval", .int(0)),
        ]
        for (name, value) in bad {
            let setup = DeviceSetup(
                id: "robot-bad", parameters: DeviceParameters(values: defaults.merging([name: value]) { $1 }), random: SeededRandom(seed: 1))
            let error = #expect(throws: DeviceError.self) { _ = try kind.makeDevice(setup) }
            #expect(error?.message.contains("robot-bad") == true && error?.message.contains(name) == true, "\(String(describing: error))")
        }
        #expect(throws: ParameterError.self) { _ = try DeviceParameters(descriptor: kind.descriptor, overrides: ["low_battery": "95"]) }
        #expect(throws: ParameterError.self) { _ = try DeviceParameters(descriptor: kind.descriptor, overrides: ["max_speed": "0"]) }
    }

    /// One seed gives one run, byte for byte; another seed another (the reports' phases).
    @Test func reproducible() throws {
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = try robotEngine(["report_interval": "1s", "heartbeat_interval": "5s"], seed: seed)
            for step in 0 ..< 20 {
                _ = try engine.send(driveCommand(Double(step % 5) * 3, Double(step % 3) * 4, ref: "s\(step)"), to: robotID)
                if step == 7 { try engine.apply(obstacle("2s"), to: robotID) }
                engine.advance(by: .seconds(4))
            }
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 3)
        #expect(first.count > 80)
        #expect(try ledgerLines(seed: 3) == first)
        #expect(try ledgerLines(seed: 4) != first)
    }
}

// MARK: - Fixtures

private let robotID = "robot-1"

private func mobileRobot() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginMobileRobot")
}

/// An engine with one started robot; quiet: reports and heartbeats a day apart unless overridden,
/// so event timings and ledgers stay short.
private func robotEngine(_ overrides: [String: String] = [:], seed: UInt64 = 1) throws -> VirtualTimeEngine {
    let engine = VirtualTimeEngine()
    let quiet = ["report_interval": "1d", "heartbeat_interval": "1d"]
    try engine.add(try pluginDevicePlan(try mobileRobot(), id: robotID, seed: seed, overrides: quiet.merging(overrides) { $1 }))
    engine.start()
    return engine
}

private func taskCommand(_ type: String, duration: String? = nil, area: Double? = nil, ref: String? = nil) -> DeviceCommand {
    var arguments: [String: PointValue] = ["type": .string(type)]
    if let duration { arguments["duration"] = .string(duration) }
    if let area { arguments["area"] = .double(area) }
    if let ref { arguments["ref"] = .string(ref) }
    return DeviceCommand("task", arguments: arguments)
}

private func obstacle(_ duration: String) -> Stimulus {
    Stimulus("obstacle", arguments: ["duration": .string(duration)])
}

/// The robot kind alone, for checking model profiles against its descriptor.
private struct RobotCatalog: KindCatalog {
    let descriptor: KindDescriptor
    func descriptor(named name: String) -> KindDescriptor? { name == descriptor.name ? descriptor : nil }
    var names: [String] { [descriptor.name] }
}

private func driveCommand(_ x: Double, _ y: Double, speed: Double? = nil, ref: String? = nil) -> DeviceCommand {
    var arguments: [String: PointValue] = ["x": .double(x), "y": .double(y)]
    if let speed { arguments["speed"] = .double(speed) }
    if let ref { arguments["ref"] = .string(ref) }
    return DeviceCommand("drive", arguments: arguments)
}

/// The robot's last telemetry readings.
private func latestTelemetry(_ engine: VirtualTimeEngine) throws -> [Reading]? {
    try engine.ledger.records().last { $0.deviceID == robotID && $0.channel == .telemetry }?.readings
}

/// The number reading `point` among `readings`.
private func value(_ readings: [Reading], _ point: String) throws -> Double {
    try #require(readings.first { $0.point == point }?.value.doubleValue)
}

/// The number reading `point` of an emission.
private func number(_ record: LedgerRecord, _ point: String) throws -> Double {
    try value(record.readings, point)
}

private func nanoseconds(_ record: LedgerRecord) -> UInt64 { record.time.monotonic.nanoseconds }
