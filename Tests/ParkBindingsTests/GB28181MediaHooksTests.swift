import Foundation
import ParkBindings
import ParkGB28181
import ParkMedia
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The adapter between a device agent's INVITE handling and the RTP sender: what it answers for
/// each kind of offer, and that the stream it prepares is the one the offer asked for.
@Suite(.serialized) struct GB28181MediaHooksTests {
    static let clipPath = "/" + "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/") + "/fixtures/media/clip.h264"
    static let platform = "34020000002000000001"

    static func offer(session: String = "Play", port: Int, proto: String = "RTP/AVP", setup: String? = nil, times: String = "0 0", ssrc: String? = "0100000001") throws -> GB28181SDP {
        var lines = ["v=0", "o=\(platform) 0 0 IN IP4 127.0.0.1", "s=\(session)", "c=IN IP4 127.0.0.1", "t=\(times)",
                     "m=video \(port) \(proto) 96 98", "a=recvonly", "a=rtpmap:96 PS/90000", "a=rtpmap:98 H264/90000"]
        if let setup { lines += ["a=setup:\(setup)", "a=connection:new"] }
        if let ssrc { lines.append("y=\(ssrc)") }
        return try GB28181SDP(bytes: Array((lines.joined(separator: "\r\n") + "\r\n").utf8))
    }

    @Test func theFormatLineDescribesTheClipAsH264CIFAt25FPS() throws {
        let clip = try PacketizedClip(contentsOf: Self.clipPath)
        let format = GB28181MediaHooks.format(for: clip, resolution: 2)
        #expect(format.hasPrefix("v/2/2/25/1/") && format.hasSuffix("a///"))
        let kbps = try #require(Int(format.dropFirst("v/2/2/25/1/".count).dropLast(4)))
        #expect((480...600).contains(kbps), "the fixture is ~512 kbit/s of H.264 plus PS overhead: \(format)")
    }

    /// Offer roles map to ours (RFC 4145): the platform passive → we connect; active → we listen.
    @Test func eachOfferBecomesTheMatchingSenderRequest() throws {
        let udp = GB28181MediaHooks.request(for: try Self.offer(port: 30_000), index: 3, channel: 1, framesPerSecond: 25)
        #expect(udp.transport == .udp(address: "127.0.0.1", port: 30_000) && udp.clock.ssrc == 100_000_001 && udp.mode == .live)
        let passive = GB28181MediaHooks.request(
            for: try Self.offer(port: 30_002, proto: "TCP/RTP/AVP", setup: "passive"), index: 3, channel: 1, framesPerSecond: 25)
        #expect(passive.transport == .tcpConnect(address: "127.0.0.1", port: 30_002))
        let active = GB28181MediaHooks.request(
            for: try Self.offer(port: 30_004, proto: "TCP/RTP/AVP", setup: "active"), index: 3, channel: 1, framesPerSecond: 25)
        #expect(active.transport == .tcpListen)
        let playback = GB28181MediaHooks.request(
            for: try Self.offer(session: "Playback", port: 30_006, times: "1700000000 1700000010", ssrc: "1100000002"), index: 0, channel: 2, framesPerSecond: 25)
        #expect(playback.mode == .playback(frames: 250) && playback.clock.ssrc == 1_100_000_002)
        // A hostile range is capped at a day, an inverted one plays one second.
        let huge = GB28181MediaHooks.request(for: try Self.offer(session: "Playback", port: 1, times: "0 9999999999"), index: 0, channel: 1, framesPerSecond: 25)
        #expect(huge.mode == .playback(frames: 86_400 * 25))
        let inverted = GB28181MediaHooks.request(for: try Self.offer(session: "Playback", port: 1, times: "20 10"), index: 0, channel: 1, framesPerSecond: 25)
        #expect(inverted.mode == .playback(frames: 25))
        let overflowing = GB28181MediaHooks.request(
            for: try Self.offer(session: "Playback", port: 1, times: "-9223372036854775808 9223372036854775807"), index: 0, channel: 1, framesPerSecond: 25)
        #expect(overflowing.mode == .playback(frames: 25))
    }

    /// prepare answers the sender's port and address and the clip's f=; the ACK starts video with
    /// the y= SSRC towards the offer's port; the BYE stops it.
    @Test func prepareAnswersBeginStreamsWithTheOfferedSSRCAndEndStops() throws {
        let clip = try PacketizedClip(contentsOf: Self.clipPath)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let hooks = GB28181MediaHooks(sender: sender)
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) == 0 && getsockname(receiver, $0, &length) == 0 }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let answer = try #require(hooks.hooks.prepare(0, 1, try Self.offer(port: port, ssrc: "0100000077")))
        #expect(answer.address == "127.0.0.1" && answer.port == sender.udpPort && answer.format == hooks.format)
        var buffer = [UInt8](repeating: 0, count: 2_048)
        hooks.hooks.begin(answer.stream)
        let count = recv(receiver, &buffer, buffer.count, 0)
        #expect(count > RTPHeader.length, "no RTP within 2 s of the ACK")
        let header = try #require(RTPHeader(parsing: buffer[0..<max(0, count)]))
        #expect(header.ssrc == 100_000_077 && header.payloadType == 96)
        hooks.hooks.end(answer.stream)
        #expect(waitUntil { sender.statistics.activeStreams == 0 })

        // TCP with the platform active: we listen, and the answer's port is where.
        let listening = try #require(hooks.hooks.prepare(0, 1, try Self.offer(port: 9, proto: "TCP/RTP/AVP", setup: "active")))
        #expect(listening.port != sender.udpPort && listening.port > 0)
        hooks.hooks.end(listening.stream)
        // An address the sender cannot use is a refusal (the agent answers 486), not a crash.
        var bad = try Self.offer(port: 30_000)
        bad.address = "not-an-address"
        #expect(hooks.hooks.prepare(0, 1, bad) == nil)
    }

    private func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<300 where !condition() { usleep(10_000) }
        return condition()
    }
}
