import DequeModule

/// The charge point's side of one OCPP 1.6J connection, as a value on an injected clock: boot
/// (Pending and Rejected retried after the interval the CSMS gave), heartbeats at the interval
/// the CSMS set, one CALL in flight at a time (OCPP-J 1.6 §4.1.1) with a timeout, and the
/// configuration keys a CSMS reads and changes.
///
/// It is also the offline queue OCPP asks for (1.6 §4.7): transaction messages — StartTransaction,
/// MeterValues and StopTransaction of a session — wait while the connection is down and go out in
/// order after it returns, each with the transactionId the CSMS gave the session's
/// StartTransaction (known only once that is answered, so the id is filled in when the message
/// is sent, not when it is queued). A transaction message the CSMS answers with a CALLERROR, or
/// not at all, is tried again (`TransactionMessageAttempts`); other calls are not. Status
/// notifications are not history: while offline only each connector's latest is kept.
///
/// Nothing here does I/O. The transport hands it frames and connection changes and sends what
/// ``poll(now:)`` returns; a device's behaviour arrives through ``enqueue(_:_:kind:context:now:)``
/// and the CSMS's calls leave as ``Event/call(id:action:payload:)`` for the device to answer.
public struct OCPPChargePointSession: Sendable {
    /// What a charge point says about itself and how patient it is.
    public struct Settings: Sendable {
        public var vendor: String
        public var model: String
        public var serialNumber: String?
        public var firmwareVersion: String?
        /// Seconds between heartbeats until the CSMS sets an interval.
        public var heartbeatInterval: Int
        /// Seconds a CALL waits for its answer.
        public var callTimeout: Int
        /// Tries per transaction message before it is given up (`TransactionMessageAttempts`).
        public var transactionMessageAttempts: Int
        /// Seconds before the n-th retry, times n (`TransactionMessageRetryInterval`).
        public var transactionMessageRetryInterval: Int
        /// The most messages the offline queue holds; past it the oldest MeterValues go first.
        public var queueLimit: Int
        /// Configuration keys beyond the core ones the session keeps itself (name → value).
        public var configuration: [String: String]

        public init(vendor: String, model: String, serialNumber: String? = nil, firmwareVersion: String? = nil,
                    heartbeatInterval: Int = 300, callTimeout: Int = 30, transactionMessageAttempts: Int = 3,
                    transactionMessageRetryInterval: Int = 10, queueLimit: Int = 10_000, configuration: [String: String] = [:]) {
            self.vendor = vendor
            self.model = model
            self.serialNumber = serialNumber
            self.firmwareVersion = firmwareVersion
            self.heartbeatInterval = heartbeatInterval
            self.callTimeout = callTimeout
            self.transactionMessageAttempts = transactionMessageAttempts
            self.transactionMessageRetryInterval = transactionMessageRetryInterval
            self.queueLimit = queueLimit
            self.configuration = configuration
        }
    }

    /// Where the boot stands: only an accepted charge point sends anything but BootNotification.
    public enum BootState: Sendable, Hashable {
        case notSent
        case awaitingAnswer
        /// Pending or Rejected: BootNotification again at the time given.
        case retry(at: UInt64, status: String)
        case accepted
    }

    /// What a queued message is, which decides how it survives a lost connection.
    public enum MessageKind: Sendable, Hashable {
        /// StartTransaction of the device's session `session`.
        case startTransaction(session: Int)
        /// MeterValues or StopTransaction of session `session`; `transactionId` is filled in.
        case transaction(session: Int)
        /// A StatusNotification of `connector`: while offline only the latest is kept.
        case status(connector: Int)
        /// Anything else (Authorize, DataTransfer, MeterValues outside a session): held while the
        /// connection is down like the rest, but not sent again if the connection drops while it is
        /// in flight (it fails with an event instead).
        case other
    }

