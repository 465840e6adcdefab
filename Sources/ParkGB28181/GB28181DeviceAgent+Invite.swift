import ParkEventLoop

/// Live video and playback on INVITE (GB/T 28181-2016 §9.2, RFC 3261 §13.3): the device answers
/// the platform's SDP offer with its own (its RTP port, the offer's SSRC, the stream's `f=`),
/// sends the 2xx again at T1, 2·T1 … T2 until the ACK comes (the platform may have lost it),
/// starts the stream on ACK and stops it on BYE. No ACK within 64·T1 ends the session unstarted.
extension GB28181DeviceAgent {
    /// What the media side answers for a stream it has prepared.
    public struct MediaAnswer: Sendable, Equatable {
        /// The media side's own handle for the stream.
        public var stream: Int
        /// The device's RTP address and port (TCP passive: where it listens).
        public var address: String
        public var port: Int
        /// `f=` for the answer (e.g. `v/2/4/25/1/512a///`).
        public var format: String

        public init(stream: Int, address: String, port: Int, format: String) {
            self.stream = stream
            self.address = address
            self.port = port
            self.format = format
        }
    }

    /// The media side of the devices: prepares a stream for an offer, starts it on ACK, ends it.
    /// Called under the agent's lock; each must return at once.
    public struct MediaHooks: Sendable {
        /// Device `index`'s channel `channel` (1-based) is asked for `offer`: the answer, or nil
        /// when it cannot send (no video on that channel, no free port).
        public var prepare: @Sendable (_ index: Int, _ channel: Int, _ offer: GB28181SDP) -> MediaAnswer?
        public var begin: @Sendable (_ stream: Int) -> Void
        public var end: @Sendable (_ stream: Int) -> Void

        public init(
            prepare: @escaping @Sendable (Int, Int, GB28181SDP) -> MediaAnswer?, begin: @escaping @Sendable (Int) -> Void,
            end: @escaping @Sendable (Int) -> Void
        ) {
            self.prepare = prepare
            self.begin = begin
            self.end = end
        }
    }

    /// A media session by Call-ID: the device, the stream, and the 2xx until it is ACKed.
    struct MediaDialog: Sendable {
        var device: Int32
        var stream: Int
        var answer: [UInt8]
        var destination: SIPAddress
        var inviteBranch: String
        var acked = false
        var interval: UInt64
        var nextResend: UInt64
        var giveUpAt: UInt64
    }

    /// An INVITE, its ACK, a BYE or a CANCEL; nil when `request` is none of those.
    mutating func receivedDialogRequest(_ request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage?? {
        switch request.method {
        case "INVITE": return .some(invite(request, from: source, now: now))
        case "ACK":
            ack(request)
            return .some(nil)
        case "BYE": return .some(bye(request))
        case "CANCEL":
            // We answer every INVITE at once with a final response, so there is never one to cancel (§9.2.2: 481).
            let known = request.callID.flatMap { dialogs[$0] } != nil
            return .some(known ? request.response(status: 200, reason: "OK", toTag: "gb")
                : request.response(status: 481, reason: "Call/Transaction Does Not Exist"))
        default: return nil
        }
    }

    private mutating func invite(_ request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        guard let callID = request.callID, let branch = request.viaBranch else {
            return request.response(status: 400, reason: "Bad Request")
        }
        // A retransmitted INVITE: the same 2xx again, the stream already prepared.
        if let dialog = dialogs[callID], dialog.inviteBranch == branch {
            return (try? SIPParser().parse(dialog.answer))
        }
        guard let media else { return request.response(status: 488, reason: "Not Acceptable Here", toTag: "gb") }
        let uriUser = request.requestURI.flatMap(Self.userPart)
        guard let target = uriUser.flatMap({ targets[$0] }) else {
            counters.unknownTargets += 1
            return request.response(status: 404, reason: "Not Found", toTag: "gb")
        }
        let index = Int(target.device)
        guard !silent[index] else {
            counters.unanswered += 1
            return nil
        }
        let offer: GB28181SDP
        do { offer = try GB28181SDP(bytes: request.body) } catch {
            counters.badBodies += 1
            return request.response(status: 488, reason: "Not Acceptable Here", toTag: "gb")
        }
        let channel = max(1, Int(target.channel))
        guard let prepared = media.prepare(index, channel, offer) else {
            return request.response(status: 486, reason: "Busy Here", toTag: "gb")
        }
        counters.invites += 1
        let channelID = devices[index].channels[min(channel, devices[index].channels.count) - 1].deviceID
        let transport: GB28181SDP.Transport = switch offer.transport {
        case .udp: .udp
        // The offer names the platform's role; the answer names ours (RFC 4145).
        case .tcpPassive: .tcpActive
        case .tcpActive: .tcpPassive
        }
        let sdp = GB28181SDP(
            sessionName: offer.sessionName, origin: channelID, address: prepared.address, port: prepared.port, transport: transport,
            direction: "sendonly", timeStart: offer.timeStart, timeStop: offer.timeStop, ssrc: offer.ssrc, format: prepared.format)
        var answer = request.response(status: 200, reason: "OK", toTag: "gb\(prepared.stream)", extraHeaders: [
            SIPHeader("Contact", "<sip:\(channelID)@\(client.settings.local)>"),
            SIPHeader("Content-Type", "APPLICATION/SDP"),
        ])
        answer.body = sdp.bytes
        let bytes = answer.serialized()
        let timers = client.settings.timers
        dialogs[callID] = MediaDialog(
            device: Int32(index), stream: prepared.stream, answer: bytes, destination: source, inviteBranch: branch,
            interval: timers.t1, nextResend: now + timers.t1, giveUpAt: now + 64 * timers.t1)
        dialogTimers.push(now + timers.t1, callID)
        return answer
    }

    private mutating func ack(_ request: SIPMessage) {
        guard let callID = request.callID, var dialog = dialogs[callID], !dialog.acked else { return }
        dialog.acked = true
        dialogs[callID] = dialog
        media?.begin(dialog.stream)
    }

    private mutating func bye(_ request: SIPMessage) -> SIPMessage {
        guard let callID = request.callID, let dialog = dialogs.removeValue(forKey: callID) else {
            return request.response(status: 481, reason: "Call/Transaction Does Not Exist")
        }
        counters.byes += 1
        media?.end(dialog.stream)
        return request.response(status: 200, reason: "OK")
    }

    /// Resends unACKed 2xx answers that are due; ends sessions never ACKed.
    mutating func advanceDialogs(now: UInt64) {
        while let (deadline, callID) = dialogTimers.popDue(now) {
            guard var dialog = dialogs[callID], !dialog.acked, dialog.nextResend == deadline else { continue }
            if now >= dialog.giveUpAt {
                dialogs[callID] = nil
                counters.unackedInvites += 1
                media?.end(dialog.stream)
                continue
            }
            outbox.append(SIPDatagram(bytes: dialog.answer, address: dialog.destination))
            dialog.interval = min(dialog.interval * 2, client.settings.timers.t2)
            dialog.nextResend = min(now + dialog.interval, dialog.giveUpAt)
            dialogs[callID] = dialog
            dialogTimers.push(dialog.nextResend, callID)
        }
    }

    /// Ends every media session of device `index` (power lost, or stopped).
    mutating func endDialogs(of index: Int) {
        for (callID, dialog) in dialogs where Int(dialog.device) == index {
            dialogs[callID] = nil
            media?.end(dialog.stream)
        }
    }

    /// `34020000001320000001` from `sip:34020000001320000001@3402000000`.
    static func userPart(_ uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let rest = uri[uri.index(after: colon)...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        return String(rest[..<at])
    }
}
