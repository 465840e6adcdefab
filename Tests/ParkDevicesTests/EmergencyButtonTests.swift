import Testing
@testable import ParkCore
@testable import ParkDevices

/// Behaviour of the emergency button / intrusion detector on the virtual clock
/// (004 L2582–2586, L2710–2717, L2880–2892).
@Suite struct EmergencyButtonTests {
    let kind = EmergencyButtonKind()

    func engine(_ overrides: [String: String] = [:], seed: UInt64 = 1, ids: [String] = ["eb-1"]) throws -> VirtualTimeEngine {
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

    /// A press raises one alarm at once and sounds locally; more presses are counted, not
    /// re-raised, until reset (004 L2714 < 2 s, L2892 manual reset).
    @Test func pressAlarmsAtOnceAndLatchesUntilReset() throws {
        let engine = try engine()
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("press"), to: "eb-1")
        engine.advance(by: .seconds(5))
        try engine.apply(Stimulus("press"), to: "eb-1")
        try engine.apply(Stimulus("press"), to: "eb-1")
        engine.advance(by: .hours(3))

        let alarms = try emissions(engine, "alarm")
        #expect(alarms.count == 1)
        let alarm = try #require(alarms.first)
        #expect(alarm.time.monotonic == at(.seconds(10)))
        #expect(alarm.channel == .event)
        #expect(alarm.readings.prefix(2) == [Reading("trigger", .string("press")), Reading("armed", .bool(true))])
        #expect(try emissions(engine, "alarm-clear").isEmpty, "the alarm stays latched without a reset")
        #expect(try emissions(engine, "siren-on").first?.channel == .local)

        let reset = try engine.send(DeviceCommand("reset"), to: "eb-1")
        #expect(reset == CommandResult(.accepted, readings: [Reading("trigger", .string("press")), Reading("triggers", .int(3))]))
        #expect(try incidents(engine) == ["alarm", "siren-on", "alarm-clear", "siren-off"])

        try engine.apply(Stimulus("press"), to: "eb-1")
        #expect(try emissions(engine, "alarm").count == 2, "after a reset the next press alarms again")
    }

    /// A panic button is never disarmed: a press alarms in a disarmed zone too.
    @Test func pressAlarmsWhenDisarmed() throws {
        let engine = try engine(["armed_at_start": "false"])
        try engine.apply(Stimulus("press"), to: "eb-1")
        let alarm = try #require(try emissions(engine, "alarm").first)
        #expect(alarm.readings.prefix(2) == [Reading("trigger", .string("press")), Reading("armed", .bool(false))])
    }

    @Test func resetIsRejectedWhenNothingIsLatched() throws {
        let engine = try engine()
        #expect(try engine.send(DeviceCommand("reset", id: "c-1"), to: "eb-1") == .rejected("no alarm is latched"))
        try engine.apply(Stimulus("press"), to: "eb-1")
        #expect(try engine.send(DeviceCommand("reset", id: "c-2"), to: "eb-1").outcome == .accepted)
        #expect(try engine.send(DeviceCommand("reset", id: "c-3"), to: "eb-1") == .rejected("no alarm is latched"))
        let commands = try engine.ledger.records().filter { $0.entry == .command }
        #expect(commands.map(\.messageID) == ["c-1", "c-2", "c-3"])
        #expect(commands.map(\.detail) == ["rejected: no alarm is latched", "accepted", "rejected: no alarm is latched"])
        #expect(try emissions(engine, "alarm-clear").count == 1)
    }

    /// Disarmed zones do not alarm (004 S11); armed ones do, with trigger = intrusion.
    @Test func intrusionAlarmsOnlyWhenArmed() throws {
        let engine = try engine(["armed_at_start": "false"])
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        engine.advance(by: .minutes(1))
        #expect(try emissions(engine, "alarm").isEmpty)

        #expect(try engine.send(DeviceCommand("arm"), to: "eb-1").outcome == .accepted)
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        let alarm = try #require(try emissions(engine, "alarm").first)
        #expect(alarm.time.monotonic == at(.minutes(1)))
        #expect(alarm.readings.prefix(2) == [Reading("trigger", .string("intrusion")), Reading("armed", .bool(true))])
        #expect(try incidents(engine) == ["armed", "alarm", "siren-on"])
    }

