/// Why bytes are not a SIP message, naming what and where (line numbers count from 1, the start
/// line being line 1). Every parse failure is one of these; the parser never traps.
public enum SIPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case messageTooLarge(size: Int, limit: Int)
    /// No blank line ends the headers: the message was cut short (or never had CRLFs).
    case truncatedHeaders
    case lineTooLong(line: Int, limit: Int)
    case tooManyHeaders(limit: Int)
    /// A NUL, a bare CR or LF, or another control byte inside the start line or a header.
    case invalidByte(line: Int, byte: UInt8)
    case invalidUTF8(line: Int)
    case invalidStartLine(String)
    case unsupportedVersion(String)
    case invalidStatusCode(String)
    case malformedHeader(line: Int, reason: String)
    case invalidContentLength(String)
    case missingContentLength
    case bodyShorterThanContentLength(declared: Int, actual: Int)
    case bytesAfterBody(declared: Int, actual: Int)

    public var description: String {
        switch self {
        case .empty: "empty SIP message"
        case .messageTooLarge(let size, let limit): "SIP message of \(size) bytes is over the \(limit)-byte limit"
        case .truncatedHeaders: "SIP headers never end (no CRLF CRLF): the message is truncated"
        case .lineTooLong(let line, let limit): "SIP line \(line) is longer than \(limit) bytes"
        case .tooManyHeaders(let limit): "SIP message has more than \(limit) headers"
        case .invalidByte(let line, let byte): "SIP line \(line) holds byte 0x\(String(byte, radix: 16, uppercase: true)), not allowed there"
        case .invalidUTF8(let line): "SIP line \(line) is not UTF-8"
        case .invalidStartLine(let text): "SIP start line is neither a request nor a response: \(text.prefix(80).debugDescription)"
        case .unsupportedVersion(let version): "SIP version \(version.prefix(20).debugDescription) is not SIP/2.0"
        case .invalidStatusCode(let code): "SIP status code \(code.prefix(20).debugDescription) is not 100–699"
        case .malformedHeader(let line, let reason): "SIP header on line \(line): \(reason)"
        case .invalidContentLength(let value): "Content-Length \(value.prefix(20).debugDescription) is not a length"
        case .missingContentLength: "SIP message on a stream has no Content-Length"
        case .bodyShorterThanContentLength(let declared, let actual):
            "SIP body is \(actual) bytes, shorter than Content-Length \(declared)"
        case .bytesAfterBody(let declared, let actual):
            "SIP datagram carries \(actual) bytes after the headers, more than Content-Length \(declared)"
        }
    }
}
