import Foundation
import ParkProfiles
import Testing
@testable import ParkCore

/// The car-park guidance plugins (devices/plugins/parking): the `parking-space-detector` and
/// `guidance-screen` kinds, loaded from the libraries SwiftPM built and run on the virtual-time
/// engine, checked against seed 004's parking guidance requirements (a space and its plate
/// found within 5 s, L2187; at least 99% recognised, L2181; 1-6 spaces a detector, L2185;
/// free spaces shown in 1-3 directions, L2191).
@Suite struct ParkingSpacePluginTests {
    // MARK: parking-space-detector

    /// The detector's vocabulary is what the platform's rules and the suites are written against.
    @Test func spaceDetectorDescriptor() throws {
        let descriptor = try spaceDetector().descriptor
        #expect(descriptor.name == "parking-space-detector")
        #expect(descriptor.points.map(\.name) == ["space", "plate", "occupied", "free"])
        #expect(descriptor.points.map(\.type) == [.int, .string, .int, .int])
        #expect(descriptor.events.map(\.name) == ["occupied", "vacated", "heartbeat"])
        #expect(descriptor.events.allSatisfy { $0.severity == .info })
        #expect(descriptor.commands.isEmpty)
        #expect(descriptor.stimuli.map(\.name) == ["park", "leave"])
        let park = try #require(descriptor.stimulus(named: "park")?.arguments)
        #expect(park.map(\.name) == ["space", "plate"])
        #expect(park.map(\.type) == [.int, .string])
        #expect(park.map(\.required) == [true, true])
        let leave = try #require(descriptor.stimulus(named: "leave")?.arguments)
        #expect(leave.map(\.name) == ["space"])
        #expect(leave.map(\.required) == [true])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "spaces": "3", "detection_time": "2s", "detection_jitter": "500ms", "error_rate": "0.003",
            "report_interval": "1m", "heartbeat_interval": "1m",
        ])
        #expect(descriptor.parameter(named: "spaces")?.type == .int)
        #expect(descriptor.parameter(named: "spaces")?.minimum == 1)
        #expect(descriptor.parameter(named: "spaces")?.maximum == 6)
        #expect(descriptor.parameter(named: "detection_time")?.type == .duration)
        #expect(descriptor.sources == ["004_5e9061d643d5fb41.txt L2187", "004_5e9061d643d5fb41.txt L2179-2199"])
    }

    /// Both models, as their profiles set them: each `occupied` arrives within detection_time ±
    /// detection_jitter of its park, each `vacated` within as much of its leave, all within the
    /// 5 s of 004 L2187; the delays spread over the window rather than being one constant.
    @Test(arguments: ["hik-ds-tcp3", "keytop-vd6"])
    func reportsWithinDetectionWindow(model: String) throws {
        let profile = try ModelProfile.load(file: pluginModelsDirectory("parking").appendingPathComponent("\(model).yaml").path)
        #expect(profile.kind == "parking-space-detector")
        let kind = try spaceDetector()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: profile.parameters)
        let spaces = parameters.int("spaces")
        let mean = parameters.duration("detection_time").nanoseconds
        let jitter = parameters.duration("detection_jitter").nanoseconds
        #expect(mean + jitter <= 5_000_000_000, "\(model): the slowest report must be within 5 s")

        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(kind, id: "spd-1", overrides: profile.parameters.merging(["error_rate": "0"]) { $1 }))
        engine.start()
        var parked: [String: UInt64] = [:]
        var left: [Int64: [UInt64]] = [:]
        var car = 0
        for _ in 0 ..< 100 {
            for space in 1 ... spaces {
                let plate = samplePlate(car)
                car += 1
                parked[plate] = try engine.apply(park(space, plate), to: "spd-1").time.monotonic.nanoseconds
                engine.advance(by: .milliseconds(100))
            }
            engine.advance(by: .seconds(6))
            for space in 1 ... spaces {
                left[space, default: []].append(try engine.apply(leave(space), to: "spd-1").time.monotonic.nanoseconds)
                engine.advance(by: .milliseconds(100))
            }
            engine.advance(by: .seconds(6))
        }

        let events = try pluginEvents(engine)
        let occupied = events.filter { $0.name == "occupied" }
        let vacated = events.filter { $0.name == "vacated" }
        #expect(occupied.count == 100 * Int(spaces))
        #expect(vacated.count == 100 * Int(spaces))
        var delays: [UInt64] = []
        for record in occupied {
            #expect(record.readings.map(\.point) == ["space", "plate", "occupied", "free"])
            let truth = try #require(record.readings[1].truth?.description)
            delays.append(record.time.monotonic.nanoseconds - (try #require(parked[truth])))
        }
        for space in 1 ... spaces {
            let times = vacated.filter { $0.readings.first?.value == .int(space) }.map(\.time.monotonic.nanoseconds)
            let leaves = try #require(left[space])
            #expect(times.count == leaves.count)
            delays += zip(times, leaves).map { $0 - $1 }
        }
        let window = mean - jitter ... mean + jitter
        #expect(delays.allSatisfy { window.contains($0) }, "\(model): \(delays.min() ?? 0)…\(delays.max() ?? 0)")
        #expect((delays.max() ?? 0) - (delays.min() ?? 0) > jitter)
    }

    /// Through a sequence of parks and leaves the counts in every event, and in telemetry, are
    /// the detector's: each `occupied` adds one, each `vacated` takes one away, free is the rest.
    @Test func countsFollowParksAndLeaves() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try spaceDetector(), id: "spd-1",
            overrides: [
                "spaces": "6", "detection_time": "1s", "detection_jitter": "0s", "error_rate": "0",
                "report_interval": "10s", "heartbeat_interval": "1d",
            ]))
        engine.start()
        // (stimulus, space, plate) in order, a second apart plus a second to settle.
        let steps: [(String, Int64, String)] = [
            ("park", 1, "京A11111"), ("park", 2, "京A22222"), ("park", 6, "京A66666"), ("leave", 2, ""),
            ("park", 3, "京A33333"), ("leave", 1, ""), ("park", 2, "京A2222B"), ("park", 4, "京A44444"),
            ("park", 5, "京A55555"), ("park", 1, "京A1111C"), ("leave", 6, ""), ("leave", 3, ""),
        ]
        var expected: [[Reading]] = []
        var taken: Set<Int64> = []
        for (name, space, plate) in steps {
            try engine.apply(name == "park" ? park(space, plate) : leave(space), to: "spd-1")
            engine.advance(by: .seconds(2))
            if name == "park" {
                taken.insert(space)
                expected.append([
                    Reading("space", .int(space)), Reading("plate", .string(plate), truth: .string(plate)),
                    Reading("occupied", .int(Int64(taken.count))), Reading("free", .int(6 - Int64(taken.count))),
                ])
            } else {
                taken.remove(space)
                expected.append([
                    Reading("space", .int(space)), Reading("occupied", .int(Int64(taken.count))),
                    Reading("free", .int(6 - Int64(taken.count))),
                ])
            }
        }
        let events = try pluginEvents(engine)
        #expect(events.map(\.name) == steps.map { $0.0 == "park" ? "occupied" : "vacated" })
        #expect(events.map(\.readings) == expected)
        // Each report a second after its stimulus.
        let stimuli = try engine.ledger.records().filter { $0.entry == .stimulus }
        #expect(zip(events, stimuli).allSatisfy { $0.time.monotonic.nanoseconds - $1.time.monotonic.nanoseconds == 1_000_000_000 })

        // Telemetry every 10 s says what the events last said: spaces 1, 2, 4 and 5 taken, 2 free.
        engine.advance(by: .minutes(1))
        let telemetry = try engine.ledger.records().filter { $0.entry == .emission && $0.channel == .telemetry }
        #expect(telemetry.count >= 8)
        #expect(telemetry.suffix(6).allSatisfy { $0.readings == [Reading("occupied", .int(4)), Reading("free", .int(2))] })
    }

    /// 10,000 cars at error_rate 0.01: about 1% misread, each by one character after the
    /// province and letter, the truth kept; the rest read right (004 L2181's 99%).
    @Test func misreadRate() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try spaceDetector(), id: "spd-1", seed: 11, overrides: ["spaces": "6", "error_rate": "0.01"]))
        engine.start()
        let cars = 10_000
        for round in 0 ..< cars / 5 {
            for space in 1 ... 5 { try engine.apply(park(Int64(space), samplePlate(round * 5 + space - 1)), to: "spd-1") }
            engine.advance(by: .seconds(3))
            for space in 1 ... 5 { try engine.apply(leave(Int64(space)), to: "spd-1") }
            engine.advance(by: .seconds(3))
        }
        let occupied = try pluginEvents(engine).filter { $0.name == "occupied" }
        #expect(occupied.count == cars)
        #expect(Set(occupied.compactMap { $0.readings[1].truth?.description }).count == cars)
        let misreads = occupied.filter { $0.readings[1].value != $0.readings[1].truth }
        let fraction = Double(misreads.count) / Double(cars)
        #expect(fraction >= 0.005 && fraction <= 0.015, "misread fraction \(fraction)")
        for record in misreads {
            let read = Array(record.readings[1].value.description)
            let truth = Array(try #require(record.readings[1].truth?.description))
            #expect(read.count == truth.count)
            #expect(read.prefix(2) == truth.prefix(2), "\(String(read)) for \(String(truth))")
            #expect(zip(read, truth).filter { $0 != $1 }.count == 1, "\(String(read)) for \(String(truth))")
        }
    }

    /// A park on a space with a car in it (reported or not yet), a leave from a free space, a
    /// space outside 1…spaces and a bad plate are refused with the device's own words.
    @Test func badStimuliAreRefused() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try spaceDetector(), id: "spd-1"))
        engine.start()
        try engine.apply(park(1, "京A12345"), to: "spd-1")
        for (stimulus, words) in [
            (park(1, "京B54321"), "space 1 is already occupied (by 京A12345)"),
            (leave(2), "space 2 is free"),
            (park(0, "京A12345"), "'space' must be between 1 and 3, got 0"),
            (park(4, "京A12345"), "'space' must be between 1 and 3, got 4"),
            (leave(4), "'space' must be between 1 and 3, got 4"),
            (park(2, ""), "1-16 characters"),
            (park(2, String(repeating: "8", count: 17)), "1-16 characters"),
            (Stimulus("park", arguments: ["space": .int(2)]), "'plate'"),
            (Stimulus("park", arguments: ["plate": .string("京A12345")]), "'space'"),
            (Stimulus("leave"), "'space'"),
        ] as [(Stimulus, String)] {
            let error = #expect(throws: EngineError.self) { try engine.apply(stimulus, to: "spd-1") }
            #expect("\(String(describing: error))".contains(words), "\(String(describing: error))")
        }
        // Reported, the car is still in the way; gone, the space takes the next one.
        engine.advance(by: .seconds(5))
        #expect(throws: EngineError.self) { try engine.apply(park(1, "京B54321"), to: "spd-1") }
        try engine.apply(leave(1), to: "spd-1")
        #expect(throws: EngineError.self) { try engine.apply(leave(1), to: "spd-1") }
        try engine.apply(park(1, "京B54321"), to: "spd-1")
        try engine.apply(park(2, String(repeating: "8", count: 16)), to: "spd-1")
        try engine.apply(park(3, "X"), to: "spd-1")
        // Refused stimuli change nothing: one car came and went, three are reported now (each
        // space's detection takes its own time, so the spaces' reports may interleave).
        engine.advance(by: .seconds(5))
        let events = try pluginEvents(engine)
        #expect(events.map(\.name).sorted() == ["occupied", "occupied", "occupied", "occupied", "vacated"])
        #expect(events.last?.readings.suffix(2) == [Reading("occupied", .int(3)), Reading("free", .int(0))])
    }

    /// A car that leaves while its park is still being detected was never seen: nothing is
    /// reported. A space freed and taken by another car before the vacancy was reported reports
    /// `vacated` and the new car's `occupied` together, one detection after the new park.
    @Test func leaveDuringDetectionCancels() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(
            try spaceDetector(), id: "spd-1",
            overrides: ["detection_time": "2s", "detection_jitter": "0s", "error_rate": "0", "heartbeat_interval": "1d"]))
        engine.start()
        try engine.apply(park(1, "京A11111"), to: "spd-1")
        engine.advance(by: .seconds(1))
        try engine.apply(leave(1), to: "spd-1")
        engine.advance(by: .minutes(1))
        #expect(try pluginEvents(engine).isEmpty)

        // Away and back within the detection time, several times: only the last car is reported.
        try engine.apply(park(1, "京A22222"), to: "spd-1")
        engine.advance(by: .milliseconds(500))
        try engine.apply(leave(1), to: "spd-1")
        engine.advance(by: .milliseconds(500))
        let last = try engine.apply(park(1, "京A33333"), to: "spd-1").time.monotonic.nanoseconds
        engine.advance(by: .minutes(1))
        var events = try pluginEvents(engine)
        #expect(events.map(\.name) == ["occupied"])
        #expect(events.first?.readings[1].truth == .string("京A33333"))
        #expect(events.first.map { $0.time.monotonic.nanoseconds - last } == 2_000_000_000)

        // The reported car leaves and another takes the space 1 s later: both at once.
        try engine.apply(leave(1), to: "spd-1")
        engine.advance(by: .seconds(1))
        let next = try engine.apply(park(1, "京A44444"), to: "spd-1").time.monotonic.nanoseconds
        engine.advance(by: .minutes(1))
        events = try pluginEvents(engine).dropFirst().map { $0 }
        #expect(events.map(\.name) == ["vacated", "occupied"])
        #expect(events.allSatisfy { $0.time.monotonic.nanoseconds - next == 2_000_000_000 })
        #expect(events[0].readings == [Reading("space", .int(1)), Reading("occupied", .int(0)), Reading("free", .int(3))])
        #expect(events[1].readings.last == Reading("free", .int(2)))
        #expect(events[1].readings[1] == Reading("plate", .string("京A44444"), truth: .string("京A44444")))
    }

    // MARK: guidance-screen

    /// The screen's vocabulary is what the platform's rules and the suites are written against.
    @Test func guidanceScreenDescriptor() throws {
        let descriptor = try guidanceScreen().descriptor
        #expect(descriptor.name == "guidance-screen")
        #expect(descriptor.points.map(\.name) == ["free", "direction"])
        #expect(descriptor.points.map(\.type) == [.int, .string])
        #expect(descriptor.events.map(\.name) == ["shown", "heartbeat"])
        #expect(descriptor.events.allSatisfy { $0.severity == .info })
        #expect(descriptor.commands.map(\.name) == ["show", "blank"])
        let show = try #require(descriptor.commands.first?.arguments)
        #expect(show.map(\.name) == ["free", "direction"])
        #expect(show.map(\.type) == [.int, .string])
        #expect(show.map(\.required) == [true, false])
        #expect(descriptor.commands.last?.arguments.map(\.required) == [false])
        #expect(descriptor.stimuli.map(\.name) == ["fault", "repair"])
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == ["directions": "3", "refresh_time": "200ms", "heartbeat_interval": "1m"])
        #expect(descriptor.parameter(named: "directions")?.maximum == 3)
        #expect(descriptor.sources == ["004_5e9061d643d5fb41.txt L2191", "004_5e9061d643d5fb41.txt L2197"])
    }

    /// show: accepted at once with what will be shown, `shown` exactly refresh_time later;
    /// direction defaults to ahead; panels refresh independently.
    @Test(arguments: [("acme-gs3", 200_000_000), ("keytop-led2", 500_000_000)] as [(String, UInt64)])
    func showAppearsAfterRefreshTime(model: String, refresh: UInt64) throws {
        let profile = try ModelProfile.load(file: pluginModelsDirectory("parking").appendingPathComponent("\(model).yaml").path)
        #expect(profile.kind == "guidance-screen")
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try guidanceScreen(), id: "gs-1", overrides: profile.parameters))
        engine.start()
        engine.advance(by: .seconds(1))

        let show = try engine.sendRecorded(DeviceCommand("show", arguments: ["free": .int(42)]), to: "gs-1")
        #expect(show.result.outcome == .accepted)
        #expect(show.result.readings == [Reading("free", .int(42)), Reading("direction", .string("ahead"))])
        engine.advance(by: .seconds(5))
        var shown = try screenEvents(engine)
        #expect(shown.count == 1)
        #expect(shown.first?.readings == [Reading("free", .int(42)), Reading("direction", .string("ahead"))])
        #expect(shown.first.map { $0.time.monotonic.nanoseconds - show.record.time.monotonic.nanoseconds } == refresh)

        // Two panels at once: both shown, each after refresh_time.
        let left = try engine.sendRecorded(DeviceCommand("show", arguments: ["free": .int(7), "direction": .string("left")]), to: "gs-1")
        #expect(left.result.readings == [Reading("free", .int(7)), Reading("direction", .string("left"))])
        _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(0), "direction": .string("ahead")]), to: "gs-1")
        engine.advance(by: .seconds(5))
        shown = Array(try screenEvents(engine).dropFirst())
        #expect(Set(shown.map(\.readings)) == [
            [Reading("free", .int(7)), Reading("direction", .string("left"))],
            [Reading("free", .int(0)), Reading("direction", .string("ahead"))],
        ])
        #expect(shown.allSatisfy { $0.time.monotonic.nanoseconds - left.record.time.monotonic.nanoseconds == refresh })

        // Directions beyond the model's are rejected, as are numbers a panel cannot show.
        let directions = profile.parameters["directions"] == "3" ? ["ahead", "left", "right"] : ["ahead", "left"]
        for direction in ["ahead", "left", "right"] where !directions.contains(direction) {
            let result = try engine.send(DeviceCommand("show", arguments: ["free": .int(1), "direction": .string(direction)]), to: "gs-1")
            #expect(result.outcome == .rejected(reason: "show: 'direction' must be one of \(directions.joined(separator: ", ")), got '\(direction)'"))
        }
        for (arguments, words) in [
            (["free": PointValue.int(-1)], "between 0 and 99999, got -1"),
            (["free": .int(100_000)], "between 0 and 99999, got 100000"),
            ([:], "'free'"),
            (["free": .string("ten")], "'free'"),
            (["free": .int(1), "direction": .string("up")], "got 'up'"),
        ] as [([String: PointValue], String)] {
            let result = try engine.send(DeviceCommand("show", arguments: arguments), to: "gs-1")
            guard case .rejected(let reason) = result.outcome else {
                Issue.record("show \(arguments) was accepted")
                continue
            }
            #expect(reason.contains(words), "\(reason)")
        }
        #expect(try screenEvents(engine).count == 3)
    }

    /// Commands faster than the refresh: only the latest for a panel is shown, refresh_time
    /// after it. blank shows nothing (free -1), and replaces a pending show the same way.
    @Test func latestWinsAndBlank() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try guidanceScreen(), id: "gs-1", overrides: ["heartbeat_interval": "1d"]))
        engine.start()
        for free in [10, 11, 12, 13] as [Int64] {
            _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(free)]), to: "gs-1")
            engine.advance(by: .milliseconds(150))
        }
        let latest = try engine.sendRecorded(DeviceCommand("show", arguments: ["free": .int(14)]), to: "gs-1")
        engine.advance(by: .seconds(1))
        var shown = try screenEvents(engine)
        #expect(shown.map(\.readings) == [[Reading("free", .int(14)), Reading("direction", .string("ahead"))]])
        #expect(shown.first.map { $0.time.monotonic.nanoseconds - latest.record.time.monotonic.nanoseconds } == 200_000_000)

        let blank = try engine.sendRecorded(DeviceCommand("blank"), to: "gs-1")
        #expect(blank.result.outcome == .accepted)
        #expect(blank.result.readings == [Reading("free", .int(-1)), Reading("direction", .string("ahead"))])
        engine.advance(by: .seconds(1))
        shown = try screenEvents(engine)
        #expect(shown.last?.readings == [Reading("free", .int(-1)), Reading("direction", .string("ahead"))])
        #expect(shown.last.map { $0.time.monotonic.nanoseconds - blank.record.time.monotonic.nanoseconds } == 200_000_000)

        // A blank right after a show wins; a show right after a blank wins; other panels are untouched.
        _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(5), "direction": .string("right")]), to: "gs-1")
        _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(6)]), to: "gs-1")
        engine.advance(by: .milliseconds(50))
        _ = try engine.send(DeviceCommand("blank"), to: "gs-1")
        _ = try engine.send(DeviceCommand("blank", arguments: ["direction": .string("left")]), to: "gs-1")
        engine.advance(by: .milliseconds(50))
        _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(8), "direction": .string("left")]), to: "gs-1")
        engine.advance(by: .seconds(1))
        shown = Array(try screenEvents(engine).dropFirst(2))
        #expect(shown.map(\.readings) == [
            [Reading("free", .int(5)), Reading("direction", .string("right"))],
            [Reading("free", .int(-1)), Reading("direction", .string("ahead"))],
            [Reading("free", .int(8)), Reading("direction", .string("left"))],
        ])
        let result = try engine.send(DeviceCommand("blank", arguments: ["direction": .string("down")]), to: "gs-1")
        #expect(result.outcome == .rejected(reason: "blank: 'direction' must be one of ahead, left, right, got 'down'"))
    }

    /// A faulty LED module rejects every command with "screen fault" and shows nothing it was
    /// still about to; after repair commands work again.
    @Test func faultRejectsCommands() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try guidanceScreen(), id: "gs-1", overrides: ["heartbeat_interval": "1d"]))
        engine.start()
        _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(3)]), to: "gs-1")
        engine.advance(by: .milliseconds(100))
        try engine.apply(Stimulus("fault"), to: "gs-1")
        try engine.apply(Stimulus("fault"), to: "gs-1")
        for command in [DeviceCommand("show", arguments: ["free": .int(4)]), DeviceCommand("blank"), DeviceCommand("show")] {
            #expect(try engine.send(command, to: "gs-1").outcome == .rejected(reason: "screen fault"))
        }
        engine.advance(by: .minutes(1))
        #expect(try screenEvents(engine).isEmpty)

        try engine.apply(Stimulus("repair"), to: "gs-1")
        let show = try engine.sendRecorded(DeviceCommand("show", arguments: ["free": .int(9), "direction": .string("right")]), to: "gs-1")
        #expect(show.result.outcome == .accepted)
        engine.advance(by: .seconds(1))
        let shown = try screenEvents(engine)
        #expect(shown.map(\.readings) == [[Reading("free", .int(9)), Reading("direction", .string("right"))]])
        #expect(shown.first.map { $0.time.monotonic.nanoseconds - show.record.time.monotonic.nanoseconds } == 200_000_000)
    }

    // MARK: both

    /// One seed gives one run, byte for byte; another seed another run. Heartbeats and
    /// telemetry keep coming once a report interval.
    @Test func reproduciblePerSeed() throws {
        let detector = try spaceDetector()
        let screen = try guidanceScreen()
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            try engine.add(try pluginDevicePlan(detector, id: "spd-1", seed: seed, overrides: ["error_rate": "0.05"]))
            try engine.add(try pluginDevicePlan(detector, id: "spd-2", seed: seed, overrides: ["spaces": "6"]))
            try engine.add(try pluginDevicePlan(screen, id: "gs-1", seed: seed))
            engine.start()
            for index in 0 ..< 300 {
                let id = "spd-\(index % 2 + 1)"
                let space = Int64(index / 2 % 3 + 1)
                try engine.apply(index / 6 % 2 == 0 ? park(space, samplePlate(index)) : leave(space), to: id)
                _ = try engine.send(DeviceCommand("show", arguments: ["free": .int(Int64(index % 10))]), to: "gs-1")
                engine.advance(by: .seconds(3))
            }
            engine.advance(by: .minutes(5))
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 42)
        #expect(first.count > 1_000)
        #expect(try ledgerLines(seed: 42) == first)
        #expect(try ledgerLines(seed: 43) != first)

        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(detector, id: "spd-1", overrides: ["heartbeat_interval": "10s", "report_interval": "30s"]))
        try engine.add(try pluginDevicePlan(screen, id: "gs-1", overrides: ["heartbeat_interval": "10s"]))
        engine.start()
        engine.advance(by: .minutes(10))
        let records = try engine.ledger.records().filter { $0.entry == .emission }
        for id in ["spd-1", "gs-1"] {
            let heartbeats = records.filter { $0.deviceID == id && $0.name == "heartbeat" }
            #expect((59 ... 61).contains(heartbeats.count), "\(id): \(heartbeats.count) heartbeats")
            #expect(heartbeats.allSatisfy { $0.channel == .event && $0.readings.isEmpty })
        }
        let telemetry = records.filter { $0.channel == .telemetry }
        #expect((19 ... 21).contains(telemetry.count))
        #expect(telemetry.allSatisfy { $0.deviceID == "spd-1" && $0.readings.map(\.point) == ["occupied", "free"] })
    }
}

// MARK: - Fixtures

private func spaceDetector() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginSpaceDetector")
}

private func guidanceScreen() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginGuidanceScreen")
}

private func park(_ space: Int64, _ plate: String) -> Stimulus {
    Stimulus("park", arguments: ["space": .int(space), "plate": .string(plate)])
}

private func leave(_ space: Int64) -> Stimulus {
    Stimulus("leave", arguments: ["space": .int(space)])
}

/// The screen's `shown` events so far, in ledger order.
private func screenEvents(_ engine: VirtualTimeEngine) throws -> [LedgerRecord] {
    try engine.ledger.records().filter { $0.entry == .emission && $0.name == "shown" }
}
