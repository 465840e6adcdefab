import Foundation
@testable import ParkCertify
import ParkCore
import ParkReport
import ParkTestSupport
import Synchronization
import Testing

/// `certify` as the central system of a charge point nobody here wrote (the python `ocpp`
/// package's): one that behaves passes every case; one that loses its offline queue, and one that
/// sends it twice, fail the offline-queue case and only that; one that ignores TriggerMessage,
/// one that changes availability without saying so and one that never restarts on Reset each
/// fail their case and only that. The six run at once, each on its own port: a certification
/// mostly waits on the charge point's intervals.
@Suite(.serialized) struct ChargerCertificationTests {
    static let profile = """
        kind: ev-charger
        model: py-reference
        vendor: PyCP
        parameters: {connectors: 1, max_power_kw: 22}
        ocpp: {version: "1.6", vendor: PyCP, model: Reference}
        """

    /// Runs one certification against a python charge point in `mode`; the checks by id.
    static func certify(mode: String) throws -> [String: CheckResult] {
        let directory = try TemporaryDirectory()
        try OCPPPeers.chargepoint.write(toFile: directory.path("cp.py"), atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let chargePoint = try ChildProcess(try executablePath("python3"), [
            directory.path("cp.py"), String(port), "--id", "CP-\(mode)", "--password", "cp-secret", "--log", directory.path("cp.jsonl"),
            "--mode", mode, "--run", "60",
        ], output: directory.path("cp.log"))
        defer { chargePoint.stop() }
        var configuration = ChargerCertification.Configuration(
            host: "127.0.0.1", port: port, chargePointID: "CP-\(mode)", password: "cp-secret",
            profile: try ModelProfile.parse(profile, file: "py-reference.yaml"))
        configuration.heartbeatInterval = 1
        configuration.sampleInterval = 1
        configuration.outage = .seconds(3)
        configuration.bootTimeout = .seconds(20)
        configuration.answerTimeout = .seconds(3)
        configuration.rebootTimeout = .seconds(5)
        let checks = try ChargerCertification(configuration).run()
        return Dictionary(checks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func aGoodChargePointPassesAndOneThatBreaksItsOfflineQueueFailsThatCase() throws {
        let breaks = ["drop-queue": "offline-queue", "duplicate-queue": "offline-queue", "trigger-ignored": "trigger-message",
                      "availability-unreported": "change-availability", "reset-ignored": "reset"]
        let modes = ["good"] + breaks.keys.sorted()
        let results = Mutex<[String: Result<[String: CheckResult], any Error>]>([:])
        let group = DispatchGroup()
        for mode in modes {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let outcome = Result { try Self.certify(mode: mode) }
                results.withLock { $0[mode] = outcome }
            }
        }
        group.wait()
        let good = try #require(try results.withLock { $0["good"] }?.get())
        #expect(Set(good.keys) == Set(ChargerCertification.checkIDs))
        for (id, check) in good {
            #expect(check.verdict == .pass, "good: \(id) \(check.verdict): \(check.summary) \(check.findings)")
        }
        let replayed = good["offline-queue"]?.metrics["replayed"]?.value ?? 0
        #expect(replayed >= 2, "the good charge point replayed its outage's meter values: \(good["offline-queue"]?.summary ?? "")")
        for (mode, broken) in breaks {
            let checks = try #require(try results.withLock { $0[mode] }?.get())
            let failed = Set(checks.values.filter { $0.verdict != .pass }.map(\.id))
            #expect(failed == [broken], "\(mode) fails \(broken) and nothing else: \(checks.values.filter { $0.verdict != .pass }.map { "\($0.id): \($0.summary)" })")
        }
        #expect(try results.withLock { $0["drop-queue"] }?.get()["offline-queue"]?.summary.contains("outage arrived") == true)
        #expect(try results.withLock { $0["duplicate-queue"] }?.get()["offline-queue"]?.summary.contains("twice") == true)
    }

    @Test func aChargePointThatNeverBootsIsNoBootNotAFailedCheck() throws {
        var configuration = ChargerCertification.Configuration(
            host: "127.0.0.1", port: try freeLoopbackPort(), chargePointID: "CP-NONE", password: nil,
            profile: try ModelProfile.parse(Self.profile, file: "py-reference.yaml"))
        configuration.bootTimeout = .milliseconds(300)
        #expect { try ChargerCertification(configuration).run() } throws: { ($0 as? ChargerCertificationError)?.unreachable == true }
    }
}
