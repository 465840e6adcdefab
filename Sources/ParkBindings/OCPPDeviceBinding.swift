import Foundation
import Logging
import NIOCore
import NIOPosix
import ParkEventLoop
import ParkCore
import ParkOCPP
import ParkProfiles
import ParkWire
import Synchronization

/// Puts a park's EV chargers on OCPP 1.6J: each charger opens its own WebSocket to the CSMS
/// (`ws://host:port/<prefix><device id>`, basic auth when it has a password), boots, heartbeats
/// at the interval the CSMS sets, and says what its device emits — connector status, sessions
/// (StartTransaction / MeterValues / StopTransaction), card authorizations — as OCPP calls. The
/// CSMS's calls become device commands through the engine, so each lands in the ledger with the
/// device's answer: RemoteStart/StopTransaction, Reset, ChangeAvailability, UnlockConnector,
/// SetChargingProfile and ClearChargingProfile; configuration and heartbeat triggers are
/// answered by the protocol session itself.
///
/// The chargers share a few event loops (``Configuration/threads``), never a thread each. A
/// connection that drops is opened again with backoff, and the session's offline queue replays
/// the transaction messages in order, each with the transactionId the CSMS gave. A device's
/// power loss (its `offline` status) drops the socket without a close frame, as a cut cable does.
public final class OCPPDeviceBinding: EmissionObserver, CommandTakingBinding, Sendable {
    /// Where the chargers connect and how.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Put before each charger's id in the request path.
        public var pathPrefix: String
        /// Each charger's basic-auth password (security profile 1); nil: none sent.
        public var password: @Sendable (BoundDevice) -> String?
        public var bindHost: String?
        /// Event loops the chargers' connections run on.
        public var threads: Int
        /// Seconds a call waits for the CSMS's answer.
        public var callTimeout: Int
        /// Chargers that begin connecting per second (0: all at once).
        public var connectsPerSecond: Int

