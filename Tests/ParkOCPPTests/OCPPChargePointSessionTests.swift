import ParkOCPP
import Testing

/// The charge point's session on a fake clock: what goes out when, and what survives a lost connection.
@Suite struct OCPPChargePointSessionTests {
    static let second: UInt64 = 1_000_000_000

    func session(heartbeat: Int = 300) -> OCPPChargePointSession {
        OCPPChargePointSession(settings: .init(vendor: "ParkBench", model: "AC7", heartbeatInterval: heartbeat, callTimeout: 30,
                                               transactionMessageAttempts: 3, transactionMessageRetryInterval: 10))
    }

    func calls(_ frames: [OCPPFrame]) -> [String] {
        frames.compactMap { if case .call(_, let action, _) = $0 { action } else { nil } }
    }

    /// Answers the one call in flight with `payload`.
    func answer(_ session: inout OCPPChargePointSession, _ frames: [OCPPFrame], _ payload: JSONValue, at now: UInt64) {
        guard case .call(let id, _, _)? = frames.last else { Issue.record("no call to answer in \(frames)"); return }
        session.receive(OCPPFrame.result(id: id, payload: payload).text, now: now)
    }

    @Test func bootsPendingRetriesThenHeartbeatsAtTheCSMSsInterval() {
        var cp = session()
        cp.enqueue("StatusNotification", ["connectorId": 1, "status": "Available", "errorCode": "NoError"], kind: .status(connector: 1), now: 0)
        #expect(cp.poll(now: 0).isEmpty, "nothing before the connection opens")
        cp.connectionOpened(now: 0)
        var out = cp.poll(now: 0)
        #expect(calls(out) == ["BootNotification"])
        #expect(cp.poll(now: 1).isEmpty, "one call in flight at a time: the status waits for the boot's answer")
        answer(&cp, out, ["status": "Pending", "interval": 5, "currentTime": "2026-12-07T00:00:00Z"], at: 1 * Self.second)
        #expect(cp.poll(now: 5 * Self.second).isEmpty, "a Pending charge point sends nothing until the interval passes")
        out = cp.poll(now: 6 * Self.second)
        #expect(calls(out) == ["BootNotification"])
        answer(&cp, out, ["status": "Accepted", "interval": 60, "currentTime": "2026-12-07T00:00:06Z"], at: 6 * Self.second)
        #expect(cp.takeEvents() == [.bootAccepted(interval: 60)])
        #expect(cp.heartbeatInterval == 60 && cp.configuration["HeartbeatInterval"] == "60")
        out = cp.poll(now: 6 * Self.second)
        #expect(calls(out) == ["StatusNotification"])
        answer(&cp, out, [:], at: 6 * Self.second)
        #expect(cp.poll(now: 65 * Self.second).isEmpty)
        #expect(calls(cp.poll(now: 66 * Self.second)) == ["Heartbeat"], "heartbeat 60 s after the boot was accepted")
        #expect(cp.counters.boots == 2)
    }

