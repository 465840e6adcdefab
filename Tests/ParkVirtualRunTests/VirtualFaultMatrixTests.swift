import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkHarness
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
        let results = try await VirtualDemo.run(faults: faults, only: Self.checks)
        #expect(results.map(\.id) == Self.checks, "\(name): every check ran, in suite order")
        for result in results {
            let expected: RunReport.Verdict = failing.contains(result.id) ? .fail : .pass
            #expect(result.verdict == expected, "\(name): \(result.id) \(result.verdict.rawValue): \(result.summary) \(result.findings.prefix(3))")
        }
    }

    /// The figures are measured, not assumed: with a 3 s alarm delay every sample is over 3 s, and
    /// without it the latency is the hops the in-memory broker adds (a few milliseconds).
    @Test func latencyIsWhatTheVirtualClockMeasures() async throws {
        let healthy = try await VirtualDemo.run(faults: PlatformFaults(), only: ["smoke-alarm-latency"])
        let slow = try await VirtualDemo.run(faults: PlatformFaults(alarmDelay: .seconds(3)), only: ["smoke-alarm-latency"])
        let fast = try #require(healthy.first?.metrics["latency.max"]?.value)
        let delayed = try #require(slow.first?.metrics["latency.max"]?.value)
        #expect(fast > 0 && fast < 50, "healthy: \(fast) ms")
        #expect(delayed >= 3_000 && delayed < 3_050, "delayed: \(delayed) ms")
        // The same seed, the same virtual clock: the same figures every run.
        let again = try await VirtualDemo.run(faults: PlatformFaults(), only: ["smoke-alarm-latency"])
        #expect(again.first?.metrics["latency.max"]?.value == fast)
    }
}

/// The demo on a virtual park: the checked-in park, suite, platform profile and linkage rules.
enum VirtualDemo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static func run(faults: PlatformFaults, only: [String]) async throws -> [CheckResult] {
        var registry = DeviceKindRegistry()
        for kind in BuiltInKinds.all { try registry.register(kind) }
        let catalog = try ModelCatalog.load(directory: path("devices"), kinds: registry)
        let park = try ParkFile.load(file: path("conformance/parks/demo.yaml"), catalog: catalog, kinds: registry)
        let suite = try Suite.load(file: path("conformance/suites/park-core.yaml"))
        let profile = try PlatformProfile.load(file: path("conformance/platforms/reference.yaml"))
        let rules = try LinkageRule.load(file: path("conformance/platform/linkage.yaml"))

        // Meters answer a gateway's polls, which a virtual park does not run: they stay out.
        let bound = park.boundDevices
        let maps = catalog.modbusMaps(for: bound)
        let onMQTT = Set(bound.filter { maps[$0.model] == nil && !catalog.speaksDLT645($0.model) }.map(\.id))
        let plan = try park.plan(kinds: registry).filter { onMQTT.contains($0.id) }

        let alarmEvents = Set(registry.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let platform = InProcessReferencePlatform(
            configuration: PlatformConfiguration(alarmEvents: alarmEvents, heartbeatTimeout: .seconds(120), linkageRules: rules),
            faults: faults, start: ManualClock.defaultWallOrigin)
        let virtual = try VirtualPark(
            plan: plan, devices: bound.filter { onMQTT.contains($0.id) }, topics: try DeviceTopicTemplate(profile.deviceTopics ?? DeviceTopicTemplate.standard.pattern),
            profile: profile, system: platform)
        virtual.start()
        // As the demo does: the platform hears every device before the first check.
        _ = await virtual.waitUntil(deadline: virtual.wallNow() + 1_000_000_000) { false }

        var configuration = HarnessRunner.Configuration(
            suite: suite, profile: profile, park: park, parkFile: "demo.yaml", plan: plan, kinds: registry, seed: park.seed,
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

    init(configuration: PlatformConfiguration, faults: PlatformFaults, start: WallTime) {
        clock = ManualPlatformClock(start: UInt64(start.nanosecondsSinceEpoch))
        platform = ReferencePlatform(endpoints: .init(), configuration: configuration, faults: faults, clock: clock, outlet: self)
        platform.startTicking()
    }

    var subscriptions: [String] { [platform.endpoints.deviceFilter] }
    func attach(publish: @escaping @Sendable (String, [UInt8]) -> Void) { publisher = publish }
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS) { publisher?(topic, payload) }
    func receive(topic: String, payload: [UInt8]) { platform.receive(topic: topic, payload: payload) }
    var nextDeadline: Int64? { clock.nextDeadline.map { Int64($0) } }

    func advance(toWall wall: Int64) {
        let now = Int64(clock.now())
        if wall > now { clock.advance(by: .nanoseconds(wall - now)) }
    }

    func request(method: String, url: URL, body: [UInt8]) -> HTTPAnswer {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let uri = (components?.percentEncodedPath ?? url.path) + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
        let answer = platform.answer(method: method, uri: uri, body: body)
        return HTTPAnswer(status: answer.status, body: answer.body)
    }
}

