import ParkEventLoop

/// Many GB/T 28181 devices (cameras and NVRs) on one transport, as a platform meets them: they
/// register and keep alive through a ``SIPRegistrarClient``, and the agent answers what the
/// platform asks of them — Catalog (split by each device's `catalogSplit`, SumNum the total),
/// DeviceInfo, DeviceStatus, RecordInfo — and acts on DeviceControl, replying as §A.2.6 says;
/// with ``MediaHooks`` it also answers INVITE for live video and playback, and it takes
/// subscriptions to its Catalog, Alarm and MobilePosition events (see the extensions).
///
/// A pure value like the client: requests and time come in, datagrams go out through the
/// outbox. What only the device behind knows (its live status, whether it accepts a control, a
/// wire fault) the agent asks through ``Hooks``, on the transport's thread.
public struct GB28181DeviceAgent: SIPTransportUser {
    /// One device as the agent answers for it.
    public struct Device: Sendable {
        public var deviceID: String
        public var password: String
        public var info: DeviceInfo
        /// The channels a Catalog query lists (an IPC: one), in order.
        public var channels: [CatalogItem]
        /// What the device's MANSCDP bodies are encoded in.
        public var charset: MANSCDPCharset
        /// Catalog items per response MESSAGE.
        public var catalogSplit: Int

        public init(deviceID: String, password: String, info: DeviceInfo, channels: [CatalogItem], charset: MANSCDPCharset = .utf8, catalogSplit: Int = 1) {
            self.deviceID = deviceID
            self.password = password
            self.info = info
            self.channels = channels
            self.charset = charset
            self.catalogSplit = max(1, catalogSplit)
        }
    }

    /// What the agent asks of the devices behind it. Called on the transport's thread, under the
    /// agent's lock: each must answer at once, without waiting on that transport.
    public struct Hooks: Sendable {
        /// Device `index`'s status now.
        public var status: @Sendable (_ index: Int) -> DeviceStatusReport
        /// Device `index` (channel 1-based, 0 for the device itself) is told `control` (from the
        /// body `request`): whether it accepted, or that the owner answers later with
        /// ``GB28181DeviceAgent/answer(_:from:accepted:now:)``.
        public var control: @Sendable (_ index: Int, _ channel: Int, _ control: GB28181DeviceControl, _ request: MANSCDPMessage) -> ControlAnswer
        /// Whether device `index`'s bodies go out malformed (a wire fault the harness switched on).
        public var malformedBodies: @Sendable (_ index: Int) -> Bool
        /// Where device `index` is, for MobilePosition subscriptions (nil: it does not know, and sends none).
        public var position: @Sendable (_ index: Int) -> DevicePosition?

        public init(
            status: @escaping @Sendable (Int) -> DeviceStatusReport,
            control: @escaping @Sendable (Int, Int, GB28181DeviceControl, MANSCDPMessage) -> ControlAnswer,
            malformedBodies: @escaping @Sendable (Int) -> Bool = { _ in false },
            position: @escaping @Sendable (Int) -> DevicePosition? = { _ in nil }
        ) {
            self.status = status
            self.control = control
            self.malformedBodies = malformedBodies
            self.position = position
        }
    }

    /// How a device takes a DeviceControl.
    public enum ControlAnswer: Sendable, Equatable {
        case accepted, refused
        /// The device decides asynchronously; its owner sends the Response when it has.
        case later
    }

    /// What the agent was asked and did, across its devices.
    public struct Counters: Sendable, Equatable {
        public var queries = 0
        public var controls = 0
        public var controlsRefused = 0
        /// Requests naming no device of this agent (404).
        public var unknownTargets = 0
        /// Requests whose MANSCDP body did not parse (400).
        public var badBodies = 0
        /// Requests to a silent (powered-off) device, left unanswered.
        public var unanswered = 0
        /// INVITEs answered with a stream, BYEs that ended one, and answers never ACKed.
        public var invites = 0
        public var byes = 0
        public var unackedInvites = 0
        /// MESSAGEs that came again (same transaction) and got their first answer again, unacted on.
        public var retransmittedRequests = 0
        /// Subscriptions taken, ended (Expires 0, run out, or the device stopped), and NOTIFYs sent.
        public var subscriptions = 0
        public var subscriptionsEnded = 0
        public var notifies = 0
        public init() {}
    }

    /// Which device (and channel, 0 for the device itself) an id names.
    struct Target: Sendable {
        var device: Int32
        var channel: Int32
    }

    public internal(set) var client: SIPRegistrarClient
    public private(set) var devices: [Device] = []
    public internal(set) var counters = Counters()
    var targets: [String: Target] = [:]
    var silent: [Bool] = []
    private var sn: [Int32] = []
    let hooks: Hooks
    let media: MediaHooks?
    var dialogs: [String: MediaDialog] = [:]
    var dialogTimers = DeadlineHeap<String>()
    /// Subscriptions by Call-ID, and their expiry and MobilePosition timers.
    var subscriptions: [String: Subscription] = [:]
    var subscriptionTimers = DeadlineHeap<SubscriptionWake>()
    /// The status each MESSAGE transaction was answered with, until Timer J.
    var answeredMessages: [UInt64: UInt16] = [:]
    var answeredExpiry = DeadlineHeap<UInt64>()
    /// 2xx answers to INVITEs sent again (the transport answers the request itself).
    var outbox: [SIPDatagram] = []

