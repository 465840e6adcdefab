@testable import ParkGB28181
import Testing

/// A camera's registration on a fake clock, against a scripted platform: the digest round, the
/// refresh, backoff on 403, keepalive cadence and re-registration after missed keepalives.
@Suite struct SIPRegistrationTests {
    static let second: UInt64 = 1_000_000_000
    static let device = "34020000001320000001"
    static let server = SIPAddress.loopback(port: 5060)

    /// One camera's client, the clock, and every datagram it sent, parsed.
    struct Harness {
        var client: SIPRegistrarClient
        var now: UInt64 = 0
        var sent: [SIPMessage] = []

        init(expires: Int = 3600, keepalive: Duration = .seconds(60)) {
            let settings = SIPRegistrationSettings(
                server: server, serverID: "34020000002000000001", domain: "3402000000", local: .loopback(port: 5070),
                expires: expires, keepaliveInterval: keepalive)
            client = SIPRegistrarClient(settings: settings, seed: 42)
            client.add(deviceID: device, password: "12345678")
        }

        var camera: SIPRegistration { client.registrations[0] }

        mutating func collect() {
            sent += client.takeOutbox().map { datagram in
                #expect(datagram.address == server)
                return try! SIPParser().parse(datagram.bytes)
            }
        }

        mutating func start() {
            client.start(0, now: now)
            collect()
        }

        /// Fires every deadline up to `time`, moving the clock along.
        mutating func run(until time: UInt64) {
            while client.nextDeadline <= time {
                now = max(now, client.nextDeadline)
                client.advance(now: now)
                collect()
            }
            now = time
        }

        /// The platform answers the last request sent.
        mutating func answer(_ status: Int, _ extra: [SIPHeader] = []) {
            let request = sent.last!
            client.received(request.response(status: status, reason: "R", toTag: "plat", extraHeaders: extra), now: now)
            collect()
        }

