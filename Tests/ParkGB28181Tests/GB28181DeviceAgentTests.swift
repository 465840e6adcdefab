import Synchronization
import Testing

@testable import ParkGB28181

/// The device side of GB/T 28181 beyond registration: what a camera and an NVR answer to a
/// platform's queries and controls, what they send on their own, and the wire faults.
@Suite struct GB28181DeviceAgentTests {
    static let second: UInt64 = 1_000_000_000
    static let server = SIPAddress.loopback(port: 5060)
    static let platform = "34020000002000000001"
    static let camera = "34020000001320000001"
    static let nvr = "34020000001180000001"

    /// What the hooks were asked, for the assertions.
    final class Recorder: Sendable {
        let controls = Mutex<[(Int, Int, GB28181DeviceControl)]>([])
        let accept = Atomic<Bool>(true)
        let malformed = Atomic<Bool>(false)
        let prepared = Mutex<[(Int, Int, GB28181SDP)]>([])
        let begun = Mutex<[Int]>([])
        let ended = Mutex<[Int]>([])
    }

    /// An IPC (index 0) and a 16-channel NVR split 4 per MESSAGE (index 1), both registered.
    struct Harness {
        var agent: GB28181DeviceAgent
        let recorder = Recorder()
        var now: UInt64 = 0

        init() {
            var settings = SIPRegistrationSettings(
                server: server, serverID: platform, domain: "3402000000", local: .loopback(port: 5070), expires: 3600)
            settings.keepalivesFromTimer = false
            let recorder = recorder
            let hooks = GB28181DeviceAgent.Hooks(
                status: { index in
                    DeviceStatusReport(online: true, deviceTime: "2026-12-06T08:00:00", channels: [.init(channelID: "c\(index)", dutyStatus: "ONDUTY")])
                },
                control: { index, channel, control, _ in
                    recorder.controls.withLock { $0.append((index, channel, control)) }
                    return recorder.accept.load(ordering: .relaxed) ? .accepted : .refused
                },
                malformedBodies: { _ in recorder.malformed.load(ordering: .relaxed) },
                position: { index in index == 0 ? DevicePosition(time: "2026-12-06T08:00:00", longitude: 117.2272, latitude: 31.8206) : nil })
            let media = GB28181DeviceAgent.MediaHooks(
                prepare: { index, channel, offer in
                    let stream = recorder.prepared.withLock { $0.append((index, channel, offer)); return $0.count }
                    return .init(stream: stream, address: "127.0.0.1", port: 40_000 + stream, format: "v/2/2/25/1/512a///")
                },
                begin: { stream in recorder.begun.withLock { $0.append(stream) } },
                end: { stream in recorder.ended.withLock { $0.append(stream) } })
            agent = GB28181DeviceAgent(client: SIPRegistrarClient(settings: settings, seed: 7), hooks: hooks, media: media)
            agent.add(.init(
                deviceID: camera, password: "a", info: DeviceInfo(name: "Gate cam", manufacturer: "Hikvision", model: "DS-2CD", firmware: "V5", channels: 1),
                channels: [CatalogItem(deviceID: camera, name: "Gate cam", manufacturer: "Hikvision", model: "DS-2CD", civilCode: "340200", parentID: platform)],
                charset: .gb2312))
            let channels = (1...16).map { number in
                CatalogItem(deviceID: "3402000000131" + String(repeating: "0", count: 7 - String(number).count) + String(number),
                            name: "通道\(number)", manufacturer: "Hikvision", model: "DS-7616", civilCode: "340200", parentID: nvr)
            }
            agent.add(.init(
                deviceID: nvr, password: "b", info: DeviceInfo(name: "NVR", manufacturer: "Hikvision", model: "DS-7616", firmware: "V4", channels: 16),
                channels: channels, charset: .utf8, catalogSplit: 4))
            for index in 0..<2 { register(index) }
        }

