/// The requests a camera sends, GB/T 28181-2016 §9.1 and §9.6 style.
extension SIPRegistration {
    /// REGISTER `sip:<serverID>@<domain>` on the camera's one Call-ID (RFC 3261 §10.2.4: a UA
    /// keeps it across refreshes), CSeq one higher each time, credentials from the last challenge
    /// when there is one (a refresh then needs no second round trip).
    mutating func register(expires: Int, purpose: Purpose, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> Outgoing {
        cseq += 1
        let uri = settings.serverURI
        var headers = commonHeaders(settings: settings, random: &random, fromTag: fromTag, to: "<sip:\(deviceID)@\(settings.domain)>")
        headers += [
            SIPHeader("Call-ID", callID),
            SIPHeader("CSeq", "\(cseq) REGISTER"),
            SIPHeader("Contact", "<sip:\(deviceID)@\(settings.local)>"),
            SIPHeader("Expires", String(expires)),
        ]
        if let challenge {
            nonceCount += 1
            let credentials = DigestCredentials.answering(
                challenge, method: "REGISTER", uri: uri, username: deviceID, password: password,
                cnonce: SIPIdentifiers.token(8, using: &random), nonceCount: nonceCount)
            headers.append(SIPHeader(challengeIsProxy ? "Proxy-Authorization" : "Authorization", credentials.headerValue))
            answeredNonce = challenge.nonce
        } else {
            answeredNonce = nil
        }
        counters.registersSent += 1
        return Outgoing(message: .request(method: "REGISTER", uri: uri, headers: headers), purpose: purpose)
    }

    /// A Keepalive MESSAGE (MANSCDP Notify, Status OK) outside any dialog: its own Call-ID and tag.
    mutating func keepalive(settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> Outgoing {
        keepaliveSN += 1
        // An ASCII id in UTF-8 always encodes.
        let body = (try? MANSCDPMessage.keepalive(sn: keepaliveSN, deviceID: deviceID).encoded()) ?? []
        counters.keepalivesSent += 1
        return Outgoing(message: messageRequest(body: body, settings: settings, random: &random), purpose: .keepalive)
    }

    /// Any other MANSCDP MESSAGE, counted as such.
    mutating func managedMessage(body: [UInt8], settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> Outgoing {
        counters.messagesSent += 1
        return Outgoing(message: messageRequest(body: body, settings: settings, random: &random), purpose: .message)
    }

    /// MESSAGE to the platform outside any dialog: its own Call-ID and tag, CSeq counting up.
    private mutating func messageRequest(body: [UInt8], settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> SIPMessage {
        messageCSeq += 1
        let tag = SIPIdentifiers.tag(using: &random)
        var headers = commonHeaders(settings: settings, random: &random, fromTag: tag, to: "<sip:\(settings.serverID)@\(settings.domain)>")
        headers += [
            SIPHeader("Call-ID", SIPIdentifiers.callID(host: settings.local.host, using: &random)),
            SIPHeader("CSeq", "\(messageCSeq) MESSAGE"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ]
        return .request(method: "MESSAGE", uri: settings.serverURI, headers: headers, body: body)
    }

    private func commonHeaders(settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator, fromTag: String, to: String) -> [SIPHeader] {
        [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(deviceID)@\(settings.domain)>;tag=\(fromTag)"),
            SIPHeader("To", to),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
        ]
    }
}