        public init(host: String, port: Int, pathPrefix: String = "/ocpp/", password: @escaping @Sendable (BoundDevice) -> String? = { _ in nil },
                    bindHost: String? = nil, threads: Int = 1, callTimeout: Int = 30, connectsPerSecond: Int = 2_000) {
            self.host = host
            self.port = port
            self.pathPrefix = pathPrefix.hasSuffix("/") ? pathPrefix : pathPrefix + "/"
            self.password = password
            self.bindHost = bindHost
            self.threads = threads
            self.callTimeout = callTimeout
            self.connectsPerSecond = connectsPerSecond
        }
    }

    /// Figures summed over the chargers.
    public struct Figures: Sendable, Hashable {
        public var session = OCPPChargePointSession.Counters()
        public var connected = 0
        public var booted = 0
        /// Chargers whose last boot the central system answered Pending or Rejected (retrying).
        public var bootsRefused = 0
        public var connects = 0
        public var connectFailures = 0
        public var queued = 0
    }

    public let configuration: Configuration
    private let chargers: [BoundDevice]
    private let links: [String: ChargerLink]
    private let group: MultiThreadedEventLoopGroup
    private let handler = Mutex<DeviceCommandHandler?>(nil)
    private let stopped = Atomic<Bool>(false)
    private let sweeps = Mutex<[RepeatedTask]>([])

    /// - Parameter devices: the park's devices; those whose model profile has an `ocpp:` section
    ///   go on the wire, the rest are left to other bindings.
    public init(devices: [BoundDevice], catalog: ModelCatalog, configuration: Configuration) throws(BindingError) {
        guard configuration.threads >= 1 else { throw BindingError("OCPP needs at least one event loop thread") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        var links: [String: ChargerLink] = [:]
        var chosen: [BoundDevice] = []
        for device in devices {
            guard let profile = catalog.model(named: device.model), let settings = profile.ocpp else { continue }
            guard settings.version == .v1_6 else {
                throw BindingError("\(device.id): model \(device.model) speaks OCPP \(settings.version.rawValue); this binding speaks 1.6J only so far")
            }
            let session = OCPPChargePointSession(settings: Self.sessionSettings(device: device, profile: profile, settings: settings, callTimeout: configuration.callTimeout))
            // A DC charger's limit in A is of its DC output, at the battery's voltage.
            let phases = profile.parameters["dc"] == "true" ? 1 : Double(profile.parameters["phases"] ?? "1") ?? 1
            let volts = Double(profile.parameters["voltage_v"] ?? "230") ?? 230
            let request = OCPPWebSocketClient.Request(
                host: configuration.host, port: configuration.port,
                path: configuration.pathPrefix + (device.id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? device.id),
                basicAuth: configuration.password(device).map { (device.id, $0) }, bindHost: configuration.bindHost)
            links[device.id] = ChargerLink(
                deviceID: device.id, eventLoop: group.next(), request: request, session: session,
                measurands: Set(settings.measurands), wattsPerAmpere: volts * phases)
            chosen.append(device)
        }
        self.configuration = configuration
        self.chargers = chosen
        self.links = links
        self.group = group
    }

    deinit { try? group.syncShutdownGracefully() }

    /// What a charger of `profile` says at boot and keeps as its configuration keys.
    static func sessionSettings(device: BoundDevice, profile: ModelProfile, settings: ModelOCPPSettings, callTimeout: Int) -> OCPPChargePointSession.Settings {
        func seconds(_ parameter: String, default value: Int) -> String {
            guard let text = profile.parameters[parameter], let duration = DeviceDuration(parsing: text) else { return String(value) }
            return String(Int(duration.seconds))
        }
        let keys: [String: String] = [
            "MeterValuesSampledData": settings.measurands.joined(separator: ","),
            "MeterValueSampleInterval": seconds("meter_interval", default: 60),
            "ClockAlignedDataInterval": String(Int(settings.clockAlignedInterval.seconds)),
            "NumberOfConnectors": profile.parameters["connectors"] ?? "1",
            "AuthorizeRemoteTxRequests": "false",
            "ConnectionTimeOut": seconds("connection_timeout", default: 60),
        ]
        let vendor = String((settings.vendor ?? profile.vendor).prefix(20))
        let model = String((settings.model ?? profile.model).prefix(20))
        return OCPPChargePointSession.Settings(
            vendor: vendor, model: model, serialNumber: String(device.id.prefix(25)), firmwareVersion: settings.firmware,
            heartbeatInterval: max(1, Int(settings.heartbeatInterval.seconds)), callTimeout: callTimeout, configuration: keys)
    }

    /// The chargers on OCPP, in park order.
    public var deviceIDs: [String] { chargers.map(\.id) }

    public func serves(_ deviceID: String) -> Bool { links[deviceID] != nil }

    public func setCommandHandler(_ handler: @escaping DeviceCommandHandler) {
        self.handler.withLock { $0 = handler }
        let deliver: DeviceCommandHandler = { [weak self] deviceID, command in
            guard let handler = self?.handler.withLock({ $0 }) else { return .failure(EngineError.unknownDevice(deviceID)) }
            return await handler(deviceID, command)
        }
        for link in links.values { link.eventLoop.execute { link.commands = deliver } }
    }

    /// Starts every charger connecting (paced by ``Configuration/connectsPerSecond``) and the
    /// loops' sweeps that send heartbeats and retries when due.
    public func start() {
        var tasks: [RepeatedTask] = []
        for loop in group.makeIterator() {
            let mine = links.values.filter { $0.eventLoop === loop }
            tasks.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
                let now = MonotonicClock.now()
                for link in mine where link.nextDue <= now { link.pump(now: now) }
            })
        }
        sweeps.withLock { $0 = tasks }
        let perStep = configuration.connectsPerSecond / 100
        for (index, device) in chargers.enumerated() {
            let link = links[device.id]!
            let delay: TimeAmount = perStep < 1 ? .zero : .milliseconds(Int64(index / perStep) * 10)
            link.eventLoop.scheduleTask(in: delay) { link.powerOn() }
        }
    }

    /// Closes every charger's WebSocket (a close frame each) and stops the loops. Safe twice.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        for task in sweeps.withLock({ $0 }) { task.cancel() }
        let closes = links.values.map { link in link.eventLoop.submit { link.shutDown() } }
        for close in closes { _ = try? close.wait() }
    }

    /// Cuts a charger off the wire as a power loss does, or brings it back to connect afresh.
    public func setPowered(_ deviceID: String, _ on: Bool) throws(BindingError) {
        guard let link = links[deviceID] else { throw BindingError("\(deviceID) is not on OCPP") }
        link.eventLoop.execute { if on { link.powerOn() } else { link.powerOff() } }
    }

    /// Counters summed over the chargers (read on their loops).
    public var figures: Figures {
        var figures = Figures()
        let parts = links.values.map { link in link.eventLoop.submit { link.figures } }
        for part in parts {
            guard let one = try? part.wait() else { continue }
            figures.session.add(one.session)
            figures.connected += one.connected
            figures.booted += one.booted
            figures.bootsRefused += one.bootsRefused
            figures.connects += one.connects
            figures.connectFailures += one.connectFailures
            figures.queued += one.queued
        }
        return figures
    }

    // MARK: EmissionObserver

    public func deviceEmitted(_ record: LedgerRecord) {
        guard let link = links[record.deviceID] else { return }
        link.eventLoop.execute { link.deviceEmitted(record) }
    }

    public func deviceReceived(_ record: LedgerRecord) {}
}

