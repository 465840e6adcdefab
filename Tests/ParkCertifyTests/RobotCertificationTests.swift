import Foundation
import ParkBindings
@testable import ParkCertify
import ParkCore
import ParkProfiles
import ParkReport
import ParkTestSupport
import ParkWire
import Synchronization
import Testing

/// `certify --robot` as the fleet controller of two robots through mosquitto: ParkBench's own
/// `mobile-robot` passes every case; the same robot with the `stale-updates-ignored` defect
/// (a stale order update dropped without an error) fails that case and only that. The two run at
/// once on one broker: a certification mostly waits on the robot's driving. (A robot nobody hears
/// is exit 3: `CertifyTests.robotOptionsAreValidatedAndASilentRobotIsExitThree`.)
@Suite(.serialized) struct RobotCertificationTests {
    @Test func ourRobotPassesAndOneThatIgnoresStaleUpdatesFailsThatCase() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let robotKind = try #require(PluginLoader.discover().kinds.first { $0.descriptor.name == "mobile-robot" }, "libParkPluginMobileRobot.so is built next to the tests")
        var good = ModelProfile(kind: "mobile-robot", model: "bot-good", vendor: "Acme", title: "", parameters: ["max_speed": "4"], file: "bot-good.yaml")
        good.vda5050 = ModelVDA5050Settings(stateInterval: .seconds(30), visualizationInterval: .seconds(1))
        var broken = good
        broken.model = "bot-stale"
        broken.vda5050?.defects = ["stale-updates-ignored"]
        let robots = [("R-good", "bot-good"), ("R-stale", "bot-stale")]
        let plan = try robots.map { id, _ in
            PlannedDevice(kind: robotKind, setup: DeviceSetup(
                id: id, parameters: try DeviceParameters(descriptor: robotKind.descriptor, overrides: [
                    "max_speed": "4", "report_interval": "200ms", "heartbeat_interval": "1h",
                ]), random: .forDevice(id, runSeed: 5), placement: Placement(zone: "park-a", floor: 1)))
        }
        let binding = VDA5050RobotBinding(
            devices: robots.map { BoundDevice(id: $0.0, kind: "mobile-robot", model: $0.1, zone: "park-a") }, catalog: ModelCatalog([good, broken]),
            configuration: .init(port: broker.port, defaultActionTime: .seconds(1)))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        await engine.start()
        try binding.start()
        defer { binding.stop() }

        let port = broker.port
        let results = Mutex<[String: Result<[CheckResult], RobotCertificationError>]>([:])
        let group = DispatchGroup()
        for (id, _) in robots {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var configuration = RobotCertification.Configuration(host: "127.0.0.1", port: port, manufacturer: "Acme", serialNumber: id)
                configuration.connectTimeout = .seconds(20)
                configuration.answerTimeout = .milliseconds(1500)
                configuration.driveTimeout = .seconds(20)
                configuration.leg = 1
                // The 30 s state rule is judged on a synthetic log below, not by waiting here.
                configuration.stateWindow = .zero
                let outcome = Result { () throws(RobotCertificationError) in try RobotCertification(configuration).run() }
                results.withLock { $0[id] = outcome }
            }
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        await engine.stop()

        let passing = try #require(try results.withLock { $0["R-good"] }?.get())
        #expect(passing.map(\.id) == RobotCertification.checkIDs)
        for check in passing {
            #expect(check.verdict == (check.id == "state-interval" ? .skipped : .pass), "R-good \(check.id) \(check.verdict): \(check.summary) \(check.findings)")
        }
        let failing = try #require(try results.withLock { $0["R-stale"] }?.get())
        for check in failing {
            let expected: RunReport.Verdict = check.id == "stale-update-rejected" ? .fail : check.id == "state-interval" ? .skipped : .pass
            #expect(check.verdict == expected, "R-stale \(check.id) \(check.verdict): \(check.summary)")
        }
    }

    /// The 30 s state rule on a log of state arrivals: a gap over 30 s fails (the time since the
    /// last state counts), a window under 30 s is not judged, 35 s of states every 10 s pass.
    @Test func theStateRuleIsJudgedOnTheGapsIncludingTheLastOne() {
        func judge(_ seconds: [Double], end: Double) -> CheckResult {
            let log = RobotLog(base: "uagv/v2/Acme/R-1")
            for second in seconds {
                log.record(HeardMessage(topic: .state, bytes: [], retained: false, at: UInt64(second * 1e9) + 1_000_000_000, state: nil))
            }
            let run = RobotCertificationRun(configuration: .init(host: "127.0.0.1", port: 1883, manufacturer: "Acme", serialNumber: "R-1"), log: log)
            return run.stateInterval(now: UInt64(end * 1e9) + 1_000_000_000)
        }
        #expect(judge([0, 10, 20, 30], end: 35).verdict == .pass)
        #expect(judge([0, 10, 45], end: 50).verdict == .fail, "a 35 s gap")
        #expect(judge([0, 10], end: 45).verdict == .fail, "35 s since the last state")
        #expect(judge([0, 5], end: 8).verdict == .skipped, "8 s watched cannot judge a 30 s rule")
        #expect(judge([], end: 40).verdict == .fail, "no state at all")
    }
}
