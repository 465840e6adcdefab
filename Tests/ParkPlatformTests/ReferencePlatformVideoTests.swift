import Foundation
import ParkBindings
import ParkEventLoop
import ParkGB28181
import ParkMedia
@testable import ParkPlatform
import Synchronization
import Testing

/// Live video on the reference platform over real loopback sockets: a camera (the device agent
/// with the fixture clip) registers to the platform's SIP server; `POST /devices/{id}/video`
/// INVITEs it, the platform's receiver judges the stream and reports it on `platform/video`;
/// `DELETE` ends it with BYE and the camera stops sending. The `rtp-loss` switch shows as loss.
@Suite(.serialized) struct ReferencePlatformVideoTests {
    static let camera = "34020000001320000077"
    static let password = "video-secret"
    static let clipPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/media/clip.h264").path
    typealias Outlet = ReferencePlatformSIPTests.Outlet

    /// The platform (real clock, publishing into `outlet`) and one registered camera with video.
    struct Rig {
        let outlet = Outlet()
        let platform: ReferencePlatform
        let cameras: SIPUDPTransport<GB28181DeviceAgent>
        let sender: RTPSender

        init(faults: PlatformFaults = PlatformFaults()) throws {
            platform = ReferencePlatform(endpoints: .init(), faults: faults, clock: SystemPlatformClock(label: "video-test"), outlet: outlet)
            let port = try platform.startSIP(PlatformSIPOptions(port: 0, keepaliveInterval: .seconds(30)) {
                $0 == ReferencePlatformVideoTests.camera ? ReferencePlatformVideoTests.password : nil
            })
            sender = try RTPSender(clip: PacketizedClip(contentsOf: ReferencePlatformVideoTests.clipPath))
            try sender.start()
            let media = GB28181MediaHooks(sender: sender).hooks
            cameras = try SIPUDPTransport<GB28181DeviceAgent>(binding: .loopback(port: 0)) { local in
                let settings = SIPRegistrationSettings(
                    server: .loopback(port: port), serverID: "34020000002000000001", domain: "3402000000", local: local,
                    keepaliveInterval: .seconds(30))
                let hooks = GB28181DeviceAgent.Hooks(
                    status: { _ in DeviceStatusReport(online: true, deviceTime: "2026-12-06T20:00:00", channels: []) },
                    control: { _, _, _, _ in .accepted }, malformedBodies: { _ in false })
                var agent = GB28181DeviceAgent(client: SIPRegistrarClient(settings: settings, seed: 9), hooks: hooks, media: media)
                agent.add(.init(
                    deviceID: ReferencePlatformVideoTests.camera, password: ReferencePlatformVideoTests.password,
                    info: DeviceInfo(name: "Gate cam", manufacturer: "Hikvision", model: "DS-2CD", firmware: "V5", channels: 1),
                    channels: [CatalogItem(deviceID: ReferencePlatformVideoTests.camera, name: "Gate cam", manufacturer: "Hikvision",
                                           model: "DS-2CD", civilCode: "340200", parentID: "34020000002000000001")],
                    charset: .utf8))
                return agent
            }
            try cameras.start()
            cameras.perform { agent, now in agent.startAll(now: now) }
        }

        func stop() {
            cameras.stop()
            sender.stop()
            platform.stop()
        }

        func video(_ state: String) -> [[String: Any]] {
            outlet.objects(on: "platform/video").filter { $0["state"] as? String == state }
        }

        func answer(_ method: String, _ uri: String, _ body: String = "") -> (status: Int, object: Any?) {
            let (status, bytes) = platform.answer(method: method, uri: uri, body: Array(body.utf8))
            return (status, try? JSONSerialization.jsonObject(with: Data(bytes)))
        }
    }

    @Test func aRequestedStreamIsReportedPlayingWithItsFiguresAndStopsOnDelete() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(ReferencePlatformSIPTests.waitUntil { rig.platform.sipDevices[Self.camera]?.online == true })
        let asked = MonotonicClock.now()
        let started = rig.answer("POST", "/devices/\(Self.camera)/video")
        #expect(started.status == 202)
        let session = try #require((started.object as? [String: Any])?["session"] as? String)
        #expect(ReferencePlatformSIPTests.waitUntil { !rig.video("playing").isEmpty }, "never playing: \(rig.outlet.objects(on: "platform/video"))")
        let playing = try #require(rig.video("playing").first)
        #expect(playing["device"] as? String == Self.camera && playing["session"] as? String == session)
        let firstFrame = try #require((playing["values"] as? [String: Any])?["first_frame_ms"] as? Double)
        #expect(firstFrame > 0 && firstFrame < Double(MonotonicClock.now() - asked) / 1e6)
        // A second's figures: the clip's 25 frames a second, nothing lost.
        #expect(ReferencePlatformSIPTests.waitUntil { rig.video("stats").contains { (($0["values"] as? [String: Any])?["frames"] as? Double ?? 0) >= 30 } })
        let stats = try #require(rig.video("stats").last?["values"] as? [String: Any])
        #expect(stats["lost"] as? Double == 0 && stats["incomplete_frames"] as? Double == 0 && stats["malformed_frames"] as? Double == 0)
        #expect((stats["frame_rate"] as? Double ?? 0) > 20)
        let listed = try #require(rig.answer("GET", "/video").object as? [[String: Any]])
        #expect(listed.count == 1 && listed.first?["state"] as? String == "playing")

