/// Wraps H.264 access units in an MPEG-2 program stream (ISO 13818-1 §2.5), the way GB/T 28181
/// cameras do (§C.2: RTP payload 96, PS/90000): every frame is a pack — a pack header with the
/// SCR, then, before a key frame, the system header and the program stream map (video stream
/// 0xE0, stream_type 0x1B = H.264), then PES packets of stream 0xE0.
///
/// The first PES of a frame carries the PTS and a DTS equal to it (Baseline has no B-frames, so
/// decode order is display order); a frame over one PES's 65,535 bytes continues in PES packets
/// without timestamps. The timestamps sit at fixed offsets, reported in ``MPEGPSFrame``, so a
/// sender can restamp the shared bytes per stream instead of muxing again.
public struct MPEGPSMuxer: Sendable {
    /// The video elementary stream's id (ISO 13818-1 Table 2-22: video stream number 0).
    public static let videoStreamID: UInt8 = 0xE0
    /// stream_type for H.264 in the PSM (ISO 13818-1 Table 2-34, "AVC video").
    public static let h264StreamType: UInt8 = 0x1B
    /// The most a PES_packet_length can say.
    public static let maximumPESLength = 65_535

    /// program_mux_rate and rate_bound, in units of 50 bytes per second (22 bits).
    public let muxRate: UInt32

    /// - Parameter bitRate: the stream's peak rate in bits per second, written as the mux rate
    ///   (rounded up to the 400 bit/s unit; at least 1).
    public init(bitRate: Int) {
        muxRate = UInt32(min(max(1, (bitRate + 399) / 400), (1 << 22) - 1))
    }

    /// The pack of one access unit, timestamped `pts` (90 kHz; the DTS is the same) with `scr`.
    public func mux(_ unit: H264AccessUnit, pts: UInt64, scr: UInt64) -> MPEGPSFrame {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(unit.bytes.count + 96 + unit.bytes.count / 65_000 * 9)
        appendPackHeader(to: &bytes)
        if unit.isKeyFrame {
            appendSystemHeader(to: &bytes)
            appendProgramStreamMap(to: &bytes)
        }
        let firstPES = bytes.count
        var offset = 0
        var first = true
        repeat {
            let headerData = first ? 10 : 0
            let room = Self.maximumPESLength - 3 - headerData
            let length = min(room, unit.bytes.count - offset)
            bytes += [0x00, 0x00, 0x01, Self.videoStreamID]
            let pesLength = 3 + headerData + length
            bytes += [UInt8(pesLength >> 8), UInt8(pesLength & 0xFF)]
            // '10', not scrambled, priority 0, data_alignment_indicator on the PES that starts the
            // access unit, no copyright, original; then PTS_DTS_flags '11' or '00'.
            bytes += [first ? 0x84 : 0x80, first ? 0xC0 : 0x00, UInt8(headerData)]
            if first { bytes += [UInt8](repeating: 0, count: 10) }
            bytes += unit.bytes[offset..<(offset + length)]
            offset += length
            first = false
        } while offset < unit.bytes.count
        let frame = MPEGPSFrame(
            bytes: bytes, ptsOffset: firstPES + 9, dtsOffset: firstPES + 14, isKeyFrame: unit.isKeyFrame)
        var stamped = frame
        stamped.stamp(pts: pts, scr: scr)
        return stamped
    }

    /// `00 00 01 BA`, SCR (written by ``MPEGPSFrame/stamp(pts:scr:)``), program_mux_rate, no stuffing.
    private func appendPackHeader(to bytes: inout [UInt8]) {
        bytes += [0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01]
        bytes += [UInt8(truncatingIfNeeded: muxRate >> 14), UInt8(truncatingIfNeeded: muxRate >> 6),
                  UInt8(truncatingIfNeeded: (muxRate << 2) & 0xFC) | 0x03]
        bytes.append(0xF8)  // reserved 11111, pack_stuffing_length 0
    }

    /// `00 00 01 BB` (§2.5.3.5): rate bound, no audio, one video stream, and its P-STD buffer.
    private func appendSystemHeader(to bytes: inout [UInt8]) {
        bytes += [0x00, 0x00, 0x01, 0xBB, 0x00, 0x09]
        bytes += [0x80 | UInt8(truncatingIfNeeded: (muxRate >> 15) & 0x7F), UInt8(truncatingIfNeeded: muxRate >> 7),
                  UInt8(truncatingIfNeeded: (muxRate << 1) & 0xFE) | 0x01]
        bytes.append(0x00)  // audio_bound 0, fixed_flag 0, CSPS_flag 0
        bytes.append(0xE1)  // system_audio_lock, system_video_lock, marker, video_bound 1
        bytes.append(0x7F)  // packet_rate_restriction_flag 0, reserved
        // Stream 0xE0: '11', P-STD_buffer_bound_scale 1 (KiB), P-STD_buffer_size_bound 1024 KiB.
        bytes += [Self.videoStreamID, 0xE0 | 0x20 | 0x04, 0x00]
    }

    /// `00 00 01 BC` (§2.5.4): one elementary stream, H.264 on 0xE0, then the CRC-32.
    private func appendProgramStreamMap(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes += [0x00, 0x00, 0x01, 0xBC, 0x00, 0x0E]
        bytes.append(0xE0)  // current_next_indicator 1, reserved, program_stream_map_version 0
        bytes.append(0xFF)  // reserved, marker
        bytes += [0x00, 0x00]  // program_stream_info_length
        bytes += [0x00, 0x04]  // elementary_stream_map_length
        bytes += [Self.h264StreamType, Self.videoStreamID, 0x00, 0x00]
        let crc = MPEGCRC32.checksum(bytes[start...])
        bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    }
}

/// One muxed pack (one video frame) and where its time fields are.
public struct MPEGPSFrame: Sendable, Equatable {
    public var bytes: [UInt8]
    /// The SCR is always the pack header's bytes 4..<10.
    public static let scrOffset = 4
    /// Where the first PES's PTS and DTS (five bytes each) are.
    public var ptsOffset: Int
    public var dtsOffset: Int
    public var isKeyFrame: Bool

    /// How many leading bytes hold every time field: what a sender copies to restamp.
    public var stampedLength: Int { dtsOffset + 5 }

    /// Rewrites the SCR, PTS and DTS (DTS = PTS).
    public mutating func stamp(pts: UInt64, scr: UInt64) {
        let (ptsOffset, dtsOffset) = (ptsOffset, dtsOffset)
        bytes.withUnsafeMutableBytes { raw in
            Self.stamp(raw.baseAddress!, ptsOffset: ptsOffset, dtsOffset: dtsOffset, pts: pts, scr: scr)
        }
    }

    /// Writes the SCR, PTS and DTS into a frame's leading bytes at `base` (the sender's per-stream copy).
    @inlinable
    public static func stamp(_ base: UnsafeMutableRawPointer, ptsOffset: Int, dtsOffset: Int, pts: UInt64, scr: UInt64) {
        MPEGTimestamp.writeSCR(scr, into: base, at: scrOffset)
        MPEGTimestamp.writePES(pts, prefix: 0x3, into: base, at: ptsOffset)
        MPEGTimestamp.writePES(pts, prefix: 0x1, into: base, at: dtsOffset)
    }
}
