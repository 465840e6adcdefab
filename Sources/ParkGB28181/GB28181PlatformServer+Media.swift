/// Live video from the platform's side (GB/T 28181-2016 §9.2.2, RFC 3261 §13): the platform
/// INVITEs a channel with an SDP offer naming its own RTP receiver and an SSRC, ACKs the device's
/// 2xx (again for every retransmitted 2xx, since the device resends until an ACK reaches it) and
/// ends the session with BYE.
///
/// The INVITE runs as a client transaction with the non-INVITE timers (retransmit from T1 until a
/// final answer, give up at 64·T1): a camera answers an INVITE at once with its final response,
/// so Timer A's unbounded doubling and a separate provisional phase buy nothing here.
extension GB28181PlatformServer {
    /// A media session the platform opened.
    public struct MediaSession: Sendable, Equatable {
        public let deviceID: String
        public let channelID: String
        public let callID: String
        /// The SSRC the offer asked for (`y=`).
        public let ssrc: String
        public internal(set) var answered = false
        let fromTag: String
        var toTag: String?
        /// Where in-dialog requests (ACK, BYE) go: the device's registered address.
        let destination: SIPAddress
        var remoteTarget: String
        var ack: [UInt8]?
        /// Hung up before the answer came.
        var hangUp = false
    }

    /// The SSRC for the platform's `sequence`-th stream (Annex F): `0` live or `1` history
    /// (playback, download), then digits 4–8 of the domain, then the sequence in four digits.
    public func ssrc(sequence: Int, history: Bool = false) -> String {
        let domain = Array(settings.domain)
        let middle = domain.count >= 8 ? String(domain[3..<8]) : String(repeating: "0", count: 5)
        let tail = String(sequence % 10_000)
        return (history ? "1" : "0") + middle + String(repeating: "0", count: 4 - tail.count) + tail
    }

    /// INVITEs channel `channelID` of registered device `deviceID` to stream to `receiver` (the
    /// platform's address, port and transport, `s=Play`, or `Playback` with `u=` and the `t=`
    /// range; its SSRC is filled in here). The
    /// session's Call-ID, nil when the device is not registered. What follows comes as
    /// ``GB28181PlatformEvent/mediaAnswered(deviceID:channelID:callID:answer:)`` or
    /// ``GB28181PlatformEvent/mediaFailed(deviceID:channelID:callID:reason:)``.
    public mutating func invite(deviceID: String, channelID: String, receiver: GB28181SDP, now: UInt64) -> String? {
        guard let device = devices[deviceID] else { return nil }
        nextStream += 1
        let ssrc = ssrc(sequence: nextStream, history: receiver.sessionName.lowercased() != "play")
        var offer = receiver
        offer.origin = settings.platformID
        offer.ssrc = ssrc
        offer.direction = "recvonly"
        let callID = SIPIdentifiers.callID(host: settings.local.host, using: &random)
        let fromTag = SIPIdentifiers.tag(using: &random)
        let target = "sip:\(channelID)@\(device.address)"
        let request = SIPMessage.request(method: "INVITE", uri: target, headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(settings.platformID)@\(settings.domain)>;tag=\(fromTag)"),
            SIPHeader("To", "<sip:\(channelID)@\(settings.domain)>"),
            SIPHeader("Call-ID", callID),
            SIPHeader("CSeq", "1 INVITE"),
            SIPHeader("Contact", "<sip:\(settings.platformID)@\(settings.local)>"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
            // §9.2.2.1: the media sender's id and SSRC, then the receiver's.
            SIPHeader("Subject", "\(channelID):\(ssrc),\(settings.platformID):0"),
            SIPHeader("Content-Type", "APPLICATION/SDP"),
        ], body: offer.bytes)
        mediaSessions[callID] = MediaSession(
            deviceID: deviceID, channelID: channelID, callID: callID, ssrc: ssrc, fromTag: fromTag, destination: device.address,
            remoteTarget: target)
        counters.invitesSent += 1
        transactions.start(request, to: device.address, owner: Owner(deviceID: deviceID, cmdType: "INVITE", sn: 0, callID: callID),
                           now: now, send: { outbox.append($0) })
        return callID
    }

