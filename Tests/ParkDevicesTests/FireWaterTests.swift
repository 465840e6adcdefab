import Testing
@testable import ParkCore
@testable import ParkDevices

/// Behaviour of the fire-water kinds on the virtual clock: the fire-main pressure gauge, the
/// fire pool level gauge and the smart hydrant (004 L3015–3036, L3072–3107).
///
/// Tests that need exact alarm times switch the noise off (`accuracy` 0, no fluctuation) and
/// start every timer at zero (`start_spread` 0), so with a 1 min sample interval the device
/// measures at every whole minute and an alarm time follows from the stimulus's rate.
@Suite struct FireWaterTests {
    static func engine(
        _ kind: any DeviceKind, _ overrides: [String: String] = [:], seed: UInt64 = 1, ids: [String] = ["fw-1"]
    ) throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
        for id in ids {
            try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(
                id: id, parameters: parameters, random: .forDevice(id, runSeed: seed))))
        }
        engine.start()
        return engine
    }

    static func emissions(_ engine: VirtualTimeEngine, _ name: String? = nil) throws -> [LedgerRecord] {
        try engine.ledger.records().filter { $0.entry == .emission && (name == nil || $0.name == name) }
    }

    /// Emission names without the periodic ones, in ledger order.
    static func incidents(_ engine: VirtualTimeEngine) throws -> [String] {
        try emissions(engine).map(\.name).filter { $0 != "heartbeat" && $0 != "telemetry" }
    }

    static func at(_ duration: DeviceDuration) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: duration) }
    static func at(seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: .fromSeconds(seconds)) }

    static func value(_ record: LedgerRecord?, _ point: String) -> Double? {
        record?.readings.first { $0.point == point }?.value.doubleValue
    }

    static func truth(_ record: LedgerRecord?, _ point: String) -> Double? {
        record?.readings.first { $0.point == point }?.truth?.doubleValue
    }

    /// The first whole minute strictly after `seconds`: when a 1 min sampler that started at
    /// zero first sees a crossing that happens at `seconds`.
    static func firstSample(after seconds: Double) -> MonotonicInstant {
        at(seconds: ((seconds / 60).rounded(.down) + 1) * 60)
    }

    static let kinds: [any DeviceKind] = [AnalogGaugeKind.fireWaterPressure, AnalogGaugeKind.fireWaterLevel, HydrantKind()]

    /// Periodic timers keep exact periods after a random phase, heartbeat and report alike.
    @Test func heartbeatsAndReportsArePeriodic() throws {
        for kind in Self.kinds {
            let engine = try Self.engine(kind, ["heartbeat_interval": "10m", "report_interval": "5m"])
            engine.advance(by: .hours(2))
            let heartbeats = try Self.emissions(engine, "heartbeat")
            let beats = heartbeats.map(\.time.monotonic.nanoseconds)
            #expect(beats.count == 12, "\(kind.descriptor.name)")
            #expect(zip(beats, beats.dropFirst()).allSatisfy { $1 - $0 == 600_000_000_000 })
            #expect(heartbeats.first?.readings.map(\.point) == ["battery", "state"])
            #expect(heartbeats.first?.readings.last?.value == .string("normal"))
            let reports = try Self.emissions(engine, "telemetry").map(\.time.monotonic.nanoseconds)
            #expect(reports.count == 24, "\(kind.descriptor.name)")
            #expect(zip(reports, reports.dropFirst()).allSatisfy { $1 - $0 == 300_000_000_000 })
            #expect(try Self.incidents(engine).isEmpty, "\(kind.descriptor.name) at rest raises nothing")
        }
    }

    /// The battery drains over battery_life; crossing the threshold raises low-battery once
    /// (004 L3081, L3093), and a new battery raises battery-ok.
    @Test func lowBatteryOnce() throws {
        for kind in Self.kinds {
            let engine = try Self.engine(kind, ["battery_life": "100d", "heartbeat_interval": "1h"])
            engine.advance(by: .days(84))
            #expect(try Self.emissions(engine, "low-battery").isEmpty, "84 days of 100 leave 16 %")
            engine.advance(by: .days(10))
            let low = try Self.emissions(engine, "low-battery")
            #expect(low.count == 1, "\(kind.descriptor.name)")
            let level = try #require(Self.value(low.first, "battery"))
            #expect(level <= 15 && level > 14, "noticed within a heartbeat of the crossing")
            try engine.apply(Stimulus("battery-set", arguments: ["level": .double(100)]), to: "fw-1")
            #expect(try Self.emissions(engine, "battery-ok").first?.readings == [Reading("battery", .double(100))])
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("battery-set"), to: "fw-1") }
        }
    }

    /// Unknown stimuli and bad arguments are refused; unknown commands are rejected and recorded.
    @Test func unknownStimuliAndCommandsAreRefused() throws {
        for kind in Self.kinds {
            let engine = try Self.engine(kind)
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("smoke"), to: "fw-1") }
            #expect(throws: EngineError.self) {
                try engine.apply(Stimulus("battery-set", arguments: ["level": .string("full")]), to: "fw-1")
            }
            #expect(try engine.send(DeviceCommand("reboot", id: "x-1"), to: "fw-1") == .rejected("unknown command 'reboot'"))
            #expect(try engine.ledger.records().filter { $0.entry == .command }.map(\.detail) == ["rejected: unknown command 'reboot'"])
        }
    }

    /// `set-intervals` restarts a chain one new period from now, and the old chain, whose timer
    /// cannot be cancelled, dies at its next firing instead of reporting beside the new one.
    @Test func setIntervalsRestartsTheChain() throws {
        for kind in Self.kinds {
            let engine = try Self.engine(kind, ["start_spread": "0s", "report_interval": "1h"])
            engine.advance(by: .minutes(30))
            let result = try engine.send(DeviceCommand("set-intervals", arguments: ["report_s": .double(600)], id: "si-1"), to: "fw-1")
            #expect(result.outcome == .accepted)
            #expect(result.readings.first { $0.point == "report_s" }?.value == .double(600))
            engine.advance(by: .minutes(120))
            let reports = try Self.emissions(engine, "telemetry").map(\.time.monotonic)
            #expect(reports == [Self.at(.zero)] + (4...15).map { Self.at(.minutes(UInt64($0) * 10)) }, "\(kind.descriptor.name)")

            #expect(try engine.send(DeviceCommand("set-intervals", arguments: ["report_s": .double(0.5)]), to: "fw-1")
                == .rejected("command 'set-intervals' argument 'report_s' must be a number from 1 to 604800 s, got 0.5"))
            #expect(try engine.send(DeviceCommand("set-intervals"), to: "fw-1")
                == .rejected("set-intervals needs at least one of heartbeat_s, report_s, sample_s"))
        }
    }

    /// One seed gives one run, byte for byte; and a device's behaviour does not change when
    /// others join the park.
    @Test func runsAreReproducibleAndDevicesIndependent() throws {
        let scripts: [String: [Stimulus]] = [
            AnalogGaugeKind.fireWaterPressure.name: [Stimulus("leak", arguments: ["rate": .double(0.02)]), Stimulus("pump-start")],
            AnalogGaugeKind.fireWaterLevel.name: [Stimulus("drain", arguments: ["rate": .double(2)]), Stimulus("fill")],
            HydrantKind.name: [Stimulus("flow-start", arguments: ["rate": .double(25)]), Stimulus("flow-stop")],
        ]
        for kind in Self.kinds {
            func run(_ ids: [String], seed: UInt64) throws -> [LedgerRecord] {
                let engine = try Self.engine(kind, ["heartbeat_interval": "10m", "report_interval": "1m"], seed: seed, ids: ids)
                for stimulus in scripts[kind.descriptor.name] ?? [] {
                    engine.advance(by: .minutes(30))
                    try engine.apply(stimulus, to: "fw-1")
                }
                engine.advance(by: .minutes(30))
                _ = try engine.send(DeviceCommand("self-test"), to: "fw-1")
                return try engine.ledger.records()
            }
            let first = try run(["fw-1", "fw-2"], seed: 7).map(\.jsonLine)
            #expect(first == (try run(["fw-1", "fw-2"], seed: 7).map(\.jsonLine)), "\(kind.descriptor.name)")
            #expect(first != (try run(["fw-1", "fw-2"], seed: 8).map(\.jsonLine)))

            func strip(_ records: [LedgerRecord]) -> [String] {
                records.filter { $0.deviceID == "fw-1" }.map { var copy = $0; copy.order = 0; return copy.jsonLine }
            }
            let alone = strip(try run(["fw-1"], seed: 7))
            #expect(alone == strip(try run(["fw-0", "fw-1", "fw-2", "fw-3"], seed: 7)), "\(kind.descriptor.name)")
            #expect(alone.count > 90)
        }
    }

    /// Every event a device emits is in its descriptor, and every declared event can happen:
    /// `devices show` and the platform's event table must not lie.
    @Test func descriptorsMatchWhatDevicesEmit() throws {
        let scripts: [String: [Stimulus]] = [
            AnalogGaugeKind.fireWaterPressure.name: [
                Stimulus("pressure-set", arguments: ["pressure": .double(0.05)]), Stimulus("pump-start"), Stimulus("restore"),
                Stimulus("tamper"), Stimulus("tamper-restore"), Stimulus("leak"),
                Stimulus("battery-set", arguments: ["level": .double(5)]), Stimulus("battery-set", arguments: ["level": .double(90)]),
            ],
            AnalogGaugeKind.fireWaterLevel.name: [
                Stimulus("drain", arguments: ["rate": .double(20)]), Stimulus("fill", arguments: ["rate": .double(20), "level": .double(4.6)]),
                Stimulus("level-set", arguments: ["level": .double(3)]), Stimulus("restore"),
                Stimulus("battery-set", arguments: ["level": .double(5)]), Stimulus("battery-set", arguments: ["level": .double(90)]),
            ],
            HydrantKind.name: [
                Stimulus("impact", arguments: ["tilt": .double(40)]), Stimulus("upright"), Stimulus("cap-open"), Stimulus("cap-close"),
                Stimulus("flow-start"), Stimulus("flow-stop"), Stimulus("pressure-set", arguments: ["pressure": .double(0.05)]),
                Stimulus("restore"), Stimulus("battery-set", arguments: ["level": .double(5)]),
                Stimulus("battery-set", arguments: ["level": .double(90)]),
            ],
        ]
        for kind in Self.kinds {
            let overrides = kind.descriptor.name == AnalogGaugeKind.fireWaterPressure.name ? ["high_pressure_threshold": "0.7"] : [:]
            let engine = try Self.engine(kind, overrides)
            let script = try #require(scripts[kind.descriptor.name])
            for stimulus in script {
                try engine.apply(stimulus, to: "fw-1")
                engine.advance(by: .hours(1))
            }
            _ = try engine.send(DeviceCommand("self-test"), to: "fw-1")
            let emitted = Set(try Self.emissions(engine).map(\.name))
            let declared = Set(kind.descriptor.events.map(\.name) + ["telemetry"])
            #expect(emitted == declared, "\(kind.descriptor.name): undeclared \(emitted.subtracting(declared)), never emitted \(declared.subtracting(emitted))")
            #expect(Set(script.map(\.name)) == Set(kind.descriptor.stimuli.map(\.name)), "the script applies every stimulus")
            #expect(kind.descriptor.sources.allSatisfy { $0.hasPrefix("004_5e9061d643d5fb41.txt L30") || $0.hasPrefix("004_5e9061d643d5fb41.txt L31") })
        }
    }
}