    /// What the device and its binding need to hear from the session.
    public enum Event: Sendable, Hashable {
        /// The CSMS calls the charge point; answer with ``answer(_:payload:)`` or ``answerError(_:code:description:)``.
        case call(id: String, action: String, payload: JSONValue)
        /// The CSMS accepted the boot; heartbeats now every `interval` seconds.
        case bootAccepted(interval: Int)
        /// A call of ours was answered; `context` is what was given when it was queued.
        case answered(action: String, payload: JSONValue, context: JSONValue)
        /// StartTransaction of `session` answered: its transactionId and the idTag's status.
        case transactionStarted(session: Int, transactionId: Int64, idTagStatus: String)
        /// The CSMS changed a configuration key (already answered); the device may care (a sample interval).
        case configurationChanged(key: String, value: String)
        /// A call of ours failed for good (CALLERROR, timeout after the last attempt, queue overflow).
        case failed(action: String, reason: String, context: JSONValue)
    }

    /// Figures for a report.
    public struct Counters: Sendable, Hashable {
        public var callsSent = 0
        public var resultsReceived = 0
        public var errorsReceived = 0
        public var timeouts = 0
        public var retries = 0
        public var callsReceived = 0
        public var heartbeats = 0
        public var boots = 0
        /// Transaction messages given up after their last attempt or pushed out of a full queue.
        public var transactionMessagesLost = 0
        /// Frames that were not OCPP-J, or answers to no call of ours.
        public var badFrames = 0
        public var strayAnswers = 0
        public init() {}

        public mutating func add(_ other: Counters) {
            callsSent += other.callsSent; resultsReceived += other.resultsReceived; errorsReceived += other.errorsReceived
            timeouts += other.timeouts; retries += other.retries; callsReceived += other.callsReceived; heartbeats += other.heartbeats
            boots += other.boots; transactionMessagesLost += other.transactionMessagesLost; badFrames += other.badFrames; strayAnswers += other.strayAnswers
        }
    }

    struct Outgoing: Sendable {
        var action: String
        var payload: JSONValue
        var kind: MessageKind
        var context: JSONValue
        var attempts = 0
        var notBefore: UInt64 = 0
    }

    struct InFlight: Sendable {
        var id: String
        var message: Outgoing
        var deadline: UInt64
    }

    public let settings: Settings
    public private(set) var boot: BootState = .notSent
    public private(set) var isConnected = false
    public private(set) var counters = Counters()
    /// Seconds between heartbeats: the settings' until the CSMS sets one.
    public private(set) var heartbeatInterval: Int
    /// The configuration keys and their values (GetConfiguration answers from here).
    public private(set) var configuration: [String: String]
    /// transactionId by the device's session number, as the CSMS gave them.
    public private(set) var transactionIDs: [Int: Int64] = [:]

    private var queue = Deque<Outgoing>()
    private var inFlight: InFlight?
    private var immediate: [OCPPFrame] = []
    private var events: [Event] = []
    private var nextHeartbeat: UInt64 = .max
    private var nextID: UInt64 = 1

    static let second: UInt64 = 1_000_000_000
    static let readOnlyKeys: Set<String> = ["NumberOfConnectors", "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel", "GetConfigurationMaxKeys"]

    public init(settings: Settings) {
        self.settings = settings
        heartbeatInterval = settings.heartbeatInterval
        var keys = settings.configuration
        keys["HeartbeatInterval"] = String(settings.heartbeatInterval)
        keys["TransactionMessageAttempts"] = String(settings.transactionMessageAttempts)
        keys["TransactionMessageRetryInterval"] = String(settings.transactionMessageRetryInterval)
        for (key, value) in ["SupportedFeatureProfiles": "Core,RemoteTrigger,SmartCharging", "GetConfigurationMaxKeys": "50"] where keys[key] == nil {
            keys[key] = value
        }
        configuration = keys
    }

    /// Messages waiting (not counting one in flight).
    public var queuedCount: Int { queue.count }

    // MARK: Connection

    /// The WebSocket is open: boot if not yet accepted, else carry on with the queue.
    public mutating func connectionOpened(now: UInt64) {
        isConnected = true
        if case .accepted = boot {
            nextHeartbeat = now + UInt64(heartbeatInterval) * Self.second
        } else if case .retry(let at, _) = boot, at > now {
            return
        } else {
            boot = .notSent
        }
    }

