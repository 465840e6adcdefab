/// RTP over TCP as GB/T 28181 §C.2 and RFC 4571 frame it: each packet preceded by its length in
/// two bytes, big-endian. The framer is what the sender queues per connection; the deframer is
/// what a receiving platform (and our interop tests) reads the byte stream back with.
public enum RFC4571 {
    /// The longest packet a 16-bit length can frame.
    public static let maximumPacket = 65_535

    /// Writes the two length bytes for a packet of `length` bytes at `base`.
    @inlinable
    public static func writeLength(_ length: Int, to base: UnsafeMutableRawPointer) {
        let out = base.assumingMemoryBound(to: UInt8.self)
        out[0] = UInt8(truncatingIfNeeded: length >> 8)
        out[1] = UInt8(truncatingIfNeeded: length)
    }

    /// `packet` framed (it must be at most ``maximumPacket`` bytes).
    public static func frame(_ packet: [UInt8]) -> [UInt8] {
        precondition(packet.count <= maximumPacket, "RFC 4571 frames packets of at most 65,535 bytes")
        return [UInt8(packet.count >> 8), UInt8(packet.count & 0xFF)] + packet
    }
}

/// Reads RFC 4571 frames out of a TCP byte stream that arrives in arbitrary pieces.
public struct RFC4571Deframer: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes received but not yet a whole packet.
    public var pending: Int { buffer.count - start }

    /// Adds bytes read from the socket.
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) { buffer.append(contentsOf: bytes) }

    /// The next whole packet, or nil until more bytes arrive.
    public mutating func next() -> [UInt8]? {
        guard buffer.count - start >= 2 else { return nil }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard buffer.count - start - 2 >= length else { return nil }
        let packet = Array(buffer[(start + 2)..<(start + 2 + length)])
        start += 2 + length
        if start > 65_536, start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return packet
    }
}
