import Testing

@testable import ParkGB28181

/// The platform's INVITE, ACK and BYE against the device agent, in memory on a fake clock: the
/// offer the camera gets, the answer the platform reads, the ACK the camera needs to start, the
/// 2xx retransmissions a lost ACK causes, refusals and hang-ups.
@Suite struct GB28181PlatformMediaTests {
    typealias Agent = GB28181DeviceAgentTests
    static let second: UInt64 = 1_000_000_000
    static let cameraAddress = SIPAddress.loopback(port: 5070)
    static let receiver = GB28181SDP(sessionName: "Play", origin: "", address: "127.0.0.1", port: 30_000, direction: "recvonly")

    /// The device agent's two devices (an IPC and a 16-channel NVR) registered to a platform server.
    struct Wire {
        var devices = Agent.Harness()
        var server: GB28181PlatformServer
        var now: UInt64 = 1_000 * second
        var events: [GB28181PlatformEvent] = []
        /// Drop this many ACKs on their way to the camera.
        var acksToLose = 0
        var requestsToCamera: [SIPMessage] = []

        init() {
            let settings = GB28181PlatformSettings(
                platformID: Agent.platform, domain: "3402000000", local: Agent.server, keepaliveInterval: .seconds(60))
            server = GB28181PlatformServer(settings: settings, seed: 3, password: { _ in "ignored" })
            server.faults.passwordsUnchecked = true
            // The agent's harness registered by hand; register both again, through the server.
            for index in 0..<2 { devices.agent.start(index, now: now) }
            run(for: Self.second)
        }

        static let second = GB28181PlatformMediaTests.second

        mutating func flush() {
            while true {
                let fromCamera = devices.agent.takeOutbox(), fromServer = server.takeOutbox()
                if fromCamera.isEmpty, fromServer.isEmpty { break }
                for datagram in fromCamera {
                    let message = try! SIPParser().parse(datagram.bytes)
                    if message.isRequest {
                        if let answer = server.received(request: message, from: cameraAddress, now: now) {
                            devices.agent.received(answer, now: now)
                        }
                    } else {
                        server.received(message, now: now)
                    }
                }
                for datagram in fromServer {
                    let message = try! SIPParser().parse(datagram.bytes)
                    guard message.isRequest else {
                        devices.agent.received(message, now: now)
                        continue
                    }
                    if message.method == "ACK", acksToLose > 0 {
                        acksToLose -= 1
                        continue
                    }
                    requestsToCamera.append(message)
                    if let answer = devices.agent.received(request: message, from: Agent.server, now: now) {
                        server.received(answer, now: now)
                    }
                }
            }
            events += server.takeEvents().map(\.event)
        }

        mutating func run(for duration: UInt64) {
            let end = now + duration
            flush()
            while min(devices.agent.nextDeadline, server.nextDeadline) <= end {
                now = max(now, min(devices.agent.nextDeadline, server.nextDeadline))
                devices.agent.advance(now: now)
                server.advance(now: now)
                flush()
            }
            now = end
        }

        var answers: [(channelID: String, callID: String, answer: GB28181SDP)] {
            events.compactMap { if case .mediaAnswered(_, let channel, let callID, let answer) = $0 { (channel, callID, answer) } else { nil } }
        }

        var failures: [String] {
            events.compactMap { if case .mediaFailed(_, _, _, let reason) = $0 { reason } else { nil } }
        }
    }