extension FireWaterTests {
    /// The fire-main pressure gauge (004 L3015–3021, L3072–3081).
    @Suite struct PressureGaugeTests {
        let kind = AnalogGaugeKind.fireWaterPressure
        let quiet = ["start_spread": "0s", "accuracy": "0", "pressure_fluctuation": "0", "sample_interval": "1m", "report_interval": "1h"]

        func engine(_ overrides: [String: String] = [:]) throws -> VirtualTimeEngine {
            try FireWaterTests.engine(kind, quiet.merging(overrides) { $1 })
        }

        /// 「水压不足」 (L3081): low pressure alarms at the first sample below the threshold, and
        /// clears only once the pressure is `pressure_hysteresis` above it.
        @Test func lowPressureAlarmsAtTheNextSampleAndClearsWithHysteresis() throws {
            let engine = try engine(["heartbeat_interval": "10m"])
            engine.advance(by: .seconds(90))
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.14)]), to: "fw-1")
            engine.advance(by: .seconds(29))
            #expect(try FireWaterTests.emissions(engine, "low-pressure").isEmpty, "not before the next sample")
            engine.advance(by: .seconds(1))
            let alarm = try #require(try FireWaterTests.emissions(engine, "low-pressure").first)
            #expect(alarm.time.monotonic == FireWaterTests.at(.minutes(2)))
            #expect(alarm.channel == .event)
            #expect(alarm.readings == [
                Reading("pressure", .double(0.14), truth: .double(0.14)), Reading("threshold", .double(0.15)),
            ])

            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.16)]), to: "fw-1")
            engine.advance(by: .minutes(30))
            #expect(try FireWaterTests.emissions(engine, "pressure-ok").isEmpty, "0.16 MPa is inside the 0.02 MPa dead band")
            #expect(try FireWaterTests.emissions(engine, "heartbeat").last?.readings.last?.value == .string("low-pressure"))
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.18)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            let ok = try #require(try FireWaterTests.emissions(engine, "pressure-ok").first)
            #expect(ok.time.monotonic == FireWaterTests.at(.minutes(33)))
            #expect(ok.readings.last == Reading("cleared", .string("low-pressure")))
            #expect(try FireWaterTests.incidents(engine) == ["low-pressure", "pressure-ok"])
        }

        /// A pressure sitting exactly at the threshold, read with ±0.5 % FS noise, raises one
        /// alarm and does not flap; without the dead band the same noise flaps.
        @Test func noiseAtTheThresholdDoesNotFlap() throws {
            func run(hysteresis: String) throws -> (alarms: Int, clears: Int) {
                let engine = try FireWaterTests.engine(kind, ["start_spread": "0s", "pressure_hysteresis": hysteresis])
                try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.15)]), to: "fw-1")
                engine.advance(by: .hours(6))
                return (try FireWaterTests.emissions(engine, "low-pressure").count, try FireWaterTests.emissions(engine, "pressure-ok").count)
            }
            let damped = try run(hysteresis: "0.02")
            #expect(damped.alarms == 1 && damped.clears == 0)
            let undamped = try run(hysteresis: "0")
            #expect(undamped.alarms > 20 && undamped.clears > 20, "the noise does cross the threshold; only the dead band holds it")
        }

        /// Readings stay within the accuracy class of the truth (±0.5 % of 2.5 MPa), the truth
        /// stays within nominal ± fluctuation, and a pressure over full scale reads full scale.
        @Test func measuredStaysWithinTheAccuracyOfTheTruth() throws {
            let engine = try FireWaterTests.engine(kind, ["report_interval": "1m"])
            engine.advance(by: .days(1))
            let reports = try FireWaterTests.emissions(engine, "telemetry")
            #expect(reports.count == 1_440)
            #expect(reports.first?.readings.map(\.point) == ["pressure", "battery"])
            let errors = reports.compactMap { report in
                FireWaterTests.value(report, "pressure").flatMap { value in FireWaterTests.truth(report, "pressure").map { value - $0 } }
            }
            #expect(errors.count == 1_440)
            #expect(errors.allSatisfy { abs($0) <= 0.0125 + 1e-4 })
            #expect((errors.map(abs).max() ?? 0) > 0.01, "the error uses its band")
            let truths = reports.compactMap { FireWaterTests.truth($0, "pressure") }
            #expect(truths.allSatisfy { $0 >= 0.38 - 1e-9 && $0 <= 0.42 + 1e-9 })
            #expect(Set(truths).count > 100, "the network pressure wanders")
            #expect(try FireWaterTests.incidents(engine).isEmpty)

            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(3)]), to: "fw-1")
            let read = try engine.send(DeviceCommand("read"), to: "fw-1")
            #expect(read.readings.first == Reading("pressure", .double(2.5), truth: .double(3)))
        }

        /// A leak at a known rate crosses the threshold at a computable time; the alarm comes at
        /// the first sample after it, and the fire pump brings the pressure back.
        @Test func leakDropsPressureToAlarmAtTheComputedTime() throws {
            let engine = try engine()
            let leakAt = 330.0
            engine.advance(to: FireWaterTests.at(seconds: leakAt))
            try engine.apply(Stimulus("leak", arguments: ["rate": .double(0.01)]), to: "fw-1")
            engine.advance(by: .hours(1))
            let crossing = leakAt + (0.4 - 0.15) / (0.01 / 60)
            let alarm = try #require(try FireWaterTests.emissions(engine, "low-pressure").first)
            #expect(alarm.time.monotonic == FireWaterTests.firstSample(after: crossing))
            let elapsed = alarm.time.monotonic.duration(since: FireWaterTests.at(seconds: leakAt)).seconds
            #expect(abs((FireWaterTests.truth(alarm, "pressure") ?? 0) - (0.4 - 0.01 / 60 * elapsed)) < 1e-4)
            let drained = try #require(try FireWaterTests.emissions(engine, "telemetry").last)
            #expect(FireWaterTests.truth(drained, "pressure") == 0, "the leak empties the main, never below 0")

            try engine.apply(Stimulus("pump-start"), to: "fw-1")
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.incidents(engine) == ["low-pressure", "pressure-ok"], "high-pressure is off by default")
            #expect(FireWaterTests.value(try FireWaterTests.emissions(engine, "pressure-ok").first, "pressure") == 0.8)
            try engine.apply(Stimulus("restore"), to: "fw-1")
            #expect(try engine.send(DeviceCommand("read"), to: "fw-1").readings.first == Reading("pressure", .double(0.4), truth: .double(0.4)))
        }

        /// With a high threshold set, a pump surge raises high-pressure; straight from low
        /// pressure the gauge clears low first, then raises high, in one sample.
        @Test func pumpSurgeRaisesHighPressureWhenEnabled() throws {
            let engine = try engine(["high_pressure_threshold": "0.7"])
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.1)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            try engine.apply(Stimulus("pump-start", arguments: ["pressure": .double(0.9)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.69)]), to: "fw-1")
            engine.advance(by: .minutes(5))
            #expect(try FireWaterTests.incidents(engine) == ["low-pressure", "pressure-ok", "high-pressure"], "0.69 is inside the dead band")
            try engine.apply(Stimulus("restore"), to: "fw-1")
            engine.advance(by: .minutes(1))
            let clears = try FireWaterTests.emissions(engine, "pressure-ok")
            #expect(clears.map { $0.readings.last?.value } == [.string("low-pressure"), .string("high-pressure")])
            #expect(clears.map(\.time.monotonic) == [FireWaterTests.at(.minutes(2)), FireWaterTests.at(.minutes(8))])
            #expect(try FireWaterTests.emissions(engine, "high-pressure").first?.readings.last == Reading("threshold", .double(0.7)))
        }

        @Test func tamperIsReportedOnceAndCleared() throws {
            let engine = try engine()
            try engine.apply(Stimulus("tamper"), to: "fw-1")
            try engine.apply(Stimulus("tamper"), to: "fw-1")
            engine.advance(by: .hours(1))
            #expect(try FireWaterTests.emissions(engine, "heartbeat").last?.readings.last?.value == .string("tamper"))
            try engine.apply(Stimulus("tamper-restore"), to: "fw-1")
            try engine.apply(Stimulus("tamper-restore"), to: "fw-1")
            #expect(try FireWaterTests.incidents(engine) == ["tamper", "tamper-clear"])
            #expect(try FireWaterTests.emissions(engine, "tamper").first?.time.monotonic == .zero)
        }

        /// Self-test, read and set-thresholds answer as documented and every command, accepted
        /// or not, is in the ledger with its outcome.
        @Test func commandsAreAnsweredAndRecorded() throws {
            let engine = try engine()
            engine.advance(by: .seconds(1))  // past the first report and sample, due at 0
            #expect(try engine.send(DeviceCommand("self-test", id: "c-1"), to: "fw-1") == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
            try engine.apply(Stimulus("tamper"), to: "fw-1")
            #expect(try engine.send(DeviceCommand("self-test", id: "c-2"), to: "fw-1").readings == [Reading("passed", .bool(false))])
            let read = try engine.send(DeviceCommand("read", id: "c-3"), to: "fw-1")
            #expect(read.readings.map(\.point) == ["pressure", "battery"])
            #expect(try FireWaterTests.emissions(engine, "telemetry").count == 2, "the scheduled report at 0 and the read")
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["low": .double(0.5), "high": .double(0.45)], id: "c-4"), to: "fw-1")
                == .rejected("thresholds must satisfy low < high < range_max (2.5 MPa), or high 0 (off)"))
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["low": .double(3)], id: "c-5"), to: "fw-1")
                == .rejected("command 'set-thresholds' argument 'low' must be a number from 0 to 2.5 MPa, got 3"))
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["low": .double(0.45)], id: "c-6"), to: "fw-1")
                == CommandResult(.accepted, readings: [Reading("low", .double(0.45)), Reading("high", .double(0))]))
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.emissions(engine, "low-pressure").first?.time.monotonic == FireWaterTests.at(.minutes(1)),
                    "the new threshold applies at the next sample")

            let commands = try engine.ledger.records().filter { $0.entry == .command }
            #expect(commands.map(\.messageID) == ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"])
            #expect(commands.map(\.detail) == [
                "accepted", "accepted", "accepted", "rejected: thresholds must satisfy low < high < range_max (2.5 MPa), or high 0 (off)",
                "rejected: command 'set-thresholds' argument 'low' must be a number from 0 to 2.5 MPa, got 3", "accepted",
            ])
            let tests = try FireWaterTests.emissions(engine, "self-test")
            #expect(tests.map { $0.readings.first?.value } == [.bool(true), .bool(false)])
        }

        @Test func leakRateMustBePositive() throws {
            let engine = try engine()
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("leak", arguments: ["rate": .double(-1)]), to: "fw-1") }
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("pressure-set"), to: "fw-1") }
        }

        /// Thresholds outside the gauge's scale could never alarm, so such a device is refused.
        @Test func impossibleThresholdsAreRefused() throws {
            for overrides in [["range_max": "1.6", "low_pressure_threshold": "2"], ["high_pressure_threshold": "0.1"], ["high_pressure_threshold": "2.5"]] {
                let engine = VirtualTimeEngine()
                let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
                #expect(throws: EngineError.self) {
                    try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(id: "fw-1", parameters: parameters, random: SeededRandom(seed: 1))))
                }
            }
        }

        /// The two shipped profiles differ as real brands do: the 1.6 MPa LoRa transmitter clips
        /// a 2 MPa surge and alarms on it, reports every 5 min and is coarser; the 2.5 MPa
        /// NB-IoT gauge reads the surge and reports hourly.
        @Test func shippedProfilesDiffer() throws {
            let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
            let registry = try DeviceKindRegistry([kind])
            func run(_ model: String) throws -> VirtualTimeEngine {
                let profile = try ModelProfile.load(file: "/\(directory)/devices/fire-water-pressure/\(model).yaml", kinds: registry)
                #expect(profile.kind == AnalogGaugeKind.fireWaterPressure.name)
                let engine = try FireWaterTests.engine(kind, profile.parameters)
                try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(2)]), to: "fw-1")
                engine.advance(by: .hours(3))
                return engine
            }
            let nbiot = try run("acme-wp25")
            let nbiotReports = try FireWaterTests.emissions(nbiot, "telemetry")
            #expect(nbiotReports.count == 3)
            #expect(nbiotReports.allSatisfy { abs((FireWaterTests.value($0, "pressure") ?? 0) - 2) <= 0.0125 + 1e-4 })
            #expect(try FireWaterTests.incidents(nbiot).isEmpty)

            let lora = try run("hydra-lp16")
            let loraReports = try FireWaterTests.emissions(lora, "telemetry")
            #expect(loraReports.count == 36)
            #expect(loraReports.allSatisfy { FireWaterTests.value($0, "pressure") == 1.6 && FireWaterTests.truth($0, "pressure") == 2 })
            #expect(try FireWaterTests.incidents(lora) == ["high-pressure"])
        }
    }
}

