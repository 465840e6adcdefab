import Foundation
import Testing
@testable import ParkCore

/// The `lane` plugin kind (devices/plugins/parking/lane): a lane's traffic and its terminal as
/// one device, on the virtual-time engine. Timings are exact where the model is exact (the arm
/// and the pass), rates are judged over thousands of Poisson arrivals.
@Suite struct LanePluginTests {
    @Test func descriptor() throws {
        let descriptor = try lane().descriptor
        #expect(descriptor.name == "lane")
        #expect(descriptor.points.map(\.name) == ["plate", "confidence", "queue", "wait", "passed", "turned_away", "arrived"])
        #expect(descriptor.events.map(\.name) == ["plate", "raised", "passed", "turned-away", "cleared", "heartbeat"])
        #expect(descriptor.commands.map(\.name) == ["open", "clear"])
        #expect(descriptor.stimuli.map(\.name) == ["vehicle", "rush"])
        #expect(descriptor.parameter(named: "arrival_rate")?.defaultValue == "0")
        #expect(descriptor.sources.contains { $0.contains("L2168") } && descriptor.sources.contains { $0.contains("L2187") })
    }

    /// One vehicle, let in as soon as it is read: the read after recognition_time, `passed`
    /// exactly rise_time + pass_time after `open`, its wait the whole of it.
    @Test func openedVehiclePassesAfterRiseAndPass() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact))
        engine.start()
        let arrival = try engine.apply(Stimulus("vehicle", arguments: ["plate": .string("京A12345")]), to: "lane-1")
        engine.advance(by: .milliseconds(500))
        let plate = try #require(try pluginEvents(engine, named: "plate").first)
        #expect(nanoseconds(plate) - nanoseconds(arrival) == 300_000_000)
        #expect(plate.readings.map(\.point) == ["plate", "confidence", "queue"])
        #expect(plate.readings[0].value == .string("京A12345") && plate.readings[0].truth == .string("京A12345"))
        let open = try engine.sendRecorded(DeviceCommand("open"), to: "lane-1")
        #expect(open.result.outcome == .accepted)
        engine.advance(by: .seconds(10))
        let raised = try #require(try pluginEvents(engine, named: "raised").first)
        #expect(nanoseconds(raised) - open.record.time.monotonic.nanoseconds == 500_000_000)
        let passed = try #require(try pluginEvents(engine, named: "passed").first)
        #expect(nanoseconds(passed) - open.record.time.monotonic.nanoseconds == 4_500_000_000)
        #expect(passed.readings.first { $0.point == "wait" }?.value == .double(5.0))
        #expect(passed.readings.first { $0.point == "queue" }?.value == .int(0))
        #expect(try pluginEvents(engine, named: "turned-away").isEmpty)
    }

    /// Nobody opens: each vehicle turns away after patience and the next moves up, so the
    /// second one's wait includes the first one's time at the front.
    @Test func unopenedVehiclesTurnAwayInOrder() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact))
        engine.start()
        for plate in ["京A00001", "京A00002", "京A00003"] {
            try engine.apply(Stimulus("vehicle", arguments: ["plate": .string(plate)]), to: "lane-1")
        }
        engine.advance(by: .minutes(5))
        let away = try pluginEvents(engine, named: "turned-away")
        #expect(away.map { $0.readings[0].value } == [.string("京A00001"), .string("京A00002"), .string("京A00003")])
        // Each: 0.3 s read + 20 s patience at the front, after those before it.
        #expect(away.map { $0.readings.first { $0.point == "wait" }?.value } == [.double(20.3), .double(40.6), .double(60.9)])
        #expect(away.last?.readings.first { $0.point == "turned_away" }?.value == .int(3))
        #expect(try pluginEvents(engine, named: "passed").isEmpty)
        // An open with nobody waiting is accepted and changes nothing.
        #expect(try engine.send(DeviceCommand("open"), to: "lane-1").outcome == .accepted)
        engine.advance(by: .minutes(1))
        #expect(try pluginEvents(engine, named: "passed").isEmpty)
    }

    /// A platform that takes 5 s to decide: ten cars arriving together leave one every
    /// 0.3 + 5 + 0.5 + 4 s, and each waits that much longer than the one before.
    @Test func slowDecisionsBuildAQueue() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact.merging(["patience": "1m"]) { $1 }))
        engine.start()
        for index in 0 ..< 10 { try engine.apply(Stimulus("vehicle", arguments: ["plate": .string(samplePlate(index))]), to: "lane-1") }
        var answered = 0
        for _ in 0 ..< 2_000 {
            engine.advance(by: .milliseconds(100))
            let reads = try pluginEvents(engine, named: "plate")
            if reads.count > answered, engine.now.nanoseconds - nanoseconds(reads[answered]) >= 5_000_000_000 {
                _ = try engine.send(DeviceCommand("open"), to: "lane-1")
                answered += 1
            }
        }
        let passed = try pluginEvents(engine, named: "passed")
        #expect(passed.count == 10)
        let waits = passed.compactMap { $0.readings.first { $0.point == "wait" }?.value.doubleValue }
        #expect(waits.count == 10)
        for (index, wait) in waits.enumerated() {
            // Decisions land on the driver's 100 ms steps, so each cycle is 9.8-9.9 s.
            #expect(abs(wait - Double(index + 1) * 9.85) <= 0.05 * Double(index + 1) + 0.1, "car \(index): \(wait) s")
        }
        #expect(passed.map { $0.readings.first { $0.point == "queue" }?.value } == (0 ..< 10).reversed().map { .int(Int64($0)) })
    }

    /// arrival_rate 360 an hour for 20 hours: 7,200 ± 5 % (3.5 σ) Poisson arrivals, known plates for
    /// known_share of them; a rush adds its own rate for its own time only.
    @Test func arrivalsFollowTheRateAndTheRush() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact.merging([
            "arrival_rate": "360", "known_plates": "京A12345, 沪C24680", "known_share": "0.75", "patience": "1ms",
            "recognition_time": "1ms", "report_interval": "1h",
        ]) { $1 }))
        engine.start()
        engine.advance(by: .hours(20))
        let arrived = try #require(try latestTelemetry(engine)?["arrived"]?.doubleValue)
        #expect(abs(arrived - 7_200) <= 360, "\(arrived) arrivals")
        let plates = try pluginEvents(engine, named: "plate").compactMap { $0.readings[0].truth?.description }
        let known = plates.filter { $0 == "京A12345" || $0 == "沪C24680" }.count
        #expect(abs(Double(known) / Double(plates.count) - 0.75) < 0.02, "\(known) of \(plates.count) known")
        #expect(plates.allSatisfy { $0.count == 7 })

        let rush = VirtualTimeEngine()
        try rush.add(try pluginDevicePlan(try lane(), id: "lane-2", overrides: exact.merging(["patience": "1ms", "recognition_time": "1ms", "report_interval": "10m"]) { $1 }))
        rush.start()
        rush.advance(by: .minutes(30))
        #expect(try pluginEvents(rush, named: "plate").isEmpty)
        try rush.apply(Stimulus("rush", arguments: ["rate": .double(600), "duration": .string("30m")]), to: "lane-2")
        rush.advance(by: .hours(3))
        let rushed = try pluginEvents(rush, named: "plate")
        #expect((240 ... 360).contains(rushed.count), "\(rushed.count) in a 30-minute rush at 600 an hour")
        let end = try #require(rushed.last).time.monotonic.nanoseconds
        #expect(end <= 60 * 60_000_000_000 + 1_000_000_000, "arrivals went on after the rush")
    }

    /// A lane nobody opens stops keeping vehicles at maximumQueue; the rest are counted away.
    @Test func queueIsBounded() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact.merging(["patience": "1h", "report_interval": "1s"]) { $1 }))
        engine.start()
        for index in 0 ..< 10_005 { try engine.apply(Stimulus("vehicle", arguments: ["plate": .string(samplePlate(index))]), to: "lane-1") }
        engine.advance(by: .seconds(2))
        let telemetry = try #require(try latestTelemetry(engine))
        #expect(telemetry["queue"] == .int(10_000))
        #expect(telemetry["arrived"] == .int(10_005))
        #expect(telemetry["turned_away"] == .int(5))
    }

    /// `clear` empties the lane at once; the cleared vehicles' timers do nothing afterwards and
    /// the next vehicle is handled as in an empty lane.
    @Test func clearEmptiesTheLane() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(try lane(), id: "lane-1", overrides: exact))
        engine.start()
        for index in 0 ..< 4 { try engine.apply(Stimulus("vehicle", arguments: ["plate": .string(samplePlate(index))]), to: "lane-1") }
        engine.advance(by: .seconds(1))
        let answer = try engine.send(DeviceCommand("clear"), to: "lane-1")
        #expect(answer.readings.first?.value == .int(4))
        let cleared = try #require(try pluginEvents(engine, named: "cleared").first)
        #expect(cleared.readings.map(\.value) == [.int(0), .int(4)])
        engine.advance(by: .minutes(2))
        #expect(try pluginEvents(engine, named: "turned-away").isEmpty)
        #expect(try pluginEvents(engine, named: "plate").count == 1)
        let next = try engine.apply(Stimulus("vehicle", arguments: ["plate": .string("京A12345")]), to: "lane-1")
        engine.advance(by: .seconds(1))
        let read = try #require(try pluginEvents(engine, named: "plate").last)
        #expect(nanoseconds(read) - nanoseconds(next) == 300_000_000)
        #expect(read.readings.first { $0.point == "queue" }?.value == .int(1))
    }

    @Test func badInputIsRefused() throws {
        let kind = try lane()
        #expect(throws: (any Error).self) { try VirtualTimeEngine().add(try pluginDevicePlan(kind, id: "l", overrides: ["known_plates": "京A12345,ABCDEFGHIJKLMNOPQRS"])) }
        let engine = VirtualTimeEngine()
        try engine.add(try pluginDevicePlan(kind, id: "lane-1"))
        engine.start()
        #expect(throws: (any Error).self) { try engine.apply(Stimulus("rush", arguments: ["rate": .double(0), "duration": .string("1m")]), to: "lane-1") }
        #expect(throws: (any Error).self) { try engine.apply(Stimulus("rush", arguments: ["rate": .double(60), "duration": .string("soon")]), to: "lane-1") }
        #expect(throws: (any Error).self) { try engine.apply(Stimulus("vehicle", arguments: ["plate": .string("")]), to: "lane-1") }
    }
}

/// No jitter and no misreads: a read 300 ms after reaching the front, the arm 0.5 s, the pass 4 s.
private let exact = [
    "recognition_time": "300ms", "recognition_jitter": "0s", "error_rate": "0", "rise_time": "500ms", "pass_time": "4s",
    "patience": "20s", "heartbeat_interval": "1d",
]

private func lane() throws -> PluginDeviceKind { try builtPluginKind("ParkPluginLane") }

private func nanoseconds(_ record: LedgerRecord) -> UInt64 { record.time.monotonic.nanoseconds }

/// The lane's last telemetry, by point.
private func latestTelemetry(_ engine: VirtualTimeEngine) throws -> [String: PointValue]? {
    try engine.ledger.records().last { $0.channel == .telemetry }.map { Dictionary($0.readings.map { ($0.point, $0.value) }) { $1 } }
}
