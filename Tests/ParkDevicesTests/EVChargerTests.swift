import Testing
@testable import ParkCore
@testable import ParkDevices

/// EV chargers on the virtual clock (004 L2156–2160, L2209–2224, L2295–2305): OCPP 1.6
/// connector statuses in the order a real charger makes them, sessions with an energy register
/// that integrates the charging curve, limits, faults, power loss and the commands' answers. The
/// emission names and readings are the OCPP binding's contract, so they are pinned exactly.
@Suite struct EVChargerTests {
    let kind = EVChargerKind()

    func engine(_ overrides: [String: String] = [:], id: String = "evc-1") throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
        try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 1))))
        engine.start()
        return engine
    }

    func emissions(_ engine: VirtualTimeEngine, _ name: String? = nil) throws -> [LedgerRecord] {
        try engine.ledger.records().filter { $0.entry == .emission && (name == nil || $0.name == name) }
    }

    func value(_ record: LedgerRecord?, _ point: String) -> PointValue? {
        record?.readings.first { $0.point == point }?.value
    }

    func number(_ record: LedgerRecord?, _ point: String) -> Double {
        value(record, point)?.doubleValue ?? .nan
    }

    /// The statuses reported for one connector, in order.
    func statuses(_ engine: VirtualTimeEngine, connector: Int64 = 1) throws -> [String] {
        try emissions(engine, "status").filter { value($0, "connector") == .int(connector) }.map { value($0, "status")?.description ?? "" }
    }

    func at(_ duration: DeviceDuration) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: duration) }

    func plugIn(_ engine: VirtualTimeEngine, connector: Int64 = 1, soc: Double = 20, batteryKWh: Double = 60) throws {
        try engine.apply(Stimulus("plug-in", arguments: ["connector": .int(connector), "soc": .double(soc), "battery_kwh": .double(batteryKWh)]), to: "evc-1")
    }

    func remoteStart(_ engine: VirtualTimeEngine, _ idTag: String = "TAG-1", connector: Int64? = nil) throws -> CommandResult {
        var arguments: [String: PointValue] = ["id_tag": .string(idTag)]
        if let connector { arguments["connector"] = .int(connector) }
        return try engine.send(DeviceCommand("remote-start", arguments: arguments), to: "evc-1")
    }

    /// Plug-in, remote start, meter values every interval whose energy is ∫power (exact on the
    /// flat part of the curve), remote stop, unplug: Available → Preparing → Charging →
    /// Finishing → Available, and the session's figures agree with each other.
    @Test func fullSession() throws {
        let engine = try engine()
        #expect(try emissions(engine, "status").map(\.readings) == [
            [Reading("connector", .int(0)), Reading("status", .string("Available")), Reading("error_code", .string("NoError"))],
            [Reading("connector", .int(1)), Reading("status", .string("Available")), Reading("error_code", .string("NoError"))],
        ])
        engine.advance(by: .seconds(10))
        try plugIn(engine)
        let start = try remoteStart(engine)
        #expect(start == CommandResult(.accepted, readings: [Reading("connector", .int(1)), Reading("session", .int(1))]))
        let sessionStart = try #require(try emissions(engine, "session-start").first)
        #expect(sessionStart.readings == [
            Reading("connector", .int(1)), Reading("session", .int(1)), Reading("id_tag", .string("TAG-1")), Reading("meter_start_wh", .int(0)),
        ])
        #expect(try emissions(engine).map(\.name).suffix(4) == ["status", "session-start", "status", "meter"])

        engine.advance(by: .seconds(1830))
        let meters = try emissions(engine, "meter")
        #expect(meters.count == 31, "one at the start, then every 60 s for 1830 s")
        for (index, meter) in meters.enumerated() {
            let elapsed = meter.time.monotonic.duration(since: at(.seconds(10))).seconds
            #expect(elapsed == Double(index * 60))
            let expected = 7400 * elapsed / 3600
            #expect(abs(number(meter, "session_wh") - expected) <= max(0.005 * expected, 1e-3), "∫power at \(elapsed) s")
            #expect(number(meter, "energy_wh") == number(meter, "session_wh"))
            #expect(number(meter, "power_w") == 7400)
            #expect(abs(number(meter, "current_a") - 7400.0 / 230) < 1e-3)
            #expect(number(meter, "voltage_v") == 230)
            #expect(abs(number(meter, "soc") - (20 + expected / 60_000 * 100)) < 1e-3)
            #expect(value(meter, "session") == .int(1))
        }
        #expect(zip(meters, meters.dropFirst()).allSatisfy { number($0, "energy_wh") < number($1, "energy_wh") }, "the register only rises")

        let stop = try engine.send(DeviceCommand("remote-stop", arguments: ["session": .int(1)]), to: "evc-1")
        #expect(stop == CommandResult(.accepted, readings: [Reading("connector", .int(1)), Reading("session", .int(1))]))
        let expectedWh = 7400.0 * 1830 / 3600
        let sessionStop = try #require(try emissions(engine, "session-stop").first)
        #expect(value(sessionStop, "reason") == .string("Remote"))
        #expect(value(sessionStop, "meter_stop_wh") == .int(Int64(expectedWh.rounded())))
        #expect(abs(number(sessionStop, "session_wh") - expectedWh) < 1e-3)
        #expect(value(sessionStop, "id_tag") == .string("TAG-1"))
        #expect(try emissions(engine, "meter").count == 32, "a last meter value at the stop")
        engine.advance(by: .minutes(5))
        #expect(try emissions(engine, "meter").count == 32, "no meter values after the session")

        try engine.apply(Stimulus("unplug"), to: "evc-1")
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Finishing", "Available"])
        #expect(try statuses(engine, connector: 0) == ["Available"])
        #expect(try emissions(engine, "status").allSatisfy { $0.channel == .event })

        // The next session has the next number and starts at the register where the last ended.
        try plugIn(engine)
        _ = try remoteStart(engine)
        let second = try #require(try emissions(engine, "session-start").last)
        #expect(value(second, "session") == .int(2))
        #expect(value(second, "meter_start_wh") == .int(Int64(expectedWh.rounded())))
    }

    /// Above taper_soc the power falls linearly toward 10 % of maximum; at 100 % it is 0 and the
    /// connector is SuspendedEV, with exactly the battery's missing energy delivered.
    @Test func taperAndSuspendedEVWhenFull() throws {
        let engine = try engine()
        try plugIn(engine, soc: 70, batteryKWh: 10)
        _ = try remoteStart(engine)
        engine.advance(by: .hours(2))
        let meters = try emissions(engine, "meter")
        let tapering = meters.filter { (80.5 ..< 99.5).contains(number($0, "soc")) }
        #expect(tapering.count >= 10)
        for meter in tapering {
            let soc = number(meter, "soc")
            // The reported SoC is rounded to 1e-4 %, and the taper falls 333 W per %: 0.04 W.
            #expect(abs(number(meter, "power_w") - 7400 * (1 - 0.9 * (soc - 80) / 20)) < 0.05, "the curve at \(soc) %")
        }
        #expect(zip(tapering, tapering.dropFirst()).allSatisfy { number($0, "power_w") > number($1, "power_w") })
        let last = try #require(meters.last)
        #expect(number(last, "soc") == 100)
        #expect(number(last, "power_w") == 0)
        #expect(abs(number(last, "session_wh") - 3000) < 1e-6, "30 % of 10 kWh, not a watt-hour more")
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "SuspendedEV"])
        // Flat to 80 % (486 s), then x(t) = 20·(1 − e^(−0.045·74·t/h))/0.9… reaches 100 % after
        // ln(10)/(0.045·74) h ≈ 41.5 min: full near 49.6 min, seen at the next meter sample.
        let suspended = try #require(try emissions(engine, "status").last)
        let minutes = suspended.time.monotonic.duration(since: .zero).seconds / 60
        #expect((48 ... 51).contains(minutes), "\(minutes) min")
    }

    /// A connector limit caps the power the meter shows; 0 suspends charging (SuspendedEVSE)
    /// without adding energy; lifting it resumes; a station limit is shared equally.
    @Test func chargingLimitShowsInPower() throws {
        let engine = try engine(["connectors": "2"])
        try plugIn(engine, connector: 1)
        try plugIn(engine, connector: 2)
        _ = try remoteStart(engine, "A", connector: 1)
        _ = try remoteStart(engine, "B", connector: 2)
        let limited = try engine.send(DeviceCommand("set-charging-limit", arguments: ["connector": .int(1), "limit_w": .double(3000)]), to: "evc-1")
        #expect(limited == CommandResult(.accepted, readings: [Reading("connector", .int(1)), Reading("limit_w", .double(3000))]))
        engine.advance(by: .seconds(60))
        func lastMeter(_ connector: Int64) throws -> LedgerRecord? { try emissions(engine, "meter").last { value($0, "connector") == .int(connector) } }
        #expect(number(try lastMeter(1), "power_w") == 3000)
        #expect(abs(number(try lastMeter(1), "session_wh") - 50) < 1e-6, "3 kW for a minute")
        #expect(number(try lastMeter(2), "power_w") == 7400)

        _ = try engine.send(DeviceCommand("set-charging-limit", arguments: ["connector": .int(1), "limit_w": .double(0)]), to: "evc-1")
        engine.advance(by: .seconds(120))
        #expect(number(try lastMeter(1), "power_w") == 0)
        #expect(abs(number(try lastMeter(1), "session_wh") - 50) < 1e-6, "nothing flows while suspended")
        _ = try engine.send(DeviceCommand("clear-charging-limit", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(try statuses(engine, connector: 1) == ["Available", "Preparing", "Charging", "SuspendedEVSE", "Charging"])

        _ = try engine.send(DeviceCommand("set-charging-limit", arguments: ["connector": .int(0), "limit_w": .double(8000)]), to: "evc-1")
        engine.advance(by: .seconds(60))
        #expect(number(try lastMeter(1), "power_w") == 4000)
        #expect(number(try lastMeter(2), "power_w") == 4000)
        #expect(try engine.send(DeviceCommand("set-charging-limit", arguments: ["connector": .int(3), "limit_w": .double(1)]), to: "evc-1")
            == .rejected("command 'set-charging-limit' argument 'connector' must be a number from 0 to 2 (its connectors, 0 for the station), got 3"))
    }

    /// A remote start's own limit (its TxProfile) holds for that session only; a new meter
    /// interval (ChangeConfiguration) takes effect one new interval after it is set.
    @Test func remoteStartLimitAndMeterInterval() throws {
        let engine = try engine()
        let start = try engine.send(DeviceCommand("remote-start", arguments: ["id_tag": .string("T"), "limit_w": .int(2000)]), to: "evc-1")
        #expect(start == CommandResult(.accepted, readings: [Reading("connector", .int(1))]))
        try plugIn(engine)
        #expect(number(try emissions(engine, "meter").last, "power_w") == 2000)
        engine.advance(by: .seconds(30))
        let changed = try engine.send(DeviceCommand("set-meter-interval", arguments: ["seconds": .int(10)]), to: "evc-1")
        #expect(changed == CommandResult(.accepted, readings: [Reading("seconds", .double(10))]))
        engine.advance(by: .seconds(35))
        #expect(try emissions(engine, "meter").map { $0.time.monotonic.duration(since: .zero).seconds } == [0, 40, 50, 60],
                "the 60 s sample is superseded by the 10 s chain")
        _ = try engine.send(DeviceCommand("remote-stop", arguments: ["connector": .int(1)]), to: "evc-1")
        try engine.apply(Stimulus("unplug"), to: "evc-1")
        try plugIn(engine)
        _ = try remoteStart(engine)
        #expect(number(try emissions(engine, "meter").last, "power_w") == 7400, "the limit ended with its session")
        engine.advance(by: .seconds(10))
        #expect(try emissions(engine, "meter").last?.time.monotonic == at(.seconds(75)), "a new session samples at the new interval")
    }

    /// A ground fault mid-session alarms, stops the session (Other) and faults the connector;
    /// fault-clear brings it back to Preparing with the EV still plugged.
    @Test func faultMidSession() throws {
        let engine = try engine()
        try plugIn(engine)
        _ = try remoteStart(engine)
        engine.advance(by: .seconds(90))
        try engine.apply(Stimulus("ground-fault", arguments: ["connector": .int(1)]), to: "evc-1")
        let fault = try #require(try emissions(engine, "ground-fault").first)
        #expect(fault.channel == .event)
        #expect(fault.readings == [Reading("connector", .int(1)), Reading("error_code", .string("GroundFailure"))])
        #expect(kind.descriptor.events.first { $0.name == "ground-fault" }?.severity == .alarm)
        #expect(value(try emissions(engine, "session-stop").first, "reason") == .string("Other"))
        let faulted = try #require(try emissions(engine, "status").last)
        #expect(faulted.readings == [Reading("connector", .int(1)), Reading("status", .string("Faulted")), Reading("error_code", .string("GroundFailure"))])
        #expect(try emissions(engine).map(\.name).suffix(4) == ["ground-fault", "meter", "session-stop", "status"])
        #expect(try remoteStart(engine, connector: 1) == .rejected("connector 1 is Faulted"))
        #expect(try remoteStart(engine) == .rejected("no connector is Available or Preparing"))

        try engine.apply(Stimulus("fault-clear", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(try emissions(engine, "fault-clear").map(\.readings) == [[Reading("connector", .int(1))]])
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Faulted", "Preparing"])
    }

    /// Power loss: offline (status channel), silence and refused commands; on restore: online,
    /// the cut session stopped with PowerLoss at the register as it was, every status again.
    @Test func powerLossAndRestore() throws {
        let engine = try engine()
        try plugIn(engine)
        _ = try remoteStart(engine)
        engine.advance(by: .seconds(600))
        try engine.apply(Stimulus("power-loss"), to: "evc-1")
        let registerAtLoss = 7400.0 * 600 / 3600
        let offline = try #require(try emissions(engine, "offline").first)
        #expect(offline.channel == .status)
        #expect(offline.readings == [Reading("reason", .string("power-loss"))])
        #expect(try remoteStart(engine) == .rejected("the station has no power"))
        let before = try emissions(engine).count
        engine.advance(by: .minutes(10))
        #expect(try emissions(engine).count == before, "a station without power says nothing")

        try engine.apply(Stimulus("power-restore"), to: "evc-1")
        #expect(try emissions(engine).dropFirst(before).map(\.name) == ["online", "session-stop", "status", "status"])
        #expect(try emissions(engine, "online").first?.channel == .status)
        let stop = try #require(try emissions(engine, "session-stop").first)
        #expect(value(stop, "reason") == .string("PowerLoss"))
        #expect(value(stop, "meter_stop_wh") == .int(Int64(registerAtLoss.rounded())))
        #expect(abs(number(stop, "session_wh") - registerAtLoss) < 1e-3)
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Finishing"])
        #expect(try statuses(engine, connector: 0) == ["Available", "Available"])
    }

    /// A remote start with no EV waits connection_timeout for a plug (Preparing), then lapses
    /// back to Available; a plug within the timeout starts the session with the remote id tag.
    @Test func remoteStartWaitsForAPlugThenTimesOut() throws {
        let engine = try engine(["connection_timeout": "60s"])
        #expect(try remoteStart(engine, "R-1") == CommandResult(.accepted, readings: [Reading("connector", .int(1))]))
        engine.advance(by: .seconds(59))
        #expect(try statuses(engine) == ["Available", "Preparing"])
        engine.advance(by: .seconds(1))
        #expect(try statuses(engine) == ["Available", "Preparing", "Available"])
        #expect(try emissions(engine, "status").last?.time.monotonic == at(.seconds(60)))
        #expect(try emissions(engine, "session-start").isEmpty)

        _ = try remoteStart(engine, "R-2")
        engine.advance(by: .seconds(30))
        try plugIn(engine)
        #expect(value(try emissions(engine, "session-start").first, "id_tag") == .string("R-2"))
        engine.advance(by: .seconds(60))
        #expect(try statuses(engine) == ["Available", "Preparing", "Available", "Preparing", "Charging"], "the lapsed timer of the first start does not fire")
    }

    /// A swiped card asks the platform (authorize); an accepted answer starts the session, a
    /// swipe of the same card stops it (Local), a refused one changes nothing.
    @Test func swipeAuthorizeAndLocalStop() throws {
        let engine = try engine()
        try plugIn(engine)
        try engine.apply(Stimulus("swipe", arguments: ["id_tag": .string("CARD-9")]), to: "evc-1")
        #expect(try emissions(engine, "authorize").map(\.readings) == [[Reading("connector", .int(1)), Reading("id_tag", .string("CARD-9"))]])
        let refused = try engine.send(DeviceCommand("authorized", arguments: ["connector": .int(1), "id_tag": .string("CARD-9"), "accepted": .bool(false)]), to: "evc-1")
        #expect(refused.outcome == .accepted)
        #expect(try emissions(engine, "session-start").isEmpty)
        #expect(try engine.send(DeviceCommand("authorized", arguments: ["connector": .int(1), "id_tag": .string("CARD-9"), "accepted": .bool(true)]), to: "evc-1")
            == .rejected("no authorization is pending for 'CARD-9' on connector 1"))

        try engine.apply(Stimulus("swipe", arguments: ["id_tag": .string("CARD-9")]), to: "evc-1")
        let accepted = try engine.send(DeviceCommand("authorized", arguments: ["connector": .int(1), "id_tag": .string("CARD-9"), "accepted": .bool(true)]), to: "evc-1")
        #expect(accepted == CommandResult(.accepted, readings: [Reading("connector", .int(1)), Reading("session", .int(1))]))
        engine.advance(by: .minutes(5))
        try engine.apply(Stimulus("swipe", arguments: ["id_tag": .string("OTHER")]), to: "evc-1")
        #expect(try emissions(engine, "session-stop").isEmpty, "another card cannot end the session")
        try engine.apply(Stimulus("swipe", arguments: ["id_tag": .string("CARD-9")]), to: "evc-1")
        #expect(value(try emissions(engine, "session-stop").first, "reason") == .string("Local"))
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Finishing"])
    }

    /// Pulling the cable mid-session ends it (EVDisconnected) and frees the connector at once.
    @Test func unplugDuringSession() throws {
        let engine = try engine()
        try plugIn(engine)
        _ = try remoteStart(engine)
        engine.advance(by: .seconds(30))
        try engine.apply(Stimulus("unplug"), to: "evc-1")
        #expect(value(try emissions(engine, "session-stop").first, "reason") == .string("EVDisconnected"))
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Available"])
    }

    /// Inoperative with a session running is Scheduled and applied when the session ends;
    /// without one it is Accepted at once; operative brings the connector back.
    @Test func changeAvailabilityScheduled() throws {
        let engine = try engine()
        try plugIn(engine)
        _ = try remoteStart(engine)
        let scheduled = try engine.send(DeviceCommand("change-availability", arguments: ["connector": .int(0), "operative": .bool(false)]), to: "evc-1")
        #expect(scheduled == CommandResult(.accepted, readings: [Reading("connector", .int(0)), Reading("status", .string("Scheduled"))]))
        #expect(try statuses(engine).last == "Charging")
        _ = try engine.send(DeviceCommand("remote-stop", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "Unavailable"])
        #expect(try statuses(engine, connector: 0) == ["Available", "Unavailable"])
        #expect(try remoteStart(engine, connector: 1) == .rejected("connector 1 is Unavailable"))

        let back = try engine.send(DeviceCommand("change-availability", arguments: ["connector": .int(0), "operative": .bool(true)]), to: "evc-1")
        #expect(back == CommandResult(.accepted, readings: [Reading("connector", .int(0)), Reading("status", .string("Accepted"))]))
        #expect(try statuses(engine).last == "Finishing", "the EV is still plugged after its session")
        try engine.apply(Stimulus("unplug"), to: "evc-1")
        let now = try engine.send(DeviceCommand("change-availability", arguments: ["connector": .int(1), "operative": .bool(false)]), to: "evc-1")
        #expect(now.readings.last == Reading("status", .string("Accepted")))
        #expect(try statuses(engine).suffix(2) == ["Available", "Unavailable"])
        let bad = try engine.send(DeviceCommand("change-availability", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(bad == CommandResult(.rejected(reason: "command 'change-availability' needs argument 'operative' (true or false)"),
                                     readings: [Reading("status", .string("Rejected"))]))
    }

    /// Inoperative while a remote start waits for its plug (Preparing) drops the start and goes
    /// back to Available before Unavailable: OCPP 1.6's table has no Preparing → Unavailable.
    @Test func inoperativeWhilePreparingGoesByAvailable() throws {
        let engine = try engine()
        _ = try remoteStart(engine)
        #expect(try statuses(engine) == ["Available", "Preparing"])
        _ = try engine.send(DeviceCommand("change-availability", arguments: ["connector": .int(1), "operative": .bool(false)]), to: "evc-1")
        #expect(try statuses(engine) == ["Available", "Preparing", "Available", "Unavailable"])
        try plugIn(engine)
        #expect(try emissions(engine, "session-start").isEmpty, "the dropped start does not begin on a plug")
    }

    /// Unlock ends a session (Other) and answers Unlocked; with a failed lock it answers
    /// UnlockFailed. Reset stops sessions with its own reason and sends every status again.
    @Test func unlockAndReset() throws {
        let engine = try engine()
        try plugIn(engine)
        _ = try remoteStart(engine)
        let unlocked = try engine.send(DeviceCommand("unlock-connector", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(unlocked == CommandResult(.accepted, readings: [Reading("connector", .int(1)), Reading("status", .string("Unlocked"))]))
        #expect(value(try emissions(engine, "session-stop").last, "reason") == .string("Other"))
        try engine.apply(Stimulus("connector-lock-failure"), to: "evc-1")
        let failed = try engine.send(DeviceCommand("unlock-connector", arguments: ["connector": .int(1)]), to: "evc-1")
        #expect(failed == CommandResult(.rejected(reason: "the connector lock has failed"),
                                        readings: [Reading("connector", .int(1)), Reading("status", .string("UnlockFailed"))]))
        try engine.apply(Stimulus("fault-clear"), to: "evc-1")
        try engine.apply(Stimulus("unplug"), to: "evc-1")
        try plugIn(engine)
        _ = try remoteStart(engine)
        let statusesBefore = try emissions(engine, "status").count
        #expect(try engine.send(DeviceCommand("reset", arguments: ["type": .string("Hard")]), to: "evc-1")
            == CommandResult(.accepted, readings: [Reading("type", .string("Hard"))]))
        #expect(value(try emissions(engine, "session-stop").last, "reason") == .string("HardReset"))
        #expect(try emissions(engine, "status").count == statusesBefore + 2, "station and connector, sent again")
        #expect(try engine.send(DeviceCommand("reset", arguments: ["type": .string("Warm")]), to: "evc-1")
            == .rejected("reset type must be Hard or Soft, got 'Warm'"))
    }

    /// A DC charger's current is power / voltage; an EV that stops responding suspends it.
    @Test func dcCurrentAndEVNotResponding() throws {
        let engine = try engine(["dc": "true", "phases": "3", "voltage_v": "400", "max_power_kw": "120", "meter_interval": "30s"])
        try plugIn(engine)
        _ = try remoteStart(engine)
        let meter = try #require(try emissions(engine, "meter").first)
        #expect(number(meter, "current_a") == 300)
        engine.advance(by: .seconds(30))
        try engine.apply(Stimulus("ev-not-responding"), to: "evc-1")
        engine.advance(by: .seconds(60))
        #expect(number(try emissions(engine, "meter").last, "power_w") == 0)
        #expect(abs(number(try emissions(engine, "meter").last, "session_wh") - 1000) < 1e-6, "120 kW for 30 s, then nothing")
        #expect(try statuses(engine) == ["Available", "Preparing", "Charging", "SuspendedEV"])
    }

    /// Unknown stimuli and commands are refused naming the known ones; bad parameters are refused.
    @Test func unknownStimulusAndCommandNameTheKnownOnes() throws {
        let engine = try engine()
        let error = #expect(throws: (any Error).self) { try engine.apply(Stimulus("explode"), to: "evc-1") }
        #expect("\(error.map { "\($0)" } ?? "")".contains(
            "ev-charger has no stimulus 'explode'; known: plug-in, unplug, swipe, ground-fault, over-temperature, connector-lock-failure, fault-clear, ev-not-responding, power-loss, power-restore"))
        #expect(try engine.send(DeviceCommand("frobnicate"), to: "evc-1") == .rejected(
            "unknown command 'frobnicate'; known: remote-start, remote-stop, authorized, set-charging-limit, clear-charging-limit, set-meter-interval, change-availability, unlock-connector, reset"))
        #expect(try engine.send(DeviceCommand("remote-start"), to: "evc-1") == .rejected("command 'remote-start' needs argument 'id_tag' (text)"))
        #expect(try engine.send(DeviceCommand("remote-stop", arguments: ["session": .int(7)]), to: "evc-1") == .rejected("no session 7 is running"))
        try plugIn(engine)
        #expect(throws: EngineError.self) { try plugIn(engine) }
        for overrides in [["phases": "2"], ["ev_arrival_soc": "60-10"], ["ev_arrival_soc": "lots"]] {
            let refused = VirtualTimeEngine()
            let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
            #expect(throws: EngineError.self) {
                try refused.add(PlannedDevice(kind: kind, setup: DeviceSetup(id: "x", parameters: parameters, random: SeededRandom(seed: 1))))
            }
        }
        #expect(throws: (any Error).self) { try DeviceParameters(descriptor: kind.descriptor, overrides: ["connectors": "5"]) }
    }

    /// An arriving EV's charge is drawn from ev_arrival_soc with the device's own seed.
    @Test func arrivalSOCIsDrawnFromTheRange() throws {
        let engine = try engine(["ev_arrival_soc": "30-40"])
        try engine.apply(Stimulus("plug-in"), to: "evc-1")
        _ = try remoteStart(engine)
        let soc = number(try emissions(engine, "meter").first, "soc")
        #expect((30 ... 40).contains(soc))
        #expect(try EVCharger.socRange("25") == 25 ... 25)
    }

    /// With start_spread the station boots at a random moment within it, saying nothing before.
    @Test func startSpreadDelaysTheBoot() throws {
        let engine = try engine(["start_spread": "10m"])
        #expect(try emissions(engine).isEmpty)
        engine.advance(by: .minutes(10))
        let first = try #require(try emissions(engine, "status").first)
        #expect(first.time.monotonic > .zero)
        #expect(first.time.monotonic < at(.minutes(10)))
        #expect(try emissions(engine, "status").count == 2)
    }

    /// Every emission the charger makes is in its descriptor, which is registered as built in.
    @Test func everyEmissionIsDescribed() throws {
        let engine = try engine(["connectors": "2"])
        try plugIn(engine)
        try engine.apply(Stimulus("swipe", arguments: ["id_tag": .string("C")]), to: "evc-1")
        _ = try remoteStart(engine, connector: 1)
        engine.advance(by: .minutes(2))
        for fault in ["ground-fault", "over-temperature", "connector-lock-failure"] {
            try engine.apply(Stimulus(fault, arguments: ["connector": .int(2)]), to: "evc-1")
            try engine.apply(Stimulus("fault-clear", arguments: ["connector": .int(2)]), to: "evc-1")
        }
        try engine.apply(Stimulus("power-loss"), to: "evc-1")
        try engine.apply(Stimulus("power-restore"), to: "evc-1")
        let described = Set(kind.descriptor.events.map(\.name))
        let emitted = Set(try emissions(engine).map(\.name))
        #expect(emitted.subtracting(described).isEmpty, "\(emitted.subtracting(described))")
        #expect(emitted.count == described.count)
        #expect(BuiltInKinds.all.contains { $0.descriptor.name == "ev-charger" })
        #expect(kind.descriptor.sources.allSatisfy { $0.hasPrefix("004_5e9061d643d5fb41.txt L") })
    }

    /// The shipped charger profiles load against the kind, speak OCPP, and differ as brands do.
    @Test func shippedProfilesValidateAndRun() throws {
        let directory = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        let registry = try DeviceKindRegistry([kind])
        let files = ModelCatalog.profileFiles(under: "/\(directory)/devices/ev-charger")
        #expect(files.count >= 3)
        var powers: Set<String> = []
        for file in files {
            let profile = try ModelProfile.load(file: file, kinds: registry)
            #expect(profile.kind == "ev-charger")
            let ocpp = try #require(profile.ocpp, "\(file) has an ocpp: section")
            #expect(ocpp.measurands.contains("Energy.Active.Import.Register"))
            powers.insert(profile.parameters["max_power_kw"] ?? "")
            let engine = try self.engine(profile.parameters)
            try plugIn(engine, soc: 20, batteryKWh: 80)
            #expect(try remoteStart(engine).outcome == .accepted)
            engine.advance(by: .minutes(10))
            #expect(try statuses(engine).last == "Charging", "\(file)")
        }
        #expect(powers.count == files.count, "each model has its own power")
    }
}