/// One charger's connection and protocol session; touched only on its event loop.
final class ChargerLink: OCPPWebSocketDelegate, @unchecked Sendable {
    let deviceID: String
    let eventLoop: any EventLoop
    let request: OCPPWebSocketClient.Request
    var session: OCPPChargePointSession
    let measurands: Set<String>
    /// W per A of charging-profile limit: volts × phases.
    let wattsPerAmpere: Double
    var commands: DeviceCommandHandler?

    private var connection: OCPPWebSocketConnection?
    private var powered = false
    /// How many times the power has been switched (a restart after Reset checks nobody else did).
    private var powerSwitches = 0
    private var shuttingDown = false
    private var connecting = false
    private var backoff: Int64 = 1
    private var lastStatus: [Int: JSONValue] = [:]
    private var lastMeter: [Int: JSONValue] = [:]
    /// Counts the connections opened: an answer the device gives after its connection was
    /// replaced is not sent on the new one (the CSMS's call id means nothing there).
    private var generation = 0
    private var connects = 0
    private var connectFailures = 0
    private let logger = Logger(label: "parkbench.ocpp")

    init(deviceID: String, eventLoop: any EventLoop, request: OCPPWebSocketClient.Request, session: OCPPChargePointSession,
         measurands: Set<String>, wattsPerAmpere: Double) {
        self.deviceID = deviceID
        self.eventLoop = eventLoop
        self.request = request
        self.session = session
        self.measurands = measurands
        self.wattsPerAmpere = wattsPerAmpere
    }

    var figures: OCPPDeviceBinding.Figures {
        var figures = OCPPDeviceBinding.Figures()
        figures.session = session.counters
        figures.connected = connection != nil ? 1 : 0
        switch session.boot {
        case .accepted: figures.booted = 1
        case .retry(_, let status) where status == "Pending" || status == "Rejected": figures.bootsRefused = 1
        default: break
        }
        figures.connects = connects
        figures.connectFailures = connectFailures
        figures.queued = session.queuedCount
        return figures
    }

    // MARK: Power and connection

    func powerOn() {
        guard !shuttingDown, !powered else { return }
        powered = true
        powerSwitches += 1
        connect()
    }

    func powerOff() {
        powered = false
        powerSwitches += 1
        connection?.abort()
        connection = nil
        session.powerCycled(now: MonotonicClock.now())
    }

    func shutDown() {
        shuttingDown = true
        powered = false
        connection?.close()
        connection = nil
    }

    private func connect() {
        guard powered, !shuttingDown, connection == nil, !connecting else { return }
        connecting = true
        connects += 1
        OCPPWebSocketClient.connect(request, on: eventLoop) { [unowned self] in self }.whenComplete { [self] result in
            connecting = false
            if case .failure(let error) = result {
                connectFailures += 1
                if connectFailures <= 3 || connectFailures % 100 == 0 { logger.debug("\(deviceID): \(error)") }
                scheduleReconnect()
            }
        }
    }

    private func scheduleReconnect() {
        guard powered, !shuttingDown else { return }
        // Backoff with jitter, so a CSMS that comes back is not met by every charger at once.
        let delay = TimeAmount.milliseconds(backoff * 1_000 / 2 + Int64.random(in: 0...(backoff * 500)))
        backoff = min(backoff * 2, 30)
        eventLoop.scheduleTask(in: delay) { [self] in connect() }
    }

    func opened(_ connection: OCPPWebSocketConnection) {
        guard powered, !shuttingDown else { connection.close(); return }
        self.connection = connection
        generation += 1
        backoff = 1
        session.connectionOpened(now: MonotonicClock.now())
        pump(now: MonotonicClock.now())
    }

    func received(_ text: String, on connection: OCPPWebSocketConnection) {
        guard connection === self.connection else { return }
        let now = MonotonicClock.now()
        session.receive(text, now: now)
        pump(now: now)
    }

