/// The 33-bit, 90 kHz time fields of MPEG-2 systems (ISO 13818-1 §2.4.3.6, §2.5.3.3), encoded
/// with their marker bits. Kept in one place because the muxer writes them once per clip and the
/// sender rewrites them for every frame of every stream.
public enum MPEGTimestamp {
    /// Timestamps wrap at 2^33 ticks (about 26.5 hours at 90 kHz).
    public static let modulus: UInt64 = 1 << 33

    /// Writes a pack header's SCR (base, extension 0) as its six bytes at `offset`:
    /// `01 base[32..30] 1 base[29..15] 1 base[14..0] 1 ext[8..0] 1`.
    @inlinable
    public static func writeSCR(_ scr: UInt64, into bytes: UnsafeMutableRawPointer, at offset: Int) {
        let base = scr & (modulus - 1)
        let out = bytes.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
        out[0] = UInt8(truncatingIfNeeded: 0x44 | ((base >> 27) & 0x38) | ((base >> 28) & 0x03))
        out[1] = UInt8(truncatingIfNeeded: base >> 20)
        out[2] = UInt8(truncatingIfNeeded: ((base >> 12) & 0xF8) | 0x04 | ((base >> 13) & 0x03))
        out[3] = UInt8(truncatingIfNeeded: base >> 5)
        out[4] = UInt8(truncatingIfNeeded: ((base << 3) & 0xF8) | 0x04)  // extension bits 8..7 are 0
        out[5] = 0x01  // extension bits 6..0 are 0, then the marker
    }

    /// Writes a PES PTS or DTS as its five bytes at `offset`: `prefix(4) ts[32..30] 1 ts[29..15] 1 ts[14..0] 1`,
    /// where the prefix is 0011 for a PTS followed by a DTS, 0010 for a PTS alone and 0001 for a DTS.
    @inlinable
    public static func writePES(_ time: UInt64, prefix: UInt8, into bytes: UnsafeMutableRawPointer, at offset: Int) {
        let value = time & (modulus - 1)
        let out = bytes.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
        out[0] = (prefix << 4) | UInt8(truncatingIfNeeded: (value >> 29) & 0x0E) | 0x01
        out[1] = UInt8(truncatingIfNeeded: value >> 22)
        out[2] = UInt8(truncatingIfNeeded: ((value >> 14) & 0xFE) | 0x01)
        out[3] = UInt8(truncatingIfNeeded: value >> 7)
        out[4] = UInt8(truncatingIfNeeded: ((value << 1) & 0xFE) | 0x01)
    }

    /// Reads back a SCR base written by ``writeSCR(_:into:at:)`` (for tests and capture analysis).
    public static func readSCR(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count >= 6 else { return nil }
        let b = Array(bytes.prefix(6)).map(UInt64.init)
        return ((b[0] & 0x38) << 27) | ((b[0] & 0x03) << 28) | (b[1] << 20) | ((b[2] & 0xF8) << 12) | ((b[2] & 0x03) << 13)
            | (b[3] << 5) | (b[4] >> 3)
    }

    /// Reads back a PTS or DTS written by ``writePES(_:prefix:into:at:)``.
    public static func readPES(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count >= 5 else { return nil }
        let b = Array(bytes.prefix(5)).map(UInt64.init)
        return ((b[0] & 0x0E) << 29) | (b[1] << 22) | ((b[2] & 0xFE) << 14) | (b[3] << 7) | (b[4] >> 1)
    }
}
