/// A device message as published by ParkBench's MQTT binding (or any platform-compatible
/// device using the same fields), decoded by a bounded single-pass scanner.
///
/// The scanner exists because the wire is hostile: Foundation's `JSONSerialization` builds the
/// whole object tree before anything can be refused (an 11 MB message of 600,000 values took
/// seconds and hundreds of megabytes), and it rejects the whole message for one number it
/// cannot represent (`1e400`), smoke alarm included. This one stops as soon as `values` holds
/// more entries than allowed, skips keys it does not use without keeping them, never recurses
/// deeper than ``maximumDepth``, and drops only a non-finite value — naming its key in
/// ``badValues`` — while keeping the rest of the message.
public struct DeviceMessage: Sendable, Hashable {
    public var device: String
    public var kind: String
    public var channel: String
    public var name: String?
    public var status: String?
    public var sequence: Int?
    public var messageID: String?
    public var timestampNanoseconds: Int64?
    public var values: [String: Double]
    /// The keys of `values` in the order the message gave them, so what is kept when a limit
    /// is reached does not depend on dictionary order.
    public var valueNames: [String]
    /// Keys whose number does not fit a finite double (`1e400`): left out of `values` (or of
    /// `seq`/`ts_ns`) so the message still counts, and named so the platform can report them.
    public var badValues: [String]
    /// Text values (`"plate": "京A12345"`), kept beside the numbers: a plate camera's read or a
    /// door's credential is what a rule decides on. Each counts toward `maxValues` like a number.
    public var texts: [String: String]
    /// Where the device is, when the message says (an event pushed over HTTP has no topic to tell).
    public var zone: String?

    /// Far more points than any device model in the catalog reports.
    public static let defaultMaxValues = 1_024

    /// Nesting deeper than this (in keys the platform does not read) is refused rather than
    /// followed, so a hostile document cannot exhaust the stack.
    public static let maximumDepth = 64

    /// Decodes `payload` (a JSON object with at least a `device` string).
    ///
    /// - Parameter maxValues: more entries than this in `values` refuses the message; the
    ///   scanner stops at the first one over, without reading the rest.
    /// - Throws: ``DeviceMessageError`` naming what is wrong and at which byte.
    public init(topic: String, payload: [UInt8], maxValues: Int = DeviceMessage.defaultMaxValues) throws(DeviceMessageError) {
        let fields = try payload.withUnsafeBufferPointer { (bytes) throws(DeviceMessageError) -> Fields in
            var scanner = DeviceMessageScanner(bytes: bytes, maxValues: maxValues)
            return try scanner.message()
        }
        guard let device = fields.device else { throw DeviceMessageError(.noDevice) }
        self.device = device
        kind = fields.kind ?? ""
        channel = fields.channel ?? (topic.hasSuffix("/status") ? "status" : "event")
        name = fields.name
        status = fields.status
        sequence = fields.sequence
        messageID = fields.messageID
        timestampNanoseconds = fields.timestampNanoseconds
        values = fields.values
        valueNames = fields.valueNames
        badValues = fields.badValues
        texts = fields.texts
        zone = fields.zone
    }

    /// What the scanner found, before the required fields are checked.
    struct Fields {
        var device, kind, channel, name, status, messageID, zone: String?
        var sequence: Int?
        var timestampNanoseconds: Int64?
        var values: [String: Double] = [:]
        var valueNames: [String] = []
        var badValues: [String] = []
        var texts: [String: String] = [:]
    }
}

/// Why a device message was refused.
public struct DeviceMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of refusal, counted separately in the platform's statistics.
    public enum Reason: Sendable, Hashable {
        /// `values` has more entries than the limit allows.
        case tooManyValues(limit: Int)
        /// Not a JSON object the platform can read; `offset` is the byte where reading stopped.
        case malformed(String, offset: Int)
        /// A JSON object without a `device` string.
        case noDevice
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .tooManyValues(let limit): "more than \(limit) entries in \"values\""
        case .malformed(let problem, let offset): "not a device message: \(problem) at byte \(offset)"
        case .noDevice: "no \"device\" string"
        }
    }
}

