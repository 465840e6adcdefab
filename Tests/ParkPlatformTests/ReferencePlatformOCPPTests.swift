import Foundation
import NIOPosix
import ParkMQTT
import ParkOCPP
@testable import ParkPlatform
import ParkTestSupport
import Synchronization
import Testing

/// EV chargers on the reference platform's OCPP central system (issue 17, the platform role):
/// a charge point nobody here wrote (the python `ocpp` package's, validating our answers against
/// the 1.6 schemas) boots with its password, is started and stopped from the REST command path,
/// and its session is billed from its meter; hand-made frames prove the fault switches and the
/// Faulted → alarm rule.
@Suite(.serialized) struct ReferencePlatformOCPPTests {
    typealias Outlet = ReferencePlatformSIPTests.Outlet

    static func waitUntil(_ timeout: Duration = .seconds(15), _ done: () -> Bool) -> Bool {
        ReferencePlatformSIPTests.waitUntil(timeout, done)
    }

    static func logLines(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func aPythonChargePointBootsIsStartedAndStoppedRemotelyAndBilled() throws {
        let outlet = Outlet()
        let platform = ReferencePlatform(endpoints: .init(), clock: ManualPlatformClock(), outlet: outlet)
        defer { platform.stop() }
        let port = try platform.startOCPP(.init(port: 0, heartbeatInterval: 5, passwords: { $0 == "CP-PY" ? "py-secret" : nil }, requirePasswords: true))
        let directory = try TemporaryDirectory()
        let log = directory.path("cp.jsonl"), wrongLog = directory.path("wrong.jsonl")
        try OCPPPeers.chargepoint.write(toFile: directory.path("cp.py"), atomically: true, encoding: .utf8)
        let chargePoint = try ChildProcess(try executablePath("python3"), [
            directory.path("cp.py"), String(port), "--id", "CP-PY", "--password", "py-secret", "--log", log, "--run", "20",
        ], output: directory.path("cp.log"))
        defer { chargePoint.stop() }
        let intruder = try ChildProcess(try executablePath("python3"), [
            directory.path("cp.py"), String(port), "--id", "CP-PY", "--password", "wrong", "--log", wrongLog, "--run", "3",
        ], output: directory.path("wrong.log"))
        defer { intruder.stop() }

        #expect(Self.waitUntil { outlet.published("CP-PY", "online") }, "the charge point booted and is online")
        #expect(Self.waitUntil { platform.core.withLock { $0.devices["CP-PY"]?.connectors[1] } == "Available" })
        let start = try platform.command("CP-PY", command: "remote-start", arguments: ["id_tag": "TAG-7", "connector": 1]).get()
        #expect(Self.waitUntil { platform.records.command(start)?.ack?.accepted == true }, "the charge point accepted the remote start")
        #expect(Self.waitUntil { platform.chargingSessions.first?.idTag == "TAG-7" })
        #expect(Self.waitUntil { (platform.core.withLock { $0.devices["CP-PY"]?.values["energy_wh"] } ?? 0) > 1_000 }, "meter values became telemetry")
        #expect(Self.waitUntil { platform.core.withLock { $0.devices["CP-PY"]?.connectors[1] } == "Charging" })
        let stop = try platform.command("CP-PY", command: "remote-stop", arguments: ["connector": 1]).get()
        #expect(Self.waitUntil { platform.records.command(stop)?.ack?.accepted == true })
        #expect(Self.waitUntil { platform.chargingSessions.first?.stopReason == "Remote" })
        let session = try #require(platform.chargingSessions.first)
        #expect((session.energyWh ?? 0) > 0, "billed from meterStop − meterStart: \(session)")
        #expect(outlet.objects(on: "platform/telemetry").contains { ($0["values"] as? [String: Any])?["energy_wh"] != nil })

        // The charge point validated every answer of ours against the 1.6 schemas: an invalid one
        // would be logged as an error it raised or a frame it could not read.
        let lines = Self.logLines(log)
        #expect(lines.contains { $0["action"] as? String == "BootNotification" && $0["dir"] as? String == "out" })
        #expect(!lines.contains { $0["type"] as? String == "invalid" || $0["schema_error"] != nil }, "\(lines.filter { $0["type"] as? String == "invalid" })")
        // The same id with a wrong password never got in.
        #expect(intruder.waitForExit(timeout: .seconds(10)))
        #expect(!Self.logLines(wrongLog).contains { $0["action"] as? String == "BootNotification" && $0["type"] as? String == "result" })
        // An unknown command word is refused naming the ones a charger takes.
        if case .failure(let error) = platform.command("CP-PY", command: "fly", arguments: [:]) {
            #expect(error.description.contains("remote-start"))
        } else {
            Issue.record("'fly' was accepted")
        }
    }

    /// A charge point made of hand-written frames on our own WebSocket client.
    final class HandChargePoint: OCPPWebSocketDelegate, @unchecked Sendable {
        let answers = Mutex<[String: (payload: JSONValue, at: ContinuousClock.Instant)]>([:])
        func opened(_ connection: OCPPWebSocketConnection) {}
        func received(_ text: String, on connection: OCPPWebSocketConnection) {
            if case .result(let id, let payload)? = try? OCPPFrame.parse(text) { answers.withLock { $0[id] = (payload, .now) } }
        }
        func closed(_ connection: OCPPWebSocketConnection, reason: String) {}
        func answer(_ id: String) -> JSONValue? { answers.withLock { $0[id]?.payload } }
    }

    @Test func aFaultedConnectorIsAnAlarmAndTheFaultSwitchesBiteTheChargers() throws {
        let outlet = Outlet()
        let clock = ManualPlatformClock()
        let platform = ReferencePlatform(endpoints: .init(), clock: clock, outlet: outlet)
        defer { platform.stop() }
        let port = try platform.startOCPP(.init(port: 0))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let hand = HandChargePoint()
        let connection = try OCPPWebSocketClient.connect(.init(host: "127.0.0.1", port: port, path: "/ocpp/CP-HAND"), on: group.next(), delegate: { hand }).wait()
        func call(_ id: String, _ action: String, _ payload: JSONValue) -> JSONValue? {
            connection.send(OCPPFrame.call(id: id, action: action, payload: payload).text)
            _ = Self.waitUntil(.seconds(2)) { hand.answer(id) != nil }
            return hand.answer(id)
        }
        #expect(call("1", "BootNotification", ["chargePointVendor": "Hand", "chargePointModel": "Made"])?["status"] == "Accepted")
        #expect(call("2", "StatusNotification", ["connectorId": 1, "status": "Faulted", "errorCode": "GroundFailure"]) == [:])
        #expect(Self.waitUntil { outlet.objects(on: "platform/alarms").contains { $0["device"] as? String == "CP-HAND" && $0["event"] as? String == "ground-fault" } })
        #expect(platform.core.withLock { $0.devices["CP-HAND"]?.status } == .abnormal)
        // A repeated Faulted notification is the same fault, not a second alarm.
        _ = call("3", "StatusNotification", ["connectorId": 1, "status": "Faulted", "errorCode": "GroundFailure"])
        #expect(outlet.objects(on: "platform/alarms").count == 1)
        _ = call("4", "StatusNotification", ["connectorId": 1, "status": "Available", "errorCode": "NoError"])
        #expect(platform.core.withLock { $0.devices["CP-HAND"]?.status } == .online)

        // drop-alarms: the next fault is swallowed.
        var faults = PlatformFaults()
        faults.dropAlarms = true
        platform.setFaults(faults)
        _ = call("5", "StatusNotification", ["connectorId": 1, "status": "Faulted", "errorCode": "HighTemperature"])
        #expect(outlet.objects(on: "platform/alarms").count == 1, "the over-temperature alarm was dropped")
        // Slow responses: an answer leaves 300 ms after its call.
        faults = PlatformFaults()
        faults.ocppSlowResponses = .milliseconds(300)
        platform.setFaults(faults)
        let asked = ContinuousClock.now
        #expect(call("6", "Heartbeat", [:])?["currentTime"]?.string != nil)
        let answeredAt = try #require(hand.answers.withLock { $0["6"]?.at })
        #expect(answeredAt - asked >= .milliseconds(300))
        // Rejected boots.
        faults = PlatformFaults()
        faults.ocppBootsRejected = true
        platform.setFaults(faults)
        #expect(call("7", "BootNotification", ["chargePointVendor": "Hand", "chargePointModel": "Made"])?["status"] == "Rejected")
        // Something that is not OCPP-J is answered by id where it can be, and changes nothing.
        connection.send(#"[2,"8","StatusNotification","not an object"]"#)
        connection.send("garbage")
        #expect(call("9", "FooBar", [:]) == nil, "an unknown action is a CALLERROR, not a result")
        // The socket closes: the charger is offline at once.
        connection.close()
        #expect(Self.waitUntil { outlet.published("CP-HAND", "offline") })
    }
}
