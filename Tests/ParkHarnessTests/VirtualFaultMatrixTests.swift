import Foundation
import ParkBindings
import ParkCore
import ParkDevices
@testable import ParkHarness
import ParkMQTT
import ParkWire
import ParkPlatform
import ParkProfiles
import ParkReport
import Testing

/// The fault-switch matrix on virtual time: the demo park, the park-core suite's checks and the
/// reference platform with one fault switch on, all in one process on one virtual clock (a
/// ``VirtualPark``), so each row takes milliseconds instead of a minute-long demo. Every check
/// must pass with no fault on and fail under exactly the switches that break what it watches.
///
/// Left to the end-to-end demos (`CLITests`): the meters (a gateway polls them over sockets) and
/// `device-auth` (the broker enforces logins).
@Suite struct VirtualFaultMatrixTests {
    /// park-core's checks that a virtual park runs: all but the meters' and the login check.
    static let checks = [
        "smoke-alarm-latency", "emergency-button-latency", "fire-water-low-pressure-latency", "telemetry-delivery", "environment-accuracy",
        "emergency-linkage-sound-light", "platform-command", "offline-detection",
    ]
    static let alarmLatency = ["smoke-alarm-latency", "emergency-button-latency", "fire-water-low-pressure-latency"]

    /// Each row: the switches (as `make demo FAULT=` sets them) and the checks they must fail.
    static let matrix: [(name: String, faults: PlatformFaults, failing: [String])] = [
        ("none", PlatformFaults(), []),
        ("alarm-delay=3s", PlatformFaults(alarmDelay: .seconds(3)), alarmLatency),
        ("drop-alarms", PlatformFaults(dropAlarms: true), alarmLatency),
        ("value-scaling=10", PlatformFaults(valueScaling: 10), ["environment-accuracy"]),
        ("no-offline-detection", PlatformFaults(offlineDetectionDisabled: true), ["offline-detection"]),
        ("linkage-dropped", PlatformFaults(linkageDropped: true), ["emergency-linkage-sound-light"]),
        ("commands-dropped", PlatformFaults(commandsDropped: true), ["platform-command"]),
    ]

    @Test(arguments: matrix.indices)
    func eachFaultSwitchFailsExactlyItsChecks(row: Int) async throws {
        let (name, faults, failing) = Self.matrix[row]
        let results = try await HarnessRuns.runVirtualDemo(faults: faults, only: Self.checks)
        #expect(results.map(\.id) == Self.checks, "\(name): every check ran, in suite order")
        for result in results {
            let expected: RunReport.Verdict = failing.contains(result.id) ? .fail : .pass
            #expect(result.verdict == expected, "\(name): \(result.id) \(result.verdict.rawValue): \(result.summary) \(result.findings.prefix(3))")
        }
    }

    /// The figures are measured, not assumed: with a 3 s alarm delay every sample is over 3 s, and
    /// without it the latency is the hops the in-memory broker adds (a few milliseconds).
    @Test func latencyIsWhatTheVirtualClockMeasures() async throws {
        let healthy = try await HarnessRuns.runVirtualDemo(faults: PlatformFaults(), only: ["smoke-alarm-latency"])
        let slow = try await HarnessRuns.runVirtualDemo(faults: PlatformFaults(alarmDelay: .seconds(3)), only: ["smoke-alarm-latency"])
        let fast = try #require(healthy.first?.metrics["latency.max"]?.value)
        let delayed = try #require(slow.first?.metrics["latency.max"]?.value)
        #expect(fast > 0 && fast < 50, "healthy: \(fast) ms")
        #expect(delayed >= 3_000 && delayed < 3_050, "delayed: \(delayed) ms")
        // The same seed, the same virtual clock: the same figures every run.
        let again = try await HarnessRuns.runVirtualDemo(faults: PlatformFaults(), only: ["smoke-alarm-latency"])
        #expect(again.first?.metrics["latency.max"]?.value == fast)
    }
}