/// One pass over the bytes of a device message. Every method either consumes a complete JSON
/// production or throws; nothing is read past `bytes.count`.
private struct DeviceMessageScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxValues: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxValues: Int) {
        self.bytes = bytes
        self.maxValues = maxValues
    }

    /// A scalar the top-level fields may hold; containers are skipped and only their presence noted.
    enum Scalar {
        case string(String)
        case number(Double, exact: Int64?)
        case other
    }

    mutating func message() throws(DeviceMessageError) -> DeviceMessage.Fields {
        var fields = DeviceMessage.Fields()
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        index += 1
        try members { (scanner, key) throws(DeviceMessageError) in
            if key == "values", scanner.peek() == UInt8(ascii: "{") {
                try scanner.values(into: &fields)
                return
            }
            let value = try scanner.scalar(depth: 1)
            switch (key, value) {
            case ("device", .string(let text)): fields.device = text
            case ("kind", .string(let text)): fields.kind = text
            case ("channel", .string(let text)): fields.channel = text
            case ("name", .string(let text)): fields.name = text
            case ("status", .string(let text)): fields.status = text
            case ("msg_id", .string(let text)): fields.messageID = text
            case ("zone", .string(let text)): fields.zone = text
            case ("seq", .number(let number, let exact)):
                if let exact, let sequence = Int(exactly: exact) { fields.sequence = sequence }
                else if let sequence = Int(exactly: number) { fields.sequence = sequence }
                else if !number.isFinite { fields.badValues.append(key) }
            case ("ts_ns", .number(let number, let exact)):
                if let exact { fields.timestampNanoseconds = exact }
                else if number.isFinite, number.magnitude < 9.2e18 { fields.timestampNanoseconds = Int64(number) }
                else { fields.badValues.append(key) }
            default: break
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected text after the object") }
        return fields
    }

    /// `{"point": number, …}`: numbers and strings are kept, other JSON values ignored, non-finite
    /// numbers named as bad; counting stops the scan at `maxValues + 1`.
    private mutating func values(into fields: inout DeviceMessage.Fields) throws(DeviceMessageError) {
        index += 1
        var entries = 0
        let limit = maxValues
        try members { (scanner, key) throws(DeviceMessageError) in
            entries += 1
            guard entries <= limit else { throw DeviceMessageError(.tooManyValues(limit: limit)) }
            switch try scanner.scalar(depth: 2) {
            case .number(let number, _):
                if number.isFinite {
                    if fields.values.updateValue(number, forKey: key) == nil { fields.valueNames.append(key) }
                } else { fields.badValues.append(key) }
            case .string(let text): fields.texts[key] = text
            case .other: break
            }
        }
    }

    /// The members of an object whose `{` was consumed, through its `}`.
    private mutating func members(
        _ body: (inout DeviceMessageScanner, String) throws(DeviceMessageError) -> Void
    ) throws(DeviceMessageError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a key in quotes") }
            let key = try string()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            index += 1
            skipWhitespace()
            try body(&self, key)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func scalar(depth: Int) throws(DeviceMessageError) -> Scalar {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try number()
        default:
            try skipValue(depth: depth)
            return .other
        }
    }

    /// Any JSON value, checked and thrown away.
    private mutating func skipValue(depth: Int) throws(DeviceMessageError) {
        guard depth <= DeviceMessage.maximumDepth else { throw fail("nested deeper than \(DeviceMessage.maximumDepth) levels") }
        skipWhitespace()
        switch peek() ?? 0 {
        case UInt8(ascii: "{"):
            index += 1
            try members { (scanner, _) throws(DeviceMessageError) in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return
                default: throw fail("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): _ = try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: throw fail(index < bytes.count ? "expected a JSON value" : "the message ends early")
        }
    }

    private mutating func literal(_ word: StaticString) throws(DeviceMessageError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail("the message ends early") }
        for offset in 0 ..< count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("expected a JSON value")
        }
        index += count
    }

    /// A JSON number; `exact` when it is an integer literal that fits 64 bits. Overflow gives
    /// an infinite double rather than an error, so the caller can drop just this value.
    private mutating func number() throws(DeviceMessageError) -> Scalar {
        let start = index
        var integral = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("expected a digit") }
        if first == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let digit = peek(), isDigit(digit) else { throw fail("expected a digit after '.'") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw fail("expected a digit in the exponent") }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< index]), as: UTF8.self)
        // The grammar above was checked, so Double(text) only fails on nothing; keep the guard anyway.
        guard let value = Double(text) else { throw fail("unreadable number") }
        return .number(value, exact: integral ? Int64(text) : nil)
    }

    /// A JSON string whose opening quote is at `index`, unescaped; it must be valid UTF-8.
    private mutating func string() throws(DeviceMessageError) -> String {
        index += 1
        let start = index
        // The common case has no escapes: one scan, one validated copy.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            guard bytes[index] >= 0x20 else { throw fail("a control character in a string") }
            index += 1
        }
        guard index < bytes.count else { throw fail("a string is not closed") }
        var unescaped = Array(UnsafeBufferPointer(rebasing: bytes[start ..< index]))
        while bytes[index] == UInt8(ascii: "\\") {
            index += 1
            guard let escape = peek() else { throw fail("a string is not closed") }
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800 ..< 0xDC00).contains(scalar) {
                    // A high surrogate pairs with a following \uDC00–\uDFFF; alone it is replaced.
                    if bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        scalar = (0xDC00 ..< 0xE000).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00 ..< 0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                unescaped.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: throw fail("an unknown escape '\\\(Character(Unicode.Scalar(escape)))' in a string")
            }
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                guard bytes[index] >= 0x20 else { throw fail("a control character in a string") }
                unescaped.append(bytes[index])
                index += 1
            }
            guard index < bytes.count else { throw fail("a string is not closed") }
        }
        index += 1
        guard let text = String(validating: unescaped, as: UTF8.self) else { throw fail("a string that is not UTF-8", at: start) }
        return text
    }

    private mutating func hex4() throws(DeviceMessageError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("a \\u escape ends early") }
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape with a non-hex digit")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func fail(_ problem: String, at offset: Int? = nil) -> DeviceMessageError {
        DeviceMessageError(.malformed(problem, offset: offset ?? index))
    }
}
