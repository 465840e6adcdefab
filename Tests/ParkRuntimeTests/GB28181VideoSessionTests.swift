import Foundation
import ParkBindings
import ParkCore
import ParkEventLoop
import ParkGB28181
import ParkMedia
@testable import ParkRuntime
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A simulated camera in a running park answers a platform's INVITE with live video: the 200's
/// SDP names the media sender's port, echoes the y= SSRC and gives the clip's f=; after the ACK,
/// RTP with that SSRC arrives at the offer's port; the BYE stops it (issue 14, live video).
@Suite(.serialized) struct GB28181VideoSessionTests {
    static let clipPath = ParkSessionTests.packageRoot.appendingPathComponent("fixtures/media/clip.h264").path

    /// A platform that answers requests 200 and keeps every response it gets.
    struct VideoPlatform: SIPTransportUser {
        var requests: [SIPMessage] = []
        var responses: [SIPMessage] = []
        var outbox: [SIPDatagram] = []

        mutating func received(_ response: SIPMessage, now: UInt64) { responses.append(response) }
        mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
            requests.append(request)
            let expires = request.method == "REGISTER" ? [SIPHeader("Expires", String(request.expires ?? 3600))] : []
            return request.response(status: 200, reason: "OK", toTag: "plat", extraHeaders: expires)
        }
        mutating func advance(now: UInt64) {}
        var nextDeadline: UInt64 { .max }
        mutating func takeOutbox() -> [SIPDatagram] {
            defer { outbox = [] }
            return outbox
        }
    }

    @Test func aCameraAnswersInviteWithVideoFromTheACKToTheBYE() async throws {
        let (park, catalog, kinds) = try GB28181SessionTests.Fixture.load()
        let clip = try PacketizedClip(contentsOf: Self.clipPath)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let registry = PolledStateRegistry()
        let platform = try SIPUDPTransport(binding: .loopback(port: 0)) { _ in VideoPlatform() }
        try platform.start()
        defer { platform.stop() }
        let binding = try GB28181DeviceBinding(
            devices: park.file.boundDevices, catalog: catalog, kinds: kinds, registry: registry,
            configuration: .init(platform: platform.local, password: { _ in "secret" }, media: GB28181MediaHooks(sender: sender)))
        let session = try await ParkSession(plan: park.plan, bindings: .init(gb28181: binding, registry: registry), ledger: Ledger())
        let addresses = try session.openEndpoints().gb28181
        await session.start()
        let camera = try #require(addresses.first { $0.device == "cam-1" })
        #expect(await wait { platform.inspect { $0.requests.contains { $0.method == "REGISTER" } } })

        // The platform's receiving socket for the video.
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) == 0 && getsockname(receiver, $0, &length) == 0 }
        }
        let videoPort = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let channel = camera.channels[0]
        let offer = "v=0\r\no=34020000002000000001 0 0 IN IP4 127.0.0.1\r\ns=Play\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            + "m=video \(videoPort) RTP/AVP 96\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\ny=0100000123\r\n"
        let target = SIPAddress.loopback(port: UInt16(camera.port))
        let local = platform.local
        func request(_ method: String, cseq: Int, body: String = "", toTag: String? = nil) -> SIPMessage {
            var headers = [
                SIPHeader("Via", "SIP/2.0/UDP \(local);branch=z9hG4bK\(method)\(cseq)"), SIPHeader("From", "<sip:34020000002000000001@3402000000>;tag=p"),
                SIPHeader("To", "<sip:\(channel)@3402000000>" + (toTag.map { ";tag=\($0)" } ?? "")), SIPHeader("Call-ID", "video1@test"),
                SIPHeader("CSeq", "\(cseq) \(method)"),
            ]
            if !body.isEmpty { headers.append(SIPHeader("Content-Type", "APPLICATION/SDP")) }
            return SIPMessage.request(method: method, uri: "sip:\(channel)@3402000000", headers: headers, body: Array(body.utf8))
        }
        platform.perform { user, _ in user.outbox.append(SIPDatagram(bytes: request("INVITE", cseq: 1, body: offer).serialized(), address: target)) }
        #expect(await wait { platform.inspect { $0.responses.contains { $0.status == 200 && $0.callID == "video1@test" } } })
        let ok = try #require(platform.inspect { $0.responses.first { $0.status == 200 && $0.callID == "video1@test" } })
        let answer = try GB28181SDP(bytes: ok.body)
        #expect(answer.port == sender.udpPort && answer.ssrc == "0100000123" && answer.direction == "sendonly")
        #expect(answer.format?.hasPrefix("v/2/2/25/1/") == true)
        #expect(sender.statistics.packets == 0, "nothing streams before the ACK")

        platform.perform { user, _ in user.outbox.append(SIPDatagram(bytes: request("ACK", cseq: 1, toTag: ok.toTag).serialized(), address: target)) }
        var buffer = [UInt8](repeating: 0, count: 2_048)
        let count = recv(receiver, &buffer, buffer.count, 0)
        #expect(count > RTPHeader.length, "no RTP within 2 s of the ACK")
        let header = try #require(RTPHeader(parsing: buffer[0..<max(0, count)]))
        #expect(header.ssrc == 100_000_123 && header.payloadType == 96)

        platform.perform { user, _ in user.outbox.append(SIPDatagram(bytes: request("BYE", cseq: 2, toTag: ok.toTag).serialized(), address: target)) }
        #expect(await wait { platform.inspect { $0.responses.contains { $0.status == 200 && $0.cseq?.method == "BYE" } } })
        #expect(await wait { sender.statistics.activeStreams == 0 })
        await session.stop()
        binding.stop()
    }

    private func wait(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 where !condition() { try? await Task.sleep(nanoseconds: 10_000_000) }
        return condition()
    }
}