/// The parking suite's fault matrix on virtual time: the demo park's entrance lanes (plate cameras
/// and barriers, loaded from their plugin libraries), the reference platform's whitelist rule,
/// one fault switch per row. Every check passes with none on and fails under exactly the switches
/// that break what it watches.
@Suite struct VirtualParkingFaultMatrixTests {
    static let chains = ["entrance-whitelisted-car", "entrance-lane-2", "lane-terminal-car", "lane-rush-hour"]
    static let matrix: [(name: String, faults: PlatformFaults, failing: [String])] = {
        var delayed = PlatformFaults()
        delayed.linkageDelay = .seconds(2)
        var ignoring = PlatformFaults()
        ignoring.linkageListsIgnored = true
        var mangling = PlatformFaults()
        mangling.textsMangled = true
        return [
            ("none", PlatformFaults(), []),
            ("linkage-dropped", PlatformFaults(linkageDropped: true), chains + ["space-detection-guidance"]),
            ("linkage-delay=2s", delayed, chains + ["space-detection-guidance"]),
            ("whitelist-ignored", ignoring, ["entrance-stranger-refused", "lane-stranger-refused"]),
            ("texts-mangled", mangling, ["plate-recognition"]),
            ("alarm-delay=3s", PlatformFaults(alarmDelay: .seconds(3)), ["barrier-rammed-alarm"]),
            ("drop-alarms", PlatformFaults(dropAlarms: true), ["barrier-rammed-alarm"]),
        ]
    }()

    @Test(arguments: matrix.indices)
    func eachFaultSwitchFailsExactlyItsChecks(row: Int) async throws {
        let (name, faults, failing) = Self.matrix[row]
        let results = try await HarnessRuns.runVirtualParking(faults: faults)
        #expect(results.map(\.id) == [
            "entrance-whitelisted-car", "entrance-lane-2", "entrance-stranger-refused", "barrier-rammed-alarm", "plate-recognition",
            "space-detection-guidance", "lane-terminal-car", "lane-rush-hour", "lane-stranger-refused",
        ])
        for result in results {
            let expected: RunReport.Verdict = failing.contains(result.id) ? .fail : .pass
            #expect(result.verdict == expected, "\(name): \(result.id) \(result.verdict.rawValue): \(result.summary) \(result.findings.prefix(3))")
        }
    }

    /// Recognition counts whose mistake it was: the cameras' own misreads and misses (their
    /// models' rates) against a platform that shows every read as it came, and every shown plate
    /// wrong when the platform loses the province character.
    @Test func recognitionSaysWhoseMistakeItWas() async throws {
        let healthy = try #require(try await HarnessRuns.runVirtualParking(faults: PlatformFaults(), only: ["plate-recognition"]).first)
        let metric = { (name: String) in healthy.metrics[name]?.value ?? -1 }
        #expect(metric("vehicles") == 200 && metric("unreported") == 0 && metric("shown_wrong") == 0)
        #expect(metric("shown_right") + metric("misread") + metric("missed") == 200, "\(healthy.metrics)")
        #expect(metric("recognised") >= 99, "\(healthy.findings)")
        var faults = PlatformFaults()
        faults.textsMangled = true
        let mangled = try #require(try await HarnessRuns.runVirtualParking(faults: faults, only: ["plate-recognition"]).first)
        #expect(mangled.metrics["recognised"]?.value == 0)
        // A misread shown mangled is wrong twice over: only the missed cars are not shown wrong.
        #expect(mangled.metrics["shown_wrong"]?.value == 200 - metric("missed"))
        #expect(mangled.findings.first { $0.contains("the platform showed") && !$0.contains("京") && !$0.contains("沪") } != nil, "\(mangled.findings.prefix(2))")
        // Every car its own plate.
        #expect(Set((0..<100_000).map(RecognitionCheck.plate)).count == 100_000)
    }

    /// Each hop is what the devices recorded: the read takes the camera model's recognition time
    /// (hik-ids-tcg405: 200 ms ± 60 ms), the barrier its rise time (acme-br12: 1.2 s, exactly, on
    /// virtual time), and a 2 s linkage delay lands in the decision hop and nowhere else.
    @Test func hopsAreTimedAtTheDevices() async throws {
        let healthy = try #require(try await HarnessRuns.runVirtualParking(faults: PlatformFaults(), only: ["entrance-whitelisted-car"]).first)
        var delayedFaults = PlatformFaults()
        delayedFaults.linkageDelay = .seconds(2)
        let delayed = try #require(try await HarnessRuns.runVirtualParking(faults: delayedFaults, only: ["entrance-whitelisted-car"]).first)
        let read = try #require(healthy.metrics["hop1.max"]?.value)
        let decision = try #require(healthy.metrics["hop2.max"]?.value)
        let barrier = try #require(healthy.metrics["hop3.max"]?.value)
        #expect(read >= 140 && read <= 260, "plate read \(read) ms")
        #expect(decision < 50, "platform decision \(decision) ms")
        #expect(abs(barrier - 1_200) < 1, "barrier up \(barrier) ms")
        #expect(healthy.metrics["samples"]?.value == 3)
        let slowDecision = try #require(delayed.metrics["hop2.max"]?.value)
        #expect(slowDecision >= 2_000 && slowDecision < 2_050, "delayed decision \(slowDecision) ms")
        #expect(abs((delayed.metrics["hop3.max"]?.value ?? 0) - 1_200) < 1)
        #expect(delayed.findings.contains { $0.contains("platform decision took") && $0.contains("over its 1s budget") }, "\(delayed.findings)")
    }
}