    func closed(_ connection: OCPPWebSocketConnection, reason: String) {
        guard connection === self.connection || self.connection == nil else { return }
        self.connection = nil
        session.connectionLost(now: MonotonicClock.now())
        nextDue = .max
        scheduleReconnect()
    }

    /// When the session next has something to send (heartbeat, retry, timeout), as of the last
    /// pump: the loop's sweep looks only at this, so 10,000 idle chargers cost 10,000 comparisons.
    private(set) var nextDue: UInt64 = 0

    /// Sends what the session has due and acts on what it heard.
    func pump(now: UInt64) {
        if let connection, let due = session.nextDeadline, due <= now {
            for frame in session.poll(now: now) { connection.send(frame.text) }
        }
        let events = session.takeEvents()
        if !events.isEmpty {
            for event in events { handle(event, now: now) }
            if let connection, let due = session.nextDeadline, due <= now {
                for frame in session.poll(now: now) { connection.send(frame.text) }
            }
        }
        nextDue = connection == nil ? .max : session.nextDeadline ?? .max
    }

    // MARK: Device → CSMS

    func deviceEmitted(_ record: LedgerRecord) {
        let now = MonotonicClock.now()
        let timestamp = JSONValue.string(record.time.wall.iso8601)
        func int(_ point: String) -> Int64? { record.readings.first { $0.point == point }?.value.doubleValue.map { Int64($0.rounded()) } }
        func text(_ point: String) -> String? {
            if case .string(let value)? = record.readings.first(where: { $0.point == point })?.value { return value }
            return nil
        }
        switch (record.channel, record.name) {
        case (.status?, "offline"):
            powerOff()
            return
        case (.status?, "online"):
            powerOn()
            return
        case (.event?, "status"):
            let connector = Int(int("connector") ?? 0)
            let payload: JSONValue = ["connectorId": .int(Int64(connector)), "status": .string(text("status") ?? "Available"),
                                      "errorCode": .string(text("error_code") ?? "NoError"), "timestamp": timestamp]
            lastStatus[connector] = payload
            session.enqueue("StatusNotification", payload, kind: .status(connector: connector), now: now)
        case (.event?, "session-start"):
            guard let sessionNumber = int("session") else { return }
            session.enqueue("StartTransaction", [
                "connectorId": .int(int("connector") ?? 1), "idTag": .string(text("id_tag") ?? ""),
                "meterStart": .int(int("meter_start_wh") ?? 0), "timestamp": timestamp,
            ], kind: .startTransaction(session: Int(sessionNumber)), now: now)
        case (.event?, "meter"):
            let connector = int("connector") ?? 1
            let payload: JSONValue = ["connectorId": .int(connector), "meterValue": [meterValue(record, timestamp: timestamp)]]
            lastMeter[Int(connector)] = payload
            if let sessionNumber = int("session"), sessionNumber > 0 {
                session.enqueue("MeterValues", payload, kind: .transaction(session: Int(sessionNumber)), now: now)
            } else {
                session.enqueue("MeterValues", payload, now: now)
            }
        case (.event?, "session-stop"):
            guard let sessionNumber = int("session") else { return }
            var payload: [String: JSONValue] = ["meterStop": .int(int("meter_stop_wh") ?? 0), "timestamp": timestamp,
                                                "reason": .string(text("reason") ?? "Other")]
            if let tag = text("id_tag"), !tag.isEmpty { payload["idTag"] = .string(tag) }
            session.enqueue("StopTransaction", .object(payload), kind: .transaction(session: Int(sessionNumber)), now: now)
        case (.event?, "authorize"):
            session.enqueue("Authorize", ["idTag": .string(text("id_tag") ?? "")], context: ["connector": .int(int("connector") ?? 1), "id_tag": .string(text("id_tag") ?? "")], now: now)
        default:
            return
        }
        pump(now: now)
    }

