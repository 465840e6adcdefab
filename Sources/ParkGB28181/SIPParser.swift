/// Reads SIP messages from bytes, within limits a hostile peer cannot push past.
///
/// Strict where a conformance harness wants to see a peer's mistake: lines end in CRLF (a bare
/// CR or LF is an error, not a line end), the version is SIP/2.0, a datagram's bytes after the
/// headers are exactly `Content-Length` when one is given (RFC 3261 §18.3 lets a receiver drop
/// extra bytes; reporting them is the harness's job). Folded header lines (§7.3.1) are joined
/// with one space.
public struct SIPParser: Sendable {
    /// Bounds on what one message may cost to read.
    public struct Limits: Sendable, Equatable {
        /// Whole message, headers and body (a UDP datagram's payload can be no larger).
        public var maxMessageBytes: Int
        public var maxHeaderCount: Int
        /// One physical line, CRLF excluded.
        public var maxLineBytes: Int

        public init(maxMessageBytes: Int = 65_535, maxHeaderCount: Int = 128, maxLineBytes: Int = 4_096) {
            self.maxMessageBytes = maxMessageBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxLineBytes = maxLineBytes
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// One message from one UDP datagram.
    public func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= limits.maxMessageBytes else {
            throw .messageTooLarge(size: bytes.count, limit: limits.maxMessageBytes)
        }
        guard let end = SIPParser.headerEnd(in: bytes, from: 0, upTo: bytes.count) else { throw .truncatedHeaders }
        var (startLine, headers) = try parseHead(bytes[0..<end])
        let available = bytes.count - (end + 4)
        var bodyLength = available
        if let declared = try SIPParser.contentLength(headers) {
            if declared > available { throw .bodyShorterThanContentLength(declared: declared, actual: available) }
            if declared < available { throw .bytesAfterBody(declared: declared, actual: available) }
            bodyLength = declared
            headers.canonicalizeContentLength(declared)
        }
        let bodyStart = end + 4
        return SIPMessage(startLine, headers: headers, body: Array(bytes[bodyStart..<(bodyStart + bodyLength)]))
    }

    /// The index of the CRLF CRLF ending the headers, searched in `from..<upTo`.
    static func headerEnd(in bytes: [UInt8], from: Int, upTo: Int) -> Int? {
        var index = from
        while index + 3 < upTo {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// The declared body length, nil when the header is absent.
    static func contentLength(_ headers: SIPHeaders) throws(SIPParseError) -> Int? {
        let values = headers.values("Content-Length")
        guard let value = values.first else { return nil }
        guard values.allSatisfy({ $0 == value }) else { throw .invalidContentLength(values.joined(separator: ", ")) }
        guard !value.isEmpty, value.utf8.count <= 9, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(value) else {
            throw .invalidContentLength(value)
        }
        return length
    }

    /// Start line and headers from the bytes before CRLF CRLF.
    func parseHead(_ head: ArraySlice<UInt8>) throws(SIPParseError) -> (SIPMessage.StartLine, SIPHeaders) {
        var lines: [String] = []
        var lineStart = head.startIndex
        var index = head.startIndex
        var lineNumber = 1
        // Split on CRLF; everything the header grammar forbids is refused on the way.
        while true {
            let atEnd = index == head.endIndex
            if atEnd || (head[index] == 13 && index + 1 < head.endIndex && head[index + 1] == 10) {
                let length = index - lineStart
                guard length <= limits.maxLineBytes else { throw .lineTooLong(line: lineNumber, limit: limits.maxLineBytes) }
                guard let text = String(validating: head[lineStart..<index], as: UTF8.self) else {
                    throw .invalidUTF8(line: lineNumber)
                }
                lines.append(text)
                // The start line is not a header, hence the +1.
                guard lines.count <= limits.maxHeaderCount + 1 else { throw .tooManyHeaders(limit: limits.maxHeaderCount) }
                if atEnd { break }
                index += 2
                lineStart = index
                lineNumber += 1
                continue
            }
            let byte = head[index]
            if byte < 0x20 && byte != 0x09 || byte == 0x7F { throw .invalidByte(line: lineNumber, byte: byte) }
            if index - lineStart >= limits.maxLineBytes { throw .lineTooLong(line: lineNumber, limit: limits.maxLineBytes) }
            index += 1
        }
        let startLine = try SIPParser.parseStartLine(lines[0])
        var fields: [SIPHeader] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            let number = offset + 2
            if let first = line.utf8.first, first == 0x20 || first == 0x09 {
                guard !fields.isEmpty else { throw .malformedHeader(line: number, reason: "continuation line before any header") }
                let more = SIPParser.trimmed(line)
                if !more.isEmpty {
                    fields[fields.count - 1].value = fields[fields.count - 1].value.isEmpty ? more : fields[fields.count - 1].value + " " + more
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw .malformedHeader(line: number, reason: "no colon") }
            let name = SIPParser.trimmed(String(line[..<colon]))
            guard !name.isEmpty else { throw .malformedHeader(line: number, reason: "empty header name") }
            guard name.utf8.allSatisfy(SIPParser.isTokenByte) else {
                throw .malformedHeader(line: number, reason: "header name \(name.prefix(40).debugDescription) is not a token")
            }
            fields.append(SIPHeader(name, SIPParser.trimmed(String(line[line.index(after: colon)...]))))
        }
        return (startLine, SIPHeaders(fields))
    }

    static func parseStartLine(_ line: String) throws(SIPParseError) -> SIPMessage.StartLine {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw .invalidStartLine(line) }
        if parts[0].uppercased().hasPrefix("SIP/") {
            guard parts[0].uppercased() == "SIP/2.0" else { throw .unsupportedVersion(String(parts[0])) }
            let code = parts[1]
            guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let status = Int(code), (100...699).contains(status) else {
                throw .invalidStatusCode(String(code))
            }
            return .response(status: status, reason: parts.count == 3 ? String(parts[2]) : "")
        }
        guard parts.count == 3 else { throw .invalidStartLine(line) }
        let method = parts[0], uri = parts[1], version = parts[2]
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else { throw .invalidStartLine(line) }
        guard !uri.isEmpty, !uri.contains("\t") else { throw .invalidStartLine(line) }
        guard version.uppercased() == "SIP/2.0" else { throw .unsupportedVersion(String(version)) }
        return .request(method: String(method), uri: String(uri))
    }

    /// RFC 3261 §25.1 `token` characters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "_"),
            UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"): true
        default: false
        }
    }

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
