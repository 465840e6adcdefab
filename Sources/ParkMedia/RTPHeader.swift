/// The fixed 12-byte RTP header (RFC 3550 §5.1): version 2, no padding, no extension, no CSRC.
/// Written straight into a send buffer for every packet, and read back by tests and receivers.
public struct RTPHeader: Sendable, Equatable {
    /// Header bytes on the wire (no CSRC list, no extension).
    public static let length = 12

    public var marker: Bool
    /// 96 in GB/T 28181 (dynamic, mapped to PS/90000 in the SDP).
    public var payloadType: UInt8
    public var sequence: UInt16
    /// 90 kHz media clock.
    public var timestamp: UInt32
    public var ssrc: UInt32

    public init(marker: Bool, payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequence = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Writes the 12 bytes at `base`, network byte order.
    @inlinable
    public func write(to base: UnsafeMutableRawPointer) {
        let out = base.assumingMemoryBound(to: UInt8.self)
        out[0] = 0x80
        out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        out[2] = UInt8(truncatingIfNeeded: sequence >> 8)
        out[3] = UInt8(truncatingIfNeeded: sequence)
        out[4] = UInt8(truncatingIfNeeded: timestamp >> 24)
        out[5] = UInt8(truncatingIfNeeded: timestamp >> 16)
        out[6] = UInt8(truncatingIfNeeded: timestamp >> 8)
        out[7] = UInt8(truncatingIfNeeded: timestamp)
        out[8] = UInt8(truncatingIfNeeded: ssrc >> 24)
        out[9] = UInt8(truncatingIfNeeded: ssrc >> 16)
        out[10] = UInt8(truncatingIfNeeded: ssrc >> 8)
        out[11] = UInt8(truncatingIfNeeded: ssrc)
    }

    /// The header as bytes.
    public var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.length)
        bytes.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return bytes
    }

    /// Reads the header of a received packet; nil when it is shorter than 12 bytes or not version
    /// 2. `payloadOffset` skips CSRCs and an extension (RFC 3550 §5.3.1) so receivers of other
    /// senders' streams read them too; padding is not removed.
    public init?(parsing packet: ArraySlice<UInt8>) {
        guard packet.count >= Self.length else { return nil }
        let b = packet.startIndex
        guard packet[b] >> 6 == 2 else { return nil }
        marker = packet[b + 1] & 0x80 != 0
        payloadType = packet[b + 1] & 0x7F
        sequence = UInt16(packet[b + 2]) << 8 | UInt16(packet[b + 3])
        timestamp = UInt32(packet[b + 4]) << 24 | UInt32(packet[b + 5]) << 16 | UInt32(packet[b + 6]) << 8 | UInt32(packet[b + 7])
        ssrc = UInt32(packet[b + 8]) << 24 | UInt32(packet[b + 9]) << 16 | UInt32(packet[b + 10]) << 8 | UInt32(packet[b + 11])
    }

    /// Where the payload starts in `packet` (after CSRCs and an extension), or nil if cut short.
    public static func payloadOffset(in packet: ArraySlice<UInt8>) -> Int? {
        guard packet.count >= length else { return nil }
        let b = packet.startIndex
        var offset = length + Int(packet[b] & 0x0F) * 4
        if packet[b] & 0x10 != 0 {
            guard packet.count >= offset + 4 else { return nil }
            offset += 4 + (Int(packet[b + offset + 2]) << 8 | Int(packet[b + offset + 3])) * 4
        }
        return packet.count >= offset ? offset : nil
    }
}
