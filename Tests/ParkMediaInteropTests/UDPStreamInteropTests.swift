import Foundation
import ParkCapture
import ParkMedia
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The clip over UDP, judged by independent decoders: ffprobe decodes the received program stream
/// to 50 CIF H.264 frames, and tshark dissects every datagram as RTP without complaint.
@Suite(.serialized) struct UDPStreamInteropTests {
    /// One playback of one clip length (50 frames) to a local socket: what arrives, in order.
    static func playOnce(clock: RTPStreamClock, receiverPort: Int? = nil) throws -> (packets: [[UInt8]], statistics: RTPSenderStatistics, port: Int) {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let receiver = try LoopbackPeers.udpReceiver()
        defer { close(receiver.fd) }
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let stream = try sender.open(.init(transport: .udp(address: "127.0.0.1", port: receiver.port), clock: clock, mode: .playback(frames: 50)))
        #expect(stream.localPort == sender.udpPort)
        sender.begin(stream.id)
        let packets = LoopbackPeers.receiveDatagrams(receiver.fd)
        return (packets, sender.statistics, receiver.port)
    }

    @Test(.enabled(if: LoopbackPeers.has("ffprobe"), "ffprobe is not installed (scripts/deps.sh test installs ffmpeg)"))
    func ffprobeDecodesTheReceivedProgramStreamToFiftyCIFH264Frames() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let clock = RTPStreamClock(ssrc: 0_100_000_001, seed: 1)
        let (packets, statistics, _) = try Self.playOnce(clock: clock)
        #expect(packets.count == clip.packets.count, "received \(packets.count) of \(clip.packets.count) datagrams")
        #expect(statistics.finishedPlaybacks == 1 && statistics.activeStreams == 0)
        #expect(statistics.packets == UInt64(clip.packets.count) && statistics.droppedPackets == 0)
        let headers = packets.compactMap { RTPHeader(parsing: $0[...]) }
        #expect(headers.count == packets.count && headers.allSatisfy { $0.ssrc == 100_000_001 && $0.payloadType == 96 })
        #expect(headers.filter(\.marker).count == 50)

        let directory = try TemporaryDirectory()
        let file = directory.path("received.ps")
        try Data(LoopbackPeers.programStream(packets)).write(to: URL(fileURLWithPath: file))
        let output = try toolOutput("ffprobe", [
            "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", file,
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let streams = try #require(json["streams"] as? [[String: Any]])
        #expect(streams.count == 1, "\(output)")
        let video = try #require(streams.first)
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 352 && video["height"] as? Int == 288)
        #expect(video["nb_read_frames"] as? String == "50", "\(output)")
    }

    @Test(.enabled(if: LoopbackPeers.has("tshark"), "tshark is not installed (scripts/deps.sh test installs it)"))
    func tsharkDissectsEveryDatagramAsRTPWithoutMalformedPackets() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let clock = RTPStreamClock(ssrc: 0_100_000_002, firstSequence: 65_500, rtpBase: 1_000, psBase: 90_000)
        let receiver = try LoopbackPeers.udpReceiver()
        defer { close(receiver.fd) }
        let directory = try TemporaryDirectory()
        let file = directory.path("rtp.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "udp dst port \(receiver.port)", file: file) } catch {
            Issue.record("packet capture must work here (root or CAP_NET_RAW): \(error)")
            return
        }
        capture.start()
        let sender = try RTPSender(clip: clip)
        try sender.start()
        let stream = try sender.open(.init(transport: .udp(address: "127.0.0.1", port: receiver.port), clock: clock, mode: .playback(frames: 50)))
        sender.begin(stream.id)
        let received = LoopbackPeers.receiveDatagrams(receiver.fd)
        sender.stop()
        #expect(received.count == clip.packets.count)
        _ = LoopbackPeers.wait { capture.summary.packetsCaptured >= received.count }
        #expect(capture.stop().packetsCaptured == received.count)

        let decode = ["-r", file, "-d", "udp.port==\(receiver.port),rtp"]
        let fields = try tshark(decode + ["-Y", "rtp", "-T", "fields", "-e", "rtp.version", "-e", "rtp.p_type", "-e", "rtp.ssrc", "-e", "rtp.seq",
                                          "-e", "rtp.marker", "-e", "rtp.timestamp"])
        let rows = fields.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.count == clip.packets.count, "tshark saw \(rows.count) RTP packets")
        #expect(rows.allSatisfy { $0.count == 6 && $0[0] == "2" && $0[1] == "96" && $0[2] == "0x05f5e102" }, "\(rows.prefix(3))")
        let sequences = rows.compactMap { UInt16($0[3]) }
        #expect(sequences.first == 65_500 && zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
        let markers = rows.filter { $0[4] == "1" || $0[4] == "True" }.count
        #expect(markers == 50, "\(rows.prefix(3))")
        let malformed = try tshark(decode + ["-Y", "_ws.malformed || _ws.expert.severity >= warning"])
        #expect(malformed.isEmpty, "tshark complained: \(malformed.prefix(600))")
    }

    /// One thread, many streams: twenty cameras at once, each receiver gets its whole clip with its own SSRC.
    @Test func twentyStreamsOnOneSenderEachDeliverTheWholeClipWithTheirOwnSSRC() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let receivers = try (0..<20).map { _ in try LoopbackPeers.udpReceiver() }
        defer { for receiver in receivers { close(receiver.fd) } }
        for (index, receiver) in receivers.enumerated() {
            let clock = RTPStreamClock(ssrc: UInt32(100_000_100 + index), seed: UInt64(index))
            let stream = try sender.open(.init(transport: .udp(address: "127.0.0.1", port: receiver.port), clock: clock, mode: .playback(frames: 50)))
            sender.begin(stream.id)
        }
        #expect(LoopbackPeers.wait(seconds: 6) { sender.statistics.finishedPlaybacks == 20 })
        for (index, receiver) in receivers.enumerated() {
            let packets = LoopbackPeers.receiveDatagrams(receiver.fd, quietMilliseconds: 200)
            #expect(packets.count == clip.packets.count, "receiver \(index)")
            #expect(packets.allSatisfy { RTPHeader(parsing: $0[...])?.ssrc == UInt32(100_000_100 + index) })
        }
        #expect(sender.statistics.lateFrames < 50, "\(sender.statistics)")
    }

    /// A live stream runs until ended, paced at 25 frames a second.
    @Test func aLiveStreamIsPacedAtTheFrameRateAndStopsWhenEnded() throws {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let receiver = try LoopbackPeers.udpReceiver()
        defer { close(receiver.fd) }
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let stream = try sender.open(.init(transport: .udp(address: "127.0.0.1", port: receiver.port), clock: RTPStreamClock(ssrc: 9)))
        sender.begin(stream.id)
        usleep(3_000_000)  // 1.5 clip lengths: live loops the clip
        sender.end(stream.id)
        #expect(LoopbackPeers.wait { sender.statistics.activeStreams == 0 })
        let packets = LoopbackPeers.receiveDatagrams(receiver.fd, quietMilliseconds: 300)
        let frames = packets.compactMap { RTPHeader(parsing: $0[...]) }.filter(\.marker).count
        // 3 s at 25 fps is 75 frames, plus frame 0 at once; allow for a busy machine's scheduling.
        #expect((70...80).contains(frames), "\(frames) frames in 3 s")
        let sequences = packets.compactMap { RTPHeader(parsing: $0[...])?.sequence }
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
        #expect(LoopbackPeers.receiveDatagrams(receiver.fd, quietMilliseconds: 300).isEmpty, "packets after end")
    }
}
