import Testing
@testable import ParkCore
@testable import ParkDevices

/// The sounder-strobe on the virtual clock: sounds on command, for a time or until stopped.
@Suite struct SounderTests {
    let kind = SounderKind()

    func engine(_ overrides: [String: String] = [:]) throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: ["start_spread": "0s"].merging(overrides) { $1 })
        try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(id: "sl-1", parameters: parameters, random: .forDevice("sl-1", runSeed: 1))))
        engine.start()
        return engine
    }

    func names(_ engine: VirtualTimeEngine) throws -> [String] {
        try engine.ledger.records().filter { $0.entry == .emission && $0.name != "heartbeat" }.map(\.name)
    }

    @Test func soundsForItsTimeThenFallsSilent() throws {
        let engine = try engine(["sound_duration": "30s"])
        let answer = try engine.send(DeviceCommand("sound", id: "lk-1"), to: "sl-1")
        #expect(answer.outcome == .accepted)
        engine.advance(by: .seconds(29))
        #expect(try names(engine) == ["siren-on", "sounding"])
        engine.advance(by: .seconds(2))
        #expect(try names(engine) == ["siren-on", "sounding", "siren-off", "silenced"])
        let sounding = try #require(try engine.ledger.records().first { $0.name == "sounding" })
        #expect(sounding.readings.contains(Reading("by", .string("lk-1"))))
        #expect(try engine.ledger.records().first { $0.name == "silenced" }?.readings.contains(Reading("reason", .string("time-up"))) == true)
    }

    /// A second `sound` restarts the time (the first timer must not cut it short); `stop` ends
    /// it; stopping a silent sounder is refused; durations come as text or as seconds.
    @Test func soundAgainRestartsAndStopEnds() throws {
        let engine = try engine()
        _ = try engine.send(DeviceCommand("sound", arguments: ["duration": .string("10s")]), to: "sl-1")
        engine.advance(by: .seconds(8))
        _ = try engine.send(DeviceCommand("sound", arguments: ["duration": .int(10)]), to: "sl-1")
        engine.advance(by: .seconds(5))
        #expect(try names(engine) == ["siren-on", "sounding", "sounding"], "still sounding 13 s in")
        #expect(try engine.send(DeviceCommand("stop"), to: "sl-1").outcome == .accepted)
        #expect(try engine.send(DeviceCommand("stop"), to: "sl-1").outcome == .rejected(reason: "not sounding"))
        engine.advance(by: .seconds(60))
        #expect(try names(engine) == ["siren-on", "sounding", "sounding", "siren-off", "silenced"])
        #expect(try engine.send(DeviceCommand("sound", arguments: ["duration": .string("soon")]), to: "sl-1").outcome
                == .rejected(reason: "duration 'soon' is not a duration such as 30s"))
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("smoke"), to: "sl-1") }
    }
}
