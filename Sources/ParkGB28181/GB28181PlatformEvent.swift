/// What a ``GB28181PlatformServer`` observed about its devices, in the order it happened.
public enum GB28181PlatformEvent: Sendable, Equatable {
    /// A device registered from `address` for `expires` seconds (refreshes included).
    case registered(deviceID: String, address: SIPAddress, expires: Int)
    /// Expires: 0, or the registration ran out unrefreshed (`expired`).
    case unregistered(deviceID: String, expired: Bool)
    /// A REGISTER was refused (403).
    case refused(deviceID: String, reason: GB28181Refusal)
    /// A device came (back) online: its registration, or a message after it was offline.
    case online(deviceID: String)
    /// A registered device's Keepalive notify (GB/T 28181 §9.6).
    case keepalive(deviceID: String)
    /// Nothing from a registered device for the offline timeout; `lastSeen` is when it last spoke.
    case offline(deviceID: String, lastSeen: UInt64)
    /// A Catalog response assembled by device and SN: `complete` when the items collected equal
    /// SumNum, otherwise what had arrived when the response stopped (the catalog timeout).
    case catalog(deviceID: String, sn: Int, items: [CatalogItem], sumNum: Int, complete: Bool)
    /// An Alarm notify from the device registered as `deviceID`; `channelID` is the body's DeviceID.
    case alarm(deviceID: String, channelID: String, alarm: AlarmNotification)
    case deviceInfo(deviceID: String, info: DeviceInfo)
    /// A DeviceStatus response's Online and Status fields, as sent.
    case deviceStatus(deviceID: String, online: String?, status: String?)
    /// A DeviceControl response (GuardCmd, AlarmCmd): its SN and Result.
    case controlAcknowledged(deviceID: String, sn: Int, result: String?)
    /// A request the platform sent ended without a 2xx: `status` nil when it timed out.
    case requestFailed(deviceID: String, cmdType: String, sn: Int, status: Int?)
    /// A device answered the platform's INVITE with `answer` (its RTP address, port and SSRC); the
    /// platform has ACKed it.
    case mediaAnswered(deviceID: String, channelID: String, callID: String, answer: GB28181SDP)
    /// An INVITE the platform sent was refused, unanswered, or answered with an SDP it cannot use.
    case mediaFailed(deviceID: String, channelID: String, callID: String, reason: String)
    /// A device took the platform's SUBSCRIBE to `cmdType` (Catalog, Alarm, MobilePosition).
    case subscribed(deviceID: String, cmdType: String, callID: String, expires: Int)
    /// A subscription the device ended (its NOTIFY said `terminated`, with the reason).
    case subscriptionEnded(deviceID: String, cmdType: String, reason: String)
    /// A Catalog NOTIFY: the items it carries and the change each reports.
    case catalogChanged(deviceID: String, changes: [GB28181PlatformServer.CatalogChange])
    /// A MobilePosition NOTIFY.
    case position(deviceID: String, DevicePosition)
    /// A device's message that could not be used, and why.
    case problem(deviceID: String, reason: String)
}

/// Why a REGISTER was refused.
public enum GB28181Refusal: Sendable, Equatable, CustomStringConvertible {
    /// No password is configured for the id.
    case unknownDevice
    case wrongPassword
    /// The Authorization could not be read, named another user, realm or URI.
    case badCredentials(String)

    public var description: String {
        switch self {
        case .unknownDevice: "unknown device"
        case .wrongPassword: "wrong password"
        case .badCredentials(let reason): "bad credentials: \(reason)"
        }
    }
}

/// One event and the instant (monotonic ns) the platform observed it.
public struct GB28181PlatformEventRecord: Sendable, Equatable {
    public var at: UInt64
    public var event: GB28181PlatformEvent

    public init(at: UInt64, event: GB28181PlatformEvent) {
        self.at = at
        self.event = event
    }
}

/// A registered device as the platform sees it.
public struct GB28181PlatformDevice: Sendable, Equatable {
    public let deviceID: String
    /// Where its requests come from, and so where the platform's go.
    public internal(set) var address: SIPAddress
    public internal(set) var contact: String?
    public internal(set) var expiresAt: UInt64
    /// The last time it spoke (REGISTER or MESSAGE).
    public internal(set) var lastSeen: UInt64
    public internal(set) var online: Bool
    /// The wake-up the server has queued for this device (avoids queueing one twice).
    var scheduledWake: UInt64 = .max
}

/// What a ``GB28181PlatformServer`` counted since it started.
public struct GB28181PlatformCounters: Sendable, Equatable {
    public var registersReceived = 0
    public var challenges = 0
    public var refusals = 0
    public var registrations = 0
    public var unregistrations = 0
    public var keepalives = 0
    public var alarms = 0
    public var alarmsDropped = 0
    public var catalogMessages = 0
    /// Catalog MESSAGEs thrown away by the `catalogTruncated` fault.
    public var catalogMessagesDiscarded = 0
    /// Requests answered again from the cache (a device's retransmission).
    public var retransmittedRequests = 0
    /// MESSAGEs from devices that are not registered (answered 403).
    public var unregisteredMessages = 0
    public var problems = 0
    public var invitesSent = 0
    public var byesSent = 0
    /// ACKs sent again for a device's retransmitted 2xx.
    public var acksResent = 0
    public var subscribesSent = 0
    /// NOTIFYs in a subscription, and NOTIFYs for none (answered 481).
    public var notifies = 0
    public var strayNotifies = 0
    /// The first ``GB28181PlatformServer/keptProblems`` problems, for a report.
    public var problemReasons: [String] = []
    public init() {}
}