    @Test func theOfflineQueueGoesOutInOrderWithTheCSMSsTransactionID() throws {
        var cp = session()
        cp.connectionOpened(now: 0)
        answer(&cp, cp.poll(now: 0), ["status": "Accepted", "interval": 300, "currentTime": "2026-12-07T00:00:00Z"], at: 0)
        cp.enqueue("StartTransaction", ["connectorId": 1, "idTag": "TAG", "meterStart": 100, "timestamp": "2026-12-07T00:00:01Z"], kind: .startTransaction(session: 1), now: 1)
        let start = cp.poll(now: 1)
        #expect(calls(start) == ["StartTransaction"])
        // The connection drops before the CSMS answers: StartTransaction goes back to the queue's head.
        cp.connectionLost(now: 2)
        for n in 1...3 {
            cp.enqueue("MeterValues", ["connectorId": 1, "meterValue": [["timestamp": .string("t\(n)"), "sampledValue": [["value": .string("\(100 + n)")]]]]], kind: .transaction(session: 1), now: 3)
        }
        cp.enqueue("StatusNotification", ["connectorId": 1, "status": "SuspendedEV", "errorCode": "NoError"], kind: .status(connector: 1), now: 3)
        cp.enqueue("StatusNotification", ["connectorId": 1, "status": "Finishing", "errorCode": "NoError"], kind: .status(connector: 1), now: 3)
        cp.enqueue("StopTransaction", ["idTag": "TAG", "meterStop": 110, "timestamp": "t", "reason": "Local"], kind: .transaction(session: 1), now: 4)
        #expect(cp.queuedCount == 6, "only the latest status of a connector is kept while offline")
        cp.connectionOpened(now: 10 * Self.second)
        var sent: [OCPPFrame] = []
        var now = 10 * Self.second
        while let frame = cp.poll(now: now).last {
            sent.append(frame)
            guard case .call(let id, let action, _) = frame else { break }
            let payload: JSONValue = action == "StartTransaction" ? ["transactionId": 4711, "idTagInfo": ["status": "Accepted"]] : [:]
            cp.receive(OCPPFrame.result(id: id, payload: payload).text, now: now)
            now += 1
        }
        #expect(calls(sent) == ["StartTransaction", "MeterValues", "MeterValues", "MeterValues", "StatusNotification", "StopTransaction"])
        for case .call(_, let action, let payload) in sent where action == "MeterValues" || action == "StopTransaction" {
            #expect(payload["transactionId"] == 4711, "\(action) carries the id the CSMS gave")
        }
        #expect(sent.compactMap { if case .call(_, "StatusNotification", let payload) = $0 { payload["status"]?.string } else { nil } } == ["Finishing"])
        #expect(cp.takeEvents().contains(.transactionStarted(session: 1, transactionId: 4711, idTagStatus: "Accepted")))
        #expect(cp.transactionIDs.isEmpty, "the session's id is forgotten once it stopped")
        #expect(cp.counters.transactionMessagesLost == 0)
    }

