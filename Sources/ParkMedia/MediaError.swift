#if canImport(Glibc)
import Glibc
#endif

/// Why ParkMedia could not read a clip or open a stream. Messages say what was wrong and where,
/// so a bad fixture or a refused socket is diagnosable from the log line alone.
public enum MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input holds no Annex-B start code (00 00 01) at all: not an H.264 elementary stream.
    case noStartCode
    /// The input has start codes but no picture (no slice NAL unit), so nothing can be streamed.
    case noPictures
    /// The input is larger than the splitter accepts (a clip is seconds of video, not a film).
    case tooLarge(Int)
    /// A NAL unit's forbidden_zero_bit is set (H.264 §7.4.1): corrupt data, at this byte offset.
    case forbiddenBitSet(offset: Int)
    /// A frame rate or payload size out of range.
    case badParameter(String)
    /// A socket call failed: the call and its errno.
    case socket(String, code: Int32)
    /// An address that is not a dotted-quad IPv4 address (GB/T 28181 SDP uses `IN IP4`).
    case badAddress(String)
    /// A clip file that cannot be opened: its path and errno.
    case cannotRead(String, code: Int32)

    public var description: String {
        switch self {
        case .noStartCode: "H.264 input has no Annex-B start code (00 00 01); is it an MP4/MKV file rather than a raw .h264 stream?"
        case .noPictures: "H.264 input has no slice NAL unit (types 1-5): no picture to stream"
        case .tooLarge(let size): "H.264 input of \(size) bytes is over the 64 MiB clip limit"
        case .forbiddenBitSet(let offset): "H.264 NAL unit at byte \(offset) has forbidden_zero_bit set (corrupt stream)"
        case .badParameter(let what): what
        case .socket(let call, let code): "\(call) failed: errno \(code)"
        case .badAddress(let text): "'\(text.prefix(64))' is not an IPv4 address"
        case .cannotRead(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        }
    }
}
