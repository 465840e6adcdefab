/// A SIP message (RFC 3261 §7), request or response, as GB/T 28181-2016 uses it: the start line,
/// the headers in order, and the body as bytes (a MANSCDP body may be GB2312, not UTF-8).
///
/// `SIPParser` reads one from a datagram, `SIPStreamFramer` from a TCP stream; `serialized()`
/// writes it back so that parsing the result gives an equal message.
public struct SIPMessage: Sendable, Equatable {
    /// What the first line says: a request (method, Request-URI) or a response (status, reason).
    public enum StartLine: Sendable, Equatable {
        case request(method: String, uri: String)
        case response(status: Int, reason: String)
    }

    public var startLine: StartLine
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(_ startLine: StartLine, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.startLine = startLine
        self.headers = headers
        self.body = body
    }

    /// A request with the headers given and `Content-Length` set to the body's length.
    public static func request(method: String, uri: String, headers: [SIPHeader], body: [UInt8] = []) -> SIPMessage {
        var message = SIPMessage(.request(method: method, uri: uri), headers: SIPHeaders(headers), body: body)
        message.headers.set("Content-Length", String(body.count))
        return message
    }

    public var method: String? {
        if case .request(let method, _) = startLine { return method }
        return nil
    }

    public var requestURI: String? {
        if case .request(_, let uri) = startLine { return uri }
        return nil
    }

    public var status: Int? {
        if case .response(let status, _) = startLine { return status }
        return nil
    }

    public var isRequest: Bool { method != nil }

    /// The message on the wire. An existing `Content-Length` is rewritten to the body's length
    /// (so an edited body never goes out with a stale length); none is added when there was none,
    /// which keeps a parsed datagram's round trip exact. Builders here always set one.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.count)
        switch startLine {
        case .request(let method, let uri):
            out.append(contentsOf: "\(method) \(uri) SIP/2.0\r\n".utf8)
        case .response(let status, let reason):
            out.append(contentsOf: "SIP/2.0 \(status) \(reason)\r\n".utf8)
        }
        for field in headers {
            let value = SIPHeaders.canonical(field.name) == "content-length" ? String(body.count) : field.value
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: body)
        return out
    }
}
