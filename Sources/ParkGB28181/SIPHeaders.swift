/// One SIP header line as it travels: the name as written (compact or full) and its value with
/// folding undone and surrounding whitespace trimmed.
public struct SIPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The headers of a SIP message, kept in the order they arrived (Via order is routing, and a
/// faithful round trip is what a conformance harness compares), looked up case-insensitively
/// with RFC 3261 §7.3.3 compact forms equal to their full names (`v` is `Via`).
public struct SIPHeaders: Sendable, Equatable, Sequence {
    public private(set) var fields: [SIPHeader]

    public init(_ fields: [SIPHeader] = []) { self.fields = fields }

    public var count: Int { fields.count }
    public func makeIterator() -> IndexingIterator<[SIPHeader]> { fields.makeIterator() }

    /// The first value of the header `name` (any case, compact or full form).
    public subscript(name: String) -> String? {
        let key = SIPHeaders.canonical(name)
        return fields.first { SIPHeaders.canonical($0.name) == key }?.value
    }

    /// Every value of `name`, in order (e.g. each Via).
    public func values(_ name: String) -> [String] {
        let key = SIPHeaders.canonical(name)
        return fields.filter { SIPHeaders.canonical($0.name) == key }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public mutating func add(_ name: String, _ value: String) { fields.append(SIPHeader(name, value)) }

    /// Replaces the first `name` header's value in place (keeping its position and spelling) and
    /// drops the others; appends when there is none.
    public mutating func set(_ name: String, _ value: String) {
        let key = SIPHeaders.canonical(name)
        guard let first = fields.firstIndex(where: { SIPHeaders.canonical($0.name) == key }) else {
            add(name, value)
            return
        }
        fields[first].value = value
        var index = fields.index(after: first)
        while index < fields.endIndex {
            if SIPHeaders.canonical(fields[index].name) == key { fields.remove(at: index) } else { index += 1 }
        }
    }

    /// Writes every `Content-Length` (its spelling kept) as the plain decimal `length`: a peer may
    /// send `054`, and ``SIPMessage/serialized()`` writes the body's length, so a message read
    /// this way serializes to bytes that read back equal to it.
    mutating func canonicalizeContentLength(_ length: Int) {
        for index in fields.indices where SIPHeaders.canonical(fields[index].name) == "content-length" {
            fields[index].value = String(length)
        }
    }

    public mutating func remove(_ name: String) {
        let key = SIPHeaders.canonical(name)
        fields.removeAll { SIPHeaders.canonical($0.name) == key }
    }

    /// RFC 3261 §7.3.3 compact forms (and RFC 3265's `o` Event, `u` Allow-Events) GB/T 28181
    /// peers may send.
    static let compactForms: [String: String] = [
        "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
        "c": "content-type", "e": "content-encoding", "s": "subject", "k": "supported", "o": "event",
        "u": "allow-events",
    ]

    /// The lowercased full name a header is compared by.
    static func canonical(_ name: String) -> String {
        let lower = name.lowercased()
        return compactForms[lower] ?? lower
    }
}
