@testable import ParkGB28181
import Testing

/// A TCP stream splits into messages by Content-Length however its bytes arrive.
@Suite struct SIPStreamFramerTests {
    @Test func splitsByContentLengthInAnyPieces() throws {
        let stream = Array("\r\n\r\n".utf8) + Fixtures.keepalive + Fixtures.register + Array("\r\n".utf8) + Fixtures.unauthorized
        let expected = try [Fixtures.keepalive, Fixtures.register, Fixtures.unauthorized].map { try SIPParser().parse($0) }
        for size in [1, 2, 7, 64, 1_000, stream.count] {
            var framer = SIPStreamFramer()
            var messages: [SIPMessage] = []
            for start in stride(from: 0, to: stream.count, by: size) {
                framer.append(stream[start..<min(start + size, stream.count)])
                while let message = try framer.next() { messages.append(message) }
            }
            #expect(messages == expected, "read size \(size)")
            #expect(framer.bufferedByteCount == 0)
        }
    }

    @Test func aStreamMessageNeedsAContentLength() {
        var framer = SIPStreamFramer()
        framer.append("OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n".utf8)
        #expect(throws: SIPParseError.missingContentLength) { try framer.next() }
        #expect(throws: SIPParseError.missingContentLength) { try framer.next() }
    }

    @Test func anEndlessHeaderStopsAtTheLimit() {
        var framer = SIPStreamFramer(limits: .init(maxMessageBytes: 1_000))
        framer.append("OPTIONS sip:a SIP/2.0\r\n".utf8)
        var thrown: SIPParseError?
        for _ in 0..<200 {
            framer.append("X-Pad: 0123456789\r\n".utf8)
            do { _ = try framer.next() } catch { thrown = error; break }
        }
        // 23 bytes of request line and 52 pad lines of 19: the first read past 1,000 bytes.
        #expect(thrown == .messageTooLarge(size: 23 + 52 * 19, limit: 1_000))
    }

    @Test func aDeclaredBodyOverTheLimitIsRefusedBeforeItArrives() {
        var framer = SIPStreamFramer()
        let head = "MESSAGE sip:a SIP/2.0\r\nContent-Length: 999999\r\n\r\n"
        framer.append(head.utf8)
        #expect(throws: SIPParseError.messageTooLarge(size: head.utf8.count + 999_999, limit: 65_535)) { try framer.next() }
    }
}
