import ParkEventLoop

/// Who a ``GB28181PlatformServer`` is and how it judges its devices: its SIP id and domain (the
/// digest realm too), the address it sends from, and its timing.
public struct GB28181PlatformSettings: Sendable {
    /// The platform's 20-digit SIP id (From of the requests it sends).
    public var platformID: String
    /// The SIP domain and digest realm (GB/T 28181: the first 10 digits of the ids, e.g. `3402000000`).
    public var domain: String
    /// The transport's own address: Via sent-by of the requests it sends.
    public var local: SIPAddress
    /// The keepalive period devices are expected to keep (GB/T 28181 default 60 s).
    public var keepaliveInterval: UInt64
    /// Silence after which a registered device is declared offline (default 3 × the interval:
    /// GB/T 28181 §9.6 declares a device offline after 3 missed keepalives).
    public var offlineTimeout: UInt64
    /// The longest registration granted, in seconds; a REGISTER asking more gets this.
    public var maxExpires: Int
    /// How long a split Catalog response may pause between messages before what arrived is
    /// reported as a partial catalog.
    public var catalogTimeout: UInt64
    /// Whether the challenge offers `qop=auth` (GB/T 28181 platforms differ).
    public var qopAuth: Bool
    public var timers: SIPTimers
    public var userAgent: String

    public init(
        platformID: String, domain: String, local: SIPAddress, keepaliveInterval: Duration = .seconds(60),
        offlineTimeout: Duration? = nil, maxExpires: Int = 86_400, catalogTimeout: Duration = .seconds(10), qopAuth: Bool = false,
        timers: SIPTimers = .rfc3261, userAgent: String = "ParkBench GB28181 platform"
    ) {
        self.platformID = platformID
        self.domain = domain
        self.local = local
        self.keepaliveInterval = keepaliveInterval.nanoseconds
        self.offlineTimeout = offlineTimeout?.nanoseconds ?? 3 * keepaliveInterval.nanoseconds
        self.maxExpires = maxExpires
        self.catalogTimeout = catalogTimeout.nanoseconds
        self.qopAuth = qopAuth
        self.timers = timers
        self.userAgent = userAgent
    }
}

/// Ways a ``GB28181PlatformServer`` can be told to misbehave, so every camera check the harness
/// makes is proven able to fail. Settable at any time.
public struct GB28181PlatformFaults: Sendable, Equatable {
    /// Alarm events are held back this long (ns) before they are reported.
    public var alarmDelay: UInt64 = 0
    /// Alarms are answered 200 but never reported.
    public var dropAlarms = false
    /// Only the first MESSAGE of a split Catalog response is kept; the catalog never completes.
    public var catalogTruncated = false
    /// Keepalives are answered but not timed: a camera that stops is never declared offline.
    public var keepalivesIgnored = false
    /// A REGISTER whose digest does not match the device's password is taken anyway: any password
    /// works (the device must still be known, and the digest well-formed).
    public var passwordsUnchecked = false

    public init(alarmDelay: Duration = .zero, dropAlarms: Bool = false, catalogTruncated: Bool = false, keepalivesIgnored: Bool = false,
                passwordsUnchecked: Bool = false) {
        self.passwordsUnchecked = passwordsUnchecked
        self.alarmDelay = alarmDelay.nanoseconds
        self.dropAlarms = dropAlarms
        self.catalogTruncated = catalogTruncated
        self.keepalivesIgnored = keepalivesIgnored
    }
}