/// The access, elevators and linkage suites' fault matrices on virtual time: the demo park's
/// lobby terminal, door, lifts and lift access controller (plugin kinds), the reference
/// platform's LK1/LK2/LK8 rules, one switch per row; each check passes with none on and fails
/// under exactly the switches that break what it watches.
@Suite struct VirtualBuildingFaultMatrixTests {
    static let access = ["access-granted-door-unlocked", "access-door-forced-open-alarm", "access-door-held-open-alarm", "intercom-remote-unlock"]
    static let elevators = ["elevator-trapped-alarm", "elevator-emergency-call-alarm", "elevator-door-fault-alarm"]
    static let linkage = [
        "lk1-fire-elevator-access-free", "lk2-fire-elevator-homing", "lk8-access-calls-elevator", "lk8-access-lights-home-floor",
        "lk9-intercom-opens-floor", "intercom-calls-elevator",
    ]

    static let matrix: [(suite: String, name: String, faults: PlatformFaults, failing: [String])] = {
        var delayed = PlatformFaults()
        delayed.linkageDelay = .seconds(2)
        return [
            ("access", "none", PlatformFaults(), []),
            ("access", "linkage-dropped", PlatformFaults(linkageDropped: true), ["access-granted-door-unlocked", "intercom-remote-unlock"]),
            ("access", "linkage-delay=2s", delayed, ["access-granted-door-unlocked", "intercom-remote-unlock"]),
            ("access", "alarm-delay=3s", PlatformFaults(alarmDelay: .seconds(3)), ["access-door-forced-open-alarm", "access-door-held-open-alarm"]),
            ("access", "drop-alarms", PlatformFaults(dropAlarms: true), ["access-door-forced-open-alarm", "access-door-held-open-alarm"]),
            ("elevators", "none", PlatformFaults(), []),
            ("elevators", "alarm-delay=3s", PlatformFaults(alarmDelay: .seconds(3)), elevators),
            ("elevators", "drop-alarms", PlatformFaults(dropAlarms: true), elevators),
            ("linkage", "none", PlatformFaults(), []),
            ("linkage", "linkage-dropped", PlatformFaults(linkageDropped: true), linkage),
            ("linkage", "linkage-delay=2s", delayed, linkage),
        ]
    }()

    @Test(arguments: matrix.indices)
    func eachFaultSwitchFailsExactlyItsChecks(row: Int) async throws {
        let (suite, name, faults, failing) = Self.matrix[row]
        let results = try await HarnessRuns.runVirtualSuite(suite, faults: faults)
        let expected = suite == "access" ? Self.access : suite == "elevators" ? Self.elevators : Self.linkage
        #expect(results.map(\.id) == expected)
        for result in results {
            let verdict: RunReport.Verdict = failing.contains(result.id) ? .fail : .pass
            #expect(result.verdict == verdict, "\(suite) \(name): \(result.id) \(result.verdict.rawValue): \(result.summary) \(result.findings.prefix(3))")
        }
    }

