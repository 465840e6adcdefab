// The GB/T 28181 target: SIP messages as a datagram and as a TCP stream, the digest headers and
// the MANSCDP and SDP bodies they carry. Properties: what parses serializes back to an equal
// message, a stream frames the same however its reads split, a MANSCDP body written out reads back
// equal, and an SDP offer written out reads back with the same media (address, port, transport,
// SSRC, time range).
import ParkGB28181

let sipTarget = FuzzTarget(
    name: "sip",
    summary: "SIPParser.parse, SIPStreamFramer (split vs whole), digest headers, MANSCDPMessage, GB28181SDP; serialize→parse is the identity"
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

    // The input as a bare MANSCDP or SDP body too (the fuzzer finds them faster without a SIP head).
    if control & 0x80 != 0 { manscdp(data) }
    if control & 0x40 != 0 { sdp(data) }
}

private func sdp(_ body: [UInt8]) {
    guard let offer = try? GB28181SDP(bytes: body) else { return }
    _ = offer.ssrcValue
    let written = offer.bytes
    // Written out, the address appears twice (o= and c=): a long one may pass the 8 KiB bound.
    guard written.count <= 8192 else { return }
    guard let again = try? GB28181SDP(bytes: written) else {
        check(false, "an SDP offer that was read cannot be read once written: \(offer.text)")
        return
    }
    check(again.address == offer.address && again.port == offer.port && again.transport == offer.transport
          && again.ssrc == offer.ssrc && again.timeStart == offer.timeStart && again.timeStop == offer.timeStop
          && again.sessionName == offer.sessionName,
          "an SDP offer written out reads back with other media: \(offer) vs \(again)")
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
    if !message.body.isEmpty {
        manscdp(message.body)
        sdp(message.body)
    }
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
