import Foundation
import ParkMedia
import ParkTestSupport
import Testing

/// The platform's receiver against our sender over loopback, UDP and TCP (RFC 4571), and
/// against an independent decoder: ffprobe decodes the frames the receiver judged whole.
@Suite(.serialized) struct RTPReceiverInteropTests {
    /// One playback of the clip (50 frames, 2 s) from the sender to a receiver stream.
    static func play(_ transport: RTPReceiver.Transport, discardOneIn: Int = 0, recording: Int = 0)
        throws -> (statistics: PSStreamInspector.Statistics, recording: [UInt8], clip: PacketizedClip)
    {
        let clip = try PacketizedClip(contentsOf: LoopbackPeers.clipPath)
        let receiver = try RTPReceiver()
        receiver.discardOneIn.store(discardOneIn, ordering: .relaxed)
        try receiver.start()
        defer { receiver.stop() }
        let ssrc: UInt32 = 100_000_007
        let opened = try receiver.open(transport, expectedSSRC: ssrc, recordingLimit: recording)
        let sender = try RTPSender(clip: clip)
        try sender.start()
        defer { sender.stop() }
        let destination: RTPSender.Transport = transport == .udp
            ? .udp(address: "127.0.0.1", port: opened.port) : .tcpConnect(address: "127.0.0.1", port: opened.port)
        let stream = try sender.open(.init(transport: destination, clock: RTPStreamClock(ssrc: ssrc, seed: 3), mode: .playback(frames: 50)))
        sender.begin(stream.id)
        _ = LoopbackPeers.wait(seconds: 10) { sender.statistics.finishedPlaybacks == 1 }
        // The last datagrams may still be in the socket; the receiver settles when nothing changes.
        var previous = -1
        _ = LoopbackPeers.wait(seconds: 3) {
            let now = receiver.statistics(opened.id)?.packets ?? 0
            defer { previous = now }
            return now == clip.packets.count || (now == previous && now > 0 && discardOneIn > 0)
        }
        let statistics = try #require(receiver.statistics(opened.id))
        return (statistics, receiver.recording(opened.id), clip)
    }

    @Test func overUDPEveryFrameArrivesWholeAndTheFirstKeyFrameIsTimed() throws {
        let (stats, _, clip) = try Self.play(.udp)
        #expect(stats.packets == clip.packets.count)
        #expect(stats.frames == 50 && stats.keyFrames == clip.frames.filter(\.isKeyFrame).count)
        #expect(stats.lost == 0 && stats.incompleteFrames == 0 && stats.malformedFrames == 0 && stats.foreignPackets == 0)
        let first = try #require(stats.firstPacketAt), key = try #require(stats.firstKeyFrameAt)
        #expect(key >= first)
        // Paced at 25 fps: the clip takes about 2 s, and jitter on loopback stays in milliseconds.
        #expect(try #require(stats.lastPacketAt) - first > 1_500_000_000)
        #expect(stats.jitterMilliseconds < 20, "jitter \(stats.jitterMilliseconds) ms on loopback")
    }

    @Test func overTCPTheDeviceConnectsAndEveryFrameArrivesWhole() throws {
        let (stats, _, clip) = try Self.play(.tcpListen)
        #expect(stats.packets == clip.packets.count)
        #expect(stats.frames == 50 && stats.lost == 0 && stats.malformedFrames == 0)
    }

    @Test func discardedPacketsShowAsLossAndIncompleteFrames() throws {
        let (stats, _, clip) = try Self.play(.udp, discardOneIn: 10)
        #expect(stats.lost >= clip.packets.count / 10 - 1, "lost \(stats.lost) of \(clip.packets.count)")
        #expect(stats.incompleteFrames > 0 && stats.frames < 50)
    }

    @Test(.enabled(if: LoopbackPeers.has("ffprobe"), "ffprobe is not installed (scripts/deps.sh test installs ffmpeg)"))
    func ffprobeDecodesWhatTheReceiverKeptToFiftyCIFFrames() throws {
        let (stats, recording, _) = try Self.play(.udp, recording: 4 << 20)
        #expect(stats.frames == 50)
        let directory = try TemporaryDirectory()
        let file = directory.path("received.ps")
        try Data(recording).write(to: URL(fileURLWithPath: file))
        let output = try toolOutput("ffprobe", [
            "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", file,
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let video = try #require((json["streams"] as? [[String: Any]])?.first, "\(output)")
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["width"] as? Int == 352 && video["height"] as? Int == 288)
        #expect(video["nb_read_frames"] as? String == "50", "\(output)")
    }
}
