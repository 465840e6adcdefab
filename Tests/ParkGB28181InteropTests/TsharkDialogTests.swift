import Foundation
import ParkCapture
import ParkGB28181
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// tshark reads a loopback capture of our platform server and our camera agent doing everything
/// beyond registration: live video (INVITE with an SDP offer, the 200's SDP answer, ACK, BYE) and
/// subscriptions (SUBSCRIBE, the catalog and alarm NOTIFYs, Expires 0). Every datagram must be SIP,
/// every SDP body SDP, and no dissector may complain.
@Suite(.serialized) struct TsharkDialogTests {
    static let device = "34020000001320000066"
    static let password = "dialog-pw"

    @Test func tsharkDissectsInviteAckByeSubscribeAndNotifyWithoutComplaint() throws {
        let platform = try SIPUDPTransport<GB28181PlatformServer>(binding: .loopback(port: 0)) { local in
            GB28181PlatformServer(settings: GB28181PlatformSettings(platformID: "34020000002000000001", domain: "3402000000", local: local),
                                  seed: 8) { $0 == Self.device ? Self.password : nil }
        }
        try platform.start()
        defer { platform.stop() }
        let camera = try SIPUDPTransport<GB28181DeviceAgent>(binding: .loopback(port: 0)) { local in
            let settings = SIPRegistrationSettings(server: platform.local, serverID: "34020000002000000001", domain: "3402000000", local: local)
            let hooks = GB28181DeviceAgent.Hooks(
                status: { _ in DeviceStatusReport(online: true, deviceTime: "2026-12-06T08:00:00", channels: []) },
                control: { _, _, _, _ in .accepted })
            // The answer names a port; nothing is streamed (RTP is ParkMediaInteropTests').
            let media = GB28181DeviceAgent.MediaHooks(
                prepare: { _, _, _ in .init(stream: 1, address: "127.0.0.1", port: 40_002, format: "v/2/2/25/1/512a///") },
                begin: { _ in }, end: { _ in })
            var agent = GB28181DeviceAgent(client: SIPRegistrarClient(settings: settings, seed: 6), hooks: hooks, media: media)
            agent.add(.init(
                deviceID: Self.device, password: Self.password,
                info: DeviceInfo(name: "Gate", manufacturer: "ParkBench", model: "IPC", firmware: "1", channels: 1),
                channels: [CatalogItem(deviceID: Self.device, name: "停车场入口", manufacturer: "ParkBench", model: "IPC", civilCode: "340200",
                                       parentID: "34020000002000000001")],
                charset: .gb2312))
            return agent
        }

        let directory = try TemporaryDirectory()
        let file = directory.path("dialogs.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "udp port \(platform.local.port)", file: file) } catch {
            Issue.record("packet capture must work here (root or CAP_NET_RAW): \(error)")
            return
        }
        capture.start()
        defer { capture.stop() }
        try camera.start()
        defer { camera.stop() }
        camera.perform { agent, now in agent.startAll(now: now) }

        var events: [GB28181PlatformEvent] = []
        func until(_ done: ([GB28181PlatformEvent]) -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                events += platform.perform { server, _ in server.takeEvents() }.map(\.event)
                if done(events) { return true }
                usleep(5_000)
            }
            return false
        }
        #expect(until { $0.contains { if case .catalog(_, _, _, _, true) = $0 { true } else { false } } })
        let catalog = platform.perform { server, now in server.subscribe(deviceID: Self.device, cmdType: "Catalog", now: now) }
        let alarms = platform.perform { server, now in server.subscribe(deviceID: Self.device, cmdType: "Alarm", now: now) }
        #expect(until { $0.count { if case .subscribed = $0 { true } else { false } } == 2 && $0.contains { if case .catalogChanged = $0 { true } else { false } } })
        camera.perform { agent, now in
            let alarm = AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", description: "区域入侵", type: 2)
            agent.send(.alarmNotify(sn: agent.nextSN(0), deviceID: Self.device, alarm: alarm), from: 0, now: now)
        }
        #expect(until { $0.contains { if case .alarm = $0 { true } else { false } } })
        let offer = GB28181SDP(sessionName: "Play", origin: "", address: "127.0.0.1", port: 30_002, direction: "recvonly")
        let callID = platform.perform { server, now in server.invite(deviceID: Self.device, channelID: Self.device, receiver: offer, now: now) }
        #expect(until { $0.contains { if case .mediaAnswered = $0 { true } else { false } } })
        platform.perform { server, now in
            if let callID { _ = server.bye(callID: callID, now: now) }
            if let catalog { _ = server.unsubscribe(callID: catalog, now: now) }
            if let alarms { _ = server.unsubscribe(callID: alarms, now: now) }
        }
        #expect(until { _ in platform.inspect { $0.transactions.count == 0 && $0.subscriptions.isEmpty } })
        camera.perform { agent, now in agent.stopAll(now: now) }
        #expect(until { $0.contains { if case .unregistered = $0 { true } else { false } } })
        camera.stop()
        platform.stop()
        let statistics = platform.statistics
        let datagrams = statistics.datagramsSent + statistics.datagramsReceived
        let deadline = ContinuousClock.now + .seconds(5)
        while capture.summary.packetsCaptured < datagrams, ContinuousClock.now < deadline { usleep(5_000) }
        #expect(capture.stop().packetsCaptured == datagrams)

        let read = ["-r", file, "--enable-heuristic", "xml_sip"]
        let frames = try tshark(read + ["-T", "fields", "-E", "separator=/t", "-e", "frame.protocols", "-e", "sip.Method", "-e", "sip.CSeq.method"])
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(frames.count == datagrams)
        let notSIP = frames.filter { !$0[0].contains(":sip") }
        #expect(notSIP.isEmpty, "not dissected as SIP: \(notSIP)")
        let methods = Set(frames.compactMap { $0.count > 1 && !$0[1].isEmpty ? $0[1] : nil })
        #expect(methods.isSuperset(of: ["REGISTER", "MESSAGE", "INVITE", "ACK", "BYE", "SUBSCRIBE", "NOTIFY"]), "\(methods)")
        // The INVITE's offer and the 200's answer are SDP.
        let sdp = frames.filter { $0[0].hasSuffix(":sdp") }
        #expect(sdp.count == 2, "SDP bodies: \(sdp)")
        let notifies = frames.filter { $0.count > 1 && $0[1] == "NOTIFY" }
        #expect(notifies.count >= 2 && notifies.allSatisfy { $0[0].hasSuffix(":xml") }, "\(notifies)")
        let complaints = try tshark(read + ["-Y", "_ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"])
        #expect(complaints.isEmpty, "tshark complains: \(complaints)")
    }
}
