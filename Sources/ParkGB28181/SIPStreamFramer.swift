/// Splits a SIP byte stream (TCP, RFC 3261 §18.3) into messages by `Content-Length`, which a
/// stream message must carry. Bytes go in as they arrive in any pieces; `next()` hands out each
/// complete message once. CRLFs between messages (RFC 5626 keep-alive pings) are skipped.
///
/// A framing error loses the stream's message boundaries for good: `next()` keeps throwing it
/// and the connection should be closed.
public struct SIPStreamFramer: Sendable {
    public let parser: SIPParser
    private var buffer: [UInt8] = []
    private var start = 0
    /// How far the search for CRLF CRLF got, so a header dripping in is not rescanned.
    private var scanned = 0
    private var failure: SIPParseError?
    /// The head of a message whose body is still arriving, read once rather than at every read.
    private var pending: (startLine: SIPMessage.StartLine, headers: SIPHeaders, bodyStart: Int, length: Int)?

    public init(limits: SIPParser.Limits = SIPParser.Limits()) { parser = SIPParser(limits: limits) }

    /// Bytes held that are not yet a whole message.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func next() throws(SIPParseError) -> SIPMessage? {
        if let failure { throw failure }
        do {
            return try extract()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func extract() throws(SIPParseError) -> SIPMessage? {
        if let head = pending {
            guard buffer.count - head.bodyStart >= head.length else { return nil }
            pending = nil
            return complete(head.startLine, head.headers, bodyStart: head.bodyStart, length: head.length)
        }
        while start < buffer.count, buffer[start] == 13 || buffer[start] == 10 {
            start += 1
        }
        scanned = max(scanned, start)
        let limit = parser.limits.maxMessageBytes
        let searchEnd = min(buffer.count, start + limit)
        guard let end = SIPParser.headerEnd(in: buffer, from: max(start, scanned - 3), upTo: searchEnd) else {
            scanned = searchEnd
            if buffer.count - start >= limit { throw .messageTooLarge(size: buffer.count - start, limit: limit) }
            compact()
            return nil
        }
        let (startLine, headers) = try parser.parseHead(buffer[start..<end])
        guard let length = try SIPParser.contentLength(headers) else { throw .missingContentLength }
        let bodyStart = end + 4
        let total = bodyStart - start + length
        guard total <= limit else { throw .messageTooLarge(size: total, limit: limit) }
        guard buffer.count - bodyStart >= length else {
            pending = (startLine, headers, bodyStart, length)
            return nil
        }
        return complete(startLine, headers, bodyStart: bodyStart, length: length)
    }

    private mutating func complete(_ startLine: SIPMessage.StartLine, _ headers: SIPHeaders, bodyStart: Int, length: Int) -> SIPMessage {
        var headers = headers
        headers.canonicalizeContentLength(length)
        let message = SIPMessage(startLine, headers: headers, body: Array(buffer[bodyStart..<(bodyStart + length)]))
        start = bodyStart + length
        scanned = start
        compact()
        return message
    }

    /// Drops consumed bytes once they are most of the buffer, so memory stays near one message.
    private mutating func compact() {
        guard start > 0, start >= buffer.count / 2 else { return }
        buffer.removeFirst(start)
        scanned -= start
        start = 0
    }
}
