import Foundation
import ParkGB28181
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Our registering cameras (``SIPRegistrarClient`` on one ``SIPUDPTransport``) against kamailio as
/// the GB/T 28181 platform's registrar: kamailio's auth module judges each camera's digest against
/// that camera's own password, and its location table says who got registered (issue 14).
@Suite(.serialized) struct KamailioRegistrarTests {
    static let server = "34020000002000000001"
    typealias Transport = SIPUDPTransport<SIPRegistrarClient>

    /// A different password per camera, so an answer computed with a neighbour's would fail.
    static func password(_ index: Int) -> String { "camera-\(index)-secret" }

    static func camera(_ n: Int) throws -> String { try GB28181ID.nth(n, of: .ipc, centre: "34020000").rawValue }

    /// Our cameras on one socket registering to `kamailio`: `accounts` in order (id, password).
    static func transport(to kamailio: KamailioRegistrar, accounts: [(String, String)], keepalive: Duration) throws -> Transport {
        try Transport(binding: .loopback(port: 0)) { local in
            let settings = SIPRegistrationSettings(
                server: .loopback(port: UInt16(kamailio.port)), serverID: server, domain: KamailioRegistrar.realm, local: local,
                keepaliveInterval: keepalive)
            var client = SIPRegistrarClient(settings: settings, seed: 28181)
            for (camera, password) in accounts { client.add(deviceID: camera, password: password) }
            return client
        }
    }

