import Foundation
import ParkGB28181
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Our platform's SIP server (``GB28181PlatformServer`` on a real ``SIPUDPTransport``) against
/// sipp as a GB/T 28181 camera: sipp's own `[authentication]` answers our digest challenge, and
/// its out-of-call scenario answers our Catalog query (issue 14, "Real peers").
@Suite(.serialized) struct SippCameraUACTests {
    static let device = "34020000001320000077"
    static let platform = "34020000002000000001"
    static let password = "s1pp-camera-pw"
    typealias Transport = SIPUDPTransport<GB28181PlatformServer>

    /// Our platform on a free loopback port; its events stay in the server until taken.
    static func startPlatform() throws -> Transport {
        let transport = try Transport(binding: .loopback(port: 0)) { local in
            let settings = GB28181PlatformSettings(platformID: platform, domain: "3402000000", local: local)
            return GB28181PlatformServer(settings: settings, seed: 2026) { $0 == device ? password : nil }
        }
        try transport.start()
        return transport
    }

    /// Polls the server's events until `done` holds for what was collected, or `timeout` passes.
    static func collect(
        _ transport: Transport, into events: inout [GB28181PlatformEvent], timeout: Duration = .seconds(20),
        until done: ([GB28181PlatformEvent]) -> Bool
    ) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            events += transport.perform { server, _ in server.takeEvents() }.map(\.event)
            if done(events) { return true }
            guard ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
    }

    /// sipp as the camera. `-auth_uri` (sipp adds the `sip:`): its digest otherwise names `sip:<remote ip:port>` as
    /// its uri, not the REGISTER's Request-URI, and our server holds the uri to the Request-URI
    /// (RFC 2617 §3.2.2.5), as a camera's must be.
    /// `stayMilliseconds`: how long the registered camera stays for out-of-call requests before sipp ends.
    static func camera(_ scenario: String, outOfCall: String? = nil, password: String, platformPort: UInt16, stayMilliseconds: Int = 1000)
        throws -> SippRegistrar
    {
        try SippRegistrar(scenario: scenario, outOfCall: outOfCall, remote: Int(platformPort), arguments: [
            "-m", "1", "-key", "device", device, "-key", "platform", platform, "-au", device, "-ap", password,
            "-auth_uri", "\(platform)@3402000000", "-d", String(stayMilliseconds), "-mp", "41000",
        ])
    }

    static func finished(_ sipp: SippRegistrar) {
        #expect(sipp.process.waitForExit(timeout: .seconds(20)), "sipp did not exit: \(sipp.logs())")
        #expect(sipp.process.status == 0, "sipp exit status \(String(describing: sipp.process.status)): \(sipp.logs())")
    }

    @Test func sippRegistersWithDigestKeepsAliveAndAnswersTheCatalogQuery() throws {
        let transport = try Self.startPlatform()
        defer { transport.stop() }
        let sipp = try Self.camera("gb28181-camera-uac.xml", outOfCall: "gb28181-camera-uac-catalog.xml", password: Self.password, platformPort: transport.local.port)
        defer { sipp.stop() }

        var events: [GB28181PlatformEvent] = []
        let complete = Self.collect(transport, into: &events) { events in
            events.contains { if case .catalog(_, _, _, _, true) = $0 { true } else { false } }
        }
        #expect(complete, "no complete catalog; events \(events); sipp: \(sipp.logs())")
        Self.finished(sipp)
        events += transport.perform { server, _ in server.takeEvents() }.map(\.event)

        #expect(events.contains { if case .registered(Self.device, _, 3600) = $0 { true } else { false } }, "\(events)")
        let catalog = events.compactMap { event -> [CatalogItem]? in
            if case .catalog(Self.device, _, let items, 1, true) = event { items } else { nil }
        }
        #expect(catalog.first?.map(\.name) == ["sipp camera"])
        let counters = transport.inspect { $0.counters }
        #expect(counters.challenges == 1 && counters.refusals == 0 && counters.keepalives == 1 && counters.problems == 0, "\(counters)")
        #expect(transport.inspect { $0.devices[Self.device]?.online } == true)
        #expect(transport.statistics.unparsable == 0, "\(transport.statistics.parseFailures)")
    }

    /// The platform's live video INVITE against sipp as the camera: sipp answers with its SDP,
    /// gets our ACK, later our BYE, and ends its scenario cleanly (it fails on anything else).
    @Test func sippAnswersTheLiveVideoInviteGetsTheAckAndTheBye() throws {
        let transport = try Self.startPlatform()
        defer { transport.stop() }
        let sipp = try Self.camera(
            "gb28181-camera-uac.xml", outOfCall: "gb28181-camera-uac-catalog.xml", password: Self.password, platformPort: transport.local.port,
            stayMilliseconds: 4000)
        defer { sipp.stop() }

        var events: [GB28181PlatformEvent] = []
        #expect(Self.collect(transport, into: &events) { events in
            events.contains { if case .catalog(_, _, _, _, true) = $0 { true } else { false } }
        }, "no complete catalog; sipp: \(sipp.logs())")
        let receiver = GB28181SDP(sessionName: "Play", origin: "", address: "127.0.0.1", port: 30_000, direction: "recvonly")
        let callID = try #require(transport.perform { server, now in server.invite(deviceID: Self.device, channelID: Self.device, receiver: receiver, now: now) })
        let ssrc = try #require(transport.inspect { $0.mediaSessions[callID]?.ssrc })
        #expect(Self.collect(transport, into: &events) { events in
            events.contains { if case .mediaAnswered = $0 { true } else { false } }
        }, "no answer to the INVITE; events \(events); sipp: \(sipp.logs())")
        let answer = try #require(events.compactMap { event -> GB28181SDP? in
            if case .mediaAnswered(Self.device, Self.device, callID, let answer) = event { answer } else { nil }
        }.first)
        #expect(answer.port == 41_000 && answer.ssrc == ssrc && answer.direction == "sendonly" && answer.transport == .udp)
        #expect(answer.format == "v/2/2/25/1/512a///")
        let hungUp = transport.perform { server, now in server.bye(callID: callID, now: now) }
        #expect(hungUp)
        // sipp answers the BYE only from the end of its scenario, after the ACK: its 200 ends our
        // BYE transaction (sipp's exit status says nothing of out-of-call scenarios).
        let byeAnswered = Self.collect(transport, into: &events, timeout: .seconds(3)) { _ in transport.inspect { $0.transactions.count == 0 } }
        #expect(byeAnswered, "sipp did not answer the BYE: \(sipp.logs())")
        Self.finished(sipp)
        events += transport.perform { server, _ in server.takeEvents() }.map(\.event)
        #expect(!events.contains { if case .requestFailed = $0 { true } else if case .mediaFailed = $0 { true } else { false } }, "\(events)")
        #expect(transport.inspect { $0.mediaSessions.isEmpty && $0.counters.invitesSent == 1 && $0.counters.byesSent == 1 })
        #expect(transport.statistics.unparsable == 0, "\(transport.statistics.parseFailures)")
    }

    @Test func aWrongPasswordIsRefused403() throws {
        let transport = try Self.startPlatform()
        defer { transport.stop() }
        let sipp = try Self.camera("gb28181-camera-uac-wrong-password.xml", password: "not-the-password", platformPort: transport.local.port)
        defer { sipp.stop() }
        Self.finished(sipp)

        var events: [GB28181PlatformEvent] = []
        let refused = Self.collect(transport, into: &events) { $0.contains(.refused(deviceID: Self.device, reason: .wrongPassword)) }
        #expect(refused, "events \(events); sipp: \(sipp.logs()) \((try? String(contentsOfFile: sipp.directory.path("messages.log"), encoding: .utf8)) ?? "")")
        #expect(transport.inspect { $0.devices.isEmpty && $0.counters.refusals == 1 })
        let scenarios = try FileManager.default.contentsOfDirectory(atPath: SippRegistrar.scenarioDirectory)
        #expect(Set(scenarios) == SippRegistrar.scenarioFiles, "sipp wrote into the repository: \(scenarios)")
    }
}
