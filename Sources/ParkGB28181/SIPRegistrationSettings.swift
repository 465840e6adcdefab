import ParkEventLoop

/// What every camera of one ``SIPRegistrarClient`` shares: the platform it registers to, the
/// address it registers from, and its timing. Kept once, not per camera, so an idle registered
/// camera costs only its own ids and state.
public struct SIPRegistrationSettings: Sendable {
    /// Where REGISTER and MESSAGE go.
    public var server: SIPAddress
    /// The platform's 20-digit SIP id (the Request-URI's user part).
    public var serverID: String
    /// The SIP domain (GB/T 28181: the first 10 digits of the ids, e.g. `3402000000`).
    public var domain: String
    /// The transport's own address: Via sent-by and Contact.
    public var local: SIPAddress
    /// The Expires a REGISTER asks for, in seconds.
    public var expires: Int
    /// Keepalive MESSAGE period while registered.
    public var keepaliveInterval: UInt64
    /// Whether the registration's own timer sends keepalives every `keepaliveInterval`. Off, the
    /// owner calls ``SIPRegistrarClient/keepalive(_:now:)`` when its device's clock says so, so a
    /// simulated camera's ledger and its wire agree on every keepalive.
    public var keepalivesFromTimer = true
    /// Keepalives in a row without a 200 after which the camera registers again (see
    /// ``SIPRegistration``).
    public var maxMissedKeepalives: Int
    public var backoff: SIPBackoff
    public var timers: SIPTimers
    public var userAgent: String

    public init(
        server: SIPAddress, serverID: String, domain: String, local: SIPAddress, expires: Int = 3600,
        keepaliveInterval: Duration = .seconds(60), maxMissedKeepalives: Int = 3, backoff: SIPBackoff = SIPBackoff(),
        timers: SIPTimers = .rfc3261, userAgent: String = "ParkBench GB28181"
    ) {
        self.server = server
        self.serverID = serverID
        self.domain = domain
        self.local = local
        self.expires = expires
        self.keepaliveInterval = keepaliveInterval.nanoseconds
        self.maxMissedKeepalives = maxMissedKeepalives
        self.backoff = backoff
        self.timers = timers
        self.userAgent = userAgent
    }

    /// `sip:<serverID>@<domain>`: the Request-URI of REGISTER and MESSAGE.
    public var serverURI: String { "sip:\(serverID)@\(domain)" }
}
