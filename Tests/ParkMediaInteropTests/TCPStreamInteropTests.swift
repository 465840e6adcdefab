import Foundation
import ParkMedia
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RTP over TCP (RFC 4571), both ways round: the platform connects to our listening port
/// (offer `setup:active`), or we connect to the platform (offer `setup:passive`). Either way the
/// byte stream de-frames to exactly the packets the clip gives for that stream's clock.
@Suite(.serialized) struct TCPStreamInteropTests {
    static func expected(_ clip: PacketizedClip, clock: RTPStreamClock) -> [[UInt8]] {
        clip.packets.indices.map { clip.packet($0, loop: 0, clock: clock) }
    }

    @Test func passiveThePlatformConnectsAndReadsTheWholeClipFramedByRFC4571() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let clock = RTPStreamClock(ssrc: 0_200_000_001, seed: 7)
        let stream = try sender.open(.init(transport: .tcpListen, clock: clock, mode: .playback(frames: 50)))
        let fd = try LoopbackPeers.tcpConnect(port: stream.localPort)
        defer { close(fd) }
        sender.begin(stream.id)
        let (packets, closed) = LoopbackPeers.readFramed(fd)
        #expect(closed, "the sender closes the connection after the playback range")
        #expect(packets == Self.expected(clip, clock: clock), "\(packets.count) packets of \(clip.packets.count)")
        #expect(sender.statistics.finishedPlaybacks == 1 && sender.statistics.droppedFrames == 0)
    }

    @Test func activeWeConnectToThePlatformAndItReadsTheWholeClipFramedByRFC4571() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let listener = try LoopbackPeers.tcpListener()
        defer { close(listener.fd) }
        let clock = RTPStreamClock(ssrc: 0_200_000_002, seed: 8)
        let stream = try sender.open(.init(transport: .tcpConnect(address: "127.0.0.1", port: listener.port), clock: clock, mode: .playback(frames: 50)))
        #expect(stream.localPort > 0)
        sender.begin(stream.id)
        let fd = try LoopbackPeers.accept(listener.fd)
        defer { close(fd) }
        let (packets, closed) = LoopbackPeers.readFramed(fd)
        #expect(closed)
        #expect(packets == Self.expected(clip, clock: clock), "\(packets.count) packets of \(clip.packets.count)")
        #expect(LoopbackPeers.programStream(packets).count == clip.byteCount)
    }

    /// A platform that stops reading costs frames, counted, not memory; when it reads again the
    /// stream resumes at a key frame, so its decoder never starts on a P-frame.
    @Test func aPlatformThatStopsReadingCostsDroppedFramesAndTheStreamResumesAtAKeyFrame() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let sender = try RTPSender(clip: clip, configuration: .init(tcpQueueLimit: 16 * 1024, tcpSendBuffer: 4 * 1024))
        try sender.start()
        defer { sender.stop() }
        let clock = RTPStreamClock(ssrc: 3, firstSequence: 0, rtpBase: 0, psBase: 90_000)
        let stream = try sender.open(.init(transport: .tcpListen, clock: clock, mode: .playback(frames: 150)))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 4 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = LoopbackPeers.loopback(port: stream.localPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(connected)
        defer { close(fd) }
        sender.begin(stream.id)
        #expect(LoopbackPeers.wait(seconds: 4) { sender.statistics.droppedFrames > 0 }, "\(sender.statistics)")
        let (packets, closed) = LoopbackPeers.readFramed(fd, limit: 15)
        #expect(closed)
        let headers = packets.compactMap { RTPHeader(parsing: $0[...]) }
        // Find the first gap in sequence numbers: the packet after it starts a frame that is a key frame.
        let gap = try #require(headers.indices.dropLast().first { headers[$0 + 1].sequence != headers[$0].sequence &+ 1 }, "no frames were dropped")
        let resumed = packets[gap + 1]
        let payload = Array(resumed[RTPHeader.length...])
        #expect(payload.count > 20 && payload[14..<18] == [0, 0, 1, 0xBB], "after a drop the stream resumes with a key frame's system header")
        #expect(sender.statistics.droppedFrames > 0)
    }
}