    /// One MeterValues entry: the measurands the model lists, from the device's readings.
    private func meterValue(_ record: LedgerRecord, timestamp: JSONValue) -> JSONValue {
        func reading(_ point: String) -> Double? { record.readings.first { $0.point == point }?.value.doubleValue }
        var sampled: [JSONValue] = []
        let context: JSONValue = "Sample.Periodic"
        func add(_ measurand: String, _ point: String, unit: String, decimals: Int) {
            guard measurands.contains(measurand), let value = reading(point) else { return }
            var entry: [String: JSONValue] = ["value": .string(String(format: "%.\(decimals)f", value)), "measurand": .string(measurand), "context": context]
            if !unit.isEmpty { entry["unit"] = .string(unit) }
            entry["location"] = measurand == "SoC" ? "EV" : "Outlet"
            sampled.append(.object(entry))
        }
        add("Energy.Active.Import.Register", "energy_wh", unit: "Wh", decimals: 0)
        add("Power.Active.Import", "power_w", unit: "W", decimals: 0)
        add("Current.Import", "current_a", unit: "A", decimals: 1)
        add("Voltage", "voltage_v", unit: "V", decimals: 1)
        add("SoC", "soc", unit: "Percent", decimals: 0)
        if sampled.isEmpty, let energy = reading("energy_wh") {
            sampled.append(["value": .string(String(format: "%.0f", energy)), "measurand": "Energy.Active.Import.Register", "unit": "Wh"])
        }
        return ["timestamp": timestamp, "sampledValue": .array(sampled)]
    }

    // MARK: CSMS → device

    private func handle(_ event: OCPPChargePointSession.Event, now: UInt64) {
        switch event {
        case .call(let id, let action, let payload):
            call(id: id, action: action, payload: payload)
        case .answered("Authorize", let payload, let context):
            let accepted = payload["idTagInfo"]?["status"]?.string == "Accepted"
            command(DeviceCommand("authorized", arguments: [
                "connector": .int(context["connector"]?.int ?? 1), "id_tag": .string(context["id_tag"]?.string ?? ""), "accepted": .bool(accepted),
            ]))
        case .failed("Authorize", let reason, let context):
            logger.debug("\(deviceID): Authorize failed: \(reason)")
            command(DeviceCommand("authorized", arguments: [
                "connector": .int(context["connector"]?.int ?? 1), "id_tag": .string(context["id_tag"]?.string ?? ""), "accepted": .bool(false),
            ]))
        case .transactionStarted(let number, _, let status) where status != "Accepted":
            // StopTransactionOnInvalidId: a session the CSMS does not authorize ends at once.
            command(DeviceCommand("remote-stop", arguments: ["session": .int(Int64(number))]))
        case .configurationChanged("MeterValueSampleInterval", let value):
            if let seconds = Int(value) { command(DeviceCommand("set-meter-interval", arguments: ["seconds": .int(Int64(seconds))])) }
        default:
            return
        }
    }

    private static let unsupported: Set<String> = [
        "CancelReservation", "ClearCache", "GetCompositeSchedule", "GetDiagnostics", "GetLocalListVersion", "ReserveNow", "SendLocalList", "UpdateFirmware",
    ]

