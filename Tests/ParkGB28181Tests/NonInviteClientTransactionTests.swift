@testable import ParkGB28181
import Testing

/// RFC 3261 §17.1.2.2 over UDP, on a fake clock: Timer E's schedule, Timer F, and what a
/// provisional and a final response do; then the table matching responses by branch + method.
@Suite struct NonInviteClientTransactionTests {
    static let second: UInt64 = 1_000_000_000

    /// Drives a transaction by firing at each deadline; returns the retransmission instants (s).
    static func retransmissionTimes(_ transaction: inout NonInviteClientTransaction, provisionalAt: UInt64? = nil) -> (times: [Double], timedOutAt: Double?) {
        var times: [Double] = []
        var provisional = provisionalAt
        while transaction.state != .terminated {
            let now = transaction.nextDeadline
            if let at = provisional, at <= now {
                #expect(transaction.received(status: 100) == .provisional)
                provisional = nil
            }
            switch transaction.timerFired(now: now) {
            case .retransmit: times.append(Double(now) / Double(second))
            case .timedOut: return (times, Double(now) / Double(second))
            case .nothing: break
            }
        }
        return (times, nil)
    }

    @Test func timerEDoublesFromT1ToT2AndTimerFEndsItAt32Seconds() {
        var transaction = NonInviteClientTransaction(now: 0, timers: .rfc3261)
        let (times, timedOutAt) = Self.retransmissionTimes(&transaction)
        // Gaps 0.5, 1, 2, 4, 4, …: sends at 0.5, 1.5, 3.5, 7.5, 11.5 … 31.5.
        #expect(times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
        #expect(timedOutAt == 32)
        #expect(transaction.retransmissions == 10)
    }

    @Test func aProvisionalResponseMovesToProceedingWhichRetransmitsAtT2() {
        var transaction = NonInviteClientTransaction(now: 0, timers: .rfc3261)
        #expect(transaction.timerFired(now: transaction.nextDeadline) == .retransmit)  // 0.5 s, next at 1.5
        #expect(transaction.received(status: 100) == .provisional)
        #expect(transaction.state == .proceeding)
        var times: [UInt64] = []
        for _ in 0..<3 {
            let now = transaction.nextDeadline
            #expect(transaction.timerFired(now: now) == .retransmit)
            times.append(now)
        }
        #expect(times == [3 * Self.second / 2, 11 * Self.second / 2, 19 * Self.second / 2])
        #expect(transaction.received(status: 200) == .final)
        #expect(transaction.state == .terminated && transaction.nextDeadline == .max)
        #expect(transaction.received(status: 200) == .ignored)
    }

    @Test func shortenedTimersScaleTheSchedule() {
        var transaction = NonInviteClientTransaction(now: 0, timers: SIPTimers(t1: .milliseconds(10), t2: .milliseconds(40)))
        let (times, timedOutAt) = Self.retransmissionTimes(&transaction)
        #expect(times.prefix(5) == [0.01, 0.03, 0.07, 0.11, 0.15])
        #expect(timedOutAt == 0.64)
    }

    @Test func responsesFindTheirTransactionByBranchAndMethodAndStraysAreCounted() {
        var table = SIPClientTransactions<Int>(timers: .rfc3261)
        var sent: [SIPDatagram] = []
        let server = SIPAddress.loopback(port: 5060)
        let request = SIPMessage.request(method: "REGISTER", uri: "sip:s@d", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKone"), SIPHeader("CSeq", "1 REGISTER"),
        ])
        table.start(request, to: server, owner: 7, now: 0, send: { sent.append($0) })
        #expect(sent.count == 1 && sent[0].address == server)
        var other = request.response(status: 200, reason: "OK")
        other.headers.set("CSeq", "1 MESSAGE")
        #expect(table.received(other) == nil)  // same branch, other method
        guard case .response(let owner, _, let final) = table.received(request.response(status: 200, reason: "OK")) else {
            Issue.record("the 200 did not match")
            return
        }
        #expect(owner == 7 && final && table.count == 0)
        #expect(table.received(request.response(status: 200, reason: "OK")) == nil)
        #expect(table.strayResponses == 2)
        // Its heap entry is stale now: advancing sends nothing.
        table.advance(now: Self.second, send: { sent.append($0) }, outcome: { _ in Issue.record("no outcome expected") })
        #expect(sent.count == 1)
    }
}
