import Foundation
import ParkEventLoop
import Testing

@testable import ParkMedia

#if canImport(Glibc)
import Glibc
#endif

/// A stream that falls far behind (a starved sender thread) skips to the frame due now and
/// resumes at a key frame, counting what it skipped, instead of bursting its backlog. Driven on
/// the sender's loop with made-up times, so the starvation is exact.
@Suite struct SenderCatchUpTests {
    @Test func aStreamFarBehindSkipsAheadAndResumesAtAKeyFrame() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let receiver = try LoopbackPeers.udpReceiver()
        defer { close(receiver.fd) }
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let selector = try EpollSelector()
        let configuration = RTPSender.Configuration(catchUpLimit: .milliseconds(500))
        let loop = SenderLoop(clip: clip, configuration: configuration, selector: selector, udp: udp)
        defer { loop.closeAll() }
        let clock = RTPStreamClock(ssrc: 11, firstSequence: 0, rtpBase: 0, psBase: 90_000)
        loop.handle(.open(id: 1, endpoint: .udp(LoopbackPeers.loopback(port: receiver.port)), clock: clock, mode: .live), now: 0)
        loop.handle(.begin(1), now: 0)
        let ms: UInt64 = 1_000_000

        loop.sendDue(now: 0)  // frame 0, on time
        loop.sendDue(now: 2_200 * ms)  // 2.16 s late: skip to frame 55 (a P-frame), drop it
        #expect(loop.statistics.droppedFrames == 55)
        loop.sendDue(now: 3_000 * ms)  // frame 56 is 0.76 s late: skip to 75, which is the clip's key frame 25
        #expect(loop.statistics.droppedFrames == 74)
        #expect(loop.statistics.lateFrames == 2 && loop.statistics.maximumLatenessNanoseconds == 2_160 * ms)

        let packets = LoopbackPeers.receiveDatagrams(receiver.fd, quietMilliseconds: 200)
        let headers = packets.compactMap { RTPHeader(parsing: $0[...]) }
        let frames = Dictionary(grouping: headers, by: \.timestamp)
        #expect(frames.keys.sorted() == [UInt32(0), UInt32(75 * 3_600)], "frame 0 and frame 75, nothing between")
        let frame0 = clip.frames[0], frame25 = clip.frames[25]
        #expect(frames[0]?.count == frame0.packetCount && frames[75 * 3_600]?.count == frame25.packetCount)
        // The skipped frames' sequence numbers are skipped too: the receiver sees the loss.
        let resumed = try #require(headers.first { $0.timestamp == 75 * 3_600 })
        #expect(resumed.sequence == clip.sequence(packet: frame25.firstPacket, loop: 1, clock: clock))
        let payload = Array(try #require(packets.first { RTPHeader(parsing: $0[...])?.timestamp == 75 * 3_600 })[12...])
        #expect(payload[14..<18] == [0, 0, 1, 0xBB], "it resumes with a key frame's system header")
    }
}
