/// One direction of a TCP connection: source and destination address and port.
public struct TCPFlow: Hashable, Sendable, CustomStringConvertible {
    public var sourceAddress: UInt32
    public var sourcePort: UInt16
    public var destinationAddress: UInt32
    public var destinationPort: UInt16

    public init(sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16) {
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.destinationAddress = destinationAddress
        self.destinationPort = destinationPort
    }

    /// The same connection, the other way.
    public var reversed: TCPFlow {
        TCPFlow(sourceAddress: destinationAddress, sourcePort: destinationPort, destinationAddress: sourceAddress, destinationPort: sourcePort)
    }

    public var description: String {
        "\(Self.dotted(sourceAddress)):\(sourcePort) → \(Self.dotted(destinationAddress)):\(destinationPort)"
    }

    static func dotted(_ address: UInt32) -> String {
        "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
    }
}

/// An MQTT control packet seen on the wire, stamped with the capture time of the TCP segment
/// that completed it.
public struct WireMQTTPacket: Sendable, Hashable {
    /// What kind of packet, with the fields the harness uses.
    public enum Content: Sendable, Hashable {
        /// Client id and user name (passwords are never kept); protocol level 4 = 3.1.1, 5 = 5.
        case connect(clientID: String, username: String?, protocolLevel: UInt8)
        /// The broker's answer: 0 accepted; otherwise the refusal code.
        case connack(returnCode: UInt8)
        case publish(topic: String, payload: [UInt8], qos: UInt8, packetID: UInt16?, retain: Bool)
        case subscribe(packetID: UInt16, filters: [String])
        /// Any other packet type (PUBACK, PINGREQ, …), by its type number.
        case other(type: UInt8)
    }

    public var timestampNanoseconds: Int64
    public var flow: TCPFlow
    public var content: Content
}

/// Cuts MQTT control packets out of captured TCP segments, per flow: several packets in one
/// segment and one packet across several segments both work; retransmitted bytes are skipped;
/// a gap (a segment the capture missed) resynchronises at the next segment instead of
/// misreading what follows. Bytes that are not MQTT are counted, never trusted, never fatal.
public struct MQTTWireDecoder: Sendable {
    private struct Stream {
        var buffer: [UInt8] = []
        var nextSequence: UInt32?
    }

    private var streams: [TCPFlow: Stream] = [:]
    /// MQTT 5 adds property fields; the level comes from the connection's CONNECT.
    private var protocolLevels: [TCPFlow: UInt8] = [:]
    /// Packets that could not be read (bad lengths, truncated fields), and gaps resynchronised.
    public private(set) var malformed = 0
    public private(set) var gaps = 0

    /// A packet longer than this is taken as garbage, not awaited.
    static let maximumPacket = 16 << 20

    public init() {}

    /// Feeds one TCP segment's payload; returns the packets it completed.
    public mutating func feed(_ payload: ArraySlice<UInt8>, sequence: UInt32, flow: TCPFlow, timestamp: Int64) -> [WireMQTTPacket] {
        var stream = streams[flow] ?? Stream()
        var bytes = payload
        if let expected = stream.nextSequence {
            let offset = Int32(bitPattern: sequence &- expected)
            if offset < 0 {
                // Retransmission: drop what was already taken in.
                let seen = Int(-offset)
                guard seen < bytes.count else { return [] }
                bytes = bytes.dropFirst(seen)
            } else if offset > 0 {
                gaps += 1
                stream.buffer.removeAll()
            }
        }
        guard !bytes.isEmpty else {
            streams[flow] = stream
            return []
        }
        stream.nextSequence = sequence &+ UInt32(truncatingIfNeeded: payload.count)
        stream.buffer.append(contentsOf: bytes)

        var packets: [WireMQTTPacket] = []
        var start = 0
        while let (header, length) = Self.fixedHeader(stream.buffer, from: start) {
            guard length <= Self.maximumPacket else {
                malformed += 1
                start = stream.buffer.count
                break
            }
            let end = start + header + length
            guard end <= stream.buffer.count else { break }
            let body = stream.buffer[(start + header) ..< end]
            if let content = decode(first: stream.buffer[start], body: body, flow: flow) {
                packets.append(WireMQTTPacket(timestampNanoseconds: timestamp, flow: flow, content: content))
            } else {
                malformed += 1
            }
            start = end
        }
        stream.buffer.removeFirst(min(start, stream.buffer.count))
        streams[flow] = stream
        return packets
    }