        /// Start, then a 200 to the REGISTER (no challenge: the digest round is the client's own tests').
        mutating func register(_ index: Int) {
            agent.start(index, now: now)
            let register = sent().last!
            agent.received(register.response(status: 200, reason: "OK", toTag: "p", extraHeaders: [SIPHeader("Expires", "3600")]), now: now)
            guard case .registered = agent.client.registrations[index].state else {
                Issue.record("device \(index) did not register")
                return
            }
        }

        /// Every datagram the agent sent since last asked, parsed; all go to the platform.
        mutating func sent() -> [SIPMessage] {
            agent.takeOutbox().map { datagram in
                #expect(datagram.address == server)
                return try! SIPParser().parse(datagram.bytes)
            }
        }

        /// A platform's MESSAGE to `id` carrying `body`: the agent's answer, and the MESSAGEs it sent after.
        mutating func ask(_ body: MANSCDPMessage, to id: String, bytes: [UInt8]? = nil) -> (SIPMessage?, [MANSCDPMessage]) {
            let request = SIPMessage.request(method: "MESSAGE", uri: "sip:\(id)@3402000000", headers: [
                SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKq\(now)"),
                SIPHeader("From", "<sip:\(platform)@3402000000>;tag=p1"), SIPHeader("To", "<sip:\(id)@3402000000>"),
                SIPHeader("Call-ID", "q\(now)@127.0.0.1"), SIPHeader("CSeq", "1 MESSAGE"), SIPHeader("Content-Type", "Application/MANSCDP+xml"),
            ], body: bytes ?? (try! body.encoded()))
            now += 1
            let answer = agent.received(request: request, from: server, now: now)
            let follow = sent().map { message in
                #expect(message.method == "MESSAGE" && message.requestURI == "sip:\(platform)@3402000000")
                return try! MANSCDPMessage(bytes: message.body)
            }
            return (answer, follow)
        }
    }

    @Test func anNVRsCatalogIsSplitByItsModelWithSumNumTheTotalAndEveryChannelOnce() throws {
        var harness = Harness()
        let (answer, parts) = harness.ask(.query(cmdType: "Catalog", sn: 17, deviceID: Self.nvr), to: Self.nvr)
        #expect(answer?.status == 200)
        #expect(parts.count == 4)
        #expect(parts.allSatisfy { $0.kind == .response && $0.cmdType == "Catalog" && $0.sn == 17 && $0.sumNum == 16 && $0.deviceListNum == 4 })
        let items = try parts.flatMap { try $0.catalogItems() }
        #expect(items.map(\.deviceID) == harness.agent.devices[1].channels.map(\.deviceID))
        #expect(items.first?.name == "通道1")

        // The IPC answers in one MESSAGE, in GB2312 as its model says.
        let (_, single) = harness.ask(.query(cmdType: "Catalog", sn: 18, deviceID: Self.camera), to: Self.camera)
        #expect(single.count == 1 && single[0].sumNum == 1)
    }

