import ParkOCPP
import Testing

/// The central system's side: one call of ours in flight, each settled exactly once.
@Suite struct OCPPCentralSystemSessionTests {
    @Test func callsGoOutOneAtATimeAndEachIsSettledOnce() {
        var csms = OCPPCentralSystemSession(callTimeout: 10, idPrefix: "x")
        csms.call("RemoteStartTransaction", ["idTag": "A"], context: "first")
        csms.call("Reset", ["type": "Soft"], context: "second")
        csms.call("UnlockConnector", ["connectorId": 1], context: "third")
        #expect(csms.poll(now: 0) == [.call(id: "x1", action: "RemoteStartTransaction", payload: ["idTag": "A"])])
        #expect(csms.poll(now: 1).isEmpty, "the next waits for the answer")
        csms.receive(#"[3,"x1",{"status":"Accepted"}]"#, now: 2)
        csms.receive(#"[3,"x1",{"status":"Accepted"}]"#, now: 2)
        #expect(csms.poll(now: 2) == [.call(id: "x2", action: "Reset", payload: ["type": "Soft"])])
        csms.receive(#"[4,"x2","NotSupported","no",{}]"#, now: 3)
        #expect(csms.poll(now: 3).count == 1)
        _ = csms.poll(now: 13)
        #expect(csms.takeEvents() == [
            .answered(action: "RemoteStartTransaction", payload: ["status": "Accepted"], context: "first"),
            .refused(action: "Reset", code: .notSupported, description: "no", context: "second"),
            .timedOut(action: "UnlockConnector", context: "third"),
        ])
        #expect(csms.counters.strayAnswers == 1 && csms.counters.timeouts == 1 && csms.counters.callsSent == 3)
    }

    @Test func theChargePointsCallsAreEventsAndBadFramesAreAnsweredByID() {
        var csms = OCPPCentralSystemSession()
        csms.receive(#"[2,"7","Heartbeat",{}]"#, now: 0)
        csms.receive(#"[2,"8","StatusNotification","oops"]"#, now: 0)
        csms.receive("garbage", now: 0)
        #expect(csms.takeEvents() == [.call(id: "7", action: "Heartbeat", payload: [:])])
        csms.answer("7", payload: ["currentTime": "2026-12-07T00:00:00Z"])
        let out = csms.poll(now: 0)
        #expect(out.first.map { if case .error("8", .formationViolation, _, _) = $0 { true } else { false } } == true)
        #expect(out.last == .result(id: "7", payload: ["currentTime": "2026-12-07T00:00:00Z"]))
        #expect(csms.counters.badFrames == 2)
    }

    @Test func aLostConnectionTimesOutWhatWasInFlightAndQueued() {
        var csms = OCPPCentralSystemSession()
        csms.call("Reset", [:], context: 1)
        csms.call("Reset", [:], context: 2)
        _ = csms.poll(now: 0)
        csms.connectionLost()
        #expect(csms.takeEvents() == [.timedOut(action: "Reset", context: 1), .timedOut(action: "Reset", context: 2)])
        #expect(csms.queuedCount == 0 && csms.nextDeadline == nil)
    }
}
