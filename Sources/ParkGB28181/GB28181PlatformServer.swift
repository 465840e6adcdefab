import ParkEventLoop

/// A GB/T 28181 platform's SIP server as a value (issue 14, the platform role): digest
/// registration with one password per device, a Catalog query after each registration, keepalive
/// tracking with offline detection, alarms, and the platform's own queries and controls.
///
/// No thread, no socket: `now` (monotonic ns) comes in, datagrams go out through the outbox and
/// what happened through ``takeEvents()``, so ``SIPUDPTransport`` runs it on its event thread and
/// a unit test on a fake clock. One ``DeadlineHeap`` times devices (offline, expiry), split
/// catalogs, delayed alarms and the answers kept for retransmitted requests.
public struct GB28181PlatformServer: Sendable {
    /// Who a client transaction belongs to: the device and what the request asked.
    public struct Owner: Sendable, Equatable {
        public var deviceID: String
        public var cmdType: String
        public var sn: Int
        /// The media session an INVITE or BYE belongs to.
        public var callID: String? = nil
    }

    /// Why the server wakes up.
    enum Wake: Sendable {
        case device(String)
        case catalog(CatalogKey)
        case alarm(Int)
        case answered(RequestKey)
    }

    /// A request as its retransmissions repeat it. Branch and method alone would do for RFC 3261
    /// peers; Call-ID and CSeq too, because some cameras reuse one branch for every request and
    /// their next keepalive must not be taken for a copy of the last.
    struct RequestKey: Sendable, Hashable {
        var branch: String
        var method: String
        var callID: String
        var cseq: UInt32

        init?(_ request: SIPMessage) {
            guard let branch = request.viaBranch, let method = request.method, let callID = request.callID, let cseq = request.cseq
            else { return nil }
            self.branch = branch
            self.method = method
            self.callID = callID
            self.cseq = cseq.number
        }
    }

    /// A Catalog response being assembled: one device's answer to one query.
    struct CatalogKey: Sendable, Hashable {
        var deviceID: String
        var sn: Int
    }

    struct CatalogAssembly: Sendable {
        var sumNum: Int
        var items: [CatalogItem] = []
        var messages = 0
        var deadline: UInt64
    }

    public static var keptProblems: Int { 8 }
    /// A catalog bigger than this is refused as bad input rather than assembled.
    public static var maxCatalogItems: Int { 100_000 }

    public let settings: GB28181PlatformSettings
    /// Fault switches; changing them reschedules every device's offline check.
    public var faults = GB28181PlatformFaults() {
        didSet { for id in devices.keys { schedule(id) } }
    }
    public internal(set) var devices: [String: GB28181PlatformDevice] = [:]
    public internal(set) var counters = GB28181PlatformCounters()
    public internal(set) var transactions: SIPClientTransactions<Owner>
    /// Datagrams to send, oldest first; the transport (or a test) takes them.
    public internal(set) var outbox: [SIPDatagram] = []
    private var events: [GB28181PlatformEventRecord] = []
    private let password: @Sendable (String) -> String?
    private let verifier: DigestVerifier
    var random: SIPRandom
    var wakeups = DeadlineHeap<Wake>()
    var catalogs: [CatalogKey: CatalogAssembly] = [:]
    var delayedAlarms: [Int: GB28181PlatformEvent] = [:]
    var nextAlarm = 0
    /// Final answers to recent requests, so a retransmission gets the same answer and is not
    /// acted on twice (RFC 3261 §17.2.2, Timer J = 64·T1).
    var answered: [RequestKey: SIPMessage] = [:]
    var nextSN = 1
    /// Media sessions by Call-ID, from INVITE until BYE.
    public internal(set) var mediaSessions: [String: MediaSession] = [:]
    /// Subscriptions to devices' events by Call-ID, from SUBSCRIBE until they end.
    public internal(set) var subscriptions: [String: Subscription] = [:]
    var nextStream = 0
    var cseq: UInt32 = 0

    /// `password` gives each device's password by id (nil: an unknown device, refused 403);
    /// `seed` makes nonces, tags and branches repeat run for run.
    public init(settings: GB28181PlatformSettings, seed: UInt64, password: @escaping @Sendable (String) -> String?) {
        self.settings = settings
        self.password = password
        var random = SIPRandom(seed: seed)
        let secret = (0..<4).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
        verifier = DigestVerifier(realm: settings.domain, secret: secret)
        self.random = random
        transactions = SIPClientTransactions(timers: settings.timers)
    }

    /// What happened since the last call, oldest first.
    public mutating func takeEvents() -> [GB28181PlatformEventRecord] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    public mutating func takeOutbox() -> [SIPDatagram] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    public var nextDeadline: UInt64 { min(transactions.nextDeadline, wakeups.earliest ?? .max) }

    // MARK: Requests