    /// The WebSocket is gone: a call in flight goes back to the front of the queue (a
    /// transaction message, or a connector's status no newer one has replaced) or fails with an
    /// event (anything else: an Authorize must be answered, even if only with no), and the
    /// session waits.
    public mutating func connectionLost(now: UInt64) {
        isConnected = false
        immediate.removeAll()
        if let flying = inFlight {
            inFlight = nil
            if case .awaitingAnswer = boot, flying.message.action == "BootNotification" {
                boot = .notSent
            } else if flying.message.isTransactional {
                queue.prepend(flying.message)
            } else if case .status(let connector) = flying.message.kind {
                let replaced = queue.contains { if case .status(connector) = $0.kind { true } else { false } }
                if !replaced { queue.prepend(flying.message) }
            } else if flying.message.action != "Heartbeat" {
                events.append(.failed(action: flying.message.action, reason: "the connection dropped before the answer", context: flying.message.context))
            }
        }
        nextHeartbeat = .max
    }

    /// The charge point lost power: when it is back it boots again, as a restarted charger does;
    /// its transaction messages wait in the queue (a charger keeps them in non-volatile memory).
    public mutating func powerCycled(now: UInt64) {
        connectionLost(now: now)
        boot = .notSent
        queue.removeAll { !$0.isTransactional && $0.action != "StatusNotification" }
    }

    // MARK: Device side

    /// Queues a call to the CSMS; it goes out once the boot is accepted and every call before
    /// it is answered.
    public mutating func enqueue(_ action: String, _ payload: JSONValue, kind: MessageKind = .other, context: JSONValue = .null, now: UInt64) {
        if case .status(let connector) = kind, !isConnected {
            queue.removeAll { if case .status(connector) = $0.kind { true } else { false } }
        }
        if queue.count >= settings.queueLimit {
            if let oldest = queue.firstIndex(where: { $0.action == "MeterValues" }) {
                let dropped = queue.remove(at: oldest)
                counters.transactionMessagesLost += dropped.isTransactional ? 1 : 0
                events.append(.failed(action: dropped.action, reason: "the offline queue is full (\(settings.queueLimit))", context: dropped.context))
            } else {
                counters.transactionMessagesLost += 1
                events.append(.failed(action: action, reason: "the offline queue is full (\(settings.queueLimit))", context: context))
                return
            }
        }
        queue.append(Outgoing(action: action, payload: payload, kind: kind, context: context))
    }

    /// Answers the CSMS's call `id`.
    public mutating func answer(_ id: String, payload: JSONValue) {
        guard isConnected else { return }
        immediate.append(.result(id: id, payload: payload))
    }

    public mutating func answerError(_ id: String, code: OCPPErrorCode, description: String) {
        guard isConnected else { return }
        immediate.append(.error(id: id, code: code, description: description, details: .object([:])))
    }