extension FireWaterTests {
    /// The fire pool level gauge (004 L3023–3029, L3083–3093).
    @Suite struct LevelGaugeTests {
        let kind = AnalogGaugeKind.fireWaterLevel
        let quiet = ["start_spread": "0s", "accuracy": "0", "level_fluctuation": "0", "sample_interval": "1m", "report_interval": "1h"]

        func engine(_ overrides: [String: String] = [:]) throws -> VirtualTimeEngine {
            try FireWaterTests.engine(kind, quiet.merging(overrides) { $1 })
        }

        /// 「水位过低」 (L3093): a drain at a known rate reaches the low threshold at a computable
        /// time and the alarm comes at the next sample; the refill clears it once the level is
        /// `level_hysteresis` above, and stops at the full level.
        @Test func drainAndFillAlarmAndClearAtTheComputedTimes() throws {
            let engine = try engine()
            let drainAt = 630.0, drainRate = 0.6 / 3_600
            engine.advance(to: FireWaterTests.at(seconds: drainAt))
            try engine.apply(Stimulus("drain", arguments: ["rate": .double(0.6)]), to: "fw-1")
            engine.advance(to: FireWaterTests.at(.minutes(120)))
            let crossing = drainAt + (3.5 - 2.5) / drainRate
            let alarm = try #require(try FireWaterTests.emissions(engine, "low-level").first)
            #expect(alarm.time.monotonic == FireWaterTests.firstSample(after: crossing))
            #expect(alarm.readings.last == Reading("threshold", .double(2.5)))

            let fillAt = 7_200.0, fillRate = 1.2 / 3_600
            let levelAtFill = 3.5 - drainRate * (fillAt - drainAt)
            try engine.apply(Stimulus("fill", arguments: ["rate": .double(1.2)]), to: "fw-1")
            engine.advance(by: .hours(3))
            let clearing = fillAt + (2.5 + 0.05 - levelAtFill) / fillRate
            let ok = try #require(try FireWaterTests.emissions(engine, "level-ok").first)
            #expect(ok.time.monotonic == FireWaterTests.firstSample(after: clearing))
            #expect(ok.readings.last == Reading("cleared", .string("low-level")))
            #expect(FireWaterTests.truth(try FireWaterTests.emissions(engine, "telemetry").last, "level") == 3.5, "the float valve stops at the full level")
            #expect(try FireWaterTests.incidents(engine) == ["low-level", "level-ok"])
        }

