/// Cuts an H.264 Annex-B elementary stream (ISO 14496-10 Annex B) into access units.
///
/// A new access unit starts (H.264 §7.4.1.2.3) at an access unit delimiter, or — once the
/// current unit holds a picture's slices — at an SEI, SPS or PPS, or at a slice whose
/// `first_mb_in_slice` is 0. So a stream with AUDs (as our fixture has) and one without both
/// split right, and the parameter sets before an IDR travel with it.
///
/// The input is untrusted (a fixture path given on a command line): the splitter never traps.
/// Bytes before the first start code are skipped, a truncated last unit is kept as far as it
/// goes, units with no slice are dropped, and a corrupt NAL header is an error.
public enum H264AccessUnitSplitter {
    /// Clips are seconds of video; anything bigger is a mistake, not a clip.
    public static let maximumInput = 64 << 20

    /// The access units of `stream`, in order.
    /// - Throws: ``MediaError/noStartCode`` when `stream` is not Annex-B, ``MediaError/noPictures``
    ///   when no unit has a slice, ``MediaError/forbiddenBitSet(offset:)`` for a corrupt NAL header,
    ///   ``MediaError/tooLarge(_:)`` over ``maximumInput``.
    public static func split(_ stream: [UInt8]) throws(MediaError) -> [H264AccessUnit] {
        guard stream.count <= maximumInput else { throw .tooLarge(stream.count) }
        let nals = nalUnits(in: stream)
        guard !nals.isEmpty else { throw .noStartCode }

        var units: [H264AccessUnit] = []
        var unitStart = nals[0].codeStart
        var types: [UInt8] = []
        var hasSlice = false

        func close(at end: Int) {
            if hasSlice, unitStart < end { units.append(H264AccessUnit(bytes: Array(stream[unitStart..<end]), nalTypes: types)) }
            unitStart = end
            types.removeAll(keepingCapacity: true)
            hasSlice = false
        }

        for nal in nals {
            // A start code with nothing after it (a cut-off stream): nothing to add.
            guard nal.payloadStart < stream.count else { continue }
            let header = stream[nal.payloadStart]
            guard header & 0x80 == 0 else { throw .forbiddenBitSet(offset: nal.payloadStart) }
            let type = header & 0x1F
            let firstSliceOfPicture: Bool
            if H264NALType.isSlice(type), nal.payloadStart + 1 < stream.count {
                // first_mb_in_slice is ue(v): the one-bit codeword "1" is 0, the first macroblock.
                firstSliceOfPicture = stream[nal.payloadStart + 1] & 0x80 != 0
            } else {
                firstSliceOfPicture = false
            }
            if type == H264NALType.accessUnitDelimiter, !types.isEmpty {
                close(at: nal.codeStart)
            } else if hasSlice, H264NALType.startsNewUnit(type) || firstSliceOfPicture {
                close(at: nal.codeStart)
            }
            types.append(type)
            if H264NALType.isSlice(type) { hasSlice = true }
        }
        close(at: stream.count)
        guard !units.isEmpty else { throw .noPictures }
        return units
    }

    /// Where each NAL unit's start code begins (a zero byte before `00 00 01` is taken as the
    /// four-byte form) and where its header byte is.
    static func nalUnits(in stream: [UInt8]) -> [(codeStart: Int, payloadStart: Int)] {
        var result: [(Int, Int)] = []
        var index = 0
        let count = stream.count
        while index + 2 < count {
            if stream[index + 2] > 1 {
                index += 3  // no start code can end at index+2, so none begins at index, index+1 or index+2
            } else if stream[index] == 0, stream[index + 1] == 0, stream[index + 2] == 1 {
                let codeStart = index > 0 && stream[index - 1] == 0 ? index - 1 : index
                result.append((codeStart, index + 3))
                index += 3
            } else {
                index += 1
            }
        }
        return result
    }
}
