import Foundation
import NIOCore
import ParkEventLoop
import ParkOCPP
import ParkWire
import Synchronization

/// Where and how the reference platform serves EV chargers as an OCPP 1.6J central system
/// (issue 17, the platform role). Passwords are looked up per charger and never logged.
public struct PlatformOCPPOptions: Sendable {
    public var host: String
    /// TCP port (0: a free one).
    public var port: Int
    /// The heartbeat interval BootNotification.conf gives, in seconds.
    public var heartbeatInterval: Int
    /// A charger's basic-auth password (security profile 1); nil: the charger has none.
    public var passwords: @Sendable (String) -> String?
    /// Refuse (401) a charger that has no password, instead of letting it in without one.
    public var requirePasswords: Bool
    /// idTags that Authorize and StartTransaction answer Blocked.
    public var blockedTags: Set<String>
    /// How long a call of the central system waits for the charger's answer.
    public var callTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int, heartbeatInterval: Int = 60, passwords: @escaping @Sendable (String) -> String? = { _ in nil },
                requirePasswords: Bool = false, blockedTags: Set<String> = [], callTimeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.heartbeatInterval = heartbeatInterval
        self.passwords = passwords
        self.requirePasswords = requirePasswords
        self.blockedTags = blockedTags
        self.callTimeout = callTimeout
    }
}

/// A charging session as the central system recorded it.
public struct PlatformChargingSession: Sendable, Hashable {
    public var transactionID: Int64
    public var device: String
    public var connector: Int
    public var idTag: String
    public var meterStartWh: Int64
    public var meterStopWh: Int64?
    public var stopReason: String?
    /// Energy the platform bills: meterStop − meterStart, once stopped.
    public var energyWh: Int64? { meterStopWh.map { $0 - meterStartWh } }
}

/// The platform's OCPP server and what it keeps: the open connections by charger id, the
/// sessions, the transaction counter.
final class PlatformCentralSystem: Sendable {
    let options: PlatformOCPPOptions
    let connections = Mutex<[String: CentralSystemConnection]>([:])
    let sessions = Mutex<[Int64: PlatformChargingSession]>([:])
    let nextTransaction = Atomic<Int64>(1)
    /// Numbers connections, so each one's call ids are its own ("csms-<n>-<k>"): a late answer
    /// from a charger's old connection cannot settle a call made on its new one.
    let nextConnection = Atomic<Int>(1)
    /// The most sessions kept; past it the oldest stopped ones go (a charger that starts
    /// transactions without end must not grow the platform without end).
    static let keptSessions = 100_000
    private let server: Mutex<OCPPWebSocketServer?> = Mutex(nil)

    init(options: PlatformOCPPOptions) { self.options = options }

    func start(platform: ReferencePlatform) throws -> Int {
        let options = options
        let configuration = OCPPWebSocketServer.Configuration(host: options.host, port: options.port) { id, credentials in
            guard let password = options.passwords(id) else { return options.requirePasswords ? .refuse(401) : .admit }
            guard let credentials, credentials.user == id, PasswordComparison.same(credentials.password, password) else { return .refuse(401) }
            return .admit
        }
        let server = try OCPPWebSocketServer(configuration: configuration) { [weak platform, weak self] id, _ in
            CentralSystemConnection(chargerID: id, platform: platform, system: self)
        }
        self.server.withLock { $0 = server }
        return server.port
    }

    func stop() {
        let open = connections.withLock { current in
            defer { current = [:] }
            return Array(current.values)
        }
        for connection in open { connection.close() }
        server.withLock { $0?.stop(); $0 = nil }
    }

}

/// One charger's connection to the platform's central system; touched only on its event loop.
final class CentralSystemConnection: OCPPWebSocketDelegate, @unchecked Sendable {
    let chargerID: String
    private weak var platform: ReferencePlatform?
    private weak var system: PlatformCentralSystem?
    private var connection: OCPPWebSocketConnection?
    private var session: OCPPCentralSystemSession