        /// 「水位过高」 (L3093): a stuck float valve overfills past the high threshold; a level
        /// inside the dead band does not clear it, a level below it does.
        @Test func overfillRaisesHighLevel() throws {
            let engine = try engine()
            engine.advance(by: .seconds(30))
            try engine.apply(Stimulus("fill", arguments: ["rate": .double(3), "level": .double(4.6)]), to: "fw-1")
            engine.advance(by: .minutes(30))
            let crossing = 30 + (4.2 - 3.5) / (3.0 / 3_600)
            let alarm = try #require(try FireWaterTests.emissions(engine, "high-level").first)
            #expect(alarm.time.monotonic == FireWaterTests.firstSample(after: crossing))
            try engine.apply(Stimulus("level-set", arguments: ["level": .double(4.16)]), to: "fw-1")
            engine.advance(by: .minutes(10))
            #expect(try FireWaterTests.emissions(engine, "level-ok").isEmpty, "4.16 m is inside the 0.05 m dead band")
            try engine.apply(Stimulus("level-set", arguments: ["level": .double(4.1)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.incidents(engine) == ["high-level", "level-ok"])
            #expect(try FireWaterTests.emissions(engine, "level-ok").first?.readings.last == Reading("cleared", .string("high-level")))

            try engine.apply(Stimulus("fill"), to: "fw-1")  // to the default 3.5 m, below the present 4.1 m
            engine.advance(by: .minutes(30))
            #expect(try engine.send(DeviceCommand("read"), to: "fw-1").readings.first == Reading("level", .double(4.1), truth: .double(4.1)),
                    "a make-up valve never lowers the level")
        }

        /// A level sitting exactly at the low threshold, read with ±0.5 % FS noise, raises one
        /// alarm and does not flap; without the dead band it flaps.
        @Test func noiseAtTheThresholdDoesNotFlap() throws {
            func run(hysteresis: String) throws -> Int {
                let engine = try FireWaterTests.engine(kind, ["start_spread": "0s", "level_hysteresis": hysteresis])
                try engine.apply(Stimulus("level-set", arguments: ["level": .double(2.5)]), to: "fw-1")
                engine.advance(by: .hours(6))
                return try FireWaterTests.emissions(engine).filter { $0.name == "low-level" || $0.name == "level-ok" }.count
            }
            #expect(try run(hysteresis: "0.05") == 1)
            #expect(try run(hysteresis: "0") > 40)
        }

        /// Readings stay within ±0.5 % of the 5 m scale of the truth; percent is of the full level.
        @Test func measuredStaysWithinTheAccuracyOfTheTruth() throws {
            let engine = try FireWaterTests.engine(kind, ["report_interval": "1m"])
            engine.advance(by: .hours(12))
            let reports = try FireWaterTests.emissions(engine, "telemetry")
            #expect(reports.count == 720)
            #expect(reports.first?.readings.map(\.point) == ["level", "percent", "battery"])
            let errors = reports.compactMap { report in
                FireWaterTests.value(report, "level").flatMap { value in FireWaterTests.truth(report, "level").map { value - $0 } }
            }
            #expect(errors.count == 720 && errors.allSatisfy { abs($0) <= 0.025 + 1e-4 })
            #expect((errors.map(abs).max() ?? 0) > 0.02)
            #expect(reports.allSatisfy { report in
                abs((FireWaterTests.value(report, "percent") ?? 0) - (FireWaterTests.value(report, "level") ?? 0) / 3.5 * 100) < 1e-3
            })

