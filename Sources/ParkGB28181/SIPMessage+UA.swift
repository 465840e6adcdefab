/// What a user agent reads from and writes into headers (RFC 3261 §8): Via branch, From/To tags,
/// CSeq, Expires, Contact, and a response built from its request.
extension SIPMessage {
    /// The top Via's `branch` (the transaction id, `z9hG4bK…` for RFC 3261 peers).
    public var viaBranch: String? { headers["Via"].flatMap { SIPParameters(topValue($0))["branch"] } }
    public var fromTag: String? { headers["From"].flatMap { SIPParameters($0)["tag"] } }
    public var toTag: String? { headers["To"].flatMap { SIPParameters($0)["tag"] } }
    public var callID: String? { headers["Call-ID"] }
    /// `Contact`'s first value, as written.
    public var contact: String? { headers["Contact"].map(topValue) }

    /// The `sip:` URI of the first Contact (`<sip:…>` or bare): where in-dialog requests go.
    public var contactURI: String? {
        guard let contact else { return nil }
        if let open = contact.firstIndex(of: "<"), let close = contact[open...].firstIndex(of: ">") {
            return String(contact[contact.index(after: open)..<close])
        }
        let bare = contact.prefix { $0 != ";" && $0 != " " }
        return bare.hasPrefix("sip:") ? String(bare) : nil
    }

    /// CSeq's sequence number (at most 2³¹ − 1, §8.1.1.5) and method.
    public var cseq: (number: UInt32, method: String)? {
        guard let value = headers["CSeq"] else { return nil }
        let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, let number = UInt32(parts[0]), number < 1 << 31 else { return nil }
        return (number, String(parts[1]))
    }

    /// The `Expires` header, else the first Contact's `expires` parameter (seconds).
    public var expires: Int? {
        if let value = headers["Expires"] { return Int(value).flatMap { $0 >= 0 ? $0 : nil } }
        guard let contact, let value = SIPParameters(contact)["expires"] else { return nil }
        return Int(value).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The response a UAS sends to this request (§8.2.6.2): every Via in order, From, To (with
    /// `toTag` added when the request's To has none), Call-ID and CSeq copied; `Content-Length: 0`
    /// until a body is set. `toTag` is ignored for 100 Trying, which carries none.
    public func response(status: Int, reason: String, toTag: String? = nil, extraHeaders: [SIPHeader] = []) -> SIPMessage {
        var copied = headers.fields.filter { ["via", "from", "to", "call-id", "cseq"].contains(SIPHeaders.canonical($0.name)) }
        if let toTag, status != 100, let to = copied.firstIndex(where: { SIPHeaders.canonical($0.name) == "to" }),
            SIPParameters(copied[to].value)["tag"] == nil {
            copied[to].value += ";tag=\(toTag)"
        }
        var message = SIPMessage(.response(status: status, reason: reason), headers: SIPHeaders(copied + extraHeaders))
        message.headers.set("Content-Length", "0")
        return message
    }

    /// The first of a comma-separated header value (Via and Contact may combine several).
    private func topValue(_ value: String) -> String {
        var inQuotes = false, inAngle = false
        for index in value.indices {
            switch value[index] {
            case "\"": inQuotes.toggle()
            case "<" where !inQuotes: inAngle = true
            case ">" where !inQuotes: inAngle = false
            case "," where !inQuotes && !inAngle: return String(value[..<index])
            default: break
            }
        }
        return value
    }
}

/// Fresh protocol identifiers: Via branches (with RFC 3261's magic cookie), tags and Call-IDs,
/// drawn from a generator the caller owns so a seeded run repeats byte for byte.
public enum SIPIdentifiers {
    public static let branchCookie = "z9hG4bK"

    public static func branch(using generator: inout some RandomNumberGenerator) -> String {
        branchCookie + token(16, using: &generator)
    }

    public static func tag(using generator: inout some RandomNumberGenerator) -> String { token(10, using: &generator) }

    public static func callID(host: String, using generator: inout some RandomNumberGenerator) -> String {
        token(20, using: &generator) + "@" + host
    }

    /// `count` characters of [0-9a-z].
    public static func token(_ count: Int, using generator: inout some RandomNumberGenerator) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        return String(decoding: (0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }, as: UTF8.self)
    }
}
