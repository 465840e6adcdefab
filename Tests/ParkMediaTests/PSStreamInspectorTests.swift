import ParkMedia
import Testing

/// The receiver's judgement of a stream, fed the fixture's packets as a camera sends them and
/// then with packets lost, repeated, swapped, corrupted or foreign.
@Suite struct PSStreamInspectorTests {
    static let clip = PacketizedClipTests.clip
    static let clock = RTPStreamClock(ssrc: 1_234_567_890, firstSequence: 65_500, rtpBase: 7, psBase: 90_000)

    /// Two loops of the clip (sequence numbers wrap past 65,535 on the way), 40 ms a frame.
    static func packets() throws -> [(bytes: [UInt8], at: UInt64)] {
        let clip = try clip.get()
        var out: [(bytes: [UInt8], at: UInt64)] = []
        for loop: UInt64 in 0..<2 {
            for index in clip.packets.indices {
                let frame = UInt64(clip.packets[index].frame) + loop * UInt64(clip.frames.count)
                out.append((clip.packet(index, loop: loop, clock: clock), 1_000_000_000 + frame * 40_000_000))
            }
        }
        return out
    }

    static func inspect(_ packets: [(bytes: [UInt8], at: UInt64)], ssrc: UInt32? = clock.ssrc) -> PSStreamInspector.Statistics {
        var inspector = PSStreamInspector(expectedSSRC: ssrc)
        for packet in packets { inspector.receive(packet.bytes[...], at: packet.at) }
        return inspector.statistics
    }

    @Test func theWholeClipTwiceIsEveryFrameWholeWithNothingLost() throws {
        let clip = try Self.clip.get()
        let packets = try Self.packets()
        let stats = Self.inspect(packets)
        #expect(stats.packets == packets.count)
        #expect(stats.frames == 2 * clip.frames.count)
        #expect(stats.keyFrames == 2 * clip.frames.filter(\.isKeyFrame).count)
        #expect(stats.lost == 0 && stats.duplicates == 0 && stats.reordered == 0)
        #expect(stats.incompleteFrames == 0 && stats.malformedFrames == 0 && stats.foreignPackets == 0)
        #expect(stats.timestampRegressions == 0)
        #expect(stats.firstProblem == nil)
        #expect(stats.firstPacketAt == 1_000_000_000)
        // The clip opens with a key frame: video starts with the first frame's last packet.
        #expect(stats.firstKeyFrameAt == 1_000_000_000)
        // Packets sent exactly on the media clock: no jitter beyond the bursts within a frame.
        #expect(stats.jitterMilliseconds < 1)
    }

    @Test func aLostPacketCostsItsFrameAndIsCountedOnce() throws {
        let clip = try Self.clip.get()
        var packets = try Self.packets()
        // A packet in the middle of the first key frame.
        let victim = clip.frames[0].firstPacket + 1
        #expect(clip.frames[0].packetCount > 2)
        packets.remove(at: victim)
        let stats = Self.inspect(packets)
        #expect(stats.lost == 1)
        #expect(stats.incompleteFrames == 1)
        #expect(stats.frames == 2 * clip.frames.count - 1)
        // The first key frame was lost; the next one (the clip's second) starts the video.
        let secondKey = try #require(clip.frames.indices.dropFirst().first { clip.frames[$0].isKeyFrame })
        #expect(stats.firstKeyFrameAt == 1_000_000_000 + UInt64(secondKey) * 40_000_000)
    }

    @Test func aLostMarkerPacketEndsItsFrameWhenTheNextTimestampComes() throws {
        let clip = try Self.clip.get()
        var packets = try Self.packets()
        let last = clip.frames[3].firstPacket + clip.frames[3].packetCount - 1
        packets.remove(at: last)
        let stats = Self.inspect(packets)
        #expect(stats.lost == 1)
        #expect(stats.incompleteFrames == 1)
        #expect(stats.frames == 2 * clip.frames.count - 1)
    }

    @Test func duplicatesAndSwappedPacketsAreCountedAndSpoilOnlyTheirFrame() throws {
        let clip = try Self.clip.get()
        var packets = try Self.packets()
        let frame = clip.frames[10]
        packets.insert(packets[frame.firstPacket], at: frame.firstPacket + 1)
        let lone = clip.frames[20].firstPacket
        #expect(clip.frames[20].packetCount >= 1)
        packets.swapAt(lone, lone + 1)
        let stats = Self.inspect(packets)
        #expect(stats.duplicates == 1)
        #expect(stats.reordered == 1)
        #expect(stats.lost == 0)
        #expect(stats.incompleteFrames >= 1)
        #expect(stats.frames >= 2 * clip.frames.count - 2)
    }

    @Test func aCorruptPackIsMalformedAndNamed() throws {
        let clip = try Self.clip.get()
        var packets = try Self.packets()
        // The first packet of frame 5 starts with the pack header; break its start code.
        let index = clip.frames[5].firstPacket
        packets[index].bytes[RTPHeader.length + 3] = 0xBB
        let stats = Self.inspect(packets)
        #expect(stats.malformedFrames == 1)
        #expect(stats.frames == 2 * clip.frames.count - 1)
        #expect(stats.firstProblem?.contains("frame 6") == true)
    }

    @Test func foreignPacketsAreNotTheStream() throws {
        var packets = try Self.packets()
        var other = packets[0]
        other.bytes[8] ^= 0xFF  // another SSRC
        packets.insert(other, at: 3)
        packets.insert(([1, 2, 3], 5), at: 4)
        let stats = Self.inspect(packets)
        #expect(stats.foreignPackets == 2)
        #expect(stats.lost == 0)
        #expect(stats.firstProblem?.contains("SSRC") == true)
    }

    @Test func lateDeliveryShowsAsJitter() throws {
        var packets = try Self.packets()
        // Every other frame 30 ms late.
        for index in packets.indices where (packets[index].at / 40_000_000) % 2 == 1 { packets[index].at += 30_000_000 }
        let stats = Self.inspect(packets)
        #expect(stats.jitterMilliseconds > 5)
        #expect(stats.maximumJitterMilliseconds >= stats.jitterMilliseconds)
    }

    @Test func packsOfEveryKindAreReadOrRefusedWithAReason() {
        #expect(PSPackReader.read([0, 0, 1, 0xE0, 0, 0]).failureDescription?.contains("pack header") == true)
        let header: [UInt8] = [0, 0, 1, 0xBA, 0x44, 0, 4, 0, 4, 1, 0, 0, 3, 0xF8]
        #expect(PSPackReader.read(header).failureDescription?.contains("no video PES") == true)
        #expect(PSPackReader.read(header + [0, 0, 1, 0xE0, 0x10, 0]).failureDescription?.contains("says 4096 bytes") == true)
        let pes: [UInt8] = [0, 0, 1, 0xE0, 0, 9, 0x80, 0, 0, 0, 0, 0, 1, 0x65, 0x88]
        #expect(PSPackReader.read(header + pes).success?.isKeyFrame == true)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var bytes = header + pes
            bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            _ = PSPackReader.read(Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))))
        }
    }
}

extension Result {
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }

    fileprivate var success: Success? { try? get() }
}
