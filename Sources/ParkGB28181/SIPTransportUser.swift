/// What runs on a ``SIPUDPTransport``: it is handed the responses and the time, and hands back
/// the datagrams to send. ``SIPRegistrarClient`` is one; a platform role would be another.
public protocol SIPTransportUser: Sendable {
    /// A response that arrived (the user matches it to its client transaction).
    mutating func received(_ response: SIPMessage, now: UInt64)
    /// Runs whatever timers are due at `now`.
    mutating func advance(now: UInt64)
    /// The earliest instant `advance` has work (`.max`: none).
    var nextDeadline: UInt64 { get }
    mutating func takeOutbox() -> [SIPDatagram]
}

extension SIPRegistrarClient: SIPTransportUser {}
