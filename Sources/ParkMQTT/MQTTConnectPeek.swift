/// Reads the client identifier out of the first bytes a client sends (its CONNECT packet,
/// MQTT 3.1, 3.1.1 or 5): how a fault proxy tells which device a connection belongs to without
/// speaking MQTT. Only as much is parsed as that takes; everything is bounds-checked.
public enum MQTTConnectPeek {
    public enum Outcome: Sendable, Hashable {
        /// The CONNECT is not complete yet.
        case needMore
        case clientID(String)
        /// Not an MQTT CONNECT (or one that cannot be read).
        case notConnect
    }

    public static func clientID(in bytes: [UInt8]) -> Outcome {
        guard let first = bytes.first else { return .needMore }
        guard first == 0x10 else { return .notConnect }
        var index = 1
        var remaining = 0
        var shift = 0
        while true {
            guard index < bytes.count else { return .needMore }
            let byte = bytes[index]
            index += 1
            remaining |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 28 else { return .notConnect }
        }
        let end = index + remaining
        guard bytes.count >= end else { return .needMore }
        var reader = Reader(bytes: bytes, index: index, end: end)
        guard let name = reader.string(), name == "MQTT" || name == "MQIsdp", let level = reader.byte(),
              reader.byte() != nil, reader.skip(2) else { return .notConnect }
        if level == 5 {
            guard let length = reader.variableInteger(), reader.skip(length) else { return .notConnect }
        }
        guard let clientID = reader.string() else { return .notConnect }
        return .clientID(clientID)
    }

    private struct Reader {
        let bytes: [UInt8]
        var index: Int
        let end: Int

        mutating func byte() -> UInt8? {
            guard index < end else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func skip(_ count: Int) -> Bool {
            guard count >= 0, end - index >= count else { return false }
            index += count
            return true
        }

        mutating func string() -> String? {
            guard let high = byte(), let low = byte() else { return nil }
            let length = Int(high) << 8 | Int(low)
            guard end - index >= length else { return nil }
            defer { index += length }
            return String(decoding: bytes[index ..< index + length], as: UTF8.self)
        }

        mutating func variableInteger() -> Int? {
            var value = 0
            for shift in stride(from: 0, to: 28, by: 7) {
                guard let byte = byte() else { return nil }
                value |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }
    }
}