    public init(client: SIPRegistrarClient, hooks: Hooks, media: MediaHooks? = nil) {
        self.client = client
        self.hooks = hooks
        self.media = media
    }

    /// Adds a device (registering from ``start(_:now:)``); returns its index, the same as its
    /// registration's in ``client``.
    @discardableResult
    public mutating func add(_ device: Device) -> Int {
        let index = client.add(deviceID: device.deviceID, password: device.password)
        precondition(index == devices.count, "the agent's client holds only the agent's devices")
        devices.append(device)
        silent.append(false)
        sn.append(0)
        targets[device.deviceID] = Target(device: Int32(index), channel: 0)
        for (number, channel) in device.channels.enumerated() where channel.deviceID != device.deviceID {
            targets[channel.deviceID] = Target(device: Int32(index), channel: Int32(number + 1))
        }
        return index
    }

    /// The device index an id (the device's or one of its channels') names.
    public func index(of id: String) -> Int? { targets[id].map { Int($0.device) } }

    public mutating func start(_ index: Int, now: UInt64) {
        silent[index] = false
        client.start(index, now: now)
    }

    /// Unregisters (when `clean`, as on a stop) or falls silent at once (power lost: no unregistration,
    /// no answers until started again).
    public mutating func stop(_ index: Int, clean: Bool, now: UInt64) {
        if clean { client.stop(index, now: now) } else {
            silent[index] = true
            client.halt(index)
        }
        endDialogs(of: index)
        endSubscriptions(of: index)
    }

    public mutating func startAll(now: UInt64) { for index in devices.indices { start(index, now: now) } }
    public mutating func stopAll(now: UInt64) { for index in devices.indices where !silent[index] { client.stop(index, now: now) } }

    /// Device `index`'s Keepalive, when its own clock says so.
    public mutating func keepalive(_ index: Int, now: UInt64) {
        guard !silent[index] else { return }
        client.keepalive(index, now: now)
    }

    public mutating func setRefreshRefused(_ index: Int, _ refused: Bool) { client.setRefreshRefused(index, refused) }

    /// The next SN for a body device `index` starts (a notification, not an answer).
    public mutating func nextSN(_ index: Int) -> Int {
        sn[index] &+= 1
        return Int(sn[index])
    }

    /// Sends `message` from device `index` to the platform, in its charset (malformed if its hook
    /// says so): an Alarm as NOTIFY to the platform's Alarm subscription when it has one (so it
    /// hears the alarm once), else as MESSAGE.
    public mutating func send(_ message: MANSCDPMessage, from index: Int, now: UInt64) {
        guard !silent[index] else { return }
        if message.kind == .notify, message.cmdType == "Alarm", hasAlarmSubscription(index) {
            notifyAlarm(message, from: index, now: now)
            return
        }
        client.message(index, body: body(of: message, device: index), now: now)
    }

    /// The Response to a DeviceControl `request` device `index` decided on (after ``ControlAnswer/later``).
    public mutating func answer(_ request: MANSCDPMessage, from index: Int, accepted: Bool, now: UInt64) {
        if !accepted { counters.controlsRefused += 1 }
        send(.deviceControlResponse(sn: request.sn, deviceID: request.deviceID, ok: accepted), from: index, now: now)
    }

    // MARK: SIPTransportUser