    /// A platform's MESSAGE whose 200 came late is sent again on the same transaction: the
    /// device answers it the same and does not act again (RFC 3261 §17.2.2) — no second catalog,
    /// no second PTZ move. After Timer J (32 s) the same ids are a new request.
    @Test func aRetransmittedQueryOrControlIsAnsweredAgainNotActedOnAgain() throws {
        var harness = Harness()
        func request(_ body: MANSCDPMessage, to id: String, branch: String) -> SIPMessage {
            .request(method: "MESSAGE", uri: "sip:\(id)@3402000000", headers: [
                SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=\(branch)"),
                SIPHeader("From", "<sip:\(Self.platform)@3402000000>;tag=p1"), SIPHeader("To", "<sip:\(id)@3402000000>"),
                SIPHeader("Call-ID", "\(branch)@127.0.0.1"), SIPHeader("CSeq", "1 MESSAGE"), SIPHeader("Content-Type", "Application/MANSCDP+xml"),
            ], body: try! body.encoded())
        }
        let query = request(.query(cmdType: "Catalog", sn: 21, deviceID: Self.nvr), to: Self.nvr, branch: "z9hG4bKcat")
        #expect(harness.agent.received(request: query, from: Self.server, now: 1)?.status == 200)
        #expect(harness.sent().count == 4)
        #expect(harness.agent.received(request: query, from: Self.server, now: 2)?.status == 200)
        #expect(harness.sent().isEmpty, "a retransmitted Catalog query was answered with a second catalog")

        let ptz = request(.deviceControl(sn: 22, deviceID: Self.camera, .ptz(GB28181PTZCommand(action: .gotoPreset(2)))), to: Self.camera, branch: "z9hG4bKptz")
        _ = harness.agent.received(request: ptz, from: Self.server, now: 3)
        #expect(harness.agent.received(request: ptz, from: Self.server, now: 4)?.status == 200)
        #expect(harness.recorder.controls.withLock { $0.count } == 1, "a retransmitted PTZ moved the camera twice")
        #expect(harness.agent.counters.retransmittedRequests == 2)

        // Timer J passed: forgotten.
        harness.agent.advance(now: 5 + 64 * 500_000_000)
        _ = harness.agent.received(request: ptz, from: Self.server, now: 6 + 64 * 500_000_000)
        #expect(harness.recorder.controls.withLock { $0.count } == 2)
    }