            try engine.apply(Stimulus("level-set", arguments: ["level": .double(6)]), to: "fw-1")
            #expect(try engine.send(DeviceCommand("read"), to: "fw-1").readings.first == Reading("level", .double(5), truth: .double(6)),
                    "an overflowing tank reads full scale")
        }

        @Test func commandsAreAnsweredAndRecorded() throws {
            let engine = try engine()
            #expect(try engine.send(DeviceCommand("self-test", id: "l-1"), to: "fw-1") == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
            try engine.apply(Stimulus("battery-set", arguments: ["level": .double(10)]), to: "fw-1")
            #expect(try engine.send(DeviceCommand("self-test", id: "l-2"), to: "fw-1").readings == [Reading("passed", .bool(false))])
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["high": .double(5)], id: "l-3"), to: "fw-1")
                == .rejected("thresholds must satisfy low < high < range_max (5 m)"))
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["low": .double(3.6)], id: "l-4"), to: "fw-1")
                == CommandResult(.accepted, readings: [Reading("low", .double(3.6)), Reading("high", .double(4.2))]))
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.incidents(engine) == ["self-test", "low-battery", "self-test", "low-level"])
            let commands = try engine.ledger.records().filter { $0.entry == .command }
            #expect(commands.map(\.messageID) == ["l-1", "l-2", "l-3", "l-4"])
            #expect(commands.map(\.detail) == ["accepted", "accepted", "rejected: thresholds must satisfy low < high < range_max (5 m)", "accepted"])
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("drain", arguments: ["rate": .double(0)]), to: "fw-1") }
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("level-set"), to: "fw-1") }
        }

        /// The shipped profile loads and keeps the seed's figures (≥ 5 m, ≥ 5 years).
        @Test func shippedProfileMeetsTheSeed() throws {
            let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
            let profile = try ModelProfile.load(
                file: "/\(directory)/devices/fire-water-level/acme-wl5.yaml", kinds: try DeviceKindRegistry([kind]))
            let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: profile.parameters)
            #expect(parameters.double("range_max") >= 5)
            #expect(parameters.duration("battery_life") >= .days(1_825))
        }
    }
}

