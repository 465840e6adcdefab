import Foundation
import ParkBindings
@testable import ParkCertify
import ParkCore
import ParkProfiles
import ParkReport
import ParkTestSupport
import ParkVDA5050
import ParkWire
import Synchronization
import Testing

/// `certify --robot` as the fleet controller of fourteen robots through mosquitto: ParkBench's
/// own `mobile-robot` passes every case, and thirteen copies of it, each with one firmware defect
/// (``VDA5050Defect``), fail the case that judges that rule. They run at once on one broker: a
/// certification mostly waits on the robot's driving. (A robot nobody hears is exit 3:
/// `CertifyTests.robotOptionsAreValidatedAndASilentRobotIsExitThree`.)
@Suite(.serialized) struct RobotCertificationTests {
    /// Each defect, the case it breaks, and the later cases it may also break because the run
    /// goes on from where the broken rule left the robot (any other case must pass, or not run
    /// when the broken case is one the later ones stand on).
    static let defects: [(defect: VDA5050Defect, fails: String, mayAlsoFail: Set<String>)] = [
        (.connectionNotRetained, "connection", []),
        (.stateRequestUnreported, "state-request", []),
        (.factsheetRequestIgnored, "factsheet", []),
        (.mapOffset, "order-completed", []),
        (.finishedActionsFailed, "action-states", []),
        // The update cases after it are not run: there is no base's end to update at.
        (.horizonDriven, "order-update", []),
        (.staleUpdatesIgnored, "stale-update-rejected", []),
        // It may still be driving the update it should have refused when the next order comes.
        (.brokenStitchAccepted, "broken-stitch-rejected", ["busy-order-rejected"]),
        // The order it dropped can be neither paused nor cancelled.
        (.busyOrderAccepted, "busy-order-rejected", ["pause", "cancel-order"]),
        // Not stopped, it may reach the end before cancelOrder is sent.
        (.pauseIgnored, "pause", ["cancel-order"]),
        (.cancelIgnored, "cancel-order", []),
        (.headerIdsRestart, "header-ids", []),
        (.noLastWill, "last-will", []),
    ]

    @Test func ourRobotPassesAndEachDefectFailsItsCase() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let robotKind = try #require(PluginLoader.discover().kinds.first { $0.descriptor.name == "mobile-robot" }, "libParkPluginMobileRobot.so is built next to the tests")
        var good = ModelProfile(kind: "mobile-robot", model: "bot-good", vendor: "Acme", title: "", parameters: ["max_speed": "4"], file: "bot-good.yaml")
        good.vda5050 = ModelVDA5050Settings(stateInterval: .seconds(30), visualizationInterval: .seconds(1))
        var models = [good]
        var robots = [(id: "R-good", model: "bot-good")]
        for (defect, _, _) in Self.defects {
            var broken = good
            broken.model = "bot-\(defect.rawValue)"
            broken.vda5050?.defects = [defect]
            models.append(broken)
            robots.append(("R-\(defect.rawValue)", broken.model))
        }
        #expect(Set(Self.defects.map(\.defect)) == Set(VDA5050Defect.allCases), "every defect is proven here")
        let plan = try robots.map { robot in
            PlannedDevice(kind: robotKind, setup: DeviceSetup(
                id: robot.id, parameters: try DeviceParameters(descriptor: robotKind.descriptor, overrides: [
                    "max_speed": "4", "report_interval": "200ms", "heartbeat_interval": "1h",
                ]), random: .forDevice(robot.id, runSeed: 5), placement: Placement(zone: "park-a", floor: 1)))
        }
        let binding = VDA5050RobotBinding(
            devices: robots.map { BoundDevice(id: $0.id, kind: "mobile-robot", model: $0.model, zone: "park-a") }, catalog: ModelCatalog(models),
            configuration: .init(port: broker.port, defaultActionTime: .seconds(1)))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        await engine.start()
        try binding.start()
        defer { binding.stop() }

        let port = broker.port
        let results = Mutex<[String: Result<[CheckResult], RobotCertificationError>]>([:])
        let group = DispatchGroup()
        for robot in robots {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var configuration = RobotCertification.Configuration(host: "127.0.0.1", port: port, manufacturer: "Acme", serialNumber: robot.id)
                configuration.connectTimeout = .seconds(20)
                configuration.answerTimeout = .seconds(2)
                configuration.driveTimeout = .seconds(20)
                configuration.leg = 1
                // The 30 s state rule is judged on a synthetic log below, not by waiting here.
                configuration.stateWindow = .zero
                configuration.cutConnection = { try binding.dropConnection(robot.id) }
                configuration.willTimeout = .seconds(3)
                let outcome = Result { () throws(RobotCertificationError) in try RobotCertification(configuration).run() }
                results.withLock { $0[robot.id] = outcome }
            }
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        await engine.stop()

        let passing = try #require(try results.withLock { $0["R-good"] }?.get())
        #expect(passing.map(\.id) == RobotCertification.checkIDs)
        for check in passing {
            #expect(check.verdict == (check.id == "state-interval" ? .skipped : .pass), "R-good \(check.id) \(check.verdict): \(check.summary) \(check.findings)")
        }
        for (defect, fails, mayAlsoFail) in Self.defects {
            let checks = try #require(try results.withLock { $0["R-\(defect.rawValue)"] }?.get())
            let target = try #require(checks.first { $0.id == fails })
            #expect(target.verdict == .fail, "\(defect.rawValue): \(fails) \(target.verdict): \(target.summary)")
            for check in checks where check.id != fails && !mayAlsoFail.contains(check.id) {
                #expect(check.verdict == .pass || check.verdict == .skipped, "\(defect.rawValue) also \(check.verdict) \(check.id): \(check.summary) \(check.findings)")
            }
            let also = checks.filter { $0.verdict == .fail && $0.id != fails }.map { "\($0.id): \($0.summary)" }
            print("certify --robot, \(defect.rawValue): \(fails) failed (\(target.summary))" + (also.isEmpty ? "" : "; also " + also.joined(separator: "; ")))
        }
    }

    /// `--cut-command` runs in a shell and must exit 0; a failure names its status and what it said.
    @Test func theCutCommandMustSucceed() throws {
        try RobotCertification.shellCut("true")()
        #expect {
            try RobotCertification.shellCut("echo 'no route to robot' >&2; exit 3")()
        } throws: { "\($0)" == "--cut-command exited 3: no route to robot" }
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