    @Test func theIPCsBodiesDeclareItsCharset() {
        var harness = Harness()
        _ = harness.agent.received(request: .request(method: "MESSAGE", uri: "sip:\(Self.camera)@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx"), SIPHeader("From", "<sip:p@d>;tag=1"), SIPHeader("To", "<sip:c@d>"),
            SIPHeader("Call-ID", "x"), SIPHeader("CSeq", "1 MESSAGE"),
        ], body: try! MANSCDPMessage.query(cmdType: "DeviceInfo", sn: 1, deviceID: Self.camera).encoded()), from: Self.server, now: 1)
        let sent = harness.sent()
        #expect(sent.count == 1)
        #expect(String(decoding: sent[0].body.prefix(40), as: UTF8.self).contains("GB2312"))
    }

    @Test func deviceInfoAndDeviceStatusAnswerFromTheModelAndTheLiveDevice() throws {
        var harness = Harness()
        let (_, info) = harness.ask(.query(cmdType: "DeviceInfo", sn: 3, deviceID: Self.nvr), to: Self.nvr)
        #expect(try info.first?.deviceInfo() == DeviceInfo(name: "NVR", manufacturer: "Hikvision", model: "DS-7616", firmware: "V4", channels: 16))
        let (_, status) = harness.ask(.query(cmdType: "DeviceStatus", sn: 4, deviceID: Self.camera), to: Self.camera)
        let report = try #require(try status.first?.deviceStatus())
        #expect(report.online && report.channels == [.init(channelID: "c0", dutyStatus: "ONDUTY")])
        #expect(status.first?.sn == 4)
    }

    @Test func ptzToAnNVRChannelReachesThatChannelAndIsAcknowledgedByThe200Alone() throws {
        var harness = Harness()
        let channel7 = harness.agent.devices[1].channels[6].deviceID
        let command = GB28181PTZCommand(action: .gotoPreset(12))
        let (answer, follow) = harness.ask(.deviceControl(sn: 9, deviceID: channel7, .ptz(command)), to: Self.nvr)
        #expect(answer?.status == 200 && follow.isEmpty)
        let controls = harness.recorder.controls.withLock { $0 }
        #expect(controls.count == 1 && controls[0].0 == 1 && controls[0].1 == 7)
        #expect(controls.first?.2 == .ptz(command))
    }

    @Test func guardAndResetAlarmAreAnsweredWithTheirResultOKOrERROR() {
        var harness = Harness()
        let (_, accepted) = harness.ask(.deviceControl(sn: 5, deviceID: Self.camera, .guarding(false)), to: Self.camera)
        #expect(accepted.map(\.result) == ["OK"] && accepted.first?.cmdType == "DeviceControl" && accepted.first?.sn == 5)
        harness.recorder.accept.store(false, ordering: .relaxed)
        let (_, refused) = harness.ask(.deviceControl(sn: 6, deviceID: Self.camera, .resetAlarm), to: Self.camera)
        #expect(refused.map(\.result) == ["ERROR"])
        #expect(harness.agent.counters.controls == 2 && harness.agent.counters.controlsRefused == 1)
    }

    @Test func anUnknownDeviceIs404AGarbledBodyIs400AndAPoweredOffDeviceSaysNothing() {
        var harness = Harness()
        #expect(harness.ask(.query(cmdType: "Catalog", sn: 1, deviceID: "34020000001329999999"), to: "34020000001329999999").0?.status == 404)
        #expect(harness.ask(.query(cmdType: "Catalog", sn: 1, deviceID: Self.camera), to: Self.camera, bytes: Array("<Query><CmdType>".utf8)).0?.status == 400)
        harness.agent.stop(0, clean: false, now: harness.now)
        #expect(harness.sent().isEmpty, "a power loss sends no unregistration")
        let (answer, follow) = harness.ask(.query(cmdType: "Catalog", sn: 2, deviceID: Self.camera), to: Self.camera)
        #expect(answer == nil && follow.isEmpty)
        #expect(harness.agent.counters.unknownTargets == 1 && harness.agent.counters.badBodies == 1 && harness.agent.counters.unanswered == 1)
    }

    @Test func theMalformedXMLFaultBreaksTheBodiesTheDeviceSends() {
        var harness = Harness()
        harness.recorder.malformed.store(true, ordering: .relaxed)
        _ = harness.agent.received(request: .request(method: "MESSAGE", uri: "sip:\(Self.nvr)@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKm"), SIPHeader("From", "<sip:p@d>;tag=1"), SIPHeader("To", "<sip:n@d>"),
            SIPHeader("Call-ID", "m"), SIPHeader("CSeq", "1 MESSAGE"),
        ], body: try! MANSCDPMessage.query(cmdType: "Catalog", sn: 1, deviceID: Self.nvr).encoded()), from: Self.server, now: 1)
        let bodies = harness.sent().map(\.body)
        #expect(bodies.count == 4)
        #expect(bodies.allSatisfy { (try? MANSCDPMessage(bytes: $0)) == nil })
    }

    @Test func keepalivesFollowTheDevicesClockNotATimerAndRefreshCanBeRefused() {
        var harness = Harness()
        // No timer of the client's sends a keepalive, however long we wait short of the refresh.
        harness.agent.advance(now: 1_799 * Self.second)
        #expect(harness.sent().isEmpty)
        harness.agent.keepalive(1, now: 1_799 * Self.second)
        let keepalive = harness.sent()
        #expect(keepalive.count == 1 && (try? MANSCDPMessage(bytes: keepalive[0].body))?.cmdType == "Keepalive")

        // Half the expiry: the camera refreshes; the NVR, told to refuse, does not.
        harness.agent.setRefreshRefused(1, true)
        harness.agent.advance(now: 1_800 * Self.second)
        let refreshes = harness.sent().filter { $0.method == "REGISTER" }
        #expect(refreshes.count == 1 && refreshes.first?.headers["From"]?.contains(Self.camera) == true)
        #expect(harness.agent.client.registrations[1].counters.refreshesRefused == 1)
    }

    @Test func anAlarmGoesToThePlatformAsAnAlarmNotify() throws {
        var harness = Harness()
        let sn = harness.agent.nextSN(0)
        harness.agent.send(.alarmNotify(sn: sn, deviceID: Self.camera, alarm: AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", type: 2)),
                           from: 0, now: 5)
        let sent = harness.sent()
        #expect(sent.count == 1)
        let alarm = try MANSCDPMessage(bytes: sent[0].body).alarm()
        #expect(alarm.method == 5 && alarm.type == 2 && alarm.priority == 1)
        #expect(harness.agent.client.registrations[0].counters.messagesSent == 1)
    }
}