    @Test func aTransactionMessageIsRetriedAfterAnErrorAndGivenUpAfterItsAttempts() {
        var cp = session()
        cp.connectionOpened(now: 0)
        answer(&cp, cp.poll(now: 0), ["status": "Accepted", "interval": 300, "currentTime": "x"], at: 0)
        _ = cp.takeEvents()
        cp.enqueue("StartTransaction", ["connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "x"], kind: .startTransaction(session: 7), now: 0)
        var times: [UInt64] = []
        var now: UInt64 = 0
        while now < 200 * Self.second {
            if case .call(let id, "StartTransaction", _)? = cp.poll(now: now).last {
                times.append(now / Self.second)
                cp.receive(OCPPFrame.error(id: id, code: .internalError, description: "busy", details: [:]).text, now: now)
            }
            now += Self.second
        }
        #expect(times == [0, 10, 30], "retries after 10 s, then 20 s (TransactionMessageRetryInterval × attempt)")
        #expect(cp.counters.retries == 2 && cp.counters.transactionMessagesLost == 1)
        #expect(cp.takeEvents().contains { if case .failed("StartTransaction", let reason, _) = $0 { reason.contains("after 3 attempts") } else { false } })
    }

    @Test func aCallThatIsNeverAnsweredTimesOut() {
        var cp = session()
        cp.connectionOpened(now: 0)
        answer(&cp, cp.poll(now: 0), ["status": "Accepted", "interval": 300, "currentTime": "x"], at: 0)
        _ = cp.takeEvents()
        cp.enqueue("Authorize", ["idTag": "T"], context: ["connector": 1], now: 0)
        #expect(calls(cp.poll(now: 0)) == ["Authorize"])
        #expect(cp.nextDeadline == 30 * Self.second)
        _ = cp.poll(now: 30 * Self.second)
        #expect(cp.counters.timeouts == 1)
        #expect(cp.takeEvents() == [.failed(action: "Authorize", reason: "no answer in 30 s", context: ["connector": 1])])
    }

    @Test func configurationIsReadAndChangedByTheCSMS() {
        var cp = session()
        cp.connectionOpened(now: 0)
        answer(&cp, cp.poll(now: 0), ["status": "Accepted", "interval": 300, "currentTime": "x"], at: 0)
        _ = cp.takeEvents()
        cp.receive(#"[2,"a","ChangeConfiguration",{"key":"HeartbeatInterval","value":"15"}]"#, now: 0)
        cp.receive(#"[2,"b","ChangeConfiguration",{"key":"NoSuchKey","value":"1"}]"#, now: 0)
        cp.receive(#"[2,"c","ChangeConfiguration",{"key":"HeartbeatInterval","value":"-1"}]"#, now: 0)
        cp.receive(#"[2,"d","GetConfiguration",{"key":["HeartbeatInterval","Nope"]}]"#, now: 0)
        cp.receive(#"[2,"e","RemoteStartTransaction",{"idTag":"T"}]"#, now: 0)
        cp.receive(#"[2,"f","Heartbeat",[]]"#, now: 0)
        let out = cp.poll(now: 0)
        #expect(out.prefix(4) == [
            .result(id: "a", payload: ["status": "Accepted"]), .result(id: "b", payload: ["status": "NotSupported"]),
            .result(id: "c", payload: ["status": "Rejected"]),
            .result(id: "d", payload: ["configurationKey": [["key": "HeartbeatInterval", "readonly": false, "value": "15"]], "unknownKey": ["Nope"]]),
        ])
        #expect(out.contains { if case .error("f", .formationViolation, _, _) = $0 { true } else { false } }, "a malformed CALL is answered by its id")
        #expect(cp.takeEvents() == [.configurationChanged(key: "HeartbeatInterval", value: "15"),
                                    .call(id: "e", action: "RemoteStartTransaction", payload: ["idTag": "T"])])
        #expect(calls(cp.poll(now: 15 * Self.second)) == ["Heartbeat"], "the new interval counts from the change")
    }

    @Test func aLostConnectionFailsAnAuthorizeInFlightAndKeepsAStatusNoNewerOneReplaced() {
        var cp = session()
        cp.connectionOpened(now: 0)
        answer(&cp, cp.poll(now: 0), ["status": "Accepted", "interval": 300, "currentTime": "x"], at: 0)
        _ = cp.takeEvents()
        cp.enqueue("Authorize", ["idTag": "T"], context: ["connector": 1], now: 0)
        #expect(calls(cp.poll(now: 0)) == ["Authorize"])
        cp.connectionLost(now: 1)
        #expect(cp.takeEvents() == [.failed(action: "Authorize", reason: "the connection dropped before the answer", context: ["connector": 1])],
                "the device hears no, rather than nothing")
        cp.enqueue("StatusNotification", ["connectorId": 1, "status": "Charging", "errorCode": "NoError"], kind: .status(connector: 1), now: 2)
        cp.connectionOpened(now: 3)
        #expect(calls(cp.poll(now: 3)) == ["StatusNotification"])
        cp.connectionLost(now: 4)
        #expect(cp.queuedCount == 1, "the status in flight is sent again: the CSMS must not keep the old one")
        cp.enqueue("StatusNotification", ["connectorId": 1, "status": "Finishing", "errorCode": "NoError"], kind: .status(connector: 1), now: 5)
        cp.connectionOpened(now: 6)
        let sent = cp.poll(now: 6)
        guard case .call(_, "StatusNotification", let payload)? = sent.last else { Issue.record("no status sent: \(sent)"); return }
        #expect(payload["status"] == "Finishing" && cp.queuedCount == 0, "only the newest status of the connector")
    }
}
