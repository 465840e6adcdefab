import Foundation
import Testing
@testable import ParkCore

/// The pedestrian access-control plugins (devices/plugins/access): the `access-terminal` and
/// `door` kinds, loaded from the libraries SwiftPM built and run on the virtual-time engine,
/// checked against seed 004's access-control requirements (face, card, QR code and password
/// entry, a face recognised within 200 ms, L2378; electric lock, exit button, door contact,
/// L2337-2419).
@Suite struct AccessPluginTests {
    // MARK: access-terminal

    /// The terminal's vocabulary is what the platform rules and suites are written against.
    @Test func accessTerminalDescriptor() throws {
        let descriptor = try accessTerminal().descriptor
        #expect(descriptor.name == "access-terminal")
        #expect(descriptor.points.map(\.name) == ["person", "method", "floor", "home_floor", "similarity", "reason"])
        #expect(descriptor.points.map(\.type) == [.string, .string, .int, .int, .double, .string])
        #expect(descriptor.events.map(\.name) == ["granted", "denied", "stranger", "tamper", "heartbeat"])
        #expect(descriptor.events.map(\.severity) == [.info, .warning, .warning, .critical, .info])
        #expect(descriptor.commands.isEmpty)
        #expect(descriptor.stimuli.map(\.name) == ["present", "tamper"])
        let arguments = try #require(descriptor.stimulus(named: "present")?.arguments)
        #expect(arguments.map(\.name) == ["person", "method", "home_floor", "enrolled"])
        #expect(arguments.map(\.type) == [.string, .string, .int, .bool])
        #expect(arguments.map(\.required) == [true, false, false, false])
        #expect(descriptor.stimulus(named: "tamper")?.arguments.isEmpty == true)
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "face_time": "150ms", "face_jitter": "40ms", "card_time": "100ms", "qr_time": "300ms",
            "password_time": "1.2s", "false_reject_rate": "0.01", "false_accept_rate": "0.0001", "floor": "1",
            "heartbeat_interval": "1m",
        ])
        #expect(descriptor.parameter(named: "face_time")?.type == .duration)
        #expect(descriptor.parameter(named: "floor")?.type == .int)
        #expect(descriptor.sources == ["004_5e9061d643d5fb41.txt L2378", "004_5e9061d643d5fb41.txt L2337-2419"])
    }

    /// Each face is decided within face_time ± face_jitter of its presentation; at the
    /// Hikvision-style 150 ms ± 40 ms every one is under the 200 ms of 004 L2378. Card, QR and
    /// password take their own time ± 10 %. Granted readings come in the documented order.
    @Test func recognitionTimesPerMethod() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try accessTerminal(), id: "face-1",
            overrides: ["face_time": "150ms", "face_jitter": "40ms", "false_reject_rate": "0", "heartbeat_interval": "1d"]))
        engine.start()
        let methods = ["face", "card", "qr", "password"]
        var presented: [String: (method: String, time: UInt64)] = [:]
        for index in 0 ..< 1_200 {
            let method = index < 600 ? "face" : methods[index % 4]
            let person = "person-\(index)"
            let record = try engine.apply(
                Stimulus("present", arguments: ["person": .string(person), "method": .string(method)]), to: "face-1")
            presented[person] = (method, record.time.monotonic.nanoseconds)
            engine.advance(by: .seconds(2))
        }
        engine.advance(by: .seconds(5))

        let granted = try pluginEvents(engine, named: "granted")
        #expect(granted.count == 1_200)
        var delays: [String: [UInt64]] = [:]
        for record in granted {
            #expect(record.channel == .event)
            #expect(record.readings.map(\.point) == ["person", "method", "floor", "home_floor", "similarity"])
            let person = try #require(record.readings[0].truth?.description)
            #expect(record.readings[0].value == .string(person))
            let presentation = try #require(presented[person])
            #expect(record.readings[1].value == .string(presentation.method))
            delays[presentation.method, default: []].append(record.time.monotonic.nanoseconds - presentation.time)
        }
        let faces = try #require(delays["face"])
        #expect(faces.count >= 600)
        #expect(faces.allSatisfy { (110_000_000 ... 190_000_000).contains($0) }, "\(faces.min() ?? 0)…\(faces.max() ?? 0)")
        #expect(faces.allSatisfy { $0 < 200_000_000 })
        // Uniform, not a constant: the delays spread over most of the window.
        #expect((faces.max() ?? 0) - (faces.min() ?? 0) > 60_000_000)
        for (method, nominal) in [("card", 100_000_000.0), ("qr", 300_000_000.0), ("password", 1_200_000_000.0)] {
            let times = try #require(delays[method])
            #expect(times.count == 150)
            #expect(times.allSatisfy { abs(Double($0) - nominal) <= nominal * 0.1 + 1 }, "\(method): \(times.min() ?? 0)…\(times.max() ?? 0)")
            #expect(Double((times.max() ?? 0) - (times.min() ?? 0)) > nominal * 0.1, "\(method) spread")
        }
    }

    /// 10,000 enrolled faces at false_reject_rate 0.01: about 1% denied `not-recognised`; and
    /// 10,000 cards that are not enrolled at false_accept_rate 0.01: about 1% granted. Face
    /// similarity stays in its band, other credentials report 1.0.
    @Test func grantAndDenyRates() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try accessTerminal(), id: "term-1", seed: 11,
            overrides: ["false_reject_rate": "0.01", "false_accept_rate": "0.01", "heartbeat_interval": "1d"]))
        engine.start()
        let presentations = 10_000
        for index in 0 ..< presentations {
            try engine.apply(Stimulus("present", arguments: ["person": .string("resident-\(index)")]), to: "term-1")
            engine.advance(by: .seconds(1))
        }
        var granted = try pluginEvents(engine, named: "granted")
        var denied = try pluginEvents(engine, named: "denied")
        #expect(granted.count + denied.count == presentations)
        let rejected = Double(denied.count) / Double(presentations)
        #expect(rejected >= 0.005 && rejected <= 0.015, "false reject fraction \(rejected)")
        for record in denied {
            #expect(record.readings.map(\.point) == ["person", "method", "floor", "reason", "similarity"])
            #expect(record.readings[0].value == .string("unknown"))
            #expect(record.readings[0].truth?.description.hasPrefix("resident-") == true)
            #expect(record.readings[3].value == .string("not-recognised"))
            let similarity = try #require(record.readings[4].value.doubleValue)
            #expect(similarity >= 0.30 && similarity <= 0.80)
        }
        for record in granted {
            let similarity = try #require(record.readings[4].value.doubleValue)
            #expect(similarity >= 0.85 && similarity <= 0.99)
        }
        // An enrolled person is never a stranger.
        #expect(try pluginEvents(engine, named: "stranger").isEmpty)

        let before = granted.count
        let deniedBefore = denied.count
        for index in 0 ..< presentations {
            try engine.apply(
                Stimulus("present", arguments: ["person": .string("visitor-\(index)"), "method": .string("card"), "enrolled": .bool(false)]),
                to: "term-1")
            engine.advance(by: .seconds(1))
        }
        granted = Array(try pluginEvents(engine, named: "granted").dropFirst(before))
        denied = Array(try pluginEvents(engine, named: "denied").dropFirst(deniedBefore))
        #expect(granted.count + denied.count == presentations)
        let accepted = Double(granted.count) / Double(presentations)
        #expect(accepted >= 0.005 && accepted <= 0.015, "false accept fraction \(accepted)")
        // Granted as the person claimed; a card either matches or not.
        #expect(granted.allSatisfy { $0.readings[0].value == $0.readings[0].truth && $0.readings[4].value == .double(1.0) })
        #expect(denied.allSatisfy { $0.readings[3].value == .string("not-enrolled") && $0.readings[4].value == .double(1.0) })
        // Only faces raise stranger.
        #expect(try pluginEvents(engine, named: "stranger").isEmpty)
    }

    /// A face that is not enrolled: denied `not-enrolled` and, at the same moment, stranger;
    /// both name the person "unknown" and keep the real one as truth.
    @Test func strangerFaceIsDeniedAndReported() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try accessTerminal(), id: "term-1", floor: 3, overrides: ["false_accept_rate": "0", "heartbeat_interval": "1d"]))
        engine.start()
        try engine.apply(Stimulus("present", arguments: ["person": .string("intruder"), "enrolled": .bool(false)]), to: "term-1")
        engine.advance(by: .seconds(1))
        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["denied", "stranger"])
        let denied = events[0]
        let stranger = events[1]
        #expect(denied.time == stranger.time)
        #expect(denied.readings.prefix(4) == [
            Reading("person", .string("unknown"), truth: .string("intruder")), Reading("method", .string("face")),
            Reading("floor", .int(3)), Reading("reason", .string("not-enrolled")),
        ])
        #expect(stranger.readings.map(\.point) == ["person", "floor", "similarity"])
        #expect(stranger.readings[0] == Reading("person", .string("unknown"), truth: .string("intruder")))
        #expect(stranger.readings[2] == denied.readings[4])

        // The tamper switch: critical, at once.
        let tamper = try engine.apply(Stimulus("tamper"), to: "term-1")
        let last = try #require(try pluginEvents(engine).last)
        #expect(last.name == "tamper")
        #expect(last.time == tamper.time)
    }

    /// method defaults to face, enrolled to true, home_floor to the terminal's floor, which is
    /// the park file's floor when there is one and the floor parameter otherwise.
    @Test func presentDefaults() throws {
        let kind = try accessTerminal()
        let engine = VirtualTimeEngine()
        let perfect = ["false_reject_rate": "0", "heartbeat_interval": "1d"]
        try engine.add(try pluginDevicePlan(kind, id: "default-floor", overrides: perfect))
        try engine.add(try pluginDevicePlan(kind, id: "parameter-floor", overrides: perfect.merging(["floor": "7"]) { $1 }))
        try engine.add(try pluginDevicePlan(kind, id: "park-floor", floor: -2, overrides: perfect.merging(["floor": "7"]) { $1 }))
        engine.start()
        for id in ["default-floor", "parameter-floor", "park-floor"] {
            try engine.apply(Stimulus("present", arguments: ["person": .string("resident-1")]), to: id)
        }
        try engine.apply(Stimulus("present", arguments: ["person": .string("resident-2"), "home_floor": .int(12), "method": .string("qr")]), to: "park-floor")
        engine.advance(by: .seconds(5))
        let granted = try pluginEvents(engine, named: "granted")
        #expect(granted.count == 4)
        func readings(_ id: String) throws -> [Reading] { try #require(granted.first { $0.deviceID == id }).readings }
        for (id, floor) in [("default-floor", Int64(1)), ("parameter-floor", 7), ("park-floor", -2)] {
            let got = try readings(id)
            #expect(got.map(\.point) == ["person", "method", "floor", "home_floor", "similarity"])
            #expect(got[1].value == .string("face"), "\(id)")
            #expect(got[2].value == .int(floor), "\(id)")
            #expect(got[3].value == .int(floor), "\(id)")
        }
        let qr = try #require(granted.last)
        #expect(qr.readings[0].value == .string("resident-2"))
        #expect(qr.readings[1].value == .string("qr") && qr.readings[3].value == .int(12))
        #expect(qr.readings[4].value == .double(1.0))
    }

    /// Several presentations may be pending at once; each gets its own decision.
    @Test func presentationsOverlap() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try accessTerminal(), id: "term-1", overrides: ["false_reject_rate": "0"]))
        engine.start()
        for index in 0 ..< 50 {
            try engine.apply(Stimulus("present", arguments: ["person": .string("p-\(index)")]), to: "term-1")
            engine.advance(by: .milliseconds(5))
        }
        engine.advance(by: .seconds(1))
        let granted = try pluginEvents(engine, named: "granted")
        #expect(Set(granted.compactMap { $0.readings[0].truth?.description }) == Set((0 ..< 50).map { "p-\($0)" }))
    }

    /// One seed gives one run, byte for byte; another seed another run.
    @Test func accessTerminalIsReproducible() throws {
        let kind = try accessTerminal()
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            try engine.add(try pluginDevicePlan(kind, id: "term-1", seed: seed, overrides: ["false_reject_rate": "0.1", "false_accept_rate": "0.1"]))
            try engine.add(try pluginDevicePlan(kind, id: "term-2", seed: seed))
            engine.start()
            let methods = ["face", "card", "qr", "password"]
            for index in 0 ..< 500 {
                try engine.apply(
                    Stimulus("present", arguments: [
                        "person": .string("p-\(index % 37)"), "method": .string(methods[index % 4]), "enrolled": .bool(index % 5 != 0),
                    ]),
                    to: "term-\(index % 2 + 1)")
                engine.advance(by: .milliseconds(700))
            }
            engine.advance(by: .minutes(5))
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 42)
        #expect(first.count > 1_000)
        #expect(try ledgerLines(seed: 42) == first)
        #expect(try ledgerLines(seed: 43) != first)
    }

    /// Bad presentations are refused with the device's own words.
    @Test func badPresentationsAreRefused() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try accessTerminal(), id: "term-1"))
        engine.start()
        for (arguments, words) in [
            ([:], "'person'"),
            (["person": PointValue.string("")], "1-64 characters"),
            (["person": .string(String(repeating: "x", count: 65))], "1-64 characters"),
            (["person": .string("a"), "method": .string("iris")], "'method' must be one of"),
            (["person": .string("a"), "home_floor": .string("roof")], "'home_floor'"),
            (["person": .string("a"), "enrolled": .string("maybe")], "'enrolled'"),
        ] as [([String: PointValue], String)] {
            let error = #expect(throws: EngineError.self) { try engine.apply(Stimulus("present", arguments: arguments), to: "term-1") }
            #expect("\(String(describing: error))".contains(words), "\(String(describing: error))")
        }
        try engine.apply(Stimulus("present", arguments: ["person": .string(String(repeating: "x", count: 64))]), to: "term-1")
    }

    // MARK: door

    /// The door's vocabulary is what the platform rules and suites are written against.
    @Test func doorDescriptor() throws {
        let descriptor = try door().descriptor
        #expect(descriptor.name == "door")
        #expect(descriptor.points.map(\.name) == ["locked", "open"])
        #expect(descriptor.points.map(\.type) == [.bool, .bool])
        #expect(descriptor.events.map(\.name) == ["unlocked", "locked", "opened", "closed", "forced-open", "held-open", "heartbeat"])
        #expect(descriptor.events.map(\.severity) == [.info, .info, .info, .info, .critical, .alarm, .info])
        #expect(descriptor.commands.map(\.name) == ["unlock", "lock"])
        let unlock = try #require(descriptor.commands.first { $0.name == "unlock" })
        #expect(unlock.arguments.map(\.name) == ["duration"])
        #expect(unlock.arguments.first?.type == .duration && unlock.arguments.first?.required == false)
        #expect(descriptor.stimuli.map(\.name) == ["open", "close", "exit-button"])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == ["unlock_time": "5s", "held_open_time": "30s", "heartbeat_interval": "1m"])
        #expect(descriptor.sources == ["004_5e9061d643d5fb41.txt L2337-2419"])
    }

    /// unlock: `unlocked` at once (by command), `locked` exactly unlock_time later; the
    /// command is answered with locked, open. A duration argument overrides unlock_time.
    @Test func unlockRelocksAfterUnlockTime() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(id: "door-1"))
        engine.advance(by: .seconds(10))

        let unlock = try engine.sendRecorded(DeviceCommand("unlock"), to: "door-1")
        #expect(unlock.result.outcome == .accepted)
        #expect(unlock.result.readings == [Reading("locked", .bool(false)), Reading("open", .bool(false))])
        let sent = unlock.record.time.monotonic.nanoseconds
        engine.advance(by: .seconds(30))
        var events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["unlocked", "locked"])
        #expect(events[0].readings == [Reading("locked", .bool(false)), Reading("by", .string("command"))])
        #expect(events[0].time.monotonic.nanoseconds == sent)
        #expect(events[1].readings == [Reading("locked", .bool(true))])
        #expect(events[1].time.monotonic.nanoseconds - sent == 5_000_000_000)

        // A duration as text or as seconds.
        for (duration, nanoseconds) in [(PointValue.string("2s"), UInt64(2_000_000_000)), (.int(3), 3_000_000_000), (.double(1.5), 1_500_000_000)] {
            let start = try engine.sendRecorded(DeviceCommand("unlock", arguments: ["duration": duration]), to: "door-1")
            #expect(start.result.outcome == .accepted)
            engine.advance(by: .seconds(10))
            let relock = try #require(try pluginEvents(engine).last)
            #expect(relock.name == "locked")
            #expect(relock.time.monotonic.nanoseconds - start.record.time.monotonic.nanoseconds == nanoseconds, "\(duration)")
        }

        // A second unlock replaces the first: the door relocks unlock_time after the latest.
        _ = try engine.send(DeviceCommand("unlock"), to: "door-1")
        engine.advance(by: .seconds(3))
        let second = try engine.sendRecorded(DeviceCommand("unlock"), to: "door-1").record.time.monotonic.nanoseconds
        engine.advance(by: .seconds(30))
        events = try pluginEvents(engine).filter { $0.time.monotonic.nanoseconds >= second - 3_000_000_000 }
        #expect(events.map(\.name) == ["unlocked", "unlocked", "locked"])
        #expect(events.last.map { $0.time.monotonic.nanoseconds - second } == 5_000_000_000)

        // Bad durations are rejected and change nothing.
        let eventCount = try pluginEvents(engine).count
        for bad in [PointValue.string("soon"), .int(0), .string("0s"), .int(-1), .bool(true)] {
            let result = try engine.send(DeviceCommand("unlock", arguments: ["duration": bad]), to: "door-1")
            guard case .rejected(let reason) = result.outcome else {
                Issue.record("unlock with duration \(bad) was accepted")
                continue
            }
            #expect(reason.contains("duration"))
            #expect(result.readings == [Reading("locked", .bool(true)), Reading("open", .bool(false))])
        }
        #expect(try pluginEvents(engine).count == eventCount)

        // lock while unlocked and closed: locked at once; lock while locked: nothing new.
        _ = try engine.send(DeviceCommand("unlock"), to: "door-1")
        let lock = try engine.sendRecorded(DeviceCommand("lock"), to: "door-1")
        #expect(lock.result.readings == [Reading("locked", .bool(true)), Reading("open", .bool(false))])
        #expect(try engine.send(DeviceCommand("lock"), to: "door-1").outcome == .accepted)
        engine.advance(by: .seconds(30))
        let tail = try pluginEvents(engine).filter { $0.time.monotonic.nanoseconds >= lock.record.time.monotonic.nanoseconds }
        #expect(tail.map(\.name) == ["unlocked", "locked"])
        #expect(tail.last?.time == lock.record.time)
    }

    /// The contact opening while the door is locked: forced-open (critical), then opened.
    /// Opening an unlocked door is no alarm.
    @Test func openWhileLockedIsForced() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(id: "door-1"))
        engine.start()
        let forced = try engine.apply(Stimulus("open"), to: "door-1")
        var events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["forced-open", "opened"])
        #expect(events.allSatisfy { $0.time == forced.time })
        #expect(events[0].readings == [Reading("open", .bool(true)), Reading("locked", .bool(true))])
        try engine.apply(Stimulus("close"), to: "door-1")
        #expect(try pluginEvents(engine).last?.name == "closed")
        #expect(try pluginEvents(engine).last?.readings == [Reading("open", .bool(false)), Reading("locked", .bool(true))])

        _ = try engine.send(DeviceCommand("unlock"), to: "door-1")
        engine.advance(by: .seconds(1))
        let opened = try engine.apply(Stimulus("open"), to: "door-1")
        events = try pluginEvents(engine).filter { $0.time == opened.time }
        #expect(events.map(\.name) == ["opened"])
        #expect(events[0].readings == [Reading("open", .bool(true)), Reading("locked", .bool(false))])
        // A second open of an open door, and a close of a closed one, change nothing.
        let count = try pluginEvents(engine).count
        try engine.apply(Stimulus("open"), to: "door-1")
        try engine.apply(Stimulus("close"), to: "door-1")
        try engine.apply(Stimulus("close"), to: "door-1")
        #expect(try pluginEvents(engine).count == count + 1)
    }

    /// A door open longer than held_open_time: held-open exactly then, once; one closed in time
    /// raises nothing, and an old opening's timer does not fire into a new opening.
    @Test func heldOpenAfterHeldOpenTime() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(id: "door-1"))
        engine.start()
        _ = try engine.send(DeviceCommand("unlock"), to: "door-1")
        let opened = try engine.apply(Stimulus("open"), to: "door-1").time.monotonic.nanoseconds
        engine.advance(by: .minutes(2))
        var held = try pluginEvents(engine).filter { $0.name == "held-open" }
        #expect(held.count == 1)
        #expect(held.first.map { $0.time.monotonic.nanoseconds - opened } == 30_000_000_000)
        #expect(held.first?.readings == [Reading("open", .bool(true)), Reading("locked", .bool(false))])
        try engine.apply(Stimulus("close"), to: "door-1")

        // Open 20 s, closed, open again 20 s later: neither opening reaches 30 s.
        _ = try engine.send(DeviceCommand("unlock", arguments: ["duration": .string("2m")]), to: "door-1")
        try engine.apply(Stimulus("open"), to: "door-1")
        engine.advance(by: .seconds(20))
        try engine.apply(Stimulus("close"), to: "door-1")
        try engine.apply(Stimulus("open"), to: "door-1")
        engine.advance(by: .seconds(20))
        try engine.apply(Stimulus("close"), to: "door-1")
        engine.advance(by: .minutes(5))
        held = try pluginEvents(engine).filter { $0.name == "held-open" }
        #expect(held.count == 1)

        // A shorter held_open_time (the ZKTeco-style profile's 20 s).
        let strict = VirtualTimeEngine()
        try strict.add(try doorPlan(id: "door-2", overrides: ["held_open_time": "20s", "unlock_time": "3s"]))
        strict.start()
        let forced = try strict.apply(Stimulus("open"), to: "door-2").time.monotonic.nanoseconds
        strict.advance(by: .seconds(25))
        let alarm = try #require(try pluginEvents(strict).first { $0.name == "held-open" })
        #expect(alarm.time.monotonic.nanoseconds - forced == 20_000_000_000)
    }

    /// A relock that falls due while the door is open waits for it to close, then happens at
    /// once (closed, then locked); so does a lock command sent while it is open.
    @Test func relockWaitsForClose() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(id: "door-1"))
        engine.start()
        _ = try engine.send(DeviceCommand("unlock"), to: "door-1")
        engine.advance(by: .seconds(1))
        try engine.apply(Stimulus("open"), to: "door-1")
        engine.advance(by: .seconds(10))
        #expect(try pluginEvents(engine).map(\.name) == ["unlocked", "opened"])
        let closed = try engine.apply(Stimulus("close"), to: "door-1")
        var events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["unlocked", "opened", "closed", "locked"])
        #expect(events[3].time == closed.time)

        // lock while open: accepted, still unlocked until the door closes.
        _ = try engine.send(DeviceCommand("unlock", arguments: ["duration": .string("1m")]), to: "door-1")
        try engine.apply(Stimulus("open"), to: "door-1")
        let lock = try engine.send(DeviceCommand("lock"), to: "door-1")
        #expect(lock.outcome == .accepted)
        #expect(lock.readings == [Reading("locked", .bool(false)), Reading("open", .bool(true))])
        engine.advance(by: .seconds(5))
        #expect(try pluginEvents(engine).last?.name == "opened")
        let close = try engine.apply(Stimulus("close"), to: "door-1")
        events = try pluginEvents(engine).filter { $0.time == close.time }
        #expect(events.map(\.name) == ["closed", "locked"])
        // The minute's relock timer went stale with the lock: nothing more.
        engine.advance(by: .minutes(2))
        #expect(try pluginEvents(engine).last?.time == close.time)

        // An unlock while a relock waits for the close cancels the wait.
        _ = try engine.send(DeviceCommand("unlock", arguments: ["duration": .string("1s")]), to: "door-1")
        try engine.apply(Stimulus("open"), to: "door-1")
        engine.advance(by: .seconds(5))
        let reopen = try engine.sendRecorded(DeviceCommand("unlock"), to: "door-1").record.time.monotonic.nanoseconds
        engine.advance(by: .seconds(1))
        let shut = try engine.apply(Stimulus("close"), to: "door-1")
        events = try pluginEvents(engine).filter { $0.time.monotonic.nanoseconds >= reopen }
        #expect(events.map(\.name) == ["unlocked", "closed"])
        engine.advance(by: .seconds(10))
        let relock = try #require(try pluginEvents(engine).last)
        #expect(relock.name == "locked")
        #expect(relock.time.monotonic.nanoseconds - reopen == 5_000_000_000)
        #expect(relock.time != shut.time)
    }

    /// The exit button unlocks like a command (by exit-button) for unlock_time; going out
    /// through the released door is no forced entry.
    @Test func exitButtonUnlocks() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(id: "door-1", overrides: ["unlock_time": "3s"]))
        engine.start()
        let pressed = try engine.apply(Stimulus("exit-button"), to: "door-1").time.monotonic.nanoseconds
        engine.advance(by: .seconds(1))
        try engine.apply(Stimulus("open"), to: "door-1")
        engine.advance(by: .seconds(1))
        try engine.apply(Stimulus("close"), to: "door-1")
        engine.advance(by: .seconds(10))
        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["unlocked", "opened", "closed", "locked"])
        #expect(events[0].readings == [Reading("locked", .bool(false)), Reading("by", .string("exit-button"))])
        #expect(events[0].time.monotonic.nanoseconds == pressed)
        #expect(events[3].time.monotonic.nanoseconds - pressed == 3_000_000_000)
    }

    /// Heartbeats every heartbeat_interval carry locked and open; the door is reproducible.
    @Test func doorHeartbeatAndReproducibility() throws {
        let kind = try door()
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            // The heartbeat phase is the door's only randomness.
            for index in 1 ... 3 {
                try engine.add(try doorPlan(kind, id: "door-\(index)", seed: seed, overrides: ["heartbeat_interval": "1m"]))
            }
            engine.start()
            for minute in 0 ..< 30 {
                _ = try engine.send(DeviceCommand("unlock"), to: "door-\(minute % 3 + 1)")
                try engine.apply(Stimulus("open"), to: "door-\(minute % 3 + 1)")
                engine.advance(by: .seconds(UInt64(minute)))
                try engine.apply(Stimulus("close"), to: "door-\(minute % 3 + 1)")
                engine.advance(by: .seconds(UInt64(60 - minute)))
            }
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 5)
        #expect(try ledgerLines(seed: 5) == first)
        #expect(try ledgerLines(seed: 6) != first)

        let engine = VirtualTimeEngine()
        try engine.add(try doorPlan(kind, id: "door-1", overrides: ["heartbeat_interval": "10s"]))
        engine.advance(by: .minutes(10))
        let heartbeats = try engine.ledger.records().filter { $0.name == "heartbeat" }
        #expect((59 ... 61).contains(heartbeats.count))
        #expect(heartbeats.allSatisfy { $0.readings == [Reading("locked", .bool(true)), Reading("open", .bool(false))] })
    }
}

// MARK: - Fixtures

private func accessTerminal() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginAccessTerminal")
}

private func door() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginDoor")
}

/// One door, heartbeats out of the way unless asked for.
private func doorPlan(
    _ kind: PluginDeviceKind? = nil, id: String, seed: UInt64 = 1, overrides: [String: String] = ["heartbeat_interval": "1d"]
) throws -> PlannedDevice {
    let kind = try kind ?? door()
    return try pluginDevicePlan(kind, id: id, seed: seed, overrides: overrides)
}