extension FireWaterTests {
    /// The smart outdoor hydrant (004 L3030–3036, L3095–3107).
    @Suite struct HydrantTests {
        let kind = HydrantKind()
        let quiet = ["start_spread": "0s", "accuracy": "0", "pressure_fluctuation": "0", "sample_interval": "1m", "report_interval": "1h"]

        func engine(_ overrides: [String: String] = [:]) throws -> VirtualTimeEngine {
            try FireWaterTests.engine(kind, quiet.merging(overrides) { $1 })
        }

        /// 「被撞击及时报警」 (L3101): a strike above the shock threshold or a lean above the tilt
        /// threshold alarms at once; a bump below both does not; a knocked-over hydrant stays
        /// in state `impact` until it is stood upright.
        @Test func impactAlarmsAtOnce() throws {
            let engine = try engine()
            engine.advance(by: .seconds(10))
            try engine.apply(Stimulus("impact", arguments: ["shock": .double(1), "tilt": .double(3)]), to: "fw-1")
            #expect(try FireWaterTests.emissions(engine, "impact").isEmpty, "a bump below both thresholds")
            try engine.apply(Stimulus("impact", arguments: ["shock": .double(3)]), to: "fw-1")
            engine.advance(by: .seconds(10))
            try engine.apply(Stimulus("impact", arguments: ["shock": .double(0.5), "tilt": .double(40)]), to: "fw-1")
            let impacts = try FireWaterTests.emissions(engine, "impact")
            #expect(impacts.map(\.time.monotonic) == [FireWaterTests.at(.seconds(10)), FireWaterTests.at(.seconds(20))])
            #expect(impacts.first?.readings.prefix(2) == [Reading("shock", .double(3)), Reading("tilt", .double(3))])
            #expect(FireWaterTests.value(impacts.last, "tilt") == 40)
            engine.advance(by: .hours(1))
            #expect(try FireWaterTests.emissions(engine, "heartbeat").last?.readings.last?.value == .string("impact"))
            #expect(try engine.send(DeviceCommand("self-test"), to: "fw-1").readings == [Reading("passed", .bool(false))])
            try engine.apply(Stimulus("upright"), to: "fw-1")
            try engine.apply(Stimulus("upright"), to: "fw-1")
            #expect(try FireWaterTests.incidents(engine) == ["impact", "impact", "self-test", "impact-clear"])
            #expect(try engine.send(DeviceCommand("self-test"), to: "fw-1").readings == [Reading("passed", .bool(true))])
        }