    /// With an entry delay an intrusion alarms exactly alarm_delay after it was first seen, and
    /// a disarm within the delay cancels it.
    @Test func entryDelayAlarmsAtTheDelayUnlessDisarmed() throws {
        let engine = try engine(["alarm_delay": "30s"])
        engine.advance(by: .seconds(5))
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("intrusion"), to: "eb-1")  // more movement does not extend the delay
        engine.advance(by: .milliseconds(19_999))
        #expect(try emissions(engine, "alarm").isEmpty, "not before the delay")
        engine.advance(by: .milliseconds(1))
        let alarm = try #require(try emissions(engine, "alarm").first)
        #expect(alarm.time.monotonic == at(.seconds(35)))
        #expect(try emissions(engine, "entry-delay").map(\.time.monotonic) == [at(.seconds(5))])

        let cancelled = try self.engine(["alarm_delay": "30s"])
        try cancelled.apply(Stimulus("intrusion"), to: "eb-1")
        cancelled.advance(by: .seconds(29))
        #expect(try cancelled.send(DeviceCommand("disarm"), to: "eb-1").outcome == .accepted)
        cancelled.advance(by: .minutes(5))
        #expect(try emissions(cancelled, "alarm").isEmpty)
        #expect(try incidents(cancelled) == ["entry-delay", "disarmed"])
    }

    /// Disarming and re-arming within the delay cancels the first countdown for good: a later
    /// intrusion gets a fresh full delay, and the stale timer raises nothing.
    @Test func rearmingWithinTheDelayStartsAFreshCountdown() throws {
        let engine = try engine(["alarm_delay": "30s"])
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        engine.advance(by: .seconds(10))
        _ = try engine.send(DeviceCommand("disarm"), to: "eb-1")
        engine.advance(by: .seconds(5))
        _ = try engine.send(DeviceCommand("arm"), to: "eb-1")
        engine.advance(by: .seconds(5))
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        engine.advance(by: .seconds(20))
        #expect(try emissions(engine, "alarm").isEmpty, "the first countdown (due at 30 s) was cancelled")
        engine.advance(by: .seconds(30))
        #expect(try emissions(engine, "alarm").map(\.time.monotonic) == [at(.seconds(50))])
    }

    /// A press during an entry delay alarms at once; the countdown then adds nothing.
    @Test func pressDuringEntryDelayIsImmediate() throws {
        let engine = try engine(["alarm_delay": "30s"])
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        engine.advance(by: .seconds(3))
        try engine.apply(Stimulus("press"), to: "eb-1")
        engine.advance(by: .minutes(1))
        let alarms = try emissions(engine, "alarm")
        #expect(alarms.map(\.time.monotonic) == [at(.seconds(3))])
        #expect(alarms.first?.readings.first == Reading("trigger", .string("press")))
    }

    /// Tamper and a cut loop raise alarm-severity events and sound locally (004 L2716); a cut
    /// loop hides presses; a fault blinds intrusion detection but not the press contact (L2888).
    @Test func tamperLineCutAndFault() throws {
        let engine = try engine()
        try engine.apply(Stimulus("tamper"), to: "eb-1")
        try engine.apply(Stimulus("tamper"), to: "eb-1")
        try engine.apply(Stimulus("cut-line"), to: "eb-1")
        try engine.apply(Stimulus("press"), to: "eb-1")
        #expect(try emissions(engine, "alarm").isEmpty, "a cut loop cannot carry the press")
        try engine.apply(Stimulus("tamper-restore"), to: "eb-1")
        try engine.apply(Stimulus("restore-line"), to: "eb-1")
        try engine.apply(Stimulus("fault", arguments: ["code": .string("pir-blind")]), to: "eb-1")
        try engine.apply(Stimulus("intrusion"), to: "eb-1")
        #expect(try emissions(engine, "alarm").isEmpty, "a faulted sensor cannot see the intruder")
        try engine.apply(Stimulus("press"), to: "eb-1")
        try engine.apply(Stimulus("fault-clear"), to: "eb-1")
        #expect(try incidents(engine) == [
            "tamper", "siren-on", "line-cut", "tamper-clear", "line-restore", "siren-off",
            "fault", "alarm", "siren-on", "fault-clear",
        ])
        #expect(try emissions(engine, "fault").first?.readings == [Reading("code", .string("pir-blind"))])
        let severities = Dictionary(uniqueKeysWithValues: kind.descriptor.events.map { ($0.name, $0.severity) })
        #expect(severities["alarm"] == .critical)
        #expect(severities["line-cut"] == .alarm)
        #expect(severities["tamper"] == .alarm)
    }

    /// Heartbeats come every heartbeat_interval after a random phase, with battery, armed state
    /// and zone state.
    @Test func heartbeatsArePeriodic() throws {
        let engine = try engine(["heartbeat_interval": "10m"])
        engine.advance(by: .hours(1))
        try engine.apply(Stimulus("press"), to: "eb-1")
        engine.advance(by: .hours(1))
        let heartbeats = try emissions(engine, "heartbeat")
        let times = heartbeats.map(\.time.monotonic.nanoseconds)
        #expect(times.count == 12)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 600_000_000_000 })
        #expect(heartbeats.first?.readings.map(\.point) == ["battery", "armed", "zone_state"])
        #expect(heartbeats.first?.readings[2].value == .string("normal"))
        #expect(heartbeats.last?.readings[2].value == .string("alarm"))
        let levels = heartbeats.compactMap { $0.readings.first?.value.doubleValue }
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $1 < $0 }, "the battery drains")
    }

    /// Arm and disarm from the centre (004 L2884–2886) are recorded with their outcomes; state
    /// events come only on a change, and a zone with an open casing or cut loop is not ready.
    @Test func armAndDisarmCommandsAreRecorded() throws {
        let engine = try engine()
        #expect(try engine.send(DeviceCommand("arm", id: "a-1"), to: "eb-1") == CommandResult(.accepted, readings: [Reading("armed", .bool(true))]))
        #expect(try engine.send(DeviceCommand("disarm", id: "d-1"), to: "eb-1") == CommandResult(.accepted, readings: [Reading("armed", .bool(false))]))
        _ = try engine.send(DeviceCommand("disarm", id: "d-2"), to: "eb-1")
        try engine.apply(Stimulus("tamper"), to: "eb-1")
        #expect(try engine.send(DeviceCommand("arm", id: "a-2"), to: "eb-1") == .rejected("zone not ready: casing is open"))
        try engine.apply(Stimulus("tamper-restore"), to: "eb-1")
        try engine.apply(Stimulus("cut-line"), to: "eb-1")
        #expect(try engine.send(DeviceCommand("arm", id: "a-3"), to: "eb-1") == .rejected("zone not ready: alarm loop is cut"))
        try engine.apply(Stimulus("restore-line"), to: "eb-1")
        _ = try engine.send(DeviceCommand("arm", id: "a-4"), to: "eb-1")
        #expect(try engine.send(DeviceCommand("reboot", id: "x-1"), to: "eb-1") == .rejected("unknown command 'reboot'"))

        let commands = try engine.ledger.records().filter { $0.entry == .command }
        #expect(commands.map(\.messageID) == ["a-1", "d-1", "d-2", "a-2", "a-3", "a-4", "x-1"])
        #expect(commands.map(\.detail) == [
            "accepted", "accepted", "accepted", "rejected: zone not ready: casing is open",
            "rejected: zone not ready: alarm loop is cut", "accepted", "rejected: unknown command 'reboot'",
        ])
        #expect(try emissions(engine).map(\.name).filter { $0 == "armed" || $0 == "disarmed" } == ["disarmed", "armed"])
    }

    /// Self-test passes on a healthy device and fails on a faulted one (004 L2888).
    @Test func selfTestReportsHealth() throws {
        let engine = try engine()
        #expect(try engine.send(DeviceCommand("self-test"), to: "eb-1") == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
        try engine.apply(Stimulus("fault"), to: "eb-1")
        #expect(try engine.send(DeviceCommand("self-test"), to: "eb-1").readings == [Reading("passed", .bool(false))])
        let tests = try emissions(engine, "self-test")
        #expect(tests.map { $0.readings.first?.value } == [.bool(true), .bool(false)])
        #expect(tests.last?.readings.last == Reading("fault", .string("sensor")))
    }

    /// The battery drains over battery_life; crossing the threshold raises low-battery once.
    @Test func lowBatteryOnceAndBatteryOk() throws {
        let engine = try engine(["battery_life": "100d", "heartbeat_interval": "1h"])
        engine.advance(by: .days(84))
        #expect(try emissions(engine, "low-battery").isEmpty, "84 days of 100 leave 16 %")
        engine.advance(by: .days(10))
        let low = try emissions(engine, "low-battery")
        #expect(low.count == 1)
        let level = try #require(low.first?.readings.first?.value.doubleValue)
        #expect(level <= 15 && level > 14)
        try engine.apply(Stimulus("battery-set", arguments: ["level": .double(80)]), to: "eb-1")
        #expect(try emissions(engine, "battery-ok").first?.readings == [Reading("battery", .double(80))])
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("battery-set"), to: "eb-1") }
    }

    /// A silent hold-up button alarms the centre but never sounds locally.
    @Test func silentModelNeverSounds() throws {
        let engine = try engine(["sounder": "false"])
        try engine.apply(Stimulus("press"), to: "eb-1")
        try engine.apply(Stimulus("tamper"), to: "eb-1")
        #expect(try emissions(engine, "alarm").count == 1)
        #expect(try emissions(engine).filter { $0.channel == .local }.isEmpty)
    }

    @Test func unknownStimulusIsRefused() throws {
        let engine = try engine()
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("smoke"), to: "eb-1") }
    }

    /// The two shipped profiles behave as their comments say: the panic button alarms silently
    /// at once, the PIR waits out its entry delay and sounds.
    @Test func shippedProfilesDiffer() throws {
        let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        let registry = try DeviceKindRegistry([kind])
        func run(_ model: String) throws -> VirtualTimeEngine {
            let profile = try ModelProfile.load(file: "/\(directory)/devices/emergency-button/\(model).yaml", kinds: registry)
            #expect(profile.kind == EmergencyButtonKind.name)
            let engine = try engine(profile.parameters)
            try engine.apply(Stimulus("intrusion"), to: "eb-1")
            engine.advance(by: .minutes(1))
            return engine
        }
        let panic = try run("acme-pb10")
        #expect(try emissions(panic, "alarm").map(\.time.monotonic) == [at(.zero)])
        #expect(try emissions(panic, "siren-on").isEmpty)
        let pir = try run("sentry-ir30")
        #expect(try emissions(pir, "alarm").map(\.time.monotonic) == [at(.seconds(30))])
        #expect(try emissions(pir, "siren-on").count == 1)
    }

    /// One seed gives one run, byte for byte; and a device's behaviour does not change when
    /// others join the park.
    @Test func runsAreReproducibleAndDevicesIndependent() throws {
        func run(_ ids: [String], seed: UInt64) throws -> [LedgerRecord] {
            let engine = try engine(["heartbeat_interval": "1m", "alarm_delay": "20s"], seed: seed, ids: ids)
            engine.advance(by: .minutes(30))
            try engine.apply(Stimulus("intrusion"), to: "eb-1")
            engine.advance(by: .minutes(30))
            _ = try engine.send(DeviceCommand("reset"), to: "eb-1")
            engine.advance(by: .minutes(30))
            return try engine.ledger.records()
        }
        let first = try run(["eb-1", "eb-2"], seed: 7).map(\.jsonLine)
        let second = try run(["eb-1", "eb-2"], seed: 7).map(\.jsonLine)
        #expect(first == second)
        #expect(first != (try run(["eb-1", "eb-2"], seed: 8).map(\.jsonLine)))

        func strip(_ records: [LedgerRecord]) -> [String] {
            records.filter { $0.deviceID == "eb-1" }.map { var copy = $0; copy.order = 0; return copy.jsonLine }
        }
        let alone = strip(try run(["eb-1"], seed: 7))
        let crowded = strip(try run(["eb-0", "eb-1", "eb-2", "eb-3"], seed: 7))
        #expect(alone == crowded)
        #expect(alone.count > 90)
    }
}