    init(chargerID: String, platform: ReferencePlatform?, system: PlatformCentralSystem?) {
        self.chargerID = chargerID
        self.platform = platform
        self.system = system
        let timeout = system?.options.callTimeout ?? .seconds(30)
        let number = system?.nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue ?? 0
        session = OCPPCentralSystemSession(
            callTimeout: UInt64(timeout.components.seconds) * 1_000_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000),
            idPrefix: "csms-\(number)-")
    }

    func opened(_ connection: OCPPWebSocketConnection) {
        self.connection = connection
        // A charger that connects again replaces its old connection (a half-open one, say).
        let old = system?.connections.withLock { current -> CentralSystemConnection? in
            defer { current[chargerID] = self }
            return current[chargerID]
        }
        if let old, old !== self { old.close() }
    }

    func close() {
        let connection = connection
        connection?.eventLoop.execute { connection?.close() }
    }

    func closed(_ connection: OCPPWebSocketConnection, reason: String) {
        let mine = system?.connections.withLock { current -> Bool in
            guard current[chargerID] === self else { return false }
            current[chargerID] = nil
            return true
        } ?? false
        session.connectionLost()
        settle(session.takeEvents())
        if mine, let platform, !platform.isCrashed {
            let now = platform.clock.now()
            platform.perform(platform.core.withLock { $0.chargerDisconnected(chargerID, now: now) })
        }
        self.connection = nil
    }

    func received(_ text: String, on connection: OCPPWebSocketConnection) {
        guard let platform, !platform.isCrashed, platform.isActive else { return }
        // A slow central system takes this long over each call: what it shows, and its answer, come late.
        let delay = platform.core.withLock { $0.faults.ocppSlowResponses }
        guard delay == .zero else {
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            connection.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in handle(text) }
            return
        }
        handle(text)
    }

    private func handle(_ text: String) {
        guard let platform, !platform.isCrashed, platform.isActive else { return }
        session.receive(text, now: MonotonicClock.now())
        for event in session.takeEvents() {
            switch event {
            case .call(let id, let action, let payload):
                answer(id, action: action, payload: payload, platform: platform)
            default:
                settle([event])
            }
        }
        flush()
    }

    /// Queues a call to the charger; `settled` hears its answer (nil: refused or no answer, with why).
    func call(_ action: String, _ payload: JSONValue, commandID: String) {
        session.call(action, payload, context: .string(commandID))
        flush()
    }

    var eventLoop: (any EventLoop)? { connection?.eventLoop }

    /// Sends what is due; a call of ours that goes out gets a wake-up at its deadline, so a
    /// charger that never answers still settles it (and the next queued call goes).
    private func flush() {
        guard let connection else { return }
        let frames = session.poll(now: MonotonicClock.now())
        for frame in frames {
            connection.send(frame.text)
            guard case .call = frame else { continue }
            connection.eventLoop.scheduleTask(in: .nanoseconds(Int64(session.callTimeout) + 1_000_000)) { [self] in
                flush()
                settle(session.takeEvents())
            }
        }
        // A timeout poll noticed: settled now, not when the charger next speaks.
        let settled = session.takeEvents()
        if !settled.isEmpty { settle(settled) }
    }

    /// Our calls' outcomes: a REST command is acknowledged (or not) by the charger's answer.
    private func settle(_ events: [OCPPCentralSystemSession.Event]) {
        guard let platform else { return }
        for event in events {
            let now = platform.clock.now()
            switch event {
            case .answered(_, let payload, let context):
                guard let id = context.string else { continue }
                let status = payload["status"]?.string ?? "Accepted"
                let accepted = ["Accepted", "Unlocked", "Scheduled"].contains(status)
                platform.records.acknowledged(id: id, accepted: accepted, reason: accepted ? nil : status, at: now)
            case .refused(_, let code, let description, let context):
                guard let id = context.string else { continue }
                platform.records.acknowledged(id: id, accepted: false, reason: "\(code.rawValue): \(description)", at: now)
            case .timedOut(_, let context):
                guard let id = context.string else { continue }
                platform.records.acknowledged(id: id, accepted: false, reason: "no answer from the charger", at: now)
            case .call:
                continue
            }
        }
    }

    // MARK: The charger's calls

    private func answer(_ id: String, action: String, payload: JSONValue, platform: ReferencePlatform) {
        let now = platform.clock.now()
        let currentTime = JSONValue.string(WireTime.iso8601(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9)))
        let options = system?.options
        var actions: [PlatformCore.Action] = []
        switch action {
        case "BootNotification":
            let rejected = platform.core.withLock { $0.faults.ocppBootsRejected }
            session.answer(id, payload: ["status": .string(rejected ? "Rejected" : "Accepted"), "currentTime": currentTime,
                                         "interval": .int(Int64(rejected ? 10 : options?.heartbeatInterval ?? 60))])
            if !rejected { actions = platform.core.withLock { $0.chargerHeard(chargerID, now: now) } }
        case "Heartbeat":
            session.answer(id, payload: ["currentTime": currentTime])
            actions = platform.core.withLock { $0.chargerHeard(chargerID, now: now) }
        case "StatusNotification":
            let connector = Int(payload["connectorId"]?.int ?? 0)
            let status = payload["status"]?.string ?? "", errorCode = payload["errorCode"]?.string ?? "NoError"
            session.answer(id, payload: [:])
            actions = platform.core.withLock { $0.chargerStatus(chargerID, connector: connector, status: status, errorCode: errorCode, now: now) }
        case "Authorize":
            let tag = payload["idTag"]?.string ?? ""
            session.answer(id, payload: ["idTagInfo": ["status": .string(options?.blockedTags.contains(tag) == true ? "Blocked" : "Accepted")]])
            actions = platform.core.withLock { $0.chargerHeard(chargerID, now: now) }
        case "StartTransaction":
            let tag = payload["idTag"]?.string ?? ""
            let transaction = system?.nextTransaction.wrappingAdd(1, ordering: .relaxed).oldValue ?? 0
            let connector = Int(payload["connectorId"]?.int ?? 1)
            system?.sessions.withLock { sessions in
                if sessions.count >= PlatformCentralSystem.keptSessions,
                   let oldest = sessions.values.filter({ $0.meterStopWh != nil }).min(by: { $0.transactionID < $1.transactionID }) ?? sessions.values.min(by: { $0.transactionID < $1.transactionID }) {
                    sessions[oldest.transactionID] = nil
                }
                sessions[transaction] = PlatformChargingSession(
                    transactionID: transaction, device: chargerID, connector: connector, idTag: tag, meterStartWh: payload["meterStart"]?.int ?? 0)
            }
            session.answer(id, payload: ["transactionId": .int(transaction),
                                         "idTagInfo": ["status": .string(options?.blockedTags.contains(tag) == true ? "Blocked" : "Accepted")]])
            actions = platform.core.withLock { $0.chargerHeard(chargerID, now: now) }
        case "MeterValues":
            session.answer(id, payload: [:])
            let values = Self.values(payload)
            actions = platform.core.withLock { $0.chargerValues(chargerID, values: values, deviceTimeNanoseconds: nil, now: now) }
        case "StopTransaction":
            var billed: PlatformChargingSession?
            if let transaction = payload["transactionId"]?.int {
                billed = system?.sessions.withLock { sessions -> PlatformChargingSession? in
                    // Only the charger that started a session may stop (and bill) it.
                    guard sessions[transaction]?.device == chargerID else { return nil }
                    sessions[transaction]?.meterStopWh = payload["meterStop"]?.int
                    sessions[transaction]?.stopReason = payload["reason"]?.string ?? "Local"
                    return sessions[transaction]
                }
            }
            session.answer(id, payload: ["idTagInfo": ["status": "Accepted"]])
            // The session's bill is telemetry too: `session_wh` (`_c<n>` past the first connector).
            if let billed, let energy = billed.energyWh {
                let name = "session_wh" + (billed.connector > 1 ? "_c\(billed.connector)" : "")
                actions = platform.core.withLock { $0.chargerValues(chargerID, values: [name: Double(energy)], deviceTimeNanoseconds: nil, now: now) }
            } else {
                actions = platform.core.withLock { $0.chargerHeard(chargerID, now: now) }
            }
        case "DataTransfer":
            session.answer(id, payload: ["status": "UnknownVendorId"])
        case "DiagnosticsStatusNotification", "FirmwareStatusNotification":
            session.answer(id, payload: [:])
        default:
            session.answerError(id, code: .notImplemented, description: "unknown action \(action.prefix(40))")
        }
        platform.perform(actions)
    }

    /// The values the platform shows from a MeterValues request: the last sample of each
    /// measurand, in Wh, W, A, V and %, named `energy_wh`, `power_w`, `current_a`, `voltage_v`,
    /// `soc`, with `_c<n>` for connectors past the first.
    static func values(_ payload: JSONValue) -> [String: Double] {
        let connector = payload["connectorId"]?.int ?? 1
        let suffix = connector > 1 ? "_c\(connector)" : ""
        var values: [String: Double] = [:]
        for sample in payload["meterValue"]?.array ?? [] {
            for sampled in sample["sampledValue"]?.array ?? [] {
                guard let text = sampled["value"]?.string, var value = Double(text), value.isFinite else { continue }
                let unit = sampled["unit"]?.string ?? ""
                if unit == "kWh" || unit == "kW" { value *= 1_000 }
                let name: String
                switch sampled["measurand"]?.string ?? "Energy.Active.Import.Register" {
                case "Energy.Active.Import.Register": name = "energy_wh"
                case "Power.Active.Import": name = "power_w"
                case "Current.Import": name = "current_a"
                case "Voltage": name = "voltage_v"
                case "SoC": name = "soc"
                case "Temperature": name = "temperature_c"
                default: continue
                }
                values[name + suffix] = value
            }
        }
        return values
    }
}

