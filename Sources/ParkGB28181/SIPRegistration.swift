/// One camera's registration with a GB/T 28181 platform (§9.1, RFC 3261 §10), as a value: the
/// event methods (start, stop, a response, a timeout, a timer) take `now` and return the requests
/// to send; a ``SIPRegistrarClient`` holds many and runs them over one transport.
///
/// Refresh: at half the granted expiry. Half rather than expires − margin because a refresh that
/// fails (Timer F is 32 s, then backoff) still has the other half to succeed before the platform
/// drops the camera, whatever the expiry; and with 3600 s (the usual GB/T 28181 value) one
/// REGISTER every 30 min per camera is cheap even for 50,000.
///
/// Keepalives: one MESSAGE per interval while registered; after
/// ``SIPRegistrationSettings/maxMissedKeepalives`` (3 by default) in a row go unanswered the camera
/// registers again. 3 mirrors the platform side (GB/T 28181 declares a device offline after 3
/// missed keepalives), and each miss is already a whole transaction timing out after its
/// retransmissions, so one lost datagram never costs a registration.
public struct SIPRegistration: Sendable {
    public enum State: Sendable, Equatable {
        case unregistered
        case registering
        /// Registered until the instant (monotonic ns) the granted expiry ends.
        case registered(until: UInt64)
        /// REGISTER with Expires: 0 sent on stop.
        case unregistering
        /// Refused or unanswered; registers again at `retryAt`.
        case failed(Failure, retryAt: UInt64)
    }

    /// Why a registration attempt failed.
    public enum Failure: Sendable, Equatable {
        case forbidden
        case timedOut
        /// The platform challenged again the nonce it had just been answered: a wrong password.
        case credentialsRefused
        /// A 401/407 without a challenge this client can answer.
        case badChallenge
        case rejected(status: Int)
    }

    /// Which request a transaction carries, so its outcome reaches the right handler.
    public enum Purpose: UInt8, Sendable, Equatable {
        case register, unregister, keepalive
        /// Any other MESSAGE the device sends (an alarm, a query's response): its outcome is only counted.
        case message
    }

    /// A request to send as a new client transaction.
    public struct Outgoing: Sendable {
        public var message: SIPMessage
        public var purpose: Purpose
    }

    /// What happened to this camera, counted since it was added.
    public struct Counters: Sendable, Equatable {
        public var registersSent = 0
        public var retransmissions = 0
        public var challenges = 0
        public var registered = 0
        public var forbidden = 0
        public var timeouts = 0
        public var keepalivesSent = 0
        public var keepalivesAnswered = 0
        public var keepalivesMissed = 0
        /// Registrations started again because keepalives went unanswered.
        public var reregistrations = 0
        public var messagesSent = 0
        public var messagesAnswered = 0
        /// MESSAGEs refused (a final status outside 2xx) or unanswered (Timer F).
        public var messagesFailed = 0
        /// Refreshes not sent because ``SIPRegistration/refreshRefused`` was set.
        public var refreshesRefused = 0
        public init() {}
    }

    public let deviceID: String
    let password: String
    public internal(set) var state: State = .unregistered
    public internal(set) var counters = Counters()
    let callID: String
    let fromTag: String
    var cseq: UInt32 = 0
    var challenge: DigestChallenge?
    var challengeIsProxy = false
    var nonceCount: UInt32 = 0
    /// The nonce the last REGISTER's credentials answered (nil: it carried none).
    var answeredNonce: String?
    /// A 401 to our credentials came with a fresh nonce once already in this attempt.
    var credentialsRechallenged = false
    var refreshAt: UInt64 = .max
    var keepaliveAt: UInt64 = .max
    var missedInARow = 0
    var attempt = 0
    var keepaliveSN = 0
    var stopping = false
    var messageCSeq: UInt32 = 0
    /// A fault the harness sets: the registration is not refreshed when due, so the platform
    /// sees it expire while the device still thinks itself registered.
    public var refreshRefused = false
    /// The wake-up the client has queued for this camera (avoids queueing one twice).
    var scheduledWake: UInt64 = .max

    public init(deviceID: String, password: String, callID: String, fromTag: String) {
        self.deviceID = deviceID
        self.password = password
        self.callID = callID
        self.fromTag = fromTag
    }

    /// The next instant ``timerFired(now:settings:random:)`` has work.
    public var wakeAt: UInt64 {
        if case .failed(_, let retryAt) = state { return retryAt }
        return min(refreshAt, keepaliveAt)
    }
}

extension SIPRegistration.Counters {
    /// Adds another camera's counts (a park's totals, a benchmark's).
    public mutating func add(_ other: Self) {
        registersSent += other.registersSent
        retransmissions += other.retransmissions
        challenges += other.challenges
        registered += other.registered
        forbidden += other.forbidden
        timeouts += other.timeouts
        keepalivesSent += other.keepalivesSent
        keepalivesAnswered += other.keepalivesAnswered
        keepalivesMissed += other.keepalivesMissed
        reregistrations += other.reregistrations
        messagesSent += other.messagesSent
        messagesAnswered += other.messagesAnswered
        messagesFailed += other.messagesFailed
        refreshesRefused += other.refreshesRefused
    }
}
