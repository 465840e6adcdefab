/// One H.264 access unit (one coded picture with the parameter sets and SEI sent with it), as
/// the splitter cuts it from an Annex-B stream: the unit a camera packetizes as one video frame.
public struct H264AccessUnit: Sendable, Equatable {
    /// The access unit's bytes, start codes included (PS carries Annex-B as is, GB/T 28181 §C.2).
    public var bytes: [UInt8]
    /// The NAL unit types in order (9 AUD, 7 SPS, 8 PPS, 6 SEI, 5 IDR slice, 1 non-IDR slice, ...).
    public var nalTypes: [UInt8]

    public init(bytes: [UInt8], nalTypes: [UInt8]) {
        self.bytes = bytes
        self.nalTypes = nalTypes
    }

    /// An IDR picture: a decoder (or a viewer joining late) can start here. The PS muxer writes
    /// the system header and PSM before these, and a congested TCP stream resumes at one.
    public var isKeyFrame: Bool { nalTypes.contains(H264NALType.idr) }
}

/// The NAL unit types (H.264 Table 7-1) the splitter and muxer care about.
public enum H264NALType {
    public static let nonIDR: UInt8 = 1
    public static let idr: UInt8 = 5
    public static let sei: UInt8 = 6
    public static let sps: UInt8 = 7
    public static let pps: UInt8 = 8
    public static let accessUnitDelimiter: UInt8 = 9

    /// Slice data (types 1-5): the NAL units that carry the picture itself.
    static func isSlice(_ type: UInt8) -> Bool { (1...5).contains(type) }

    /// Types that, after a picture's slices, can only belong to the next access unit
    /// (H.264 §7.4.1.2.3: AUD, SEI, SPS, PPS and the reserved 14-18).
    static func startsNewUnit(_ type: UInt8) -> Bool { type == 6 || type == 7 || type == 8 || type == 9 || (14...18).contains(type) }
}
