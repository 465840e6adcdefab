/// The `Digest k=v, k="quoted"` list of a WWW-Authenticate or Authorization header (RFC 2617
/// §1.2, §3.2), read strictly enough to name what is wrong and loosely enough for the devices that
/// leave out commas between parameters.
public struct DigestParameters: Sendable, Equatable {
    public static let maxParameters = 32

    /// Names lowercased, values unquoted (`\x` escapes undone), in order.
    public var values: [(name: String, value: String)]

    public static func == (lhs: DigestParameters, rhs: DigestParameters) -> Bool {
        lhs.values.elementsEqual(rhs.values) { $0.name == $1.name && $0.value == $1.value }
    }

    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return values.first { $0.name == key }?.value
    }

    /// Parses a header value that must start with the `Digest` scheme.
    public init(headerValue: String) throws(DigestError) {
        let bytes = Array(headerValue.utf8)
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }
        func token() -> String {
            let from = index
            while index < bytes.count, SIPParser.isTokenByte(bytes[index]) { index += 1 }
            return String(decoding: bytes[from..<index], as: UTF8.self)
        }
        skipSpace()
        let scheme = token()
        guard scheme.lowercased() == "digest" else { throw .notDigest(scheme: scheme) }
        values = []
        while true {
            skipSpace()
            while index < bytes.count, bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipSpace()
            }
            if index == bytes.count { break }
            let name = token().lowercased()
            guard !name.isEmpty else { throw .malformed(offset: index, reason: "expected a parameter name") }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                throw .malformed(offset: index, reason: "parameter \(name) has no '='")
            }
            index += 1
            skipSpace()
            var value: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < bytes.count {
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\\") {
                        guard index < bytes.count else { break }
                        value.append(bytes[index])
                        index += 1
                    } else if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    } else {
                        value.append(byte)
                    }
                }
                guard closed else { throw .malformed(offset: index, reason: "parameter \(name)'s quoted string is not closed") }
            } else {
                let from = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != 0x20, bytes[index] != 0x09 { index += 1 }
                value = Array(bytes[from..<index])
                guard !value.isEmpty else { throw .malformed(offset: index, reason: "parameter \(name) has no value") }
            }
            guard values.count < DigestParameters.maxParameters else { throw .tooManyParameters(limit: DigestParameters.maxParameters) }
            values.append((name, String(decoding: value, as: UTF8.self)))
        }
    }

    func required(_ name: String) throws(DigestError) -> String {
        guard let value = self[name] else { throw .missing(parameter: name) }
        return value
    }

    /// `"text"` with `\` and `"` escaped.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Why a digest header cannot be used.
public enum DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    case notDigest(scheme: String)
    case malformed(offset: Int, reason: String)
    case tooManyParameters(limit: Int)
    case missing(parameter: String)
    case unsupportedAlgorithm(String)
    case unsupportedQop(String)

    public var description: String {
        switch self {
        case .notDigest(let scheme): "authentication scheme \(scheme.prefix(20).debugDescription) is not Digest"
        case .malformed(let offset, let reason): "digest header at byte \(offset): \(reason)"
        case .tooManyParameters(let limit): "digest header has more than \(limit) parameters"
        case .missing(let parameter): "digest header has no \(parameter)"
        case .unsupportedAlgorithm(let algorithm): "digest algorithm \(algorithm.prefix(20).debugDescription) is not MD5"
        case .unsupportedQop(let qop): "digest qop \(qop.prefix(20).debugDescription) offers no \"auth\""
        }
    }
}
