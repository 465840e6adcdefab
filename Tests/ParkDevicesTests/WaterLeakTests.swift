import Testing
@testable import ParkCore
@testable import ParkDevices

/// Behaviour of the water-leak sensor on the virtual clock (000 L164; 004 L4729, L5557).
@Suite struct WaterLeakTests {
    let kind = WaterLeakSensorKind()

    func engine(_ overrides: [String: String] = [:], seed: UInt64 = 1, ids: [String] = ["wl-1"]) throws -> VirtualTimeEngine {
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

    /// Emission names without the periodic heartbeat, in ledger order.
    func incidents(_ engine: VirtualTimeEngine) throws -> [String] {
        try emissions(engine).map(\.name).filter { $0 != "heartbeat" }
    }

    func at(_ duration: DeviceDuration) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: duration) }

    /// Water raises one leak alarm at once; more water changes nothing; drying clears it.
    @Test func leakAlarmAndClear() throws {
        let engine = try engine()
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .seconds(5))
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .seconds(25))
        try engine.apply(Stimulus("dry"), to: "wl-1")
        try engine.apply(Stimulus("dry"), to: "wl-1")
        #expect(try incidents(engine) == ["leak", "leak-clear"])
        let leak = try #require(try emissions(engine, "leak").first)
        #expect(leak.time.monotonic == at(.seconds(10)))
        #expect(leak.channel == .event)
        #expect(leak.readings.map(\.point) == ["leak", "battery"], "a spot probe has no position")
        #expect(leak.readings.first == Reading("leak", .bool(true), truth: .bool(true)))
        let clear = try #require(try emissions(engine, "leak-clear").first)
        #expect(clear.time.monotonic == at(.seconds(40)))
        #expect(clear.readings == [Reading("leak", .bool(false), truth: .bool(false))])
        let severities = Dictionary(uniqueKeysWithValues: kind.descriptor.events.map { ($0.name, $0.severity) })
        #expect(severities["leak"] == .critical)
    }

    /// With alarm_delay, water must stay the whole delay: a splash raises nothing, and a
    /// confirmation cut short by drying never fires later, even if water comes back.
    @Test func alarmDelayConfirmsAndStaleTimersDoNothing() throws {
        let engine = try engine(["alarm_delay": "5s"])
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .seconds(3))
        try engine.apply(Stimulus("dry"), to: "wl-1")
        engine.advance(by: .seconds(1))
        try engine.apply(Stimulus("water"), to: "wl-1")  // the first countdown would end at 5 s
        engine.advance(by: .seconds(4))
        #expect(try emissions(engine, "leak").isEmpty, "not at 5 s: that countdown was cancelled")
        engine.advance(by: .seconds(1))
        #expect(try emissions(engine, "leak").map(\.time.monotonic) == [at(.seconds(9))])
        try engine.apply(Stimulus("dry"), to: "wl-1")
        engine.advance(by: .minutes(1))
        #expect(try incidents(engine) == ["leak", "leak-clear"])
    }

    /// A disconnected probe sees nothing: water during the fault alarms only when it is
    /// reconnected, and a raised leak is not cleared by a probe that cannot tell.
    @Test func probeFaultHidesWater() throws {
        let engine = try engine()
        try engine.apply(Stimulus("fault", arguments: ["code": .string("cable-break")]), to: "wl-1")
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .seconds(10))
        #expect(try emissions(engine, "leak").isEmpty)
        try engine.apply(Stimulus("fault-clear"), to: "wl-1")
        #expect(try emissions(engine, "leak").map(\.time.monotonic) == [at(.seconds(10))])

        try engine.apply(Stimulus("fault"), to: "wl-1")
        try engine.apply(Stimulus("dry"), to: "wl-1")
        #expect(try emissions(engine, "leak-clear").isEmpty)
        engine.advance(by: .seconds(5))
        try engine.apply(Stimulus("fault-clear"), to: "wl-1")
        #expect(try incidents(engine) == ["fault", "fault-clear", "leak", "fault", "fault-clear", "leak-clear"])
        #expect(try emissions(engine, "fault").map(\.readings) == [
            [Reading("code", .string("cable-break"))], [Reading("code", .string("probe-disconnected"))],
        ])
    }

    /// Heartbeats come every heartbeat_interval after a random phase and carry the leak state
    /// with its truth, so a platform that lost the alarm sees it at the next heartbeat.
    @Test func heartbeatsCarryBatteryAndLeakState() throws {
        let engine = try engine(["heartbeat_interval": "10m", "alarm_delay": "30m"])
        engine.advance(by: .hours(1))
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .hours(1))
        let heartbeats = try emissions(engine, "heartbeat")
        let times = heartbeats.map(\.time.monotonic.nanoseconds)
        #expect(times.count == 12)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 600_000_000_000 })
        #expect(heartbeats.allSatisfy { $0.readings.map(\.point) == ["battery", "leak"] })
        let states = heartbeats.map { $0.readings[1] }
        #expect(states.first == Reading("leak", .bool(false), truth: .bool(false)))
        #expect(states.contains(Reading("leak", .bool(false), truth: .bool(true))), "water there, still confirming")
        #expect(states.last == Reading("leak", .bool(true), truth: .bool(true)))
        let levels = heartbeats.compactMap { $0.readings.first?.value.doubleValue }
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $1 < $0 }, "the battery drains")
    }

    /// Tamper, self-test (button and command) and the low-battery threshold.
    @Test func tamperSelfTestAndBattery() throws {
        let engine = try engine(["battery_life": "100d", "heartbeat_interval": "1d"])
        #expect(try engine.send(DeviceCommand("self-test"), to: "wl-1") == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
        try engine.apply(Stimulus("tamper"), to: "wl-1")
        try engine.apply(Stimulus("tamper"), to: "wl-1")
        try engine.apply(Stimulus("test-button"), to: "wl-1")
        try engine.apply(Stimulus("tamper-restore"), to: "wl-1")
        #expect(try engine.send(DeviceCommand("reboot"), to: "wl-1") == .rejected("unknown command 'reboot'"))
        #expect(try emissions(engine, "self-test").map { $0.readings.first?.value } == [.bool(true), .bool(false)])

        engine.advance(by: .days(84))
        #expect(try emissions(engine, "low-battery").isEmpty, "84 days of 100 leave 16 %")
        engine.advance(by: .days(2))
        let low = try #require(try emissions(engine, "low-battery").first)
        let level = try #require(low.readings.first?.value.doubleValue)
        #expect(level <= 15 && level > 14)
        try engine.apply(Stimulus("battery-set", arguments: ["level": .double(90)]), to: "wl-1")
        #expect(try incidents(engine) == ["self-test", "tamper", "self-test", "tamper-clear", "low-battery", "battery-ok"])
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("battery-set"), to: "wl-1") }
    }

    /// A sensing cable (漏水线, 004 L4729) says where the water is: where the stimulus put it,
    /// or a random point along the cable.
    @Test func sensingCableReportsPosition() throws {
        let engine = try engine(["cable_length": "20"], ids: ["wl-1", "wl-2"])
        try engine.apply(Stimulus("water", arguments: ["position": .double(7.5)]), to: "wl-1")
        try engine.apply(Stimulus("water"), to: "wl-2")
        let leaks = try emissions(engine, "leak")
        #expect(leaks.first?.readings.map(\.point) == ["leak", "position", "battery"])
        #expect(leaks.first?.readings[1] == Reading("position", .double(7.5), truth: .double(7.5)))
        let random = try #require(leaks.last?.readings[1].value.doubleValue)
        #expect((0...20).contains(random))
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("water", arguments: ["position": .double(30)]), to: "wl-1") }
        let probe = try self.engine()
        #expect(throws: EngineError.self) { try probe.apply(Stimulus("water", arguments: ["position": .double(1)]), to: "wl-1") }
    }

    @Test func unknownStimulusIsRefused() throws {
        let engine = try engine()
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("smoke"), to: "wl-1") }
    }

    /// The shipped profile confirms for 2 s, as its comment says.
    @Test func shippedProfileConfirmsForTwoSeconds() throws {
        let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        let registry = try DeviceKindRegistry([kind])
        let profile = try ModelProfile.load(file: "/\(directory)/devices/water-leak/aqua-wl2.yaml", kinds: registry)
        #expect(profile.kind == WaterLeakSensorKind.name)
        let engine = try engine(profile.parameters)
        try engine.apply(Stimulus("water"), to: "wl-1")
        engine.advance(by: .minutes(1))
        #expect(try emissions(engine, "leak").map(\.time.monotonic) == [at(.seconds(2))])
    }

    /// One seed gives one run, byte for byte; and a device's behaviour does not change when
    /// others join the park.
    @Test func runsAreReproducibleAndDevicesIndependent() throws {
        func run(_ ids: [String], seed: UInt64) throws -> [LedgerRecord] {
            let engine = try engine(["heartbeat_interval": "1m", "alarm_delay": "20s", "cable_length": "50"], seed: seed, ids: ids)
            engine.advance(by: .minutes(30))
            try engine.apply(Stimulus("water"), to: "wl-1")
            engine.advance(by: .minutes(30))
            try engine.apply(Stimulus("dry"), to: "wl-1")
            engine.advance(by: .minutes(30))
            return try engine.ledger.records()
        }
        let first = try run(["wl-1", "wl-2"], seed: 7).map(\.jsonLine)
        let second = try run(["wl-1", "wl-2"], seed: 7).map(\.jsonLine)
        #expect(first == second)
        #expect(first != (try run(["wl-1", "wl-2"], seed: 8).map(\.jsonLine)))

        func strip(_ records: [LedgerRecord]) -> [String] {
            records.filter { $0.deviceID == "wl-1" }.map { var copy = $0; copy.order = 0; return copy.jsonLine }
        }
        let alone = strip(try run(["wl-1"], seed: 7))
        let crowded = strip(try run(["wl-0", "wl-1", "wl-2", "wl-3"], seed: 7))
        #expect(alone == crowded)
        #expect(alone.count > 90)
    }
}
