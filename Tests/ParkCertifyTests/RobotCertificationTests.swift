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
                let outcome = Result { () throws(RobotCertificationError) in try RobotCertification(configuration).run() }
                results.withLock { $0[id] = outcome }
            }
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        await engine.stop()

        let passing = try #require(try results.withLock { $0["R-good"] }?.get())
        #expect(passing.map(\.id) == RobotCertification.checkIDs)
        for check in passing {
            #expect(check.verdict == .pass, "R-good \(check.id) \(check.verdict): \(check.summary) \(check.findings)")
        }
        let failing = try #require(try results.withLock { $0["R-stale"] }?.get())
        for check in failing {
            #expect(check.verdict == (check.id == "stale-update-rejected" ? .fail : .pass), "R-stale \(check.id) \(check.verdict): \(check.summary)")
        }
    }
}
