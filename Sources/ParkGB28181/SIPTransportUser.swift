/// What runs on a ``SIPUDPTransport``: it is handed the messages that arrive and the time, and
/// hands back the datagrams to send. ``SIPRegistrarClient`` (cameras) is one, a platform's
/// registrar another.
///
/// Requests are answered under the same lock as everything else the user does, so an answer can
/// queue follow-up requests (a Catalog query's 200 OK, then the Catalog responses) in order.
public protocol SIPTransportUser: Sendable {
    /// A response that arrived (the user matches it to its client transaction).
    mutating func received(_ response: SIPMessage, now: UInt64)
    /// A request that arrived from `source`: the response to send back to it (nil: none, as for
    /// ACK). Follow-up requests go into the outbox.
    mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage?
    /// Runs whatever timers are due at `now`.
    mutating func advance(now: UInt64)
    /// The earliest instant `advance` has work (`.max`: none).
    var nextDeadline: UInt64 { get }
    mutating func takeOutbox() -> [SIPDatagram]
}

extension SIPTransportUser {
    /// A user without a server role refuses every request but ACK with 501.
    public mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        SIPMessage.notImplemented(request)
    }
}

extension SIPMessage {
    /// 501 Not Implemented for a request this side does not serve; nil for ACK, which is never answered.
    public static func notImplemented(_ request: SIPMessage) -> SIPMessage? {
        request.method == "ACK" ? nil : request.response(status: 501, reason: "Not Implemented")
    }
}

extension SIPRegistrarClient: SIPTransportUser {}
