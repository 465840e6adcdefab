/// One non-INVITE client transaction over UDP (RFC 3261 §17.1.2), as a value: the transport
/// feeds it the time and the responses, and it says when to retransmit and when it timed out.
///
/// Trying retransmits at T1, 2·T1, 4·T1 … capped at T2 (Timer E); a provisional response moves it
/// to Proceeding, where it keeps retransmitting every T2 (the request may still be lost on a
/// later hop); a final response ends it. Timer F (64·T1) ends it unanswered. Over UDP the RFC
/// then waits Timer K (T4) in Completed to swallow copies of the final response; here the
/// transaction ends at once and such copies are counted by the owner as stray responses, which
/// saves a timer per transaction and changes nothing a user agent sees.
public struct NonInviteClientTransaction: Sendable {
    public enum State: Sendable, Equatable {
        case trying, proceeding, terminated
    }

    /// What a timer firing asks of the transport.
    public enum TimerOutcome: Sendable, Equatable {
        case nothing, retransmit, timedOut
    }

    /// What a response means to the transaction's user.
    public enum ResponseOutcome: Sendable, Equatable {
        /// A 1xx: pass it up, keep retransmitting (at T2).
        case provisional
        /// 2xx–6xx: pass it up; the transaction is over.
        case final
        /// The transaction had already ended: a copy, not news.
        case ignored
    }

    public private(set) var state: State = .trying
    /// When Timer E fires next.
    public private(set) var retransmitAt: UInt64
    /// Timer F.
    public let timeoutAt: UInt64
    public private(set) var retransmissions = 0
    private var interval: UInt64
    private let timers: SIPTimers

    /// Starts the transaction; the caller has just sent the request at `now`.
    public init(now: UInt64, timers: SIPTimers) {
        self.timers = timers
        interval = timers.t1
        retransmitAt = now + timers.t1
        timeoutAt = now + timers.timeoutF
    }

    /// The next instant ``timerFired(now:)`` has something to do; `.max` once terminated.
    public var nextDeadline: UInt64 { state == .terminated ? .max : min(retransmitAt, timeoutAt) }

    public mutating func timerFired(now: UInt64) -> TimerOutcome {
        guard state != .terminated else { return .nothing }
        if now >= timeoutAt {
            state = .terminated
            return .timedOut
        }
        guard now >= retransmitAt else { return .nothing }
        // §17.1.2.2: doubling from T1 up to T2 in Trying, T2 flat in Proceeding.
        interval = state == .proceeding ? timers.t2 : min(interval * 2, timers.t2)
        retransmitAt = now + interval
        retransmissions += 1
        return .retransmit
    }

    public mutating func received(status: Int) -> ResponseOutcome {
        guard state != .terminated else { return .ignored }
        if status < 200 {
            state = .proceeding
            return .provisional
        }
        state = .terminated
        return .final
    }
}