    /// Answers a device's request; follow-up requests (a Catalog query) go into the outbox.
    public mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        let key = RequestKey(request)
        if let key, let previous = answered[key] {
            counters.retransmittedRequests += 1
            return previous
        }
        let answer: SIPMessage?
        switch request.method {
        case "REGISTER": answer = register(request, from: source, now: now)
        case "MESSAGE": answer = message(request, from: source, now: now)
        case "NOTIFY": answer = notify(request, now: now)
        default: answer = SIPMessage.notImplemented(request)
        }
        if let key, let answer {
            answered[key] = answer
            wakeups.push(now + settings.timers.timeoutF, .answered(key))
        }
        return answer
    }

    private mutating func register(_ request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage {
        counters.registersReceived += 1
        guard let deviceID = request.headers["To"].flatMap(Self.user) ?? request.headers["From"].flatMap(Self.user) else {
            return problem(request, deviceID: "?", reason: "REGISTER has no sip: user in To or From", now: now)
        }
        guard let password = password(deviceID) else { return refuse(request, deviceID: deviceID, .unknownDevice, now: now) }
        guard let authorization = request.headers["Authorization"] else { return challenge(request, now: now, stale: false) }
        let credentials: DigestCredentials
        do {
            credentials = try DigestCredentials(headerValue: authorization)
        } catch {
            return refuse(request, deviceID: deviceID, .badCredentials(error.description), now: now)
        }
        guard credentials.username == deviceID else {
            return refuse(request, deviceID: deviceID, .badCredentials("username \(credentials.username.prefix(30).debugDescription) is not the device id"), now: now)
        }
        let seconds = now / 1_000_000_000
        switch verifier.verify(credentials, method: "REGISTER", requestURI: request.requestURI, password: password, now: seconds) {
        case .valid: break
        case .staleNonce: return challenge(request, now: now, stale: true)
        case .unknownNonce: return challenge(request, now: now, stale: false)
        case .wrongResponse where faults.passwordsUnchecked: break
        case .wrongResponse: return refuse(request, deviceID: deviceID, .wrongPassword, now: now)
        case .wrongRealm: return refuse(request, deviceID: deviceID, .badCredentials("realm \(credentials.realm.prefix(30).debugDescription) is not \(settings.domain)"), now: now)
        case .uriMismatch: return refuse(request, deviceID: deviceID, .badCredentials("uri is not the Request-URI"), now: now)
        }
        let expires = min(request.expires ?? 3600, settings.maxExpires)
        var ok = request.response(status: 200, reason: "OK", toTag: SIPIdentifiers.tag(using: &random))
        if expires == 0 {
            if devices.removeValue(forKey: deviceID) != nil {
                counters.unregistrations += 1
                record(.unregistered(deviceID: deviceID, expired: false), now)
            }
            ok.headers.add("Expires", "0")
            return ok
        }
        ok.headers.add("Expires", String(expires))
        if let contact = request.contact { ok.headers.add("Contact", contact) }
        counters.registrations += 1
        let wasOnline = devices[deviceID]?.online ?? false
        var device = devices[deviceID] ?? GB28181PlatformDevice(
            deviceID: deviceID, address: source, contact: nil, expiresAt: 0, lastSeen: now, online: false)
        device.address = source
        device.contact = request.contact
        device.expiresAt = now + UInt64(expires) * 1_000_000_000
        device.lastSeen = now
        device.online = true
        devices[deviceID] = device
        record(.registered(deviceID: deviceID, address: source, expires: expires), now)
        if !wasOnline { record(.online(deviceID: deviceID), now) }
        schedule(deviceID)
        // Every registration is followed by a Catalog query (GB/T 28181 §9.5), refreshes included:
        // a device that restarted keeps its Call-ID and looks like a refresh, and an NVR's channels
        // change without it ever registering afresh. One query per device per half-expiry is cheap.
        sendQuery(deviceID: deviceID, cmdType: "Catalog", now: now)
        return ok
    }

    private mutating func challenge(_ request: SIPMessage, now: UInt64, stale: Bool) -> SIPMessage {
        counters.challenges += 1
        let challenge = verifier.challenge(now: now / 1_000_000_000, qopAuth: settings.qopAuth, stale: stale)
        return request.response(
            status: 401, reason: "Unauthorized", toTag: SIPIdentifiers.tag(using: &random),
            extraHeaders: [SIPHeader("WWW-Authenticate", challenge.headerValue)])
    }

    private mutating func refuse(_ request: SIPMessage, deviceID: String, _ reason: GB28181Refusal, now: UInt64) -> SIPMessage {
        counters.refusals += 1
        record(.refused(deviceID: deviceID, reason: reason), now)
        return request.response(status: 403, reason: "Forbidden", toTag: SIPIdentifiers.tag(using: &random))
    }

    /// Counts and keeps a problem with a device's request and answers it 400.
    mutating func problem(_ request: SIPMessage, deviceID: String, reason: String, now: UInt64) -> SIPMessage {
        counters.problems += 1
        if counters.problemReasons.count < Self.keptProblems { counters.problemReasons.append("\(deviceID.prefix(32)): \(reason)") }
        record(.problem(deviceID: deviceID, reason: reason), now)
        return request.response(status: 400, reason: "Bad Request", toTag: SIPIdentifiers.tag(using: &random))
    }

    mutating func record(_ event: GB28181PlatformEvent, _ now: UInt64) {
        events.append(GB28181PlatformEventRecord(at: now, event: event))
    }

    /// The user part of the first `sip:` URI in a From/To/Contact value.
    static func user(_ header: String) -> String? {
        guard let start = header.range(of: "sip:") else { return nil }
        let user = header[start.upperBound...].prefix { $0 != "@" && $0 != ">" && $0 != ";" && $0 != ":" }
        return user.isEmpty ? nil : String(user)
    }

    // MARK: Timers

    /// Runs every timer due at `now`: transactions' retransmissions and timeouts, devices' offline
    /// and expiry checks, split catalogs that stopped, delayed alarms.
    public mutating func advance(now: UInt64) {
        var outcomes: [SIPClientTransactions<Owner>.Outcome] = []
        transactions.advance(now: now, send: { outbox.append($0) }, outcome: { outcomes.append($0) })
        for outcome in outcomes { handle(outcome, now: now) }
        while let (deadline, wake) = wakeups.popDue(now) {
            switch wake {
            case .device(let id):
                guard devices[id]?.scheduledWake == deadline else { continue }
                devices[id]?.scheduledWake = .max
                check(id, now: now)
            case .catalog(let key):
                guard let assembly = catalogs[key], assembly.deadline == deadline else { continue }
                catalogs[key] = nil
                record(.catalog(deviceID: key.deviceID, sn: key.sn, items: assembly.items, sumNum: assembly.sumNum, complete: false), now)
            case .alarm(let index):
                if let event = delayedAlarms.removeValue(forKey: index) { record(event, now) }
            case .answered(let key):
                answered[key] = nil
            }
        }
    }

    /// A response to one of the platform's requests.
    public mutating func received(_ response: SIPMessage, now: UInt64) {
        guard let outcome = transactions.received(response) else {
            // A device resends its 2xx to an INVITE until an ACK reaches it: ACK each copy.
            if let cseq = response.cseq, cseq.method == "INVITE", let status = response.status, (200..<300).contains(status),
               let callID = response.callID {
                acknowledge(response, callID: callID, now: now)
            }
            return
        }
        handle(outcome, now: now)
    }

    private mutating func handle(_ outcome: SIPClientTransactions<Owner>.Outcome, now: UInt64) {
        switch outcome {
        case .response(let owner, let response, let final) where owner.cmdType == "INVITE":
            if final { inviteEnded(owner, response, now: now) }
        case .timedOut(let owner, _) where owner.cmdType == "INVITE":
            inviteEnded(owner, nil, now: now)
        case .response(let owner, let response, let final) where owner.cmdType == "SUBSCRIBE":
            if final { subscribeEnded(owner, response, now: now) }
        case .timedOut(let owner, _) where owner.cmdType == "SUBSCRIBE":
            subscribeEnded(owner, nil, now: now)
        case .response(let owner, let response, let final):
            guard final, let status = response.status, !(200..<300).contains(status) else { return }
            record(.requestFailed(deviceID: owner.deviceID, cmdType: owner.cmdType, sn: owner.sn, status: status), now)
        case .timedOut(let owner, _):
            record(.requestFailed(deviceID: owner.deviceID, cmdType: owner.cmdType, sn: owner.sn, status: nil), now)
        case .retransmitted:
            break
        }
    }

    /// Offline after the timeout without a word (unless keepalives are ignored); forgotten when
    /// the registration runs out.
    private mutating func check(_ id: String, now: UInt64) {
        guard let device = devices[id] else { return }
        if now >= device.expiresAt {
            devices[id] = nil
            counters.unregistrations += 1
            record(.unregistered(deviceID: id, expired: true), now)
            return
        }
        if device.online, !faults.keepalivesIgnored, now >= device.lastSeen + settings.offlineTimeout {
            devices[id]?.online = false
            record(.offline(deviceID: id, lastSeen: device.lastSeen), now)
        }
        schedule(id)
    }

    /// Queues the device's next check when it is earlier than the one queued.
    mutating func schedule(_ id: String) {
        guard let device = devices[id] else { return }
        var wake = device.expiresAt
        if device.online, !faults.keepalivesIgnored { wake = min(wake, device.lastSeen + settings.offlineTimeout) }
        guard wake < device.scheduledWake else { return }
        devices[id]?.scheduledWake = wake
        wakeups.push(wake, .device(id))
    }
}

extension GB28181PlatformServer: SIPTransportUser {}