    /// The lift's hops are its own timing: called from floor 3 to the lobby, it arrives after two
    /// floors of otis-gen2's 2 s; the face grant takes the terminal's 150 ± 40 ms.
    @Test func theLiftAndTheTerminalTakeTheirModelsTimes() async throws {
        let results = try await HarnessRuns.runVirtualSuite("linkage", faults: PlatformFaults(), only: ["lk8-access-calls-elevator"])
        let lk8 = try #require(results.first)
        let arrival = try #require(lk8.metrics["hop3.max"]?.value)
        #expect(arrival >= 4_000 && arrival < 4_100, "the lift took \(arrival) ms from the call to the lobby")
        let access = try #require(try await HarnessRuns.runVirtualSuite("access", faults: PlatformFaults(), only: ["access-granted-door-unlocked"]).first)
        let recognition = try #require(access.metrics["hop1.max"]?.value)
        #expect(recognition >= 110 && recognition <= 190, "face recognised in \(recognition) ms")
    }
}

/// Each check type against a platform that breaks what it watches, on a virtual park: the
/// finding that says why, not only the verdict. (The same checks pass through a real broker in
/// `HarnessRunTests`; here the failures take milliseconds instead of a run each.)
@Suite struct VirtualCheckFaultTests {
    /// With commands-dropped the platform says 202 and sends nothing; the check sees that at the device.
    @Test func droppedCommandsFailTheCommandCheck() async throws {
        let dropped = try await HarnessRuns.runVirtual(CommandCheckTests.suite, faults: PlatformFaults(commandsDropped: true))
        #expect(dropped.first?.verdict == .fail)
        #expect(dropped.first?.metrics["missing"]?.value == 2)
    }

    /// With linkage-dropped the check fails naming the sounder that never heard; a rule too broad
    /// fails it for the sounder that should have been left alone.
    @Test func droppedOrOverbroadLinkageFailsTheLinkageCheck() async throws {
        let good = try #require(try await HarnessRuns.runVirtual(HarnessRuns.linkage, linkage: [HarnessRuns.panicRule]).first)
        #expect(good.verdict == .pass, "\(good.summary) \(good.findings)")

        let dropped = try #require(
            try await HarnessRuns.runVirtual(HarnessRuns.linkage, faults: PlatformFaults(linkageDropped: true), linkage: [HarnessRuns.panicRule]).first)
        #expect(dropped.verdict == .fail)
        #expect(dropped.findings.contains { $0.hasPrefix("sounder-A1 never received sound within 2s") }, "\(dropped.findings)")

