/// The `;name=value` parameters of a header value (Via branch, From/To tag, Contact expires),
/// read outside `<…>` and quoted strings so a URI's own parameters are not mistaken for them.
public struct SIPParameters: Sendable, Equatable {
    /// What precedes the first header parameter (e.g. `"cam" <sip:…>` or `SIP/2.0/UDP host:port`).
    public var base: String
    /// Names lowercased, in order; a value is nil for a bare flag (`;rport`).
    public var parameters: [(name: String, value: String?)]

    public init(_ headerValue: String) {
        var inQuotes = false, inAngle = false, escaped = false
        var pieces: [Substring] = []
        var pieceStart = headerValue.startIndex
        var index = headerValue.startIndex
        while index < headerValue.endIndex {
            let character = headerValue[index]
            if escaped {
                escaped = false
            } else if inQuotes {
                if character == "\\" { escaped = true } else if character == "\"" { inQuotes = false }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "<" {
                inAngle = true
            } else if character == ">" {
                inAngle = false
            } else if character == ";", !inAngle {
                pieces.append(headerValue[pieceStart..<index])
                pieceStart = headerValue.index(after: index)
            }
            index = headerValue.index(after: index)
        }
        pieces.append(headerValue[pieceStart...])
        base = SIPParser.trimmed(String(pieces[0]))
        parameters = pieces.dropFirst().compactMap { piece in
            let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = SIPParser.trimmed(String(parts[0])).lowercased()
            guard !name.isEmpty else { return nil }
            return (name, parts.count == 2 ? SIPParser.trimmed(String(parts[1])) : nil)
        }
    }

    public static func == (lhs: SIPParameters, rhs: SIPParameters) -> Bool {
        lhs.base == rhs.base && lhs.parameters.elementsEqual(rhs.parameters) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The value of `name` (any case); "" for a flag without a value, nil when absent.
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        guard let found = parameters.first(where: { $0.name == key }) else { return nil }
        return found.value ?? ""
    }
}
