import ParkMedia
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The clip as RTP: header fields, marker per frame, sequence and timestamp continuity over loops,
/// and restamping that changes only the time fields.
@Suite struct PacketizedClipTests {
    static let clip = Result { try PacketizedClip(annexB: Fixture.clipBytes()) }

    @Test func everyPacketHasAVersion2HeaderPT96TheSSRCAndAPayloadOfAtMost1400Bytes() throws {
        let clip = try Self.clip.get()
        let clock = RTPStreamClock(ssrc: 100_000_001, firstSequence: 7, rtpBase: 1_000, psBase: 90_000)
        for index in clip.packets.indices {
            let packet = clip.packet(index, loop: 0, clock: clock)
            let header = try #require(RTPHeader(parsing: packet[...]))
            #expect(packet[0] == 0x80)  // V=2, no padding, extension or CSRC
            #expect(header.payloadType == 96 && header.ssrc == 100_000_001)
            #expect(packet.count - RTPHeader.length <= 1_400)
        }
    }

    @Test func theMarkerIsOnTheLastPacketOfEachFrameAndOnlyThere() throws {
        let clip = try Self.clip.get()
        let clock = RTPStreamClock(ssrc: 1)
        let headers = try clip.packets.indices.map { try #require(RTPHeader(parsing: clip.packet($0, loop: 0, clock: clock)[...])) }
        #expect(headers.filter(\.marker).count == 50)
        for frame in clip.frames {
            let range = frame.firstPacket..<(frame.firstPacket + frame.packetCount)
            #expect(headers[range].map(\.marker) == Array(repeating: false, count: frame.packetCount - 1) + [true])
            #expect(Set(headers[range].map(\.timestamp)).count == 1)
        }
    }

    /// Sequence numbers run on by one across loops (and through 65535), timestamps step 3600 per frame at 25 fps.
    @Test func sequenceIsContinuousAndTimestampStepsBy3600AcrossLoops() throws {
        let clip = try Self.clip.get()
        #expect(clip.frameTicks == 3_600)
        let clock = RTPStreamClock(ssrc: 5, firstSequence: 65_000, rtpBase: UInt32.max - 100_000, psBase: 90_000)
        var headers: [RTPHeader] = []
        for loop: UInt64 in 0..<3 {
            for index in clip.packets.indices {
                headers.append(try #require(RTPHeader(parsing: clip.packet(index, loop: loop, clock: clock)[...])))
            }
        }
        for (previous, next) in zip(headers, headers.dropFirst()) {
            #expect(next.sequence == previous.sequence &+ 1)
            let step = next.timestamp &- previous.timestamp
            #expect(step == (previous.marker ? 3_600 : 0))
        }
        #expect(headers.first?.sequence == 65_000)
    }

    /// Two streams share every payload byte except the SCR/PTS/DTS they restamp.
    @Test func restampingWritesTheStreamsTimesAndTouchesNothingElse() throws {
        let clip = try Self.clip.get()
        let a = RTPStreamClock(ssrc: 1, firstSequence: 0, rtpBase: 0, psBase: 90_000)
        let b = RTPStreamClock(ssrc: 2, firstSequence: 9, rtpBase: 77, psBase: 5_000_000)
        for frame in [0, 1, 25, 49] {
            let index = clip.frames[frame].firstPacket
            let pa = clip.packet(index, loop: 2, clock: a), pb = clip.packet(index, loop: 2, clock: b)
            #expect(pa.count == pb.count)
            let payloadA = Array(pa[12...]), payloadB = Array(pb[12...])
            let ptsAt = clip.frames[frame].ptsOffset, dtsAt = clip.frames[frame].dtsOffset
            let differing = payloadA.indices.filter { payloadA[$0] != payloadB[$0] }
            let timeFields = Set(Array(4..<10) + Array(ptsAt..<(ptsAt + 5)) + Array(dtsAt..<(dtsAt + 5)))
            #expect(differing.allSatisfy(timeFields.contains), "frame \(frame): bytes \(differing) changed")
            let frameNumber = UInt64(2 * clip.frames.count + frame)
            #expect(MPEGTimestamp.readPES(payloadB[ptsAt...]) == 5_000_000 + frameNumber * 3_600)
            #expect(MPEGTimestamp.readPES(payloadB[dtsAt...]) == 5_000_000 + frameNumber * 3_600)
            #expect(MPEGTimestamp.readSCR(payloadB[4...]) == 5_000_000 + frameNumber * 3_600 - 3_600)
        }
    }

    /// Depacketized, one loop is the muxed clip: a PS the walker reads end to end, H.264 intact.
    @Test func theDepacketizedLoopIsAWellFormedProgramStreamCarryingTheWholeClip() throws {
        let bytes = try Fixture.clipBytes()
        let clip = try PacketizedClip(annexB: bytes)
        let clock = RTPStreamClock(ssrc: 3)
        let ps = clip.packets.indices.flatMap { Array(clip.packet($0, loop: 0, clock: clock)[12...]) }
        #expect(ps.count == clip.byteCount)
        let packets = try PSWalker.walk(ps)
        #expect(packets.filter { $0.code == 0xBA }.count == 50)
        #expect(packets.filter { $0.code == 0xBC }.count == 2)
        let video = packets.filter { $0.code == 0xE0 }.flatMap { Array($0.bytes[(9 + Int($0.bytes[8]))...]) }
        #expect(video == bytes)
    }

    @Test func badParametersAreRefused() throws {
        let bytes = try Fixture.clipBytes()
        #expect(throws: MediaError.self) { try PacketizedClip(annexB: bytes, framesPerSecond: 7) }
        #expect(throws: MediaError.self) { try PacketizedClip(annexB: bytes, maximumPayload: 64) }
        #expect(throws: MediaError.cannotRead("/nonexistent/clip.h264", code: ENOENT)) { try PacketizedClip(contentsOf: "/nonexistent/clip.h264") }
        #expect(MediaError.cannotRead("/x", code: ENOENT).description == "cannot read /x: No such file or directory")
        let small = try PacketizedClip(annexB: bytes, maximumPayload: 200)
        #expect(small.packets.allSatisfy { $0.length <= 200 })
    }

    @Test func rfc4571FramesAndDeframesAcrossArbitraryPieces() {
        let packets: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 9, count: 1_500)]
        let stream = packets.flatMap(RFC4571.frame)
        var deframer = RFC4571Deframer()
        var out: [[UInt8]] = []
        for piece in stride(from: 0, to: stream.count, by: 7) {
            deframer.append(stream[piece..<min(piece + 7, stream.count)])
            while let packet = deframer.next() { out.append(packet) }
        }
        #expect(out == packets && deframer.pending == 0)
    }
}