        var broad = HarnessRuns.panicRule
        broad.targetZone = nil
        let noisy = try #require(try await HarnessRuns.runVirtual(HarnessRuns.linkage, linkage: [broad]).first)
        #expect(noisy.verdict == .fail)
        #expect(noisy.metrics["unexpected"]?.value == 1)
        #expect(noisy.findings.contains("sounder-B1 received sound but should have been left alone"), "\(noisy.findings)")
    }

    /// Wrong scaling fails accuracy only; a platform that stops mid-run fails delivery.
    @Test func scalingFailsAccuracyAndACrashFailsDelivery() async throws {
        let scaled = try await HarnessRuns.runVirtual(HarnessRuns.deliveryAndAccuracy, faults: PlatformFaults(valueScaling: 1.5))
        #expect(scaled.map(\.verdict) == [.pass, .fail], "\(scaled.map(\.summary))")
        let accuracy = try #require(scaled.last)
        #expect((accuracy.metrics["abs_error"]?.percent ?? 0) > 40, "a 1.5× scaling is ≈ 50 % off: \(accuracy.summary)")
        #expect(accuracy.findings.contains { $0.hasPrefix("largest error: env-") })

        let crashed = try await HarnessRuns.runVirtual(HarnessRuns.deliveryAndAccuracy, faults: PlatformFaults(crashAfterMessages: 25))
        let lost = try #require(crashed.first)
        #expect(lost.verdict == .fail)
        #expect((lost.metrics["loss"]?.value ?? 0) > 0)
        #expect(lost.findings.contains { $0.hasPrefix("never seen at the platform: env-") }, "\(lost.findings)")
    }

    /// A platform that holds alarms fails on the measured delay (in every sample); one that
    /// swallows them fails naming each device.
    @Test func heldOrSwallowedAlarmsFailTheLatencyCheck() async throws {
        let slow = try #require(try await HarnessRuns.runVirtual(HarnessRuns.smokeLatency, faults: PlatformFaults(alarmDelay: .milliseconds(2_500))).first)
        #expect(slow.verdict == .fail)
        #expect(slow.summary.hasPrefix("expected latency.p99 < 2000.0 ms, measured 25"), "\(slow.summary)")
        #expect((slow.metrics["latency.p50"]?.value ?? 0) >= 2_500, "the delay shows in every sample")

        let dropped = try #require(try await HarnessRuns.runVirtual(HarnessRuns.smokeLatency, faults: PlatformFaults(dropAlarms: true)).first)
        #expect(dropped.verdict == .fail)
        #expect(dropped.metrics["missing"]?.value == 4)
        #expect(dropped.findings.contains { $0.contains("smoke-1: no smoke-alarm at the platform within 4s") }, "\(dropped.findings)")
    }

    /// A platform blind to departures fails the status check, saying it measured nothing.
    @Test func blindPlatformFailsTheStatusCheck() async throws {
        let blind = try #require(try await HarnessRuns.runVirtual(HarnessRuns.offline, faults: PlatformFaults(offlineDetectionDisabled: true)).first)
        #expect(blind.verdict == .fail)
        #expect(blind.summary.contains("expected offline_within <= 2000.0 ms, measured nothing"), "\(blind.summary)")
        #expect(blind.findings.contains { $0.contains("smoke-2: the platform never showed it offline") }, "\(blind.findings)")
    }
}