    /// Ends a session with BYE; one not yet answered is hung up when its 2xx comes (ACK, then
    /// BYE: RFC 3261 §15). False for a Call-ID the platform does not know.
    @discardableResult
    public mutating func bye(callID: String, now: UInt64) -> Bool {
        guard var session = mediaSessions[callID] else { return false }
        guard session.answered else {
            session.hangUp = true
            mediaSessions[callID] = session
            return true
        }
        mediaSessions[callID] = nil
        sendBye(session, now: now)
        return true
    }

    private mutating func sendBye(_ session: MediaSession, now: UInt64) {
        counters.byesSent += 1
        let request = inDialogRequest("BYE", session: session, cseq: 2)
        transactions.start(
            request, to: session.destination, owner: Owner(deviceID: session.deviceID, cmdType: "BYE", sn: 0, callID: session.callID),
            now: now, send: { outbox.append($0) })
    }

    /// An INVITE's final answer or its timeout (nil): ACK and the answer's SDP for a 2xx, a failure otherwise.
    mutating func inviteEnded(_ owner: Owner, _ response: SIPMessage?, now: UInt64) {
        guard let callID = owner.callID else { return }
        if let response, let status = response.status, (200..<300).contains(status) {
            acknowledge(response, callID: callID, now: now)
            return
        }
        guard let session = mediaSessions.removeValue(forKey: callID), !session.hangUp else { return }
        let reason = response.map { "the device answered \($0.status ?? 0) to the INVITE" }
            ?? "the device did not answer the INVITE within 64·T1"
        record(.mediaFailed(deviceID: session.deviceID, channelID: session.channelID, callID: callID, reason: reason), now)
    }

    /// A 2xx to one of the platform's INVITEs, the first or a retransmission: the ACK (again for a
    /// retransmission), and for the first the session answered.
    mutating func acknowledge(_ response: SIPMessage, callID: String, now: UInt64) {
        guard var session = mediaSessions[callID] else { return }
        if let ack = session.ack {
            outbox.append(SIPDatagram(bytes: ack, address: session.destination))
            counters.acksResent += 1
            return
        }
        session.toTag = response.toTag
        if let uri = response.contactURI { session.remoteTarget = uri }
        session.answered = true
        let ack = inDialogRequest("ACK", session: session, cseq: 1).serialized()
        session.ack = ack
        outbox.append(SIPDatagram(bytes: ack, address: session.destination))
        if session.hangUp {
            mediaSessions[callID] = nil
            sendBye(session, now: now)
            return
        }
        let answer: GB28181SDP
        do {
            answer = try GB28181SDP(bytes: response.body)
        } catch {
            mediaSessions[callID] = nil
            sendBye(session, now: now)
            record(.mediaFailed(deviceID: session.deviceID, channelID: session.channelID, callID: callID,
                                reason: "the device's SDP answer cannot be read: \(error)"), now)
            return
        }
        mediaSessions[callID] = session
        record(.mediaAnswered(deviceID: session.deviceID, channelID: session.channelID, callID: callID, answer: answer), now)
    }

    /// A request inside a media dialog (ACK, BYE), to the device's Contact.
    private mutating func inDialogRequest(_ method: String, session: MediaSession, cseq: UInt32) -> SIPMessage {
        SIPMessage.request(method: method, uri: session.remoteTarget, headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(settings.platformID)@\(settings.domain)>;tag=\(session.fromTag)"),
            SIPHeader("To", "<sip:\(session.channelID)@\(settings.domain)>;tag=\(session.toTag ?? "")"),
            SIPHeader("Call-ID", session.callID),
            SIPHeader("CSeq", "\(cseq) \(method)"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
        ])
    }
}