    private func call(id: String, action: String, payload: JSONValue) {
        let connector = payload["connectorId"]?.int
        switch action {
        case "RemoteStartTransaction":
            guard let tag = payload["idTag"]?.string else { return refuse(id, .occurenceConstraintViolation, "idTag is required") }
            var arguments: [String: PointValue] = ["id_tag": .string(tag)]
            if let connector { arguments["connector"] = .int(connector) }
            if let limit = firstLimit(payload["chargingProfile"]) { arguments["limit_w"] = .double(limit) }
            command(DeviceCommand("remote-start", arguments: arguments), answering: id) { result in ["status": result.isAccepted ? "Accepted" : "Rejected"] }
        case "RemoteStopTransaction":
            guard let transaction = payload["transactionId"]?.int else { return refuse(id, .occurenceConstraintViolation, "transactionId is required") }
            guard let number = session.transactionIDs.first(where: { $0.value == transaction })?.key else {
                session.answer(id, payload: ["status": "Rejected"])
                return
            }
            command(DeviceCommand("remote-stop", arguments: ["session": .int(Int64(number))]), answering: id) { result in ["status": result.isAccepted ? "Accepted" : "Rejected"] }
        case "Reset":
            let type = payload["type"]?.string ?? "Soft"
            command(DeviceCommand("reset", arguments: ["type": .string(type)]), answering: id) { result in ["status": result.isAccepted ? "Accepted" : "Rejected"] }
                afterwards: { [self] result in
                    // Then it restarts, as OCPP 1.6 §5.14 has it: the connection goes, and it boots again.
                    guard result.isAccepted else { return }
                    eventLoop.scheduleTask(in: .milliseconds(500)) { [self] in
                        guard powered else { return }
                        powerOff()
                        let restart = powerSwitches
                        // Unless someone switched it meanwhile (a harness's power cut stays cut).
                        eventLoop.scheduleTask(in: .seconds(1)) { [self] in if powerSwitches == restart { powerOn() } }
                    }
                }
        case "ChangeAvailability":
            let operative = payload["type"]?.string == "Operative"
            command(DeviceCommand("change-availability", arguments: ["connector": .int(connector ?? 0), "operative": .bool(operative)]), answering: id) { result in
                ["status": .string(result.status ?? (result.isAccepted ? "Accepted" : "Rejected"))]
            }
        case "UnlockConnector":
            command(DeviceCommand("unlock-connector", arguments: ["connector": .int(connector ?? 1)]), answering: id) { result in
                ["status": .string(result.status ?? (result.isAccepted ? "Unlocked" : "UnlockFailed"))]
            }
        case "SetChargingProfile":
            guard let limit = firstLimit(payload["csChargingProfiles"]) else { return refuse(id, .occurenceConstraintViolation, "csChargingProfiles needs a chargingSchedule with a period") }
            command(DeviceCommand("set-charging-limit", arguments: ["connector": .int(connector ?? 0), "limit_w": .double(limit)]), answering: id) { result in
                ["status": result.isAccepted ? "Accepted" : "Rejected"]
            }
        case "ClearChargingProfile":
            command(DeviceCommand("clear-charging-limit", arguments: ["connector": .int(connector ?? 0)]), answering: id) { result in
                ["status": result.isAccepted ? "Accepted" : "Unknown"]
            }
        case "TriggerMessage":
            let requested = payload["requestedMessage"]?.string ?? ""
            let now = MonotonicClock.now()
            let wanted = connector.map { Int($0) }
            switch requested {
            case "StatusNotification":
                session.answer(id, payload: ["status": "Accepted"])
                for (number, status) in lastStatus.sorted(by: { $0.key < $1.key }) where wanted == nil || wanted == number {
                    session.enqueue("StatusNotification", status, kind: .status(connector: number), now: now)
                }
            case "MeterValues":
                session.answer(id, payload: ["status": "Accepted"])
                for (number, meter) in lastMeter.sorted(by: { $0.key < $1.key }) where wanted == nil || wanted == number {
                    session.enqueue("MeterValues", meter, now: now)
                }
            default:
                session.answer(id, payload: ["status": "NotImplemented"])
            }
        case "DataTransfer":
            session.answer(id, payload: ["status": "UnknownVendorId"])
        case _ where Self.unsupported.contains(action):
            refuse(id, .notSupported, "\(action) is not supported by this charge point")
        default:
            refuse(id, .notImplemented, "unknown action \(action)")
        }
    }

    private func refuse(_ id: String, _ code: OCPPErrorCode, _ reason: String) {
        session.answerError(id, code: code, description: reason)
        pump(now: MonotonicClock.now())
    }

    /// The first period's limit of a charging profile, in W (an A limit times volts × phases).
    private func firstLimit(_ profile: JSONValue?) -> Double? {
        guard let schedule = profile?["chargingSchedule"], let limit = schedule["chargingSchedulePeriod"]?.array?.first?["limit"]?.double else { return nil }
        return schedule["chargingRateUnit"]?.string == "A" ? limit * wattsPerAmpere : limit
    }

    /// Sends `command` to the device through the engine; when `id` is given, answers that CALL
    /// with what `answer` makes of the device's result (a refusal if the engine could not deliver).
    private func command(_ command: DeviceCommand, answering id: String? = nil, _ answer: @escaping @Sendable (CommandResult) -> JSONValue = { _ in [:] },
                         afterwards: (@Sendable (CommandResult) -> Void)? = nil) {
        guard let commands else {
            if let id { refuse(id, .internalError, "the charge point is not ready") }
            return
        }
        let deviceID = deviceID, loop = eventLoop, asked = generation
        Task { [self] in
            let result = await commands(deviceID, command)
            loop.execute { [self] in
                guard let id, generation == asked else { return }
                switch result {
                case .success(let outcome): session.answer(id, payload: answer(outcome))
                case .failure(let error): session.answerError(id, code: .internalError, description: "\(error)")
                }
                pump(now: MonotonicClock.now())
                if case .success(let outcome) = result { afterwards?(outcome) }
            }
        }
    }
}

extension CommandResult {
    var isAccepted: Bool { outcome == .accepted }
    /// An OCPP status the device put in its answer (`status` reading), if any.
    var status: String? {
        if case .string(let value)? = readings.first(where: { $0.point == "status" })?.value { return value }
        return nil
    }
}