        let stopped = rig.answer("DELETE", "/devices/\(Self.camera)/video")
        #expect(stopped.status == 200 && (stopped.object as? [String: Any])?["stopped"] as? Int == 1)
        #expect(rig.video("stopped").count == 1)
        #expect(ReferencePlatformSIPTests.waitUntil { rig.sender.statistics.activeStreams == 0 }, "the camera kept sending after the BYE")
        #expect((rig.answer("GET", "/video").object as? [[String: Any]])?.isEmpty == true)
    }

    /// Over TCP (the platform listens, the camera connects, RFC 4571) and as playback of a 2 s
    /// range (`s=Playback`, an SSRC starting with 1): whole frames, nothing lost, and the playback ends.
    @Test func tcpAndPlaybackSessionsArriveWhole() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(ReferencePlatformSIPTests.waitUntil { rig.platform.sipDevices[Self.camera]?.online == true })
        #expect(rig.answer("POST", "/devices/\(Self.camera)/video", #"{"transport": "tcp"}"#).status == 202)
        #expect(ReferencePlatformSIPTests.waitUntil { rig.video("stats").contains { (($0["values"] as? [String: Any])?["frames"] as? Double ?? 0) >= 25 } },
                "\(rig.outlet.objects(on: "platform/video"))")
        let tcp = try #require(rig.video("stats").last?["values"] as? [String: Any])
        #expect(tcp["lost"] as? Double == 0 && tcp["malformed_frames"] as? Double == 0)
        #expect(rig.answer("DELETE", "/devices/\(Self.camera)/video").status == 200)

        let playback = rig.answer("POST", "/devices/\(Self.camera)/video", #"{"playback": {"start": 1765000000, "end": 1765000002}}"#)
        #expect(playback.status == 202)
        // Two seconds of recording at 25 fps: 50 frames, then the camera stops sending.
        #expect(ReferencePlatformSIPTests.waitUntil { rig.sender.statistics.finishedPlaybacks == 1 }, "the playback never ended")
        #expect(ReferencePlatformSIPTests.waitUntil { rig.video("stats").contains { (($0["values"] as? [String: Any])?["frames"] as? Double ?? 0) == 50 } },
                "\(rig.video("stats").last ?? [:])")
        #expect(rig.answer("POST", "/devices/\(Self.camera)/video", #"{"playback": {"start": 5, "end": 5}}"#).status == 400)
        #expect(rig.answer("POST", "/devices/\(Self.camera)/video", #"{"transport": "sctp"}"#).status == 400)
    }

    @Test func requestsForWhatCannotStreamAreRefusedWithAReason() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(ReferencePlatformSIPTests.waitUntil { rig.platform.sipDevices[Self.camera]?.online == true })
        let unknown = rig.answer("POST", "/devices/34020000001320000099/video")
        #expect(unknown.status == 404)
        #expect(((unknown.object as? [String: Any])?["error"] as? String)?.contains("not registered") == true)
        #expect(rig.answer("POST", "/devices/\(Self.camera)/video", "not json").status == 400)
        // A channel the camera does not have: the INVITE is refused (404) and the session reported failed.
        let wrong = rig.answer("POST", "/devices/\(Self.camera)/video", #"{"channel": "34020000001310000555"}"#)
        #expect(wrong.status == 202)
        #expect(ReferencePlatformSIPTests.waitUntil { !rig.video("failed").isEmpty })
        #expect((rig.video("failed").first?["reason"] as? String)?.contains("404") == true)
        #expect(rig.answer("DELETE", "/devices/\(Self.camera)/video").object.flatMap { ($0 as? [String: Any])?["stopped"] as? Int } == 0)
    }

    @Test func rtpLossFaultShowsAsLostPacketsAndIncompleteFrames() throws {
        var faults = PlatformFaults()
        faults.rtpLossOneIn = 20
        let rig = try Rig(faults: faults)
        defer { rig.stop() }
        #expect(ReferencePlatformSIPTests.waitUntil { rig.platform.sipDevices[Self.camera]?.online == true })
        #expect(rig.answer("POST", "/devices/\(Self.camera)/video").status == 202)
        #expect(ReferencePlatformSIPTests.waitUntil { rig.video("stats").contains { (($0["values"] as? [String: Any])?["lost"] as? Double ?? 0) > 0 } })
        let stats = try #require(rig.video("stats").last?["values"] as? [String: Any])
        #expect((stats["incomplete_frames"] as? Double ?? 0) > 0)
    }
}
