import Testing
@testable import ParkCore
@testable import ParkDevices

/// Behaviour of the wireless smoke/heat detector on the virtual clock (004 L3048–3054, L3121–3130).
@Suite struct SmokeDetectorTests {
    let kind = SmokeDetectorKind()

    func engine(_ overrides: [String: String] = [:], seed: UInt64 = 1, ids: [String] = ["sd-1"]) throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
        for id in ids {
            try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(
                id: id, parameters: parameters, random: .forDevice(id, runSeed: seed))))
        }
        engine.start()
        return engine
    }

    func emissions(_ engine: VirtualTimeEngine, _ name: String? = nil) throws -> [LedgerRecord] {
        try engine.ledger.records().filter { $0.entry == .emission && (name == nil || $0.name == name) }
    }

    /// Heartbeats come every heartbeat_interval, reports every report_interval, after a random phase.
    @Test func heartbeatsAndReportsArePeriodic() throws {
        let engine = try engine(["heartbeat_interval": "10m", "report_interval": "1m"])
        engine.advance(by: .hours(2))
        let heartbeats = try emissions(engine, "heartbeat").map(\.time.monotonic.nanoseconds)
        #expect(heartbeats.count == 12)
        #expect(zip(heartbeats, heartbeats.dropFirst()).allSatisfy { $1 - $0 == 600_000_000_000 })
        let reports = try emissions(engine, "telemetry")
        #expect(reports.count == 120)
        #expect(reports.first?.readings.map(\.point) == ["smoke_density", "temperature", "battery"])
        #expect(reports.allSatisfy { ($0.readings[0].value.doubleValue ?? 1) < 0.15 }, "ambient smoke stays below the threshold")
    }

    /// Smoke raises an alarm at once and sounds locally; clearing the smoke clears both.
    @Test func smokeAlarmAndClear() throws {
        let engine = try engine()
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "sd-1")
        engine.advance(by: .seconds(30))
        try engine.apply(Stimulus("smoke-clear"), to: "sd-1")
        let names = try emissions(engine).map(\.name).filter { $0 != "telemetry" && $0 != "heartbeat" }
        #expect(names == ["smoke-alarm", "sounder-on", "smoke-clear", "sounder-off"])
        let alarm = try #require(try emissions(engine, "smoke-alarm").first)
        #expect(alarm.time.monotonic == MonotonicInstant.zero.advanced(by: .seconds(10)))
        #expect(alarm.readings.first?.truth == .double(0.4))
        #expect(alarm.channel == .event)
        #expect(try emissions(engine, "sounder-on").first?.channel == .local)
    }

    /// A detector with alarm_delay confirms before alarming, and a puff shorter than the delay
    /// raises nothing.
    @Test func alarmDelayConfirmsBeforeAlarming() throws {
        let engine = try engine(["alarm_delay": "2s"])
        try engine.apply(Stimulus("smoke"), to: "sd-1")
        engine.advance(by: .seconds(1))
        #expect(try emissions(engine, "smoke-alarm").isEmpty)
        engine.advance(by: .seconds(1))
        #expect(try emissions(engine, "smoke-alarm").first?.time.monotonic == MonotonicInstant.zero.advanced(by: .seconds(2)))

        let puff = try self.engine(["alarm_delay": "2s"])
        try puff.apply(Stimulus("smoke"), to: "sd-1")
        puff.advance(by: .seconds(1))
        try puff.apply(Stimulus("smoke-clear"), to: "sd-1")
        puff.advance(by: .seconds(5))
        #expect(try emissions(puff, "smoke-alarm").isEmpty)
    }

    @Test func heatAlarmAtThreshold() throws {
        let engine = try engine()
        try engine.apply(Stimulus("heat", arguments: ["temperature": .double(50)]), to: "sd-1")
        #expect(try emissions(engine, "heat-alarm").isEmpty, "50 °C is below the 57 °C threshold")
        try engine.apply(Stimulus("heat", arguments: ["temperature": .double(65)]), to: "sd-1")
        try engine.apply(Stimulus("heat-clear"), to: "sd-1")
        #expect(try emissions(engine).map(\.name).filter { $0.hasPrefix("heat") } == ["heat-alarm", "heat-clear"])
    }

    /// The battery drains over battery_life; crossing the threshold raises low-battery once, and
    /// the detector then chirps every 40 s (004 L3130) until the battery is replaced.
    @Test func lowBatteryChirpsEveryFortySeconds() throws {
        let engine = try engine(["battery_life": "100d", "heartbeat_interval": "1h", "report_interval": "1h"])
        engine.advance(by: .days(84))
        #expect(try emissions(engine, "low-battery").isEmpty, "84 days of 100 leave 16 %")
        engine.advance(by: .days(2))
        let low = try emissions(engine, "low-battery")
        #expect(low.count == 1)
        let level = try #require(low.first?.readings.first?.value.doubleValue)
        #expect(level <= 15 && level > 14)
        let lowAt = try #require(low.first?.time.monotonic)
        let chirps = try emissions(engine, "chirp").map(\.time.monotonic)
        #expect(chirps.first == lowAt, "the first chirp comes with the low-battery event")
        #expect(chirps.count == Int(engine.now.duration(since: lowAt).nanoseconds / 40_000_000_000) + 1)
        #expect(zip(chirps, chirps.dropFirst()).allSatisfy { $1.duration(since: $0) == .seconds(40) })

        try engine.apply(Stimulus("battery-replace"), to: "sd-1")
        engine.advance(by: .hours(1))
        #expect(try emissions(engine, "chirp").count == chirps.count, "no chirps after a new battery")
        #expect(try emissions(engine, "battery-ok").count == 1)
    }

    /// The battery runs out: the last word is battery-depleted and then silence, which is what a
    /// platform's offline detection must catch.
    @Test func depletedBatteryGoesSilent() throws {
        let engine = try engine(["battery_life": "10d", "heartbeat_interval": "1h", "report_interval": "1h"])
        engine.advance(by: .days(11))
        let depleted = try #require(try emissions(engine, "battery-depleted").first)
        let after = try emissions(engine).filter { $0.order > depleted.order }
        #expect(after.isEmpty)
        try engine.apply(Stimulus("battery-replace"), to: "sd-1")
        engine.advance(by: .hours(2))
        #expect(try emissions(engine, "heartbeat").last!.order > depleted.order, "a new battery brings it back")
        #expect(try emissions(engine, "heartbeat").filter { $0.order > depleted.order }.count == 2)
    }

    /// The sounder drains the battery faster while an alarm sounds.
    @Test func alarmDrainsBatteryFaster() throws {
        let quiet = try engine(["alarm_drain_per_hour": "5", "heartbeat_interval": "1h"])
        let loud = try engine(["alarm_drain_per_hour": "5", "heartbeat_interval": "1h"])
        try loud.apply(Stimulus("smoke"), to: "sd-1")
        quiet.advance(by: .hours(3))
        loud.advance(by: .hours(3))
        let quietLevel = try #require(try emissions(quiet, "heartbeat").last?.readings.first?.value.doubleValue)
        let loudLevel = try #require(try emissions(loud, "heartbeat").last?.readings.first?.value.doubleValue)
        #expect(quietLevel - loudLevel > 9, "about 5 %/h for the hours the sounder was on")
    }

    @Test func tamperAndFault() throws {
        let engine = try engine()
        try engine.apply(Stimulus("tamper"), to: "sd-1")
        try engine.apply(Stimulus("tamper"), to: "sd-1")
        try engine.apply(Stimulus("fault", arguments: ["code": .string("chamber-dirty")]), to: "sd-1")
        try engine.apply(Stimulus("smoke"), to: "sd-1")
        #expect(try emissions(engine, "smoke-alarm").isEmpty, "a faulted chamber cannot see smoke")
        try engine.apply(Stimulus("fault-clear"), to: "sd-1")
        try engine.apply(Stimulus("tamper-restore"), to: "sd-1")
        let names = try emissions(engine).map(\.name).filter { !["telemetry", "heartbeat", "sounder-on"].contains($0) }
        #expect(names == ["tamper", "fault", "fault-clear", "smoke-alarm", "tamper-clear"])
        #expect(try emissions(engine, "fault").first?.readings == [Reading("code", .string("chamber-dirty"))])
    }

    /// Self-test passes on a healthy detector and fails on a faulted one; commands are recorded.
    @Test func selfTestAndCommands() throws {
        let engine = try engine()
        let passed = try engine.send(DeviceCommand("self-test", id: "c1"), to: "sd-1")
        #expect(passed == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
        try engine.apply(Stimulus("fault"), to: "sd-1")
        let failed = try engine.send(DeviceCommand("self-test"), to: "sd-1")
        #expect(failed.readings == [Reading("passed", .bool(false))])
        #expect(try engine.send(DeviceCommand("silence"), to: "sd-1") == .rejected("no alarm is sounding"))
        #expect(try engine.send(DeviceCommand("set-threshold", arguments: ["smoke_threshold": .double(9)]), to: "sd-1")
            == .rejected("smoke_threshold must be a number from 0.01 to 2 dB/m"))
        #expect(try engine.send(DeviceCommand("reboot"), to: "sd-1") == .rejected("unknown command 'reboot'"))
        let commands = try engine.ledger.records().filter { $0.entry == .command }
        #expect(commands.map(\.name) == ["self-test", "self-test", "silence", "set-threshold", "reboot"])
        #expect(commands.first?.messageID == "c1")
    }

    /// Silence stops the sounder but the alarm stays raised until the smoke clears.
    @Test func silenceKeepsTheAlarm() throws {
        let engine = try engine()
        try engine.apply(Stimulus("smoke"), to: "sd-1")
        #expect(try engine.send(DeviceCommand("silence"), to: "sd-1") == .accepted)
        engine.advance(by: .minutes(10))
        #expect(try emissions(engine, "smoke-clear").isEmpty)
        #expect(try emissions(engine).filter { $0.channel == .local }.map(\.name) == ["sounder-on", "sounder-off"])
    }

    @Test func unknownStimulusIsRefused() throws {
        let engine = try engine()
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("flood"), to: "sd-1") }
    }

    /// One seed gives one run, byte for byte; and a device's behaviour does not change when
    /// others join the park.
    @Test func runsAreReproducibleAndDevicesIndependent() throws {
        func run(_ ids: [String], seed: UInt64) throws -> [LedgerRecord] {
            let engine = try engine(["heartbeat_interval": "1m", "report_interval": "30s"], seed: seed, ids: ids)
            engine.advance(by: .minutes(30))
            try engine.apply(Stimulus("smoke"), to: "sd-1")
            engine.advance(by: .minutes(30))
            return try engine.ledger.records()
        }
        let first = try run(["sd-1", "sd-2"], seed: 7).map(\.jsonLine)
        let second = try run(["sd-1", "sd-2"], seed: 7).map(\.jsonLine)
        #expect(first == second)
        #expect(first != (try run(["sd-1", "sd-2"], seed: 8).map(\.jsonLine)))

        func strip(_ records: [LedgerRecord]) -> [String] {
            records.filter { $0.deviceID == "sd-1" }.map { var copy = $0; copy.order = 0; return copy.jsonLine }
        }
        let alone = strip(try run(["sd-1"], seed: 7))
        let crowded = strip(try run(["sd-0", "sd-1", "sd-2", "sd-3"], seed: 7))
        #expect(alone == crowded)
        #expect(alone.count > 100)
    }
}