        /// 「开盖自动报警」 (L3103): opening the cap alarms at once, once; closing it clears.
        @Test func capOpenAndClosed() throws {
            let engine = try engine()
            engine.advance(by: .seconds(5))
            try engine.apply(Stimulus("cap-open"), to: "fw-1")
            try engine.apply(Stimulus("cap-open"), to: "fw-1")
            engine.advance(by: .minutes(3))
            try engine.apply(Stimulus("cap-close"), to: "fw-1")
            try engine.apply(Stimulus("cap-close"), to: "fw-1")
            #expect(try FireWaterTests.incidents(engine) == ["cap-open", "cap-closed"])
            let open = try #require(try FireWaterTests.emissions(engine, "cap-open").first)
            #expect(open.time.monotonic == FireWaterTests.at(.seconds(5)))
            #expect(open.readings == [Reading("cap_open", .bool(true))])
            #expect(try FireWaterTests.emissions(engine, "cap-closed").first?.time.monotonic == FireWaterTests.at(.seconds(185)))
        }

        /// 「检测到有水流出及时报警」 (L3105): a flow above the sensor's threshold alarms at once
        /// and the stop reports the volume drawn; a trickle below it is not seen.
        @Test func waterFlowAlarmsAtOnceAndReportsTheVolume() throws {
            let engine = try engine()
            try engine.apply(Stimulus("flow-start", arguments: ["rate": .double(0.2)]), to: "fw-1")
            engine.advance(by: .seconds(30))
            let trickle = try engine.send(DeviceCommand("read"), to: "fw-1").readings
            #expect(trickle.first { $0.point == "flow" } == Reading("flow", .double(0), truth: .double(0.2)), "below flow_threshold the sensor reads 0")
            #expect(trickle.first { $0.point == "volume" } == Reading("volume", .double(0), truth: .double(6)), "and meters nothing")
            try engine.apply(Stimulus("flow-stop"), to: "fw-1")
            #expect(try FireWaterTests.incidents(engine).isEmpty)

            engine.advance(to: FireWaterTests.at(.minutes(1)))
            try engine.apply(Stimulus("cap-open"), to: "fw-1")
            try engine.apply(Stimulus("flow-start", arguments: ["rate": .double(10)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            try engine.apply(Stimulus("flow-start", arguments: ["rate": .double(5)]), to: "fw-1")
            let midway = try engine.send(DeviceCommand("read"), to: "fw-1").readings.first { $0.point == "volume" }
            #expect(midway == Reading("volume", .double(600), truth: .double(600)))
            engine.advance(by: .minutes(1))
            try engine.apply(Stimulus("flow-stop"), to: "fw-1")
            let flowing = try #require(try FireWaterTests.emissions(engine, "water-flowing").first)
            #expect(flowing.time.monotonic == FireWaterTests.at(.minutes(1)))
            #expect(flowing.readings == [Reading("flow", .double(10), truth: .double(10)), Reading("cap_open", .bool(true))])
            let stopped = try #require(try FireWaterTests.emissions(engine, "water-stopped").first)
            #expect(stopped.time.monotonic == FireWaterTests.at(.minutes(3)))
            #expect(stopped.readings == [Reading("volume", .double(900), truth: .double(900)), Reading("duration_s", .double(120))],
                    "10 L/s for 60 s, then 5 L/s for 60 s")
            #expect(try FireWaterTests.incidents(engine) == ["cap-open", "water-flowing", "water-stopped"], "a rate change is not a new alarm")
        }

        /// An open outlet draws the pressure down by `flow_pressure_drop` per L/s: a big draw
        /// raises low-pressure (L3107) at the next sample, and closing it clears at the next.
        @Test func heavyFlowDrawsPressureDownToLowPressure() throws {
            let engine = try engine()
            engine.advance(by: .seconds(20))
            try engine.apply(Stimulus("flow-start", arguments: ["rate": .double(25)]), to: "fw-1")
            engine.advance(by: .minutes(2))
            let low = try #require(try FireWaterTests.emissions(engine, "low-pressure").first)
            #expect(low.time.monotonic == FireWaterTests.at(.minutes(1)))
            #expect(low.readings.first == Reading("pressure", .double(0.1), truth: .double(0.1)), "0.35 MPa − 25 L/s × 0.01")
            try engine.apply(Stimulus("flow-stop"), to: "fw-1")
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.incidents(engine) == ["water-flowing", "low-pressure", "water-stopped", "pressure-ok"])
            #expect(try FireWaterTests.emissions(engine, "pressure-ok").first?.time.monotonic == FireWaterTests.at(.minutes(3)))
        }

        /// Low pressure clears only `pressure_hysteresis` above the threshold, and noise at the
        /// threshold (±1 % of 1.6 MPa) does not flap.
        @Test func lowPressureHasHysteresis() throws {
            let engine = try engine()
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.13)]), to: "fw-1")
            engine.advance(by: .minutes(1))
            try engine.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.16)]), to: "fw-1")
            engine.advance(by: .minutes(10))
            #expect(try FireWaterTests.incidents(engine) == ["low-pressure"], "0.16 MPa is inside the 0.03 MPa dead band")
            try engine.apply(Stimulus("restore"), to: "fw-1")
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.incidents(engine) == ["low-pressure", "pressure-ok"])

            func flaps(hysteresis: String) throws -> Int {
                let noisy = try FireWaterTests.engine(kind, ["start_spread": "0s", "pressure_hysteresis": hysteresis])
                try noisy.apply(Stimulus("pressure-set", arguments: ["pressure": .double(0.14)]), to: "fw-1")
                noisy.advance(by: .hours(6))
                return try FireWaterTests.emissions(noisy).filter { $0.name == "low-pressure" || $0.name == "pressure-ok" }.count
            }
            #expect(try flaps(hysteresis: "0.03") == 1)
            #expect(try flaps(hysteresis: "0") > 40)
        }

        /// Telemetry carries every point, pressure within accuracy of the truth; commands are
        /// recorded with their outcomes.
        @Test func telemetryAndCommands() throws {
            let engine = try FireWaterTests.engine(kind, ["report_interval": "1m"])
            engine.advance(by: .hours(6))
            let reports = try FireWaterTests.emissions(engine, "telemetry")
            #expect(reports.first?.readings.map(\.point) == ["pressure", "flow", "volume", "cap_open", "tilt", "battery"])
            #expect(reports.count == 360)
            #expect(reports.allSatisfy { abs((FireWaterTests.value($0, "pressure") ?? 0) - (FireWaterTests.truth($0, "pressure") ?? 1)) <= 0.016 + 1e-4 })

            #expect(try engine.send(DeviceCommand("self-test", id: "h-1"), to: "fw-1") == CommandResult(.accepted, readings: [Reading("passed", .bool(true))]))
            #expect(try engine.send(DeviceCommand("set-thresholds", id: "h-2"), to: "fw-1") == .rejected("set-thresholds needs low"))
            #expect(try engine.send(DeviceCommand("set-thresholds", arguments: ["low": .double(0.5)], id: "h-3"), to: "fw-1")
                == CommandResult(.accepted, readings: [Reading("low", .double(0.5))]))
            engine.advance(by: .minutes(1))
            #expect(try FireWaterTests.emissions(engine, "low-pressure").count == 1)
            let commands = try engine.ledger.records().filter { $0.entry == .command }
            #expect(commands.map(\.messageID) == ["h-1", "h-2", "h-3"])
            #expect(commands.map(\.detail) == ["accepted", "rejected: set-thresholds needs low", "accepted"])
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("flow-start", arguments: ["rate": .double(0)]), to: "fw-1") }
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("impact", arguments: ["tilt": .double(120)]), to: "fw-1") }
        }

        /// The shipped profile loads and drives the same behaviour.
        @Test func shippedProfileLoads() throws {
            let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
            let profile = try ModelProfile.load(file: "/\(directory)/devices/hydrant/acme-hy100.yaml", kinds: try DeviceKindRegistry([kind]))
            #expect(profile.kind == HydrantKind.name)
            let engine = try FireWaterTests.engine(kind, profile.parameters)
            try engine.apply(Stimulus("cap-open"), to: "fw-1")
            try engine.apply(Stimulus("flow-start"), to: "fw-1")
            #expect(try FireWaterTests.incidents(engine) == ["cap-open", "water-flowing"])
        }
    }
}