    @Test func anInviteIsAnsweredAckedAndTheStreamBegunThenByeEndsIt() throws {
        var wire = Wire()
        #expect(wire.server.devices.count == 2)
        let channel = wire.devices.agent.devices[1].channels[2].deviceID
        let callIDInvited = wire.server.invite(deviceID: Agent.nvr, channelID: channel, receiver: Self.receiver, now: wire.now)
        let callID = try #require(callIDInvited)
        wire.run(for: Self.second)
        let invite = try #require(wire.requestsToCamera.first { $0.method == "INVITE" })
        #expect(invite.requestURI?.hasPrefix("sip:\(channel)@") == true)
        #expect(invite.headers["Subject"] == "\(channel):\(wire.server.mediaSessions[callID]?.ssrc ?? ""),\(Agent.platform):0")
        let offer = try GB28181SDP(bytes: invite.body)
        #expect(offer.port == 30_000 && offer.direction == "recvonly" && offer.sessionName == "Play")
        #expect(offer.ssrc == "0200000001", "Annex F: 0, digits 4-8 of 3402000000 (20000), stream 0001")
        // The camera was asked for its third channel with the platform's offer, and began on the ACK.
        let prepared = wire.devices.recorder.prepared.withLock { $0 }
        #expect(prepared.count == 1 && prepared.first?.0 == 1 && prepared.first?.1 == 3)
        #expect(wire.devices.recorder.begun.withLock { $0 } == [1])
        let answered = try #require(wire.answers.first)
        #expect(answered.callID == callID && answered.channelID == channel)
        #expect(answered.answer.port == 40_001 && answered.answer.ssrc == offer.ssrc && answered.answer.direction == "sendonly")
        #expect(wire.server.mediaSessions[callID]?.answered == true)

        let hungUp = wire.server.bye(callID: callID, now: wire.now)
        #expect(hungUp)
        wire.run(for: Self.second)
        #expect(wire.devices.recorder.ended.withLock { $0 } == [1])
        #expect(wire.server.mediaSessions.isEmpty)
        #expect(wire.server.counters.invitesSent == 1 && wire.server.counters.byesSent == 1)
        let again = wire.server.bye(callID: callID, now: wire.now)
        #expect(!again, "a session already ended is unknown")
    }

    @Test func aLostAckIsRepairedByAckingTheCamerasRetransmitted2xx() throws {
        var wire = Wire()
        wire.acksToLose = 1
        let callIDInvited = wire.server.invite(deviceID: Agent.camera, channelID: Agent.camera, receiver: Self.receiver, now: wire.now)
        let callID = try #require(callIDInvited)
        wire.run(for: 5 * Self.second)
        #expect(wire.server.counters.acksResent >= 1)
        #expect(wire.devices.recorder.begun.withLock { $0 } == [1], "the camera began once the second ACK arrived")
        #expect(wire.answers.count == 1 && wire.answers.first?.callID == callID)
        #expect(wire.devices.agent.counters.unackedInvites == 0)
    }

    @Test func aRefusedOrUnansweredInviteIsAFailureNamingWhy() throws {
        var wire = Wire()
        // No such channel on the camera: 404.
        let invited1 = wire.server.invite(deviceID: Agent.camera, channelID: "34020000001310009999", receiver: Self.receiver, now: wire.now)
        #expect(invited1 != nil)
        wire.run(for: Self.second)
        #expect(wire.failures.first?.contains("404") == true, "\(wire.failures)")
        // An unregistered device is not invited at all.
        let unregistered = wire.server.invite(deviceID: "34020000001320000099", channelID: "34020000001320000099", receiver: Self.receiver, now: wire.now)
        #expect(unregistered == nil)
        // A camera that went silent: the INVITE times out at 64·T1.
        wire.devices.agent.silent[0] = true
        let invited2 = wire.server.invite(deviceID: Agent.camera, channelID: Agent.camera, receiver: Self.receiver, now: wire.now)
        #expect(invited2 != nil)
        wire.run(for: 40 * Self.second)
        #expect(wire.failures.count == 2)
        #expect(wire.failures.last?.contains("did not answer") == true)
        #expect(wire.server.mediaSessions.isEmpty)
    }

    @Test func hangingUpBeforeTheAnswerAcksThenByesIt() throws {
        var wire = Wire()
        let callIDInvited = wire.server.invite(deviceID: Agent.camera, channelID: Agent.camera, receiver: Self.receiver, now: wire.now)
        let callID = try #require(callIDInvited)
        // Hung up before the INVITE even went out of the outbox.
        let hungUp = wire.server.bye(callID: callID, now: wire.now)
        #expect(hungUp)
        wire.run(for: Self.second)
        #expect(wire.answers.isEmpty)
        #expect(wire.requestsToCamera.suffix(3).map(\.method) == ["INVITE", "ACK", "BYE"])
        #expect(wire.devices.recorder.ended.withLock { $0 } == [1])
        #expect(wire.server.mediaSessions.isEmpty)
    }
}
