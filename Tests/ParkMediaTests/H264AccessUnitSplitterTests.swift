import ParkMedia
import Testing

/// The splitter cuts the fixture into its frames, finds its IDRs, and survives hostile input.
@Suite struct H264AccessUnitSplitterTests {
    @Test func theFixtureHasFiftyAccessUnitsWithKeyFramesAtZeroAndTwentyFive() throws {
        let bytes = try Fixture.clipBytes()
        let units = try H264AccessUnitSplitter.split(bytes)
        #expect(units.count == 50)
        #expect(units.indices.filter { units[$0].isKeyFrame } == [0, 25])
        // Nothing lost or duplicated: the units put back together are the stream.
        #expect(units.flatMap(\.bytes) == bytes)
        for unit in units {
            #expect(unit.nalTypes.first == H264NALType.accessUnitDelimiter)
            #expect(unit.bytes.prefix(4) == [0, 0, 0, 1])
            #expect(unit.nalTypes.filter { $0 == 1 || $0 == 5 }.count >= 1)
        }
        // The IDRs carry their parameter sets, ahead of the slice.
        #expect(units[25].nalTypes.starts(with: [9, 7, 8]))
    }

    /// Without AUDs, a new picture is found by its first_mb_in_slice = 0 and by SPS/PPS after slices.
    @Test func aStreamWithoutDelimitersSplitsOnFirstSliceAndParameterSets() throws {
        let sps: [UInt8] = [0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x14]
        let pps: [UInt8] = [0, 0, 0, 1, 0x68, 0xCB]
        let idr: [UInt8] = [0, 0, 1, 0x65, 0x88, 0x84]  // first_mb_in_slice 0
        let idrSecondSlice: [UInt8] = [0, 0, 1, 0x65, 0x40, 0x11]  // first_mb_in_slice 1: same picture
        let p: [UInt8] = [0, 0, 1, 0x41, 0x9A, 0x02]
        let units = try H264AccessUnitSplitter.split(sps + pps + idr + idrSecondSlice + p + p + sps + pps + idr)
        #expect(units.map(\.nalTypes) == [[7, 8, 5, 5], [1], [1], [7, 8, 5]])
        #expect(units.map(\.isKeyFrame) == [true, false, false, true])
    }

    @Test func inputThatIsNotAnnexBIsRefusedWithAReason() {
        #expect(throws: MediaError.noStartCode) { try H264AccessUnitSplitter.split([]) }
        #expect(throws: MediaError.noStartCode) { try H264AccessUnitSplitter.split(Array("ftypisom".utf8)) }
        #expect(throws: MediaError.noPictures) { try H264AccessUnitSplitter.split([0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x67, 1]) }
        #expect(throws: MediaError.forbiddenBitSet(offset: 3)) { try H264AccessUnitSplitter.split([0, 0, 1, 0xE5, 1, 2]) }
        #expect(MediaError.noStartCode.description.contains("start code"))
    }

    /// A clip cut anywhere gives fewer (or shorter) units, never a trap; so does garbage.
    @Test func truncatedAndRandomInputNeverTraps() throws {
        let bytes = try Fixture.clipBytes()
        let whole = try H264AccessUnitSplitter.split(bytes).count
        for cut in stride(from: 0, to: bytes.count, by: 997) + [1, 2, 3, 4, 5, bytes.count - 1] {
            if let units = try? H264AccessUnitSplitter.split(Array(bytes.prefix(cut))) {
                #expect(units.count <= whole)
                #expect(units.flatMap(\.bytes).count <= cut)
            }
        }
        var generator = SplitMix(seed: 28181)
        for round in 0..<2_000 {
            let length = Int(generator.next() % 300)
            var input = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Sprinkle start codes so the NAL paths, not only the scan, see the garbage.
            if round % 2 == 0, length > 8 {
                for _ in 0..<3 {
                    let at = Int(generator.next() % UInt64(length - 3))
                    input.replaceSubrange(at..<(at + 3), with: [0, 0, 1])
                }
            }
            _ = try? H264AccessUnitSplitter.split(input)
        }
    }
}

/// A small deterministic generator for the hostile-input rounds.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
