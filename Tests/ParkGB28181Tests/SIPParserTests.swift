@testable import ParkGB28181
import Testing

/// SIP messages read, round-trip, and hostile bytes end in a typed error (RFC 3261 §7, §18.3).
@Suite struct SIPParserTests {
    let parser = SIPParser()

    @Test func aCameraRegisterWithDigestReadsAndRoundTrips() throws {
        let message = try parser.parse(Fixtures.register)
        #expect(message.method == "REGISTER" && message.requestURI == "sip:34020000002000000001@3402000000")
        #expect(message.viaBranch == "z9hG4bK1371463273" && message.fromTag == "2043466181" && message.toTag == nil)
        #expect(message.cseq?.number == 2 && message.cseq?.method == "REGISTER")
        #expect(message.expires == 3600 && message.callID == "1011047669")
        #expect(message.contact == "<sip:34020000001320000001@192.168.1.64:5060>")
        let credentials = try DigestCredentials(headerValue: try #require(message.headers["authorization"]))
        #expect(credentials.username == "34020000001320000001" && credentials.realm == "3402000000" && credentials.qop == nil)
        #expect(message.serialized() == Fixtures.register)
        #expect(try parser.parse(message.serialized()) == message)
    }

    @Test func a401AndAKeepaliveMessageRoundTrip() throws {
        let challenge = try parser.parse(Fixtures.unauthorized)
        #expect(challenge.status == 401 && challenge.toTag == "1530418913")
        let digest = try DigestChallenge(headerValue: try #require(challenge.headers["WWW-Authenticate"]))
        #expect(digest.realm == "3402000000" && digest.nonce == "44010b73623249f6916a6acf7c316b8e" && !digest.qopAuth)
        #expect(challenge.serialized() == Fixtures.unauthorized)

        let message = try parser.parse(Fixtures.keepalive)
        #expect(message.method == "MESSAGE" && message.headers["content-type"] == "Application/MANSCDP+xml")
        let body = try MANSCDPMessage(bytes: message.body)
        #expect(body.kind == .notify && body.cmdType == "Keepalive" && body.sn == 43 && body["Status"] == "OK")
        #expect(message.serialized() == Fixtures.keepalive)
    }

    @Test func compactHeadersAreTheirFullNames() throws {
        let bytes = Fixtures.crlf([
            "MESSAGE sip:34020000002000000001@3402000000 SIP/2.0",
            "v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1",
            "f: <sip:34020000001320000001@3402000000>;tag=t1",
            "t: <sip:34020000002000000001@3402000000>",
            "i: c-1@10.0.0.2",
            "CSeq: 1 MESSAGE",
            "m: <sip:34020000001320000001@10.0.0.2:5060>;expires=600",
            "c: Application/MANSCDP+xml",
            "l: 0",
        ])
        let message = try parser.parse(bytes)
        #expect(message.headers["Via"] == "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1")
        #expect(message.viaBranch == "z9hG4bKa1" && message.fromTag == "t1" && message.callID == "c-1@10.0.0.2")
        #expect(message.headers["Content-Type"] == "Application/MANSCDP+xml" && message.headers["CONTENT-LENGTH"] == "0")
        #expect(message.expires == 600)
        #expect(message.serialized() == bytes)
    }

    @Test func foldedLinesAndStrayWhitespaceAreNormalised() throws {
        let bytes = Fixtures.crlf([
            "SIP/2.0 200 OK",
            "Via :   SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKb2  ",
            "From: <sip:a@b>;tag=x",
            "To: <sip:a@b>",
            "\t;tag=y",
            "Call-ID:c2",
            "CSeq: 7 REGISTER",
            "Subject:",
            "Content-Length: 0",
        ])
        let message = try parser.parse(bytes)
        #expect(message.headers.fields[0] == SIPHeader("Via", "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKb2"))
        #expect(message.headers["To"] == "<sip:a@b> ;tag=y" && message.toTag == "y")
        #expect(message.callID == "c2" && message.headers["Subject"] == "")
        #expect(try parser.parse(message.serialized()) == message)
    }

    @Test func aResponseCopiesWhatRFC3261Says() throws {
        let request = try parser.parse(Fixtures.register)
        let response = request.response(status: 200, reason: "OK", toTag: "abc", extraHeaders: [SIPHeader("Expires", "3600")])
        #expect(response.status == 200 && response.toTag == "abc" && response.fromTag == request.fromTag)
        #expect(response.viaBranch == request.viaBranch && response.callID == request.callID)
        #expect(response.cseq?.number == 2 && response.headers["Content-Length"] == "0" && response.expires == 3600)
        #expect(response.headers.fields.map(\.name) == ["Via", "From", "To", "Call-ID", "CSeq", "Expires", "Content-Length"])
        #expect(request.response(status: 100, reason: "Trying", toTag: "abc").toTag == nil)
        #expect(try parser.parse(response.serialized()) == response)
    }

    @Test func serialisingFixesAStaleContentLength() throws {
        var message = try parser.parse(Fixtures.keepalive)
        message.body = Array("<x/>".utf8)
        let reparsed = try parser.parse(message.serialized())
        #expect(reparsed.body == Array("<x/>".utf8) && reparsed.headers["Content-Length"] == "4")
    }

    /// Found by the `sip` fuzz target: `Content-Length: 054` is a valid length, and a message
    /// read with it must serialize to bytes that read back equal to it (as a datagram and a stream).
    @Test func aContentLengthWithLeadingZerosReadsAsItsNumber() throws {
        let text = String(decoding: Fixtures.keepalive, as: UTF8.self)
        let length = try #require(try parser.parse(Fixtures.keepalive).headers["Content-Length"])
        let padded = Array(text.replacingOccurrences(of: "Content-Length: \(length)", with: "Content-Length: 00\(length)").utf8)
        #expect(padded != Fixtures.keepalive)
        let message = try parser.parse(padded)
        #expect(message.headers["Content-Length"] == length)
        #expect(try parser.parse(message.serialized()) == message)
        var framer = SIPStreamFramer()
        framer.append(padded)
        #expect(try framer.next() == message)
    }

    @Test(arguments: [
        ("", SIPParseError.empty),
        ("REGISTER sip:a SIP/2.0\r\nVia: x\r\n", .truncatedHeaders),
        ("REGISTER sip:a SIP/2.0", .truncatedHeaders),
        ("REGISTER sip:a SIP/2.0\nVia: x\n\n", .truncatedHeaders),
        ("REGISTER sip:a SIP/2.0\r\nVia: x\nTo: y\r\n\r\n", .invalidByte(line: 2, byte: 10)),
        ("REGISTER sip:a SIP/2.0\r\nVia: a\0b\r\n\r\n", .invalidByte(line: 2, byte: 0)),
        ("REGISTER sip:a SIP/3.0\r\n\r\n", .unsupportedVersion("SIP/3.0")),
        ("SIP/2.0 20 OK\r\n\r\n", .invalidStatusCode("20")),
        ("SIP/2.0 700 Odd\r\n\r\n", .invalidStatusCode("700")),
        ("REGISTER\r\n\r\n", .invalidStartLine("REGISTER")),
        ("REG{ISTER sip:a SIP/2.0\r\n\r\n", .invalidStartLine("REG{ISTER sip:a SIP/2.0")),
        ("REGISTER sip:a SIP/2.0\r\nNo colon here\r\n\r\n", .malformedHeader(line: 2, reason: "no colon")),
        ("REGISTER sip:a SIP/2.0\r\n continued\r\n\r\n", .malformedHeader(line: 2, reason: "continuation line before any header")),
        ("REGISTER sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort", .bodyShorterThanContentLength(declared: 10, actual: 5)),
        ("REGISTER sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\nlonger", .bytesAfterBody(declared: 2, actual: 6)),
        ("REGISTER sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", .invalidContentLength("-1")),
        ("REGISTER sip:a SIP/2.0\r\nl: 99999999999\r\n\r\n", .invalidContentLength("99999999999")),
        ("REGISTER sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", .invalidContentLength("1, 2")),
    ])
    func hostileInputIsATypedError(input: String, expected: SIPParseError) {
        #expect(throws: expected) { try parser.parse(Array(input.utf8)) }
    }

    @Test func limitsBindBeforeAnyWorkIsWasted() {
        let many = "REGISTER sip:a SIP/2.0\r\n" + String(repeating: "X-H: 1\r\n", count: 10_000) + "\r\n"
        #expect(throws: SIPParseError.messageTooLarge(size: many.utf8.count, limit: 65_535)) { try parser.parse(Array(many.utf8)) }
        let roomy = SIPParser(limits: .init(maxMessageBytes: 1 << 20))
        #expect(throws: SIPParseError.tooManyHeaders(limit: 128)) { try roomy.parse(Array(many.utf8)) }

        let huge = "REGISTER sip:a SIP/2.0\r\nX-Long: " + String(repeating: "a", count: 5_000) + "\r\n\r\n"
        #expect(throws: SIPParseError.lineTooLong(line: 2, limit: 4_096)) { try parser.parse(Array(huge.utf8)) }
        let hugeStart = "REGISTER sip:" + String(repeating: "a", count: 5_000) + " SIP/2.0\r\n\r\n"
        #expect(throws: SIPParseError.lineTooLong(line: 1, limit: 4_096)) { try parser.parse(Array(hugeStart.utf8)) }
    }

    @Test func nonUTF8HeadersAreRefusedButBodiesAreBytes() throws {
        var bytes = Array("REGISTER sip:a SIP/2.0\r\nUser-Agent: ".utf8) + [0xC9, 0xE3, 0xFF] + Array("\r\n\r\n".utf8)
        #expect(throws: SIPParseError.invalidUTF8(line: 2)) { try parser.parse(bytes) }
        bytes = Array("MESSAGE sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\n".utf8) + [0xC9, 0xE3, 0xFF]
        #expect(try parser.parse(bytes).body == [0xC9, 0xE3, 0xFF])
    }

    @Test func everyPrefixOfARealMessageFailsCleanly() {
        let bytes = Fixtures.keepalive
        for length in 0..<bytes.count {
            #expect(throws: SIPParseError.self) { try parser.parse(Array(bytes[0..<length])) }
        }
    }

    @Test func identifiersComeFromTheCallersGenerator() {
        var first = Repeating(state: 7), second = Repeating(state: 7)
        let branch = SIPIdentifiers.branch(using: &first)
        #expect(branch.hasPrefix("z9hG4bK") && branch.count == 23)
        #expect(branch == SIPIdentifiers.branch(using: &second))
        #expect(SIPIdentifiers.callID(host: "10.0.0.2", using: &first).hasSuffix("@10.0.0.2"))
    }
}

/// A generator that repeats: the same start gives the same identifiers.
struct Repeating: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}