extension HarnessRuns {
    static func path(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

    /// The demo on a virtual park: the checked-in park, park-core suite, reference profile and
    /// linkage rules, the platform with `faults` on.
    static func runVirtualDemo(faults: PlatformFaults, only: [String]) async throws -> [CheckResult] {
        try await runVirtual(
            suite: try Suite.load(file: path("conformance/suites/park-core.yaml")),
            park: try String(contentsOfFile: path("conformance/parks/demo.yaml"), encoding: .utf8), faults: faults,
            linkage: try LinkageRule.load(file: path("conformance/platform/linkage.yaml")), heartbeatTimeout: .seconds(120), only: only)
    }

    /// The parking suite on the virtual demo park, the platform with `faults` on.
    static func runVirtualParking(faults: PlatformFaults, only: [String] = []) async throws -> [CheckResult] {
        try await runVirtualSuite("parking", faults: faults, only: only)
    }

    /// `conformance/suites/<name>.yaml` on the virtual demo park with the checked-in linkage rules.
    static func runVirtualSuite(_ name: String, faults: PlatformFaults, only: [String] = []) async throws -> [CheckResult] {
        try await runVirtual(
            suite: try Suite.load(file: path("conformance/suites/\(name).yaml")),
            park: try String(contentsOfFile: path("conformance/parks/demo.yaml"), encoding: .utf8), faults: faults,
            linkage: try LinkageRule.load(file: path("conformance/platform/linkage.yaml")), heartbeatTimeout: .seconds(120), only: only)
    }

    /// Runs `suite` (YAML text) on a virtual park of `park` against the reference platform in
    /// this process, with `faults` on and `linkage` rules: no broker, no sockets, virtual time.
    static func runVirtual(
        _ suiteText: String, park parkText: String = park, faults: PlatformFaults = PlatformFaults(), linkage: [LinkageRule] = []
    ) async throws -> [CheckResult] {
        try await runVirtual(suite: try Suite.parse(suiteText, file: "suite.yaml"), park: parkText, faults: faults, linkage: linkage)
    }

    static func runVirtual(
        suite: Suite, park parkText: String, faults: PlatformFaults, linkage: [LinkageRule],
        heartbeatTimeout: Duration = PlatformConfiguration().heartbeatTimeout, only: [String] = [], standby: StandbyFaults? = nil
    ) async throws -> [CheckResult] {
        let (registry, catalog) = try kinds()
        let park = try ParkFile.parse(parkText, file: "park.yaml", catalog: catalog, kinds: registry)
        let profile = try PlatformProfile.load(file: path("conformance/platforms/reference.yaml"))

        // Meters answer a gateway's polls, which a virtual park does not run: they stay out.
        let bound = park.boundDevices
        let maps = catalog.modbusMaps(for: bound)
        let onMQTT = Set(bound.filter { maps[$0.model] == nil && !catalog.speaksDLT645($0.model) }.map(\.id))
        let plan = try park.plan(kinds: registry).filter { onMQTT.contains($0.id) }

        let alarmEvents = Set(registry.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let platformConfiguration = PlatformConfiguration(alarmEvents: alarmEvents, heartbeatTimeout: heartbeatTimeout, linkageRules: linkage)
        let platform: any InProcessSystem = if let standby {
            InProcessReferencePair(configuration: platformConfiguration, faults: faults, standby: standby, start: ManualClock.defaultWallOrigin)
        } else {
            InProcessReferencePlatform(configuration: platformConfiguration, faults: faults, start: ManualClock.defaultWallOrigin)
        }
        let virtual = try VirtualPark(
            plan: plan, devices: bound.filter { onMQTT.contains($0.id) },
            topics: try DeviceTopicTemplate(profile.deviceTopics ?? DeviceTopicTemplate.standard.pattern), profile: profile, system: platform)
        virtual.start()
        // As a live run does: the platform hears every device before the first check.
        _ = await virtual.waitUntil(deadline: virtual.wallNow() + 1_000_000_000) { false }

        var configuration = HarnessRunner.Configuration(
            suite: suite, profile: profile, park: park, parkFile: "park.yaml", plan: plan, kinds: registry, seed: park.seed,
            parkbenchVersion: "test", only: only)
        configuration.catalog = catalog
        let context = virtual.context(devices: park.devices.filter { onMQTT.contains($0.id) }, kinds: registry, profile: profile)
        return await HarnessRunner(configuration: configuration).runChecks(in: context)
    }
}

/// The reference platform inside the test's process: fed by the virtual park's broker, on a
/// manual clock the park moves, its REST API answered without a socket.
final class InProcessReferencePlatform: InProcessSystem, PlatformOutlet, @unchecked Sendable {
    private let clock: ManualPlatformClock
    private var platform: ReferencePlatform!
    private var publisher: (@Sendable (String, [UInt8]) -> Void)?
    /// The `slow-under-load` switch on virtual time: one worker serving messages in arrival
    /// order, each taking what the live platform would block its thread for (``IntakeMeter``).
    private let slowUnderLoad: Duration?
    private var intake = IntakeMeter()
    private var busyUntil: Int64 = 0
    private var queued: [(due: Int64, topic: String, payload: [UInt8])] = []

    let keepsSession: Bool

    init(configuration: PlatformConfiguration, faults: PlatformFaults, start: WallTime) {
        clock = ManualPlatformClock(start: UInt64(start.nanosecondsSinceEpoch))
        slowUnderLoad = faults.slowUnderLoad
        keepsSession = !faults.cleanSession
        platform = ReferencePlatform(endpoints: .init(), configuration: configuration, faults: faults, clock: clock, outlet: self)
        platform.startTicking()
    }

    var subscriptions: [String] { [platform.endpoints.deviceFilter] }
    func attach(publish: @escaping @Sendable (String, [UInt8]) -> Void) { publisher = publish }
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS) { publisher?(topic, payload) }

    func receive(topic: String, payload: [UInt8]) {
        guard let cost = slowUnderLoad else { return platform.receive(topic: topic, payload: payload) }
        let now = clock.now()
        let service = IntakeMeter.serviceTime(cost: cost, rate: intake.arrived(now: now))
        let (seconds, attoseconds) = service.components
        busyUntil = max(Int64(now), busyUntil) + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        queued.append((busyUntil, topic, payload))
    }

    var nextDeadline: Int64? { [clock.nextDeadline.map { Int64($0) }, queued.first?.due].compactMap { $0 }.min() }

    func advance(toWall wall: Int64) {
        while let first = queued.first, first.due <= wall {
            queued.removeFirst()
            clock.advance(by: .nanoseconds(max(0, first.due - Int64(clock.now()))))
            platform.receive(topic: first.topic, payload: first.payload)
        }
        // By zero too: that runs what is due now.
        clock.advance(by: .nanoseconds(max(0, wall - Int64(clock.now()))))
    }

    func request(method: String, url: URL, body: [UInt8]) -> HTTPAnswer { Self.request(platform, method: method, url: url, body: body) }

    func kill() -> String {
        platform.kill()
        return "the in-process reference platform (no standby)"
    }

    func brokerConnection(up: Bool) { platform.brokerConnectionChanged(up: up) }

    func freeze(_ frozen: Bool) -> String? {
        if frozen { platform.freeze() } else { platform.thaw() }
        return frozen ? "the in-process reference platform (no standby) paused" : "resumed"
    }

    static func request(_ platform: ReferencePlatform, method: String, url: URL, body: [UInt8]) -> HTTPAnswer {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let uri = (components?.percentEncodedPath ?? url.path) + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
        let answer = platform.answer(method: method, uri: uri, body: body)
        return HTTPAnswer(status: answer.status, body: answer.body)
    }
}

/// The reference platform as an active/standby pair inside the test's process, both nodes on one
/// manual clock: each hears the devices, the lease and the alarm topic through the virtual park's
/// broker, as the demo's pair does through mosquitto.
final class InProcessReferencePair: InProcessSystem, PlatformOutlet, @unchecked Sendable {
    private let clock: ManualPlatformClock
    private var primary: ReferencePlatform!
    private var standby: ReferencePlatform!
    private var publisher: (@Sendable (String, [UInt8]) -> Void)?

