import Testing
@testable import ParkCore
@testable import ParkDevices

/// Cameras and NVRs on the virtual clock (issue 14; 004 L2633, L2772, L2776–2810): stimuli
/// become events with their channel, commands are acknowledged, wire faults are flags the SIP
/// binding reads from the polled state.
@Suite struct CameraTests {
    let registry = PolledStateRegistry()

    func engine(_ kind: any DeviceKind, _ overrides: [String: String] = ["start_spread": "0s"], id: String = "cam-1") throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
        try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(
            id: id, parameters: parameters, random: .forDevice(id, runSeed: 1), polled: registry)))
        engine.start()
        return engine
    }

    func emissions(_ engine: VirtualTimeEngine, _ name: String) throws -> [LedgerRecord] {
        try engine.ledger.records().filter { $0.entry == .emission && $0.name == name }
    }

    func polled(_ id: String = "cam-1") -> [String: PointValue] {
        var values: [String: PointValue] = [:]
        for reading in registry.state(of: id)?.readings(at: .zero) ?? [] { values[reading.point] = reading.value }
        return values
    }

    /// Keepalives come every keepalive_interval as status; stop-keepalives silences them and the
    /// flag shows in the polled state, resume brings both back.
    @Test func keepalivesStopAndResume() throws {
        let engine = try engine(CameraKind(), ["start_spread": "0s", "keepalive_interval": "30s"])
        engine.advance(by: .seconds(95))
        let keepalives = try emissions(engine, "keepalive")
        #expect(keepalives.count == 4, "at 0, 30, 60 and 90 s")
        #expect(keepalives.first?.channel == .status)
        try engine.apply(Stimulus("stop-keepalives"), to: "cam-1")
        #expect(polled()["keepalives_stopped"] == .bool(true))
        engine.advance(by: .seconds(120))
        #expect(try emissions(engine, "keepalive").count == 4)
        try engine.apply(Stimulus("resume-keepalives"), to: "cam-1")
        #expect(polled()["keepalives_stopped"] == .bool(false))
        engine.advance(by: .seconds(30))
        #expect(try emissions(engine, "keepalive").count == 5)
        #expect(try emissions(engine, "wire-fault").map { $0.channel } == [.local, .local])
    }

    /// Motion, tripwire and AI events alarm with channel and guard while guarded, and not at all
    /// after guard reset (GuardCmd, 004 L2772).
    @Test func analyticAlarmsFollowGuard() throws {
        let engine = try engine(CameraKind())
        try engine.apply(Stimulus("motion"), to: "cam-1")
        try engine.apply(Stimulus("intrusion"), to: "cam-1")
        try engine.apply(Stimulus("ai", arguments: ["type": .string("area-intrusion")]), to: "cam-1")
        let motion = try #require(try emissions(engine, "motion").first)
        #expect(motion.channel == .event)
        #expect(motion.readings == [Reading("channel", .int(1)), Reading("guard", .bool(true))])
        #expect(try emissions(engine, "intrusion-line").count == 1)
        #expect(try emissions(engine, "area-intrusion").count == 1)

        let unguard = try engine.send(DeviceCommand("guard", arguments: ["action": .string("reset")]), to: "cam-1")
        #expect(unguard == CommandResult(.accepted, readings: [Reading("guard", .bool(false))]))
        #expect(polled()["guard"] == .bool(false))
        try engine.apply(Stimulus("motion"), to: "cam-1")
        #expect(try emissions(engine, "motion").count == 1, "an unguarded camera reports no motion")
    }

    /// An unknown AI type is refused with the list of known ones.
    @Test func unknownAIEventIsRefused() throws {
        let engine = try engine(CameraKind())
        let error = #expect(throws: (any Error).self) { try engine.apply(Stimulus("ai", arguments: ["type": .string("ufo")]), to: "cam-1") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("stimulus 'ai' needs argument 'type', one of: face-watchlist, off-post"))
    }

    /// reset-alarm acknowledges what it cleared, and is refused when nothing is active.
    @Test func resetAlarmIsAcknowledged() throws {
        let engine = try engine(CameraKind())
        #expect(try engine.send(DeviceCommand("reset-alarm"), to: "cam-1") == .rejected("no alarm is active"))
        try engine.apply(Stimulus("motion"), to: "cam-1")
        try engine.apply(Stimulus("motion"), to: "cam-1")
        let reset = try engine.send(DeviceCommand("reset-alarm"), to: "cam-1")
        #expect(reset == CommandResult(.accepted, readings: [Reading("alarms", .string("motion")), Reading("count", .int(2))]))
        #expect(try emissions(engine, "alarm-reset").count == 1)
    }

    /// PTZ by preset or direction is acknowledged with what was done; nonsense is refused.
    @Test func ptzIsAcknowledged() throws {
        let engine = try engine(CameraKind())
        #expect(try engine.send(DeviceCommand("ptz", arguments: ["preset": .int(3)]), to: "cam-1")
            == CommandResult(.accepted, readings: [Reading("channel", .int(1)), Reading("preset", .int(3))]))
        #expect(try engine.send(DeviceCommand("ptz", arguments: ["direction": .string("left")]), to: "cam-1")
            == CommandResult(.accepted, readings: [Reading("channel", .int(1)), Reading("direction", .string("left"))]))
        #expect(try engine.send(DeviceCommand("ptz", arguments: ["preset": .int(300)]), to: "cam-1").outcome != .accepted)
        #expect(try engine.send(DeviceCommand("ptz"), to: "cam-1").outcome != .accepted)
        #expect(try emissions(engine, "ptz").count == 2)
    }

    /// A reboot goes offline, refuses commands and sees nothing for reboot_duration, then
    /// comes back online and keeps alive from its boot.
    @Test func rebootGoesOfflineAndBack() throws {
        let engine = try engine(CameraKind(), ["start_spread": "0s", "reboot_duration": "30s"])
        engine.advance(by: .seconds(10))
        let reboot = try engine.send(DeviceCommand("reboot"), to: "cam-1")
        #expect(reboot == CommandResult(.accepted, readings: [Reading("rebooting", .bool(true)), Reading("duration_s", .double(30))]))
        #expect(polled()["online"] == .bool(false))
        try engine.apply(Stimulus("motion"), to: "cam-1")
        #expect(try engine.send(DeviceCommand("ptz", arguments: ["preset": .int(1)]), to: "cam-1") == .rejected("rebooting"))
        engine.advance(by: .seconds(60))
        #expect(try emissions(engine, "motion").isEmpty)
        #expect(try emissions(engine, "offline").first?.channel == .status)
        #expect(try emissions(engine, "online").first?.time.monotonic == MonotonicInstant.zero.advanced(by: .seconds(40)))
        #expect(polled()["online"] == .bool(true))
        let keepalives = try emissions(engine, "keepalive").map(\.time.monotonic)
        #expect(keepalives == [.zero], "none during the reboot; the next is one interval after boot")
    }

    /// Each NVR channel loses and regains video on its own; the event names the channel and the
    /// polled state lists the channels still lost.
    @Test func nvrChannelVideoLossAndRestore() throws {
        let engine = try engine(NVRKind(), ["start_spread": "0s", "channels": "8"], id: "nvr-1")
        try engine.apply(Stimulus("video-loss", arguments: ["channel": .int(3)]), to: "nvr-1")
        try engine.apply(Stimulus("video-loss", arguments: ["channel": .int(7)]), to: "nvr-1")
        try engine.apply(Stimulus("video-loss", arguments: ["channel": .int(7)]), to: "nvr-1")
        #expect(try emissions(engine, "video-loss").map(\.readings) == [
            [Reading("channel", .int(3)), Reading("lost_channels", .string("3"))],
            [Reading("channel", .int(7)), Reading("lost_channels", .string("3,7"))],
        ])
        #expect(polled("nvr-1")["lost_channels"] == .string("3,7"))
        #expect(polled("nvr-1")["channels"] == .int(8))
        // A channel without video sees no motion; the others still do.
        try engine.apply(Stimulus("motion", arguments: ["channel": .int(3)]), to: "nvr-1")
        try engine.apply(Stimulus("motion", arguments: ["channel": .int(4)]), to: "nvr-1")
        #expect(try emissions(engine, "motion").map(\.readings.first) == [Reading("channel", .int(4))])
        try engine.apply(Stimulus("video-restore", arguments: ["channel": .int(3)]), to: "nvr-1")
        let restored = try #require(try emissions(engine, "video-restored").first)
        #expect(restored.readings == [Reading("channel", .int(3)), Reading("lost_channels", .string("7"))])
        let error = #expect(throws: (any Error).self) { try engine.apply(Stimulus("video-loss", arguments: ["channel": .int(9)]), to: "nvr-1") }
        #expect("\(error.map { "\($0)" } ?? "")".hasSuffix("stimulus 'video-loss' argument 'channel' must be a number from 1 to 8 (its channels), got 9"))
    }

    /// The NVR defaults to 16 channels, and its channel count is bounded 1…128.
    @Test func nvrChannelCount() throws {
        _ = try engine(NVRKind(), id: "nvr-1")
        #expect(polled("nvr-1")["channels"] == .int(16))
        #expect(throws: (any Error).self) { try DeviceParameters(descriptor: NVRKind().descriptor, overrides: ["channels": "129"]) }
    }

    /// Wire-fault stimuli set and clear the flags the binding reads.
    @Test func wireFaultFlagsSetAndClear() throws {
        let engine = try engine(CameraKind())
        for name in ["refuse-reregister", "alarm-in-wrong-field", "malformed-xml"] { try engine.apply(Stimulus(name), to: "cam-1") }
        #expect(polled()["refuse_reregister"] == .bool(true))
        #expect(polled()["alarm_in_wrong_field"] == .bool(true))
        #expect(polled()["malformed_xml"] == .bool(true))
        try engine.apply(Stimulus("malformed-xml", arguments: ["enabled": .bool(false)]), to: "cam-1")
        #expect(polled()["malformed_xml"] == .bool(false))
        #expect(polled()["refuse_reregister"] == .bool(true))
    }

    /// Every event a camera or NVR emits is in its descriptor (devices show, the platform's table).
    @Test func everyEmissionIsDescribed() throws {
        let engine = try engine(NVRKind(), id: "nvr-1")
        for stimulus in ["motion", "intrusion", "tamper", "tamper-restore", "video-loss", "video-restore", "stop-keepalives"] {
            try engine.apply(Stimulus(stimulus), to: "nvr-1")
        }
        for type in ["face-watchlist", "off-post", "crowd", "fall", "area-intrusion", "vehicle-gate-crash", "vehicle-congestion", "ebike-in-elevator", "bin-overflow"] {
            try engine.apply(Stimulus("ai", arguments: ["type": .string(type)]), to: "nvr-1")
        }
        _ = try engine.send(DeviceCommand("reset-alarm"), to: "nvr-1")
        _ = try engine.send(DeviceCommand("ptz", arguments: ["preset": .int(2)]), to: "nvr-1")
        _ = try engine.send(DeviceCommand("reboot"), to: "nvr-1")
        engine.advance(by: .minutes(5))
        let described = Set(NVRKind().descriptor.events.map(\.name))
        let emitted = Set(try engine.ledger.records().filter { $0.entry == .emission }.map(\.name))
        #expect(emitted.subtracting(described).isEmpty, "\(emitted.subtracting(described))")
        #expect(emitted.count >= 18)
    }
}