/// INVITE, ACK, BYE: live video sessions on the device side.
extension GB28181DeviceAgentTests {
    static func invite(to id: String, callID: String, branch: String, sdp: String) -> SIPMessage {
        SIPMessage.request(method: "INVITE", uri: "sip:\(id)@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK\(branch)"), SIPHeader("From", "<sip:\(platform)@3402000000>;tag=p1"),
            SIPHeader("To", "<sip:\(id)@3402000000>"), SIPHeader("Call-ID", callID), SIPHeader("CSeq", "20 INVITE"),
            SIPHeader("Content-Type", "APPLICATION/SDP"), SIPHeader("Subject", "\(id):0100000001,\(platform):0"),
        ], body: Array(sdp.utf8))
    }

    static func inDialog(_ method: String, callID: String, cseq: Int) -> SIPMessage {
        SIPMessage.request(method: method, uri: "sip:x@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK\(method)\(cseq)"), SIPHeader("From", "<sip:\(platform)@3402000000>;tag=p1"),
            SIPHeader("To", "<sip:x@3402000000>;tag=gb1"), SIPHeader("Call-ID", callID), SIPHeader("CSeq", "\(cseq) \(method)"),
        ])
    }

    static let udpOffer = "v=0\r\no=\(platform) 0 0 IN IP4 127.0.0.1\r\ns=Play\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 30000 RTP/AVP 96 98 97\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\na=rtpmap:98 H264/90000\r\na=rtpmap:97 MPEG4/90000\r\ny=0100000001\r\n"

    @Test func anInviteToAChannelIsAnsweredWithTheSameSSRCAndStreamsFromTheACKToTheBYE() throws {
        var harness = Harness()
        let channel3 = harness.agent.devices[1].channels[2].deviceID
        let answered = harness.agent.received(request: Self.invite(to: channel3, callID: "live1", branch: "i1", sdp: Self.udpOffer), from: Self.server, now: 0)
        let answer = try #require(answered)
        #expect(answer.status == 200 && answer.toTag == "gb1")
        let sdp = try GB28181SDP(bytes: answer.body)
        #expect(sdp.port == 40_001 && sdp.ssrc == "0100000001" && sdp.direction == "sendonly" && sdp.transport == .udp && sdp.origin == channel3)
        #expect(sdp.format == "v/2/2/25/1/512a///")
        let prepared = harness.recorder.prepared.withLock { $0 }
        #expect(prepared.count == 1 && prepared[0].0 == 1 && prepared[0].1 == 3 && prepared[0].2.port == 30_000)
        #expect(harness.recorder.begun.withLock { $0 }.isEmpty, "nothing streams before the ACK")

        _ = harness.agent.received(request: Self.inDialog("ACK", callID: "live1", cseq: 20), from: Self.server, now: 1)
        #expect(harness.recorder.begun.withLock { $0 } == [1])
        harness.agent.advance(now: 10 * Self.second)
        #expect(harness.agent.takeOutbox().isEmpty, "an ACKed answer is not sent again")

        let bye = harness.agent.received(request: Self.inDialog("BYE", callID: "live1", cseq: 21), from: Self.server, now: 11 * Self.second)
        #expect(bye?.status == 200 && harness.recorder.ended.withLock { $0 } == [1])
        let late = harness.agent.received(request: Self.inDialog("BYE", callID: "live1", cseq: 22), from: Self.server, now: 12 * Self.second)
        #expect(late?.status == 481)
    }

    @Test func anUnACKedAnswerIsSentAgainAtT1DoublingToT2AndTheSessionEndsAfter64T1() throws {
        var harness = Harness()
        _ = harness.agent.received(request: Self.invite(to: Self.camera, callID: "lost-ack", branch: "i2", sdp: Self.udpOffer), from: Self.server, now: 0)
        var resent: [UInt64] = []
        while harness.agent.nextDeadline <= 40 * Self.second {
            let now = harness.agent.nextDeadline
            harness.agent.advance(now: now)
            resent += harness.agent.takeOutbox().filter { (try? SIPParser().parse($0.bytes))?.status == 200 }.map { _ in now / 1_000_000 }
        }
        // T1 = 500 ms: 0.5, 1.5, 3.5, 7.5, then every T2 = 4 s up to 32 s.
        #expect(resent == [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500])
        #expect(harness.recorder.ended.withLock { $0 } == [1] && harness.agent.counters.unackedInvites == 1)
        #expect(harness.recorder.begun.withLock { $0 }.isEmpty)
    }

    @Test func aTCPOfferGetsTheOtherSetupRoleARetransmittedInviteTheSameAnswerAndBadSDPA488() throws {
        var harness = Harness()
        let tcp = Self.udpOffer.replacingOccurrences(of: "RTP/AVP 96 98 97", with: "TCP/RTP/AVP 96") + "a=setup:passive\r\na=connection:new\r\n"
        let invite = Self.invite(to: Self.camera, callID: "tcp1", branch: "t1", sdp: tcp)
        let firstAnswer = harness.agent.received(request: invite, from: Self.server, now: 0)
        let first = try #require(firstAnswer)
        #expect(try GB28181SDP(bytes: first.body).transport == .tcpActive, "the platform listens, so the camera connects")
        let againAnswer = harness.agent.received(request: invite, from: Self.server, now: 100)
        let again = try #require(againAnswer)
        #expect(again.body == first.body && harness.recorder.prepared.withLock { $0.count } == 1)
        let bad = Self.invite(to: Self.camera, callID: "bad", branch: "b1", sdp: "v=0\r\ns=Play\r\n")
        let refused = harness.agent.received(request: bad, from: Self.server, now: 200)
        #expect(refused?.status == 488)
        let unknown = harness.agent.received(request: Self.invite(to: "34020000001319999999", callID: "nobody", branch: "n1", sdp: Self.udpOffer), from: Self.server, now: 300)
        #expect(unknown?.status == 404)
    }
}