    let keepsSession: Bool

    init(configuration: PlatformConfiguration, faults: PlatformFaults, standby standbyFaults: StandbyFaults, start: WallTime) {
        clock = ManualPlatformClock(start: UInt64(start.nanosecondsSinceEpoch))
        keepsSession = !faults.cleanSession
        primary = ReferencePlatform(endpoints: .init(), configuration: configuration, faults: faults, clock: clock, outlet: self)
        primary.joinPair(StandbySettings(node: "primary", startsAsStandby: false), faults: standbyFaults)
        standby = ReferencePlatform(endpoints: .init(), configuration: configuration, faults: faults, clock: clock, outlet: self)
        standby.joinPair(StandbySettings(node: "standby", startsAsStandby: true), faults: standbyFaults)
        primary.startTicking()
        standby.startTicking()
    }

    var subscriptions: [String] { [primary.endpoints.deviceFilter, "platform/lease", primary.endpoints.alarmTopic] }
    func attach(publish: @escaping @Sendable (String, [UInt8]) -> Void) { publisher = publish }
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS) { publisher?(topic, payload) }

    func receive(topic: String, payload: [UInt8]) {
        primary.receive(topic: topic, payload: payload)
        standby.receive(topic: topic, payload: payload)
    }

    var nextDeadline: Int64? { clock.nextDeadline.map { Int64($0) } }
    func advance(toWall wall: Int64) { clock.advance(by: .nanoseconds(max(0, wall - Int64(clock.now())))) }

    func request(method: String, url: URL, body: [UInt8]) -> HTTPAnswer {
        InProcessReferencePlatform.request(primary.isCrashed ? standby : primary, method: method, url: url, body: body)
    }

    /// The node speaking for the pair now (after a pause, perhaps the standby), and its name.
    private var active: (ReferencePlatform, String) {
        primary.isActive && !primary.isCrashed && !primary.isFrozen ? (primary, "primary") : (standby, "standby")
    }

    func kill() -> String {
        let (node, name) = active
        node.kill()
        return "the in-process \(name)"
    }

    func brokerConnection(up: Bool) {
        primary.brokerConnectionChanged(up: up)
        standby.brokerConnectionChanged(up: up)
    }

    func freeze(_ frozen: Bool) -> String? {
        guard frozen else {
            for node in [primary!, standby!] where node.isFrozen { node.thaw() }
            return "the paused node resumed"
        }
        let (node, name) = active
        node.freeze()
        return "the in-process \(name) paused"
    }
}