extension ReferencePlatform {
    /// Serves EV chargers as an OCPP 1.6J central system on `options.port`; returns the bound port.
    public func startOCPP(_ options: PlatformOCPPOptions) throws -> Int {
        let system = PlatformCentralSystem(options: options)
        let port: Int
        do { port = try system.start(platform: self) } catch {
            throw PlatformError("cannot serve OCPP on \(options.host):\(options.port): \(error)")
        }
        ocpp.withLock { $0 = system }
        // Two heartbeats missed, and a little for the network: then the charger is offline.
        core.withLock { $0.chargerSilenceTimeout = .seconds(Int64(2 * options.heartbeatInterval + 5)) }
        return port
    }

    /// The charging sessions the central system has recorded, by transactionId.
    public var chargingSessions: [PlatformChargingSession] {
        ocpp.withLock { $0?.sessions.withLock { Array($0.values) } ?? [] }.sorted { $0.transactionID < $1.transactionID }
    }

    /// Chargers connected now.
    public var connectedChargers: [String] { ocpp.withLock { $0?.connections.withLock { Array($0.keys) } ?? [] }.sorted() }

    /// A REST command to a charger, in the ev-charger kind's command words: `remote-start`
    /// (`id_tag`, `connector`), `remote-stop` (`transaction` or `connector`), `reset` (`type`),
    /// `change-availability` (`connector`, `operative`), `unlock-connector` (`connector`),
    /// `set-charging-limit` (`connector`, `limit_w`), `clear-charging-limit` (`connector`),
    /// `trigger` (`message`). The charger's answer acknowledges it; the `commandsDropped` fault
    /// switch records it and sends nothing, as for MQTT devices.
    func ocppCommand(_ deviceID: String, command: String, arguments: [String: Any]) -> Result<String, PlatformError> {
        guard let system = ocpp.withLock({ $0 }) else { return .failure(PlatformError("the OCPP central system is not running")) }
        func int(_ key: String) -> Int64? { (arguments[key] as? NSNumber)?.int64Value ?? (arguments[key] as? String).flatMap { Int64($0) } }
        let connector = int("connector")
        let call: (action: String, payload: JSONValue)
        switch command {
        case "remote-start":
            guard let tag = arguments["id_tag"] as? String, !tag.isEmpty, tag.count <= 20 else {
                return .failure(PlatformError("remote-start needs id_tag (1–20 characters) and takes connector"))
            }
            var payload: [String: JSONValue] = ["idTag": .string(tag)]
            if let connector { payload["connectorId"] = .int(connector) }
            call = ("RemoteStartTransaction", .object(payload))
        case "remote-stop":
            var transaction = int("transaction")
            if transaction == nil, let connector {
                transaction = system.sessions.withLock { $0.values.first { $0.device == deviceID && $0.connector == connector && $0.meterStopWh == nil }?.transactionID }
            }
            guard let transaction else { return .failure(PlatformError("remote-stop needs transaction, or connector with a session running on it")) }
            call = ("RemoteStopTransaction", ["transactionId": .int(transaction)])
        case "reset":
            let type = arguments["type"] as? String ?? "Soft"
            guard type == "Soft" || type == "Hard" else { return .failure(PlatformError("reset takes type Soft or Hard")) }
            call = ("Reset", ["type": .string(type)])
        case "change-availability":
            let operative = (arguments["operative"] as? Bool) ?? ((arguments["operative"] as? NSNumber)?.boolValue ?? true)
            call = ("ChangeAvailability", ["connectorId": .int(connector ?? 0), "type": .string(operative ? "Operative" : "Inoperative")])
        case "unlock-connector":
            call = ("UnlockConnector", ["connectorId": .int(connector ?? 1)])
        case "set-charging-limit":
            guard let limit = (arguments["limit_w"] as? NSNumber)?.doubleValue, limit >= 0, limit.isFinite else {
                return .failure(PlatformError("set-charging-limit needs limit_w (watts, 0 or more) and takes connector"))
            }
            call = ("SetChargingProfile", [
                "connectorId": .int(connector ?? 0),
                "csChargingProfiles": [
                    "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
                    "chargingSchedule": ["chargingRateUnit": "W", "chargingSchedulePeriod": [["startPeriod": 0, "limit": .double((limit * 10).rounded() / 10)]]],
                ],
            ])
        case "clear-charging-limit":
            call = ("ClearChargingProfile", ["connectorId": .int(connector ?? 0)])
        case "trigger":
            let message = arguments["message"] as? String ?? "StatusNotification"
            call = ("TriggerMessage", ["requestedMessage": .string(message)])
        default:
            return .failure(PlatformError(
                "a charger takes remote-start, remote-stop, reset, change-availability, unlock-connector, set-charging-limit, clear-charging-limit or trigger; got '\(command.prefix(40))'"))
        }
        guard let connection = system.connections.withLock({ $0[deviceID] }), let loop = connection.eventLoop else {
            return .failure(PlatformError("charger \(deviceID) is not connected to the central system"))
        }
        let sentAt = clock.now()
        let id = records.sent(device: deviceID, command: command, origin: "api", at: sentAt)
        store?.append(.command(id: id, device: deviceID, command: command, origin: "api", sent: sentAt))
        guard !core.withLock({ $0.faults.commandsDropped }) else { return .success(id) }
        loop.execute { connection.call(call.action, call.payload, commandID: id) }
        return .success(id)
    }
}