        mutating func registerWithDigest() {
            start()
            answer(401, [SIPHeader("WWW-Authenticate", #"Digest realm="3402000000", nonce="n1", algorithm=MD5"#)])
            answer(200, [SIPHeader("Expires", "3600")])
        }
    }

    @Test func a401IsAnsweredWithDigestOnTheSameCallIDAndTheNextCSeq() throws {
        var harness = Harness()
        harness.registerWithDigest()
        let first = harness.sent[0], second = harness.sent[1]
        #expect(first.requestURI == "sip:34020000002000000001@3402000000")
        #expect(first.headers["From"]?.hasPrefix("<sip:\(Self.device)@3402000000>;tag=") == true)
        #expect(first.headers["To"] == "<sip:\(Self.device)@3402000000>")
        #expect(first.contact == "<sip:\(Self.device)@127.0.0.1:5070>" && first.expires == 3600)
        #expect(first.headers["Authorization"] == nil)
        #expect(second.callID == first.callID && second.cseq?.number == 2 && second.fromTag == first.fromTag)
        #expect(second.viaBranch != first.viaBranch)
        let credentials = try DigestCredentials(headerValue: try #require(second.headers["Authorization"]))
        let verifier = Digest.response(
            username: Self.device, password: "12345678", realm: "3402000000", method: "REGISTER",
            uri: "sip:34020000002000000001@3402000000", nonce: "n1", qop: nil)
        #expect(credentials.username == Self.device && credentials.response == verifier)
        #expect(harness.camera.state == .registered(until: 3600 * Self.second))
        #expect(harness.camera.counters.challenges == 1 && harness.camera.counters.registered == 1 && harness.camera.counters.registersSent == 2)
    }

    @Test func theRegistrationIsRefreshedAtHalfItsExpiryWithTheCachedCredentials() {
        var harness = Harness(keepalive: .seconds(100_000))
        harness.registerWithDigest()
        harness.run(until: 1800 * Self.second - 1)
        #expect(harness.sent.count == 2)
        harness.run(until: 1800 * Self.second)
        #expect(harness.sent.count == 3)
        let refresh = harness.sent[2]
        #expect(refresh.method == "REGISTER" && refresh.cseq?.number == 3 && refresh.callID == harness.sent[0].callID)
        #expect(refresh.headers["Authorization"]?.contains(#"nonce="n1""#) == true)
        harness.answer(200, [SIPHeader("Expires", "600")])
        #expect(harness.camera.state == .registered(until: 2400 * Self.second))
        harness.run(until: 2100 * Self.second)
        #expect(harness.sent.count == 4)
    }

    @Test func a403BacksOffExponentiallyWithJitterUpToTheCap() {
        var harness = Harness()
        harness.start()
        var retryTimes: [UInt64] = []
        for attempt in 1...10 {
            let answeredAt = harness.now
            harness.answer(403)
            guard case .failed(.forbidden, let retryAt) = harness.camera.state else {
                Issue.record("attempt \(attempt): \(harness.camera.state)")
                return
            }
            let step = min(UInt64(1) << UInt64(attempt - 1), 60) * Self.second
            let delay = retryAt - answeredAt
            #expect(delay >= step / 2 && delay <= step, "attempt \(attempt): \(delay) not in [\(step / 2), \(step)]")
            harness.run(until: retryAt)
            #expect(harness.sent.count == attempt + 1 && harness.sent.last?.method == "REGISTER")
            retryTimes.append(delay)
        }
        #expect(harness.camera.counters.forbidden == 10)
        #expect(Set(retryTimes).count > 5, "jitter: \(retryTimes)")
    }

    @Test func aTimedOutRegisterIsRetransmittedTenTimesThenBacksOff() {
        var harness = Harness()
        harness.start()
        harness.run(until: 32 * Self.second)
        #expect(harness.sent.count == 11)
        #expect(Set(harness.sent.map(\.viaBranch)).count == 1, "a retransmission is the same request")
        guard case .failed(.timedOut, let retryAt) = harness.camera.state else {
            Issue.record("\(harness.camera.state)")
            return
        }
        #expect(retryAt >= 32 * Self.second + Self.second / 2 && retryAt <= 33 * Self.second)
        #expect(harness.camera.counters.timeouts == 1 && harness.camera.counters.retransmissions == 10)
    }

    @Test func keepalivesGoOutAtTheIntervalWithAMANSCDPBody() throws {
        var harness = Harness(keepalive: .seconds(60))
        harness.registerWithDigest()
        var times: [UInt64] = []
        for _ in 0..<3 {
            harness.run(until: harness.camera.wakeAt)
            times.append(harness.now / Self.second)
            harness.answer(200)
        }
        #expect(times == [60, 120, 180])
        let keepalive = harness.sent[2]
        #expect(keepalive.method == "MESSAGE" && keepalive.headers["Content-Type"] == "Application/MANSCDP+xml")
        let body = try MANSCDPMessage(bytes: keepalive.body)
        #expect(body.cmdType == "Keepalive" && body.deviceID == Self.device && body.sn == 1)
        #expect(harness.sent[3].callID != keepalive.callID)
        #expect(harness.camera.counters.keepalivesSent == 3 && harness.camera.counters.keepalivesAnswered == 3)
    }

    @Test func threeUnansweredKeepalivesInARowMeanRegisteringAgain() {
        var harness = Harness(keepalive: .seconds(60))
        harness.registerWithDigest()
        // Keepalives at 60, 120, 180 s, each unanswered: Timer F ends them at 92, 152, 212 s.
        harness.run(until: 211 * Self.second)
        #expect(harness.camera.counters.keepalivesMissed == 2 && harness.camera.counters.reregistrations == 0)
        let before = harness.sent.count
        harness.run(until: 212 * Self.second)
        #expect(harness.camera.counters.keepalivesMissed == 3 && harness.camera.counters.reregistrations == 1)
        let register = harness.sent[before...].first { $0.method == "REGISTER" }
        #expect(register?.headers["Authorization"] == nil, "starts over, challenge included")
        #expect(harness.camera.state == .registering)
    }

    @Test func stopUnregistersWithExpiresZero() {
        var harness = Harness()
        harness.registerWithDigest()
        harness.client.stop(0, now: harness.now)
        harness.collect()
        let unregister = harness.sent[2]
        #expect(unregister.method == "REGISTER" && unregister.expires == 0 && unregister.headers["Authorization"] != nil)
        #expect(harness.camera.state == .unregistering)
        harness.answer(200)
        #expect(harness.camera.state == .unregistered && harness.camera.wakeAt == .max && harness.client.transactions.count == 0)
    }

    @Test func aChallengeToTheNonceJustAnsweredIsAWrongPassword() {
        var harness = Harness()
        harness.start()
        let challenge = [SIPHeader("WWW-Authenticate", #"Digest realm="3402000000", nonce="n1""#)]
        harness.answer(401, challenge)
        harness.answer(401, challenge)
        guard case .failed(.credentialsRefused, _) = harness.camera.state else {
            Issue.record("\(harness.camera.state)")
            return
        }
        #expect(harness.sent.count == 2)
    }

    /// A registrar with a fresh nonce per challenge: one more answer (a refresh may be
    /// re-challenged), then the credentials count as refused (RFC 3261 §22.2), not a loop.
    @Test func freshNoncesToOurCredentialsAreAnsweredOnceThenTakenAsRefused() {
        var harness = Harness()
        harness.start()
        for nonce in ["n1", "n2", "n3"] {
            harness.answer(401, [SIPHeader("WWW-Authenticate", "Digest realm=\"3402000000\", nonce=\"\(nonce)\"")])
        }
        guard case .failed(.credentialsRefused, _) = harness.camera.state else {
            Issue.record("\(harness.camera.state)")
            return
        }
        #expect(harness.sent.count == 3, "REGISTER, its answer to n1, one answer to the fresh n2; none to n3")
    }
}