    public mutating func received(_ response: SIPMessage, now: UInt64) { client.received(response, now: now) }
    public mutating func advance(now: UInt64) {
        client.advance(now: now)
        advanceDialogs(now: now)
        advanceSubscriptions(now: now)
        while let (_, key) = answeredExpiry.popDue(now) { answeredMessages[key] = nil }
    }
    public var nextDeadline: UInt64 {
        min(client.nextDeadline, dialogTimers.earliest ?? .max, answeredExpiry.earliest ?? .max, subscriptionTimers.earliest ?? .max)
    }
    public mutating func takeOutbox() -> [SIPDatagram] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox + client.takeOutbox()
    }

    public mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        if let answer = receivedDialogRequest(request, from: source, now: now) { return answer }
        if request.method == "SUBSCRIBE" { return subscribe(request, from: source, now: now) }
        guard request.method == "MESSAGE" else { return SIPMessage.notImplemented(request) }
        // A retransmission (the platform's 200 came late) gets the same answer and is not acted on
        // again (RFC 3261 §17.2.2): a Catalog query answered twice, or a reboot done twice, is a bug.
        let key = Self.transactionKey(request)
        if let key, let status = answeredMessages[key] {
            counters.retransmittedRequests += 1
            return request.response(status: Int(status), reason: Self.reason(status), toTag: "gb")
        }
        let answer = message(request, now: now)
        // Unanswered (a powered-off device) is not remembered: a retransmission after power comes
        // back is a request like any other.
        if let key, let status = answer?.status {
            answeredMessages[key] = UInt16(status)
            answeredExpiry.push(now + client.settings.timers.timeoutF, key)
        }
        return answer
    }

    /// A hash of the request's transaction (Via branch, Call-ID, CSeq): 8 bytes a request for the
    /// 32 s a retransmission can come, not the request.
    static func transactionKey(_ request: SIPMessage) -> UInt64? {
        guard let branch = request.viaBranch, let callID = request.callID, let cseq = request.cseq else { return nil }
        var hasher = Hasher()
        hasher.combine(branch)
        hasher.combine(callID)
        hasher.combine(cseq.number)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    static func reason(_ status: UInt16) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        default: "Error"
        }
    }

    /// A MESSAGE seen for the first time: its answer (nil: a silent device says nothing).
    private mutating func message(_ request: SIPMessage, now: UInt64) -> SIPMessage? {
        let message: MANSCDPMessage
        do { message = try MANSCDPMessage(bytes: request.body) } catch {
            counters.badBodies += 1
            return request.response(status: 400, reason: "Bad Request", toTag: "gb")
        }
        guard let target = targets[message.deviceID] ?? request.requestURI.flatMap(Self.userPart).flatMap({ targets[$0] }) else {
            counters.unknownTargets += 1
            return request.response(status: 404, reason: "Not Found", toTag: "gb")
        }
        let index = Int(target.device)
        guard !silent[index] else {
            counters.unanswered += 1
            return nil
        }
        let ok = request.response(status: 200, reason: "OK", toTag: "gb")
        switch (message.kind, message.cmdType) {
        case (.query, "Catalog"):
            counters.queries += 1
            let device = devices[index]
            for part in MANSCDPMessage.catalogResponses(sn: message.sn, deviceID: device.deviceID, items: device.channels, perMessage: device.catalogSplit) {
                client.message(index, body: body(of: part, device: index), now: now)
            }
        case (.query, "DeviceInfo"):
            counters.queries += 1
            let answer = MANSCDPMessage.deviceInfoResponse(sn: message.sn, deviceID: devices[index].deviceID, info: devices[index].info)
            client.message(index, body: body(of: answer, device: index), now: now)
        case (.query, "DeviceStatus"):
            counters.queries += 1
            let answer = MANSCDPMessage.deviceStatusResponse(sn: message.sn, deviceID: devices[index].deviceID, report: hooks.status(index))
            client.message(index, body: body(of: answer, device: index), now: now)
        case (.query, "RecordInfo"):
            counters.queries += 1
            // No recordings are kept: an honest, empty answer.
            let answer = MANSCDPMessage(kind: .response, cmdType: "RecordInfo", sn: message.sn, deviceID: message.deviceID, fields: [
                .leaf("Name", devices[index].info.name), .leaf("SumNum", "0"),
                MANSCDPElement("RecordList", attributes: [MANSCDPAttribute("Num", "0")]),
            ])
            client.message(index, body: body(of: answer, device: index), now: now)
        case (.control, "DeviceControl"):
            let control: GB28181DeviceControl
            do { control = try message.deviceControl() } catch {
                counters.badBodies += 1
                return request.response(status: 400, reason: "Bad Request", toTag: "gb")
            }
            counters.controls += 1
            let answer = hooks.control(index, Int(target.channel), control, message)
            if answer != .later {
                if control.hasResponse { self.answer(message, from: index, accepted: answer == .accepted, now: now) }
                else if answer == .refused { counters.controlsRefused += 1 }
            }
        default:
            // A platform's Response to our notification, or a query no simulated device answers:
            // acknowledged, nothing more, as devices do.
            break
        }
        return ok
    }

    // MARK: Helpers

    func body(of message: MANSCDPMessage, device index: Int) -> [UInt8] {
        let charset = devices[index].charset
        // A name GB2312 lacks goes out in UTF-8, declared so, rather than mislabelled.
        var bytes = (try? message.encoded(charset: charset)) ?? (try? message.encoded(charset: .utf8)) ?? []
        if hooks.malformedBodies(index) {
            // Cut inside the last closing tag: not well-formed, the way a truncating firmware fails.
            bytes.removeLast(min(bytes.count / 2, 8))
        }
        return bytes
    }
}

extension GB28181DeviceAgent.Counters {
    /// Adds another agent's counts (a park's agents, one per socket).
    public mutating func add(_ other: Self) {
        queries += other.queries
        controls += other.controls
        controlsRefused += other.controlsRefused
        unknownTargets += other.unknownTargets
        badBodies += other.badBodies
        unanswered += other.unanswered
        invites += other.invites
        byes += other.byes
        unackedInvites += other.unackedInvites
        retransmittedRequests += other.retransmittedRequests
        subscriptions += other.subscriptions
        subscriptionsEnded += other.subscriptionsEnded
        notifies += other.notifies
    }
}