    /// Events since the last call, oldest first.
    public mutating func takeEvents() -> [Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    // MARK: Wire side

    /// A text frame from the CSMS.
    public mutating func receive(_ text: some StringProtocol, now: UInt64) {
        let frame: OCPPFrame
        do { frame = try OCPPFrame.parse(text) } catch {
            counters.badFrames += 1
            if let answer = error.answer { immediate.append(answer) }
            return
        }
        switch frame {
        case .call(let id, let action, let payload):
            counters.callsReceived += 1
            if !handleOwnCall(id: id, action: action, payload: payload, now: now) { events.append(.call(id: id, action: action, payload: payload)) }
        case .result(let id, let payload):
            guard let flying = inFlight, flying.id == id else { counters.strayAnswers += 1; return }
            inFlight = nil
            counters.resultsReceived += 1
            answered(flying.message, payload: payload, now: now)
        case .error(let id, let code, let description, _):
            guard let flying = inFlight, flying.id == id else { counters.strayAnswers += 1; return }
            inFlight = nil
            counters.errorsReceived += 1
            if flying.message.action == "BootNotification" {
                boot = .retry(at: now + UInt64(max(settings.callTimeout, 1)) * Self.second, status: "CALLERROR \(code.rawValue)")
            } else {
                retryOrGiveUp(flying.message, reason: "\(code.rawValue): \(description)", now: now)
            }
        }
    }

    /// Frames to send now: answers first, then a boot, a heartbeat or the next queued call.
    public mutating func poll(now: UInt64) -> [OCPPFrame] {
        guard isConnected else { return [] }
        if let flying = inFlight, now >= flying.deadline {
            inFlight = nil
            counters.timeouts += 1
            if flying.message.action == "BootNotification" {
                boot = .retry(at: now, status: "no answer")
            } else {
                retryOrGiveUp(flying.message, reason: "no answer in \(settings.callTimeout) s", now: now)
            }
        }
        var frames = immediate
        immediate.removeAll(keepingCapacity: true)
        guard inFlight == nil else { return frames }
        switch boot {
        case .notSent:
            frames.append(send(Outgoing(action: "BootNotification", payload: bootPayload, kind: .other, context: .null), now: now))
            boot = .awaitingAnswer
            counters.boots += 1
            return frames
        case .retry(let at, _) where now >= at:
            frames.append(send(Outgoing(action: "BootNotification", payload: bootPayload, kind: .other, context: .null), now: now))
            boot = .awaitingAnswer
            counters.boots += 1
            return frames
        case .accepted:
            break
        default:
            return frames
        }
        if now >= nextHeartbeat {
            nextHeartbeat = now + UInt64(heartbeatInterval) * Self.second
            counters.heartbeats += 1
            frames.append(send(Outgoing(action: "Heartbeat", payload: .object([:]), kind: .other, context: .null), now: now))
            return frames
        }
        while let next = queue.first, next.notBefore <= now {
            var message = queue.removeFirst()
            if case .transaction(let session) = message.kind {
                guard let transactionID = transactionIDs[session] else {
                    // Its StartTransaction was given up: the CSMS has no transaction to put it in.
                    counters.transactionMessagesLost += 1
                    events.append(.failed(action: message.action, reason: "session \(session) has no transactionId", context: message.context))
                    continue
                }
                if case .object(var members) = message.payload {
                    members["transactionId"] = .int(transactionID)
                    message.payload = .object(members)
                }
            }
            frames.append(send(message, now: now))
            break
        }
        return frames
    }

    /// When ``poll(now:)`` has something to do next, if nothing arrives before.
    public var nextDeadline: UInt64? {
        guard isConnected else { return nil }
        if !immediate.isEmpty { return 0 }
        if let flying = inFlight { return flying.deadline }
        switch boot {
        case .notSent: return 0
        case .retry(let at, _): return at
        case .awaitingAnswer: return nil
        case .accepted: return min(nextHeartbeat, queue.first.map { $0.notBefore } ?? .max)
        }
    }

    // MARK: Internals

    private var bootPayload: JSONValue {
        var payload: [String: JSONValue] = ["chargePointVendor": .string(settings.vendor), "chargePointModel": .string(settings.model)]
        if let serial = settings.serialNumber { payload["chargePointSerialNumber"] = .string(serial) }
        if let firmware = settings.firmwareVersion { payload["firmwareVersion"] = .string(firmware) }
        return .object(payload)
    }

    private mutating func send(_ message: Outgoing, now: UInt64) -> OCPPFrame {
        let id = String(nextID)
        nextID += 1
        var message = message
        message.attempts += 1
        inFlight = InFlight(id: id, message: message, deadline: now + UInt64(settings.callTimeout) * Self.second)
        counters.callsSent += 1
        return .call(id: id, action: message.action, payload: message.payload)
    }

    private mutating func answered(_ message: Outgoing, payload: JSONValue, now: UInt64) {
        switch message.action {
        case "BootNotification":
            let interval = payload["interval"]?.int.map { Int($0) } ?? 0
            let status = payload["status"]?.string ?? ""
            if status == "Accepted" {
                boot = .accepted
                if interval > 0 { setHeartbeatInterval(interval) }
                nextHeartbeat = now + UInt64(heartbeatInterval) * Self.second
                events.append(.bootAccepted(interval: heartbeatInterval))
            } else {
                // Pending or Rejected (or nonsense): try again after the interval, 60 s if none.
                boot = .retry(at: now + UInt64(interval > 0 ? interval : 60) * Self.second, status: status)
            }
        case "StartTransaction":
            guard case .startTransaction(let session) = message.kind, let transactionID = payload["transactionId"]?.int else {
                events.append(.answered(action: message.action, payload: payload, context: message.context))
                return
            }
            transactionIDs[session] = transactionID
            events.append(.transactionStarted(session: session, transactionId: transactionID,
                                              idTagStatus: payload["idTagInfo"]?["status"]?.string ?? "Invalid"))
        default:
            if message.action == "StopTransaction", case .transaction(let session) = message.kind { transactionIDs[session] = nil }
            events.append(.answered(action: message.action, payload: payload, context: message.context))
        }
    }

    private mutating func retryOrGiveUp(_ message: Outgoing, reason: String, now: UInt64) {
        guard message.isTransactional else {
            events.append(.failed(action: message.action, reason: reason, context: message.context))
            return
        }
        guard message.attempts < settings.transactionMessageAttempts else {
            counters.transactionMessagesLost += 1
            events.append(.failed(action: message.action, reason: "\(reason), after \(message.attempts) attempts", context: message.context))
            return
        }
        var again = message
        again.notBefore = now + UInt64(settings.transactionMessageRetryInterval * message.attempts) * Self.second
        counters.retries += 1
        queue.prepend(again)
    }

    private mutating func setHeartbeatInterval(_ seconds: Int) {
        heartbeatInterval = seconds
        configuration["HeartbeatInterval"] = String(seconds)
    }

    /// The calls the protocol answers without the device: configuration and heartbeat triggers.
    private mutating func handleOwnCall(id: String, action: String, payload: JSONValue, now: UInt64) -> Bool {
        switch action {
        case "GetConfiguration":
            let asked = payload["key"]?.array?.compactMap(\.string)
            let names = asked ?? configuration.keys.sorted()
            let known = names.filter { configuration[$0] != nil }
            let entries: [JSONValue] = known.map {
                ["key": .string($0), "readonly": .bool(Self.readOnlyKeys.contains($0)), "value": .string(configuration[$0]!)]
            }
            var answer: [String: JSONValue] = ["configurationKey": .array(entries)]
            let unknown = names.filter { configuration[$0] == nil }
            if !unknown.isEmpty { answer["unknownKey"] = .array(unknown.map { .string($0) }) }
            immediate.append(.result(id: id, payload: .object(answer)))
            return true
        case "ChangeConfiguration":
            guard let key = payload["key"]?.string, let value = payload["value"]?.string else {
                immediate.append(.error(id: id, code: .formationViolation, description: "ChangeConfiguration needs key and value", details: .object([:])))
                return true
            }
            let status: String
            if configuration[key] == nil {
                status = "NotSupported"
            } else if Self.readOnlyKeys.contains(key) {
                status = "Rejected"
            } else if ["HeartbeatInterval", "TransactionMessageAttempts", "TransactionMessageRetryInterval", "MeterValueSampleInterval",
                       "ClockAlignedDataInterval", "ConnectionTimeOut"].contains(key), Int(value).map({ $0 < 0 }) ?? true {
                status = "Rejected"
            } else {
                configuration[key] = value
                if key == "HeartbeatInterval", let seconds = Int(value), seconds > 0 {
                    heartbeatInterval = seconds
                    if case .accepted = boot { nextHeartbeat = now + UInt64(seconds) * Self.second }
                }
                status = "Accepted"
                events.append(.configurationChanged(key: key, value: value))
            }
            immediate.append(.result(id: id, payload: ["status": .string(status)]))
            return true
        case "TriggerMessage" where ["BootNotification", "Heartbeat"].contains(payload["requestedMessage"]?.string ?? ""):
            immediate.append(.result(id: id, payload: ["status": "Accepted"]))
            if payload["requestedMessage"]?.string == "Heartbeat" {
                nextHeartbeat = now
            } else {
                queue.prepend(Outgoing(action: "BootNotification", payload: bootPayload, kind: .other, context: .null))
            }
            return true
        default:
            return false
        }
    }
}

extension OCPPChargePointSession.Outgoing {
    var isTransactional: Bool {
        switch kind {
        case .startTransaction, .transaction: true
        default: false
        }
    }
}