/// The PTZCmd bytes of GB/T 28181-2016 §A.3.
@Suite struct GB28181PTZCommandTests {
    @Test func directionsAndPresetsRoundTripThroughTheirHexWithTheChecksum() throws {
        for direction in ["up", "down", "left", "right", "zoom-in", "zoom-out", "stop"] {
            let command = try #require(GB28181PTZCommand(direction: direction))
            #expect(try GB28181PTZCommand(hex: command.hex) == command)
            #expect(try GB28181PTZCommand(hex: command.hex).direction == direction)
        }
        let preset = GB28181PTZCommand(action: .gotoPreset(200))
        #expect(preset.hex == "A50F018200C800FF", "preset 200 in byte 6, no speeds")
        #expect(try GB28181PTZCommand(hex: preset.hex).preset == 200)
    }

    @Test func aKnownCommandFromTheFieldDecodes() throws {
        // Left at pan speed 0x1F, address 1: A5 0F 01 02 1F 00 00, then the sum of those seven bytes, D6.
        let command = try GB28181PTZCommand(hex: "A50F01021F0000D6")
        #expect(command.direction == "left" && command.panSpeed == 0x1F)
    }

    @Test func aBadChecksumOrHeaderIsRefusedNamingPTZCmd() {
        #expect(throws: MANSCDPError.invalidField(name: "PTZCmd", value: "A50F01021F0000D7")) { try GB28181PTZCommand(hex: "A50F01021F0000D7") }
        #expect(throws: MANSCDPError.self) { try GB28181PTZCommand(hex: "B50F01021F0000D6") }
        #expect(throws: MANSCDPError.self) { try GB28181PTZCommand(hex: "A50F01") }
        #expect(throws: MANSCDPError.self) { try GB28181PTZCommand(hex: "ZZ0F01021F0000D6") }
    }
}