    /// The fixed header's size and the remaining length, once enough bytes are there.
    static func fixedHeader(_ buffer: [UInt8], from start: Int) -> (Int, Int)? {
        var multiplier = 1, value = 0, index = start + 1
        while index < buffer.count {
            let byte = Int(buffer[index])
            value += (byte & 0x7F) * multiplier
            index += 1
            if byte & 0x80 == 0 { return (index - start, value) }
            multiplier *= 128
            if multiplier > 128 * 128 * 128 { return (index - start, Int.max) }
        }
        return nil
    }

    private mutating func decode(first: UInt8, body: ArraySlice<UInt8>, flow: TCPFlow) -> WireMQTTPacket.Content? {
        var reader = ByteReader(body)
        let type = first >> 4
        switch type {
        case 1:
            guard let name = reader.string(), name == "MQTT" || name == "MQIsdp", let level = reader.byte(), let flags = reader.byte(),
                  reader.skip(2) else { return nil }
            protocolLevels[flow] = level
            protocolLevels[flow.reversed] = level
            if level == 5 { guard reader.skipProperties() else { return nil } }
            guard let clientID = reader.string() else { return nil }
            if flags & 0x04 != 0 {
                if level == 5 { guard reader.skipProperties() else { return nil } }
                guard reader.string() != nil, reader.binary() != nil else { return nil }
            }
            let username = flags & 0x80 != 0 ? reader.string() : nil
            return .connect(clientID: clientID, username: username, protocolLevel: level)
        case 2:
            guard reader.skip(1), let code = reader.byte() else { return nil }
            return .connack(returnCode: code)
        case 3:
            let qos = (first >> 1) & 0x03
            guard qos < 3, let topic = reader.string() else { return nil }
            var packetID: UInt16?
            if qos > 0 {
                guard let id = reader.uint16() else { return nil }
                packetID = id
            }
            if protocolLevels[flow] == 5 { guard reader.skipProperties() else { return nil } }
            return .publish(topic: topic, payload: Array(reader.rest), qos: qos, packetID: packetID, retain: first & 0x01 != 0)
        case 8:
            guard let id = reader.uint16() else { return nil }
            if protocolLevels[flow] == 5 { guard reader.skipProperties() else { return nil } }
            var filters: [String] = []
            while !reader.rest.isEmpty {
                guard let filter = reader.string(), reader.skip(1) else { return nil }
                filters.append(filter)
            }
            return .subscribe(packetID: id, filters: filters)
        case 0:
            return nil
        default:
            return .other(type: type)
        }
    }
}

/// Big-endian reads over a packet body that never trap on short input.
struct ByteReader {
    var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    mutating func byte() -> UInt8? { rest.popFirst() }

    mutating func uint16() -> UInt16? {
        guard rest.count >= 2 else { return nil }
        let value = UInt16(rest[rest.startIndex]) << 8 | UInt16(rest[rest.startIndex + 1])
        rest = rest.dropFirst(2)
        return value
    }

    mutating func skip(_ count: Int) -> Bool {
        guard rest.count >= count else { return false }
        rest = rest.dropFirst(count)
        return true
    }

    mutating func binary() -> ArraySlice<UInt8>? {
        guard let length = uint16(), rest.count >= Int(length) else { return nil }
        defer { rest = rest.dropFirst(Int(length)) }
        return rest.prefix(Int(length))
    }

    mutating func string() -> String? { binary().map { String(decoding: $0, as: UTF8.self) } }

    /// Skips an MQTT 5 property block (varint length + bytes).
    mutating func skipProperties() -> Bool {
        var multiplier = 1, length = 0
        while true {
            guard let byte = byte() else { return false }
            length += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { break }
            multiplier *= 128
            if multiplier > 128 * 128 * 128 { return false }
        }
        return skip(length)
    }
}
