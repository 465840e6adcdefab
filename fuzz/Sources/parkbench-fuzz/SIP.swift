// The GB/T 28181 target: SIP messages as a datagram and as a TCP stream, the digest headers and
// MANSCDP bodies they carry. Properties: what parses serializes back to an equal message, a
// stream frames the same however its reads split, and a MANSCDP body written out reads back equal.
import ParkGB28181

let sipTarget = FuzzTarget(
    name: "sip",
    summary: "SIPParser.parse, SIPStreamFramer (split vs whole), digest headers, MANSCDPMessage; serialize→parse is the identity"
) { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    let data = Array(input.rest)

    if let message = try? SIPParser().parse(data) { exercise(message) }

    // The stream: whole and in reads of 1–32 bytes, the same messages and the same fate.
    let whole = frame([data[...]])
    let size = Int(control & 0x1F) + 1
    let split = frame(stride(from: 0, to: data.count, by: size).map { data[$0..<min($0 + size, data.count)] })
    check(whole.messages == split.messages, "split reads frame \(split.messages.count) messages, whole \(whole.messages.count)")
    check(whole.failed == split.failed, "split reads \(split.failed ? "fail" : "pass"), whole \(whole.failed ? "fail" : "pass")")
    for message in whole.messages { exercise(message) }

    // The input as a bare MANSCDP body too (the fuzzer finds XML faster without a SIP head).
    if control & 0x80 != 0 { manscdp(data) }
}

private func frame(_ reads: [ArraySlice<UInt8>]) -> (messages: [SIPMessage], failed: Bool) {
    var framer = SIPStreamFramer()
    var messages: [SIPMessage] = []
    do {
        for read in reads {
            framer.append(read)
            while let message = try framer.next() { messages.append(message) }
        }
        return (messages, false)
    } catch {
        return (messages, true)
    }
}

private func exercise(_ message: SIPMessage) {
    // Folding joins lines and a reason-less status line gains a space, so the re-read allows longer lines.
    let roomy = SIPParser(limits: .init(maxMessageBytes: 1 << 20, maxHeaderCount: 1 << 16, maxLineBytes: 1 << 20))
    let again = try? roomy.parse(message.serialized())
    check(again == message, "serialize→parse changes the message: \(message) vs \(String(describing: again))")
    _ = (message.viaBranch, message.fromTag, message.toTag, message.cseq, message.expires, message.contact, message.callID)
    for name in ["WWW-Authenticate", "Proxy-Authenticate"] {
        if let value = message.headers[name], let challenge = try? DigestChallenge(headerValue: value) {
            check((try? DigestChallenge(headerValue: challenge.headerValue)) == challenge, "challenge does not survive writing: \(challenge)")
        }
    }
    for name in ["Authorization", "Proxy-Authorization"] {
        if let value = message.headers[name], let credentials = try? DigestCredentials(headerValue: value) {
            check((try? DigestCredentials(headerValue: credentials.headerValue)) == credentials, "credentials do not survive writing: \(credentials)")
        }
    }
    if message.isRequest {
        let response = message.response(status: 200, reason: "OK", toTag: "fuzz")
        check((try? roomy.parse(response.serialized())) == response, "a response to a parsed request does not round-trip")
    }
    if !message.body.isEmpty { manscdp(message.body) }
}

private func manscdp(_ body: [UInt8]) {
    guard let parsed = try? MANSCDPMessage(bytes: body) else { return }
    _ = (parsed.cmdType, parsed.sn, parsed.deviceID, parsed.sumNum, parsed.deviceListNum)
    _ = try? parsed.catalogItems()
    _ = try? parsed.deviceInfo()
    _ = try? parsed.alarm()
    for charset in [MANSCDPCharset.utf8, .gb2312] {
        guard let written = try? parsed.encoded(charset: charset) else {
            check(charset != .utf8, "a parsed body cannot be written as UTF-8")
            continue
        }
        let again = try? MANSCDPMessage(bytes: written, maxBytes: 1 << 20)
        check(again == parsed, "MANSCDP body changes when written as \(charset.label)")
    }
}
