/// A parsed JSON value crossing the plugin boundary, with integers kept apart from other numbers.
///
/// Both sides parse it: the host reads a plugin's emissions and answers, a plugin (through
/// ParkPluginKit) the host's stimuli and commands. Each binary links its own copy of this module;
/// only the text crosses. Every event crosses once each way, so it is parsed by hand rather
/// than through `JSONSerialization` (whose `NSNumber`s blur 1, 1.0 and true on Linux) or
/// `JSONDecoder` (microseconds per object). Whether a number was written with a fraction or
/// exponent decides `.integer` versus `.number`.
package enum PluginJSONValue: Hashable, Sendable {
    case object([String: PluginJSONValue])
    case array([PluginJSONValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    /// A short name of the value's JSON type, for error messages.
    package var typeName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer, .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// Plugin JSON that is not well formed, or not the shape the header promises.
package struct PluginJSONError: Error, Hashable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// A strict RFC 8259 parser over UTF-8 bytes; never traps on malformed input.
package struct PluginJSONParser {
    /// Deeper nesting than any ABI shape needs; the limit keeps a hostile plugin from
    /// overflowing the stack through recursion.
    package static let maximumDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses exactly one JSON value, allowing surrounding whitespace.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(PluginJSONError) -> PluginJSONValue {
        var parser = PluginJSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// Parses `length` bytes at `pointer` (a C string from a plugin; nil means empty).
    package static func parse(_ pointer: UnsafePointer<CChar>?, length: Int) throws(PluginJSONError) -> PluginJSONValue {
        guard let pointer, length > 0 else { throw PluginJSONError("empty JSON text") }
        let raw = UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
        return try parse(UnsafeBufferPointer(start: raw, count: length))
    }

    /// Parses the UTF-8 of `text`.
    package static func parse(_ text: String) throws(PluginJSONError) -> PluginJSONValue {
        var text = text
        let result: Result<PluginJSONValue, PluginJSONError> = text.withUTF8 { buffer in
            Result { () throws(PluginJSONError) in try parse(buffer) }
        }
        return try result.get()
    }

    private func error(_ message: String) -> PluginJSONError {
        PluginJSONError("\(message) at byte \(position)")
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(PluginJSONError) {
        let start = position
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard current == expected else {
                position = start
                throw error("expected '\(literal)'")
            }
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(PluginJSONError) -> PluginJSONValue {
        guard depth < Self.maximumDepth else { throw error("JSON nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = current else { throw error("unexpected end of JSON text") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func parseObject(depth: Int) throws(PluginJSONError) -> PluginJSONValue {
        position += 1
        var members: [String: PluginJSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            position += 1
            skipWhitespace()
            members[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error("expected ',' or '}' in object")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(PluginJSONError) -> PluginJSONValue {
        position += 1
        var elements: [PluginJSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw error("expected ',' or ']' in array")
            }
        }
    }

    private mutating func parseString() throws(PluginJSONError) -> String {
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw error("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                // Invalid UTF-8 from a plugin becomes U+FFFD rather than an error: the text is
                // still worth recording.
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escape = current else { throw error("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
            case 0 ..< 0x20:
                throw error("control character in string")
            default:
                utf8.append(byte)
            }
        }
    }

    /// The UTF-8 of a `\uXXXX` escape (just after the `u`), joining surrogate pairs.
    private mutating func parseUnicodeEscape() throws(PluginJSONError) -> [UInt8] {
        var value = try parseHex4()
        if (0xD800 ..< 0xDC00).contains(value) {
            guard current == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
            position += 1
            guard current == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
            position += 1
            let low = try parseHex4()
            guard (0xDC00 ..< 0xE000).contains(low) else { throw error("unpaired surrogate") }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("invalid \\u escape") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func parseHex4() throws(PluginJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            guard let byte = current, let digit = Self.hexDigit(byte) else { throw error("expected four hex digits") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func parseNumber() throws(PluginJSONError) -> PluginJSONValue {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        guard skipDigits() > 0 else { throw error("expected digits") }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard skipDigits() > 0 else { throw error("expected digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw error("expected digits in exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< position]), as: UTF8.self)
        // An integer too large for Int64 is still a valid JSON number; keep it as a double.
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text), number.isFinite else { throw error("number out of range") }
        return .number(number)
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while let byte = current, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte) { position += 1 }
        return position - start
    }
}