    /// Polls until `done` holds for the client or `timeout` passes; returns whether it did.
    static func wait(_ transport: Transport, timeout: Duration = .seconds(10), until done: @escaping @Sendable (SIPRegistrarClient) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if transport.inspect({ done($0) }) { return true }
            usleep(5_000)
        }
        return false
    }

    static func isRegistered(_ camera: SIPRegistration) -> Bool {
        if case .registered = camera.state { return true }
        return false
    }

    static func failed(_ camera: SIPRegistration, with failure: SIPRegistration.Failure) -> Bool {
        if case .failed(let why, _) = camera.state { return why == failure }
        return false
    }

    @Test func fiftyCamerasRegisterWithTheirOwnPasswordsKeepAliveAndUnregisterAndAWrongPasswordIsForbidden() throws {
        let good = try (1...50).map { (try Self.camera($0), Self.password($0)) }
        let wrong = try Self.camera(51), unknown = try Self.camera(52)
        var passwords = Dictionary(uniqueKeysWithValues: good)
        passwords[wrong] = Self.password(51)
        let kamailio = try KamailioRegistrar(passwords: passwords)
        defer { kamailio.stop() }
        let accounts = good + [(wrong, Self.password(1)), (unknown, Self.password(52))]
        let transport = try Self.transport(to: kamailio, accounts: accounts, keepalive: .seconds(1))
        try transport.start()
        defer { transport.stop() }

        let started = ContinuousClock.now
        transport.perform { client, now in client.startAll(now: now) }
        #expect(Self.wait(transport) { $0.registrations.prefix(50).allSatisfy(Self.isRegistered) }, "not all registered: \(kamailio.logs())")
        let registering = ContinuousClock.now - started
        // The wrong password is refused after kamailio's challenge was answered; a device kamailio
        // has no password for is not found. Both retry after backoff, so catch them between tries.
        #expect(Self.wait(transport) { Self.failed($0.registrations[50], with: .forbidden) }, "wrong password: \(transport.inspect { $0.registrations[50] })")
        #expect(Self.wait(transport) { Self.failed($0.registrations[51], with: .rejected(status: 404)) }, "unknown: \(transport.inspect { $0.registrations[51] })")
        #expect(Self.wait(transport) { $0.registrations.prefix(50).allSatisfy { $0.counters.keepalivesAnswered >= 1 } }, "keepalives unanswered")

        let registered = try kamailio.locations()
        #expect(Set(registered.aors) == Set(good.map(\.0)) && registered.aors.count == 50, "kamailio's location table: \(registered.aors)")
        #expect(registered.contacts == 50)

        transport.perform { client, now in client.stopAll(now: now) }
        #expect(Self.wait(transport) { $0.registrations.allSatisfy { $0.state == .unregistered } }, "not all unregistered")
        let left = try kamailio.locations()
        #expect(left.aors.isEmpty && left.contacts == 0, "still in kamailio's location table: \(left.aors)")
        print("50 cameras registered with kamailio (digest, own passwords) in \(registering)")

        let registrations = transport.inspect { $0.registrations }
        for camera in registrations.prefix(50) {
            let counters = camera.counters
            #expect(counters.registered == 1 && counters.challenges == 1 && counters.registersSent == 3, "\(camera.deviceID): \(counters)")
            #expect(counters.forbidden == 0 && counters.timeouts == 0 && counters.keepalivesMissed == 0, "\(camera.deviceID): \(counters)")
        }
        #expect(registrations[50].counters.registered == 0 && registrations[50].counters.forbidden >= 1, "\(registrations[50].counters)")
        #expect(registrations[51].counters.registered == 0 && registrations[51].counters.challenges == 0, "\(registrations[51].counters)")
        let statistics = transport.statistics
        #expect(statistics.unparsable == 0 && statistics.sendsFailed == 0, "\(statistics)")
    }

    /// RFC 3261 §22.2: credentials the server did not accept are not sent again unless the
    /// challenge says the nonce was stale. Before this was fixed, a registrar with fresh nonces got
    /// the wrong password back at network speed (2,265–4,397 REGISTERs in 2 s from one camera).
    @Test func aWrongPasswordChallengedAgainWithAFreshNonceIsNotSentAgainAndAgain() throws {
        let camera = try Self.camera(1)
        let kamailio = try KamailioRegistrar(passwords: [camera: Self.password(1)], wrongPassword: .challengeAgain)
        defer { kamailio.stop() }
        let transport = try Self.transport(to: kamailio, accounts: [(camera, Self.password(2))], keepalive: .seconds(3600))
        try transport.start()
        defer { transport.stop() }
        transport.perform { client, now in client.startAll(now: now) }
        // Whichever failure a fixed client reports, it stops and backs off.
        let refused = Self.wait(transport, timeout: .seconds(2)) { client in
            if case .failed = client.registrations[0].state { return true }
            return false
        }
        transport.stop()
        let counters = transport.inspect { $0.registrations[0].counters }
        #expect(refused, "\(counters)")
        #expect(counters.registersSent <= 6, "a wrong password sent again and again: \(counters)")
    }

    @Test func kamailioAnswersNoKeepaliveOfACameraItDoesNotHaveRegistered() throws {
        let camera = try Self.camera(1)
        let kamailio = try KamailioRegistrar(passwords: [camera: Self.password(1)])
        defer { kamailio.stop() }
        let transport = try Self.transport(to: kamailio, accounts: [(camera, Self.password(1))], keepalive: .milliseconds(300))
        try transport.start()
        defer { transport.stop() }
        transport.perform { client, now in client.startAll(now: now) }
        #expect(Self.wait(transport) { $0.registrations[0].counters.keepalivesAnswered >= 1 }, "\(kamailio.logs())")

        // kamailio forgets the camera behind its back (as a restarted platform would): its next
        // keepalives are refused, and after maxMissedKeepalives (3) it registers again by itself.
        // "s:": kamcmd would send the 20-digit id as a number otherwise.
        let deleted = try kamailio.control(["ul.rm", "location", "s:" + camera])
        #expect(try kamailio.locations().aors.isEmpty, "ul.rm answered: \(deleted)")
        #expect(Self.wait(transport) { $0.registrations[0].counters.reregistrations == 1 && Self.isRegistered($0.registrations[0]) },
                "\(transport.inspect { $0.registrations[0].counters })")
        #expect(try kamailio.locations().aors == [camera])
        let counters = transport.inspect { $0.registrations[0].counters }
        #expect(counters.keepalivesMissed >= 3 && counters.registered == 2, "\(counters)")
    }
}
