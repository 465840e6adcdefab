import Testing
@testable import ParkCore
@testable import ParkDevices

/// Behaviour of the air-quality and noise monitor on the virtual clock (004 L1773–1781,
/// L3896–3910, L5247–5249): truth against measurement, limits, pollution, drift, timing.
@Suite struct EnvironmentSensorTests {
    let kind = EnvironmentSensorKind()
    static let allPoints = ["temperature", "humidity", "pm25", "pm10", "co2", "co", "noise"]

    func engine(_ overrides: [String: String] = [:], seed: UInt64 = 1, ids: [String] = ["env-1"]) throws -> VirtualTimeEngine {
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

    /// `(value, truth)` of `point` in every telemetry record that has it, in order.
    func series(_ engine: VirtualTimeEngine, _ point: String) throws -> [(time: MonotonicInstant, value: Double, truth: Double)] {
        try emissions(engine, "telemetry").compactMap { record in
            guard let reading = record.readings.first(where: { $0.point == point }),
                  let value = reading.value.doubleValue, let truth = reading.truth?.doubleValue else { return nil }
            return (record.time.monotonic, value, truth)
        }
    }

    func at(_ duration: DeviceDuration) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: duration) }

    func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

    func standardDeviation(_ values: [Double]) -> Double {
        let average = mean(values)
        return (values.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    /// With no configured error the instrument reports the truth exactly, for all seven points
    /// in their units (004 L3896, L1773, L5247).
    @Test func zeroErrorReportsTheTruth() throws {
        let engine = try engine()
        engine.advance(by: .hours(6))
        let reports = try emissions(engine, "telemetry")
        #expect(reports.count >= 360)
        #expect(reports.allSatisfy { $0.readings.map(\.point) == Self.allPoints })
        #expect(reports.allSatisfy { $0.readings.allSatisfy { $0.truth != nil && $0.value == $0.truth } })
        let units = Dictionary(uniqueKeysWithValues: kind.descriptor.points.map { ($0.name, $0.unit) })
        #expect(Self.allPoints.map { units[$0] ?? nil } == ["°C", "%RH", "µg/m³", "µg/m³", "ppm", "mg/m³", "dB(A)"])
        let truths = try series(engine, "pm25").map(\.truth)
        #expect(Set(truths).count > 100, "the truth moves: a random walk, not a constant")
    }

    /// A 5 % gain error reads 5 % high on every point, and nowhere else.
    @Test func biasScalesTheMeasurement() throws {
        var overrides: [String: String] = [:]
        for point in Self.allPoints { overrides["\(point)_bias"] = "0.05" }
        let engine = try engine(overrides)
        engine.advance(by: .hours(3))
        for point in Self.allPoints {
            let samples = try series(engine, point)
            #expect(samples.count >= 180)
            let worst = samples.map { abs($0.value - 1.05 * $0.truth) }.max() ?? .infinity
            #expect(worst < 1e-3, "\(point): measured is 1.05 × truth")
        }
        let plain = try self.engine(["pm25_bias": "0.05"])
        plain.advance(by: .hours(1))
        #expect(try series(plain, "pm10").allSatisfy { $0.value == $0.truth }, "a bias on PM2.5 leaves PM10 alone")
    }

    /// Over thousands of samples the measured error has the configured bias and spread, which
    /// is what an accuracy check (≤ ±10 %, 004 L3910) measures a platform against.
    @Test func accuracyStatisticsMatchTheConfiguredError() throws {
        let engine = try engine([
            "pm25_bias": "0.05", "pm25_sigma": "2",
            "temperature_bias": "-0.02", "temperature_sigma": "0.3",
        ])
        engine.advance(by: .days(3))
        let pm25 = try series(engine, "pm25")
        #expect(pm25.count >= 4_320)
        let residual = pm25.map { $0.value - 1.05 * $0.truth }
        #expect(abs(mean(residual)) < 0.15)
        #expect(abs(standardDeviation(residual) - 2) < 0.1)
        let relative = pm25.map { ($0.value - $0.truth) / $0.truth }
        #expect(abs(mean(relative) - 0.05) < 0.005)

        let temperature = try series(engine, "temperature")
        let temperatureResidual = temperature.map { $0.value - 0.98 * $0.truth }
        #expect(abs(mean(temperatureResidual)) < 0.03)
        #expect(abs(standardDeviation(temperatureResidual) - 0.3) < 0.02)

        #expect(try series(engine, "co2").allSatisfy { $0.value == $0.truth }, "other points keep their own (zero) error")
    }

    /// Pollution raises the measured PM above its limit: one over-limit, then limit-ok only when
    /// the value is below the limit by the hysteresis margin (75 → 67.5), not at the limit.
    @Test func overLimitAlarmAndClearWithHysteresis() throws {
        let base = [
            "pm25_background": "5", "pm25_limit": "75", "limit_hysteresis": "0.1",
            "pollution_decay": "30m", "start_spread": "0s", "heartbeat_interval": "10m",
        ]
        func run(_ extra: [String: String]) throws -> VirtualTimeEngine {
            let engine = try self.engine(base.merging(extra) { $1 })
            engine.advance(by: .minutes(10))
            try engine.apply(Stimulus("pollution", arguments: ["pm25": .double(100), "pm10": .double(100), "duration": .string("30m")]), to: "env-1")
            engine.advance(by: .hours(3))
            return engine
        }
        let engine = try run([:])
        let alarms = try emissions(engine, "over-limit")
        let clears = try emissions(engine, "limit-ok")
        #expect(alarms.count == 1)
        #expect(clears.count == 1)
        let alarm = try #require(alarms.first)
        let clear = try #require(clears.first)
        #expect(alarm.time.monotonic == at(.minutes(11)), "the first sample after the pollution arrived")
        #expect(alarm.readings.map(\.point) == ["point", "value", "limit"])
        #expect(alarm.readings[0].value == .string("pm25"))
        #expect(alarm.readings[2].value == .double(75))
        let alarmValue = try #require(alarm.readings[1].value.doubleValue)
        #expect(alarmValue > 75)
        #expect(alarm.readings[1].truth != nil)
        let clearValue = try #require(clear.readings[1].value.doubleValue)
        #expect(clearValue <= 67.5)

        let between = try series(engine, "pm25").filter { $0.time >= alarm.time.monotonic && $0.time < clear.time.monotonic }
        #expect(between.allSatisfy { $0.value > 67.5 })
        #expect(between.contains { $0.value <= 75 }, "values at or below the limit but inside the margin do not clear")
        #expect(try emissions(engine, "heartbeat").contains { $0.readings == [Reading("status", .string("over-limit"))] })

        let noMargin = try run(["limit_hysteresis": "0"])
        let earlyClear = try #require(try emissions(noMargin, "limit-ok").first)
        #expect(earlyClear.time.monotonic < clear.time.monotonic, "without hysteresis the alarm clears at the limit")
    }

    /// A pollution episode adds its PM for its duration, then fades with pollution_decay back to
    /// the background; the measurement follows.
    @Test func pollutionRaisesParticlesAndDecays() throws {
        let engine = try engine(["pm25_background": "5", "pollution_decay": "10m", "start_spread": "0s"])
        engine.advance(by: .hours(1))
        try engine.apply(Stimulus("pollution", arguments: [
            "pm25": .double(100), "pm10": .double(150), "co": .double(5), "duration": .int(1_800_000_000_000),
        ]), to: "env-1")
        engine.advance(by: .hours(4))
        let pm25 = try series(engine, "pm25")
        let pm10 = try series(engine, "pm10")
        let co = try series(engine, "co")
        func window(_ samples: [(time: MonotonicInstant, value: Double, truth: Double)], after: DeviceDuration, upTo: DeviceDuration) -> [Double] {
            samples.filter { $0.time > at(after) && $0.time <= at(upTo) }.map(\.truth)
        }
        let background = 2.0...8.0  // pm25_background ± 60 %
        #expect(window(pm25, after: .zero, upTo: .hours(1)).allSatisfy { background.contains($0) })
        let peak = window(pm25, after: .hours(1), upTo: .minutes(90))
        #expect(peak.count == 30)
        #expect(peak.allSatisfy { (102...108).contains($0) })
        #expect(window(pm10, after: .hours(1), upTo: .minutes(90)).allSatisfy { $0 >= 150 + 2 })
        #expect(window(co, after: .hours(1), upTo: .minutes(90)).allSatisfy { $0 >= 5 })
        // One time constant after the peak 1/e of it is left.
        let oneTau = try #require(pm25.first { $0.time == at(.minutes(100)) })
        #expect((2 + 36.7)...(8 + 36.8) ~= oneTau.truth)
        #expect(window(pm25, after: .hours(4), upTo: .hours(5)).allSatisfy { (2.0...8.01).contains($0) }, "back to the background")
        #expect(pm25.allSatisfy { $0.value == $0.truth })
    }

    /// A drift stimulus skews one sensor (at once or over a ramp) until calibrate zeroes it;
    /// the factory bias stays. Auto-zero (004 L3904) does the same on its own.
    @Test func driftAndCalibrate() throws {
        let engine = try engine(["pm25_bias": "0.05", "start_spread": "0s"])
        engine.advance(by: .minutes(30))
        try engine.apply(Stimulus("drift", arguments: ["point": .string("pm25"), "fraction": .double(0.2)]), to: "env-1")
        try engine.apply(Stimulus("drift", arguments: ["point": .string("co"), "fraction": .double(0.1), "over": .string("1h")]), to: "env-1")
        engine.advance(by: .minutes(30))
        let pm25 = try #require(try series(engine, "pm25").last)
        #expect(abs(pm25.value - 1.25 * pm25.truth) < 1e-3, "bias 5 % + drift 20 %")
        let co = try #require(try series(engine, "co").last)
        #expect(abs(co.value - 1.05 * co.truth) < 1e-3, "halfway up a 1 h ramp to 10 %")
        engine.advance(by: .minutes(45))

        let result = try engine.send(DeviceCommand("calibrate", arguments: ["point": .string("pm25")]), to: "env-1")
        #expect(result == CommandResult(.accepted, readings: [Reading("pm25_drift", .double(0.2))]))
        engine.advance(by: .minutes(5))
        let afterPM25 = try #require(try series(engine, "pm25").last)
        #expect(abs(afterPM25.value - 1.05 * afterPM25.truth) < 1e-3, "drift gone, bias kept")
        let stillDrifting = try #require(try series(engine, "co").last)
        #expect(abs(stillDrifting.value - 1.1 * stillDrifting.truth) < 1e-3, "calibrating pm25 leaves co alone")

        let all = try engine.send(DeviceCommand("calibrate"), to: "env-1")
        #expect(all.readings.map(\.point) == Self.allPoints.map { "\($0)_drift" })
        #expect(all.readings.first { $0.point == "co_drift" }?.value == .double(0.1))
        let events = try emissions(engine, "calibrated")
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0.readings.first == Reading("source", .string("command")) })
        engine.advance(by: .minutes(5))
        #expect(try series(engine, "co").suffix(5).allSatisfy { $0.value == $0.truth })

        let auto = try self.engine(["auto_zero_interval": "6h", "start_spread": "0s"])
        auto.advance(by: .hours(1))
        try auto.apply(Stimulus("drift", arguments: ["point": .string("noise"), "fraction": .double(-0.1)]), to: "env-1")
        auto.advance(by: .hours(6))
        let zeroings = try emissions(auto, "calibrated")
        #expect(zeroings.map(\.time.monotonic) == [at(.zero), at(.hours(6))])
        #expect(zeroings.last?.readings.contains(Reading("noise_drift", .double(-0.1))) == true)
        #expect(zeroings.last?.readings.first == Reading("source", .string("auto")))
        let noise = try series(auto, "noise")
        #expect(noise.filter { $0.time > at(.hours(1)) && $0.time < at(.hours(6)) }.allSatisfy { abs($0.value - 0.9 * $0.truth) < 1e-3 })
        #expect(noise.filter { $0.time > at(.hours(6)) }.allSatisfy { $0.value == $0.truth })
    }

    /// Telemetry every report_interval and heartbeats every heartbeat_interval after a random
    /// phase; a model's `points` decide what telemetry carries.
    @Test func telemetryAndHeartbeatTiming() throws {
        let engine = try engine(["heartbeat_interval": "10m", "report_interval": "30s"], ids: ["env-1", "env-2"])
        engine.advance(by: .hours(2))
        for id in ["env-1", "env-2"] {
            let reports = try emissions(engine, "telemetry").filter { $0.deviceID == id }.map(\.time.monotonic.nanoseconds)
            #expect(reports.count == 240)
            #expect(zip(reports, reports.dropFirst()).allSatisfy { $1 - $0 == 30_000_000_000 })
            let heartbeats = try emissions(engine, "heartbeat").filter { $0.deviceID == id }
            #expect(heartbeats.count == 12)
            #expect(heartbeats.allSatisfy { $0.readings == [Reading("status", .string("normal"))] })
        }
        let firsts = try Set(["env-1", "env-2"].map { id in try emissions(engine, "telemetry").first { $0.deviceID == id }!.time })
        #expect(firsts.count == 2, "devices start at different phases")

        let indoor = try self.engine(["points": "co2, temperature,pm25", "start_spread": "0s", "report_interval": "5m"])
        indoor.advance(by: .hours(1))
        let reports = try emissions(indoor, "telemetry")
        #expect(reports.map(\.time.monotonic) == (0...12).map { at(.minutes(5 * $0)) })
        #expect(reports.allSatisfy { $0.readings.map(\.point) == ["temperature", "pm25", "co2"] })
    }

    /// PM10 never reads below PM2.5, in truth or in measurement, however the two channels err
    /// and whatever pollution does.
    @Test func pm10IsNeverBelowPM25() throws {
        let engine = try engine([
            "pm10_ratio": "1", "pm25_bias": "0.3", "pm10_bias": "-0.3", "pm25_sigma": "20", "pm10_sigma": "20",
            "pollution_decay": "20m",
        ])
        for hour in stride(from: 2, to: 48, by: 6) {
            engine.advance(to: at(.hours(UInt64(hour))))
            try engine.apply(Stimulus("pollution", arguments: ["pm25": .double(80), "pm10": .double(80), "duration": .string("1h")]), to: "env-1")
        }
        engine.advance(to: at(.hours(48)))
        let reports = try emissions(engine, "telemetry")
        #expect(reports.count >= 2_800)
        for report in reports {
            let pm25 = try #require(report.readings.first { $0.point == "pm25" })
            let pm10 = try #require(report.readings.first { $0.point == "pm10" })
            #expect(pm10.value.doubleValue! >= pm25.value.doubleValue!)
            #expect(pm10.truth!.doubleValue! >= pm25.truth!.doubleValue!)
        }
        #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("pollution", arguments: ["pm25": .double(80), "pm10": .double(40)]), to: "env-1")
        }
    }

    /// A failed sensor (004 L3936) leaves telemetry and the limit checks until repaired.
    @Test func sensorFaultDropsThePoint() throws {
        let engine = try engine(["start_spread": "0s", "heartbeat_interval": "10m"])
        engine.advance(by: .minutes(5))
        try engine.apply(Stimulus("fault", arguments: ["point": .string("co"), "code": .string("cell-expired")]), to: "env-1")
        try engine.apply(Stimulus("fault", arguments: ["point": .string("co")]), to: "env-1")
        engine.advance(by: .minutes(10))
        try engine.apply(Stimulus("fault-clear"), to: "env-1")
        engine.advance(by: .minutes(5))
        #expect(try emissions(engine, "fault").map(\.readings) == [[Reading("point", .string("co")), Reading("code", .string("cell-expired"))]])
        #expect(try emissions(engine, "fault-clear").map(\.readings) == [[Reading("point", .string("co"))]])
        let reports = try emissions(engine, "telemetry")
        let during = reports.filter { $0.time.monotonic > at(.minutes(5)) && $0.time.monotonic <= at(.minutes(15)) }
        #expect(during.count == 10)
        #expect(during.allSatisfy { !$0.readings.map(\.point).contains("co") && $0.readings.count == 6 })
        #expect(reports.last?.readings.count == 7)
        #expect(try emissions(engine, "heartbeat").map { $0.readings.first?.value } == [.string("normal"), .string("fault"), .string("normal")])
    }

    /// A power cut silences the station; on power-on its timers restart at a fresh phase and
    /// the timers from before the cut do nothing (no doubled reports).
    @Test func powerCutSilencesAndRestarts() throws {
        let engine = try engine(["start_spread": "0s", "heartbeat_interval": "1h"])
        engine.advance(by: .seconds(630))
        try engine.apply(Stimulus("power-off"), to: "env-1")
        engine.advance(by: .seconds(5))
        #expect(try engine.send(DeviceCommand("read"), to: "env-1") == .rejected("powered off"))
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("power-on"), to: "env-1")
        try engine.apply(Stimulus("power-on"), to: "env-1")
        engine.advance(by: .seconds(600))
        let reports = try emissions(engine, "telemetry").map(\.time.monotonic)
        #expect(reports.filter { $0 <= at(.seconds(630)) }.count == 11)
        #expect(reports.filter { $0 > at(.seconds(630)) } == (0..<11).map { at(.seconds(645 + 60 * $0)) })
        #expect(try emissions(engine, "heartbeat").map(\.time.monotonic) == [at(.zero), at(.seconds(645))])
    }

    /// Platform commands: set-limit (004 L3906, L3918), read, calibrate; bad ones are refused.
    @Test func commands() throws {
        let engine = try engine(["points": "pm25,pm10", "start_spread": "0s"])
        #expect(try engine.send(DeviceCommand("set-limit", arguments: ["point": .string("pm25"), "limit": .double(1)]), to: "env-1")
            == CommandResult(.accepted, readings: [Reading("point", .string("pm25")), Reading("limit", .double(1))]))
        #expect(try engine.send(DeviceCommand("set-limit", arguments: ["point": .string("co2"), "limit": .double(900)]), to: "env-1")
            == .rejected("point must be one this model measures: pm25, pm10"))
        #expect(try engine.send(DeviceCommand("set-limit", arguments: ["point": .string("pm10"), "limit": .double(5_000)]), to: "env-1")
            == .rejected("limit for pm10 must be a number from 1 to 2000 µg/m³"))
        engine.advance(by: .minutes(1))
        let alarm = try #require(try emissions(engine, "over-limit").first)
        #expect(alarm.readings.first == Reading("point", .string("pm25")))
        #expect(alarm.readings.last == Reading("limit", .double(1)))

        let read = try engine.send(DeviceCommand("read"), to: "env-1")
        #expect(read.outcome == .accepted)
        #expect(read.readings.map(\.point) == ["pm25", "pm10"])
        #expect(read.readings.allSatisfy { $0.truth != nil })
        #expect(try engine.send(DeviceCommand("calibrate", arguments: ["point": .string("noise")]), to: "env-1").outcome
            == .rejected(reason: "point must be one this model measures: pm25, pm10"))
        #expect(try engine.send(DeviceCommand("reboot"), to: "env-1") == .rejected("unknown command 'reboot'"))
        #expect(try emissions(engine, "telemetry").count == 2, "read sends no telemetry")
    }

    @Test func badStimuliAreRefused() throws {
        let engine = try engine(["points": "pm25,pm10"])
        let refused: [Stimulus] = [
            Stimulus("flood"),
            Stimulus("drift", arguments: ["fraction": .double(0.1)]),
            Stimulus("drift", arguments: ["point": .string("ozone"), "fraction": .double(0.1)]),
            Stimulus("drift", arguments: ["point": .string("co"), "fraction": .double(0.1)]),
            Stimulus("drift", arguments: ["point": .string("pm25"), "fraction": .double(-1)]),
            Stimulus("drift", arguments: ["point": .string("pm25"), "fraction": .double(0.1), "over": .string("soon")]),
            Stimulus("pollution", arguments: ["pm25": .double(-5)]),
            Stimulus("pollution", arguments: ["duration": .double(5)]),
            Stimulus("fault"),
        ]
        for stimulus in refused {
            #expect(throws: EngineError.self, "\(stimulus.name) \(stimulus.arguments)") { try engine.apply(stimulus, to: "env-1") }
        }
    }

    /// A model that names a point the kind does not have cannot be created.
    @Test func unknownPointInProfileIsRefused() throws {
        #expect(throws: EngineError.self) { try engine(["points": "pm25,ozone"]) }
        #expect(throws: EngineError.self) { try engine(["points": " , "]) }
    }

    /// The two shipped models: the outdoor station keeps PM within ±10 % of the truth
    /// (004 L3910) on all seven points; the cheap indoor sensor has five points and does not.
    @Test func shippedProfilesDiffer() throws {
        let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        let registry = try DeviceKindRegistry([kind])
        func run(_ model: String) throws -> VirtualTimeEngine {
            let profile = try ModelProfile.load(file: "/\(directory)/devices/environment-sensor/\(model).yaml", kinds: registry)
            #expect(profile.kind == EnvironmentSensorKind.name)
            let engine = try engine(profile.parameters)
            engine.advance(by: .days(2))
            return engine
        }
        func withinTenPercent(_ engine: VirtualTimeEngine, _ point: String) throws -> Double {
            let samples = try series(engine, point)
            return Double(samples.filter { abs($0.value - $0.truth) <= 0.1 * $0.truth }.count) / Double(samples.count)
        }
        let outdoor = try run("skyline-ems7")
        #expect(try emissions(outdoor, "telemetry").last?.readings.map(\.point) == Self.allPoints)
        #expect(try withinTenPercent(outdoor, "pm25") > 0.95)
        #expect(try withinTenPercent(outdoor, "pm10") > 0.95)
        let indoor = try run("breeze-iq5")
        #expect(try emissions(indoor, "telemetry").last?.readings.map(\.point) == ["temperature", "humidity", "pm25", "pm10", "co2"])
        #expect(try withinTenPercent(indoor, "pm25") < 0.6)
        #expect(try emissions(indoor, "over-limit").contains { $0.readings.first?.value == .string("co2") },
            "an occupied office passes 1000 ppm CO2 in the afternoon")
    }

    /// One seed gives one run, byte for byte; and a device's behaviour does not change when
    /// others join the park.
    @Test func runsAreReproducibleAndDevicesIndependent() throws {
        func run(_ ids: [String], seed: UInt64) throws -> [LedgerRecord] {
            let engine = try engine(["pm25_sigma": "3", "co2_sigma": "20", "report_interval": "30s", "heartbeat_interval": "5m"], seed: seed, ids: ids)
            engine.advance(by: .minutes(30))
            try engine.apply(Stimulus("pollution", arguments: ["pm25": .double(200)]), to: "env-1")
            engine.advance(by: .minutes(30))
            _ = try engine.send(DeviceCommand("read"), to: "env-1")
            engine.advance(by: .minutes(30))
            return try engine.ledger.records()
        }
        let first = try run(["env-1", "env-2"], seed: 7).map(\.jsonLine)
        let second = try run(["env-1", "env-2"], seed: 7).map(\.jsonLine)
        #expect(first == second)
        #expect(first != (try run(["env-1", "env-2"], seed: 8).map(\.jsonLine)))

        func strip(_ records: [LedgerRecord]) -> [String] {
            records.filter { $0.deviceID == "env-1" }.map { var copy = $0; copy.order = 0; return copy.jsonLine }
        }
        let alone = strip(try run(["env-1"], seed: 7))
        let crowded = strip(try run(["env-0", "env-1", "env-2", "env-3"], seed: 7))
        #expect(alone == crowded)
        #expect(alone.count > 180)
    }
}
