import Foundation
import Logging
import NIOHTTP1
import ParkMQTT
import ParkWire
import Synchronization

/// The reference platform on MQTT: subscribes to device traffic, runs ``PlatformCore``, and
/// publishes what it decides northbound — alarms on `platform/alarms`, status changes on
/// `platform/status`, the values it holds on `platform/telemetry`, camera catalogs on
/// `platform/catalog` — the way a real park platform would, so the harness can test it like any
/// other system under test (only over the wire).
public final class ReferencePlatform: MQTTClientPoolDelegate, Sendable {
    /// Where the platform listens and speaks.
    public struct Endpoints: Sendable {
        public var host: String
        public var port: Int
        /// Device traffic to subscribe to.
        public var deviceFilter: String
        public var alarmTopic: String
        public var statusTopic: String
        public var telemetryTopic: String
        /// Where the catalogs of GB/T 28181 cameras and NVRs are shown.
        public var catalogTopic: String
        /// Where live video sessions are reported: started (first key frame), figures, failed, stopped.
        public var videoTopic: String = "platform/video"
        /// Where the records of events that carried text are shown (a lane's passages with plates).
        public var recordsTopic: String = "platform/records"
        /// The platform's own login, when the broker wants one.
        public var credentials: MQTTCredentials?
        /// Robots' VDA 5050 traffic to subscribe to (`<interface>/v2/<manufacturer>/<serial>/<topic>`).
        public var robotFilter: String = "uagv/#"

        public init(
            host: String = "127.0.0.1", port: Int = 1883, deviceFilter: String = "park/#",
            alarmTopic: String = "platform/alarms", statusTopic: String = "platform/status",
            telemetryTopic: String = "platform/telemetry", catalogTopic: String = "platform/catalog", credentials: MQTTCredentials? = nil
        ) {
            self.catalogTopic = catalogTopic
            self.credentials = credentials
            self.telemetryTopic = telemetryTopic
            self.host = host
            self.port = port
            self.deviceFilter = deviceFilter
            self.alarmTopic = alarmTopic
            self.statusTopic = statusTopic
        }
    }

    public let endpoints: Endpoints
    let records = PlatformRecords()
    private let webhook: PlatformWebhook?
    /// The platform's database, when it keeps one.
    public let store: PlatformStore?
    private let api: Mutex<PlatformHTTPAPI?> = Mutex(nil)
    let core: Mutex<PlatformCore>
    /// The GB/T 28181 SIP server, once ``startSIP(_:)`` started it.
    let sip: Mutex<PlatformSIPTransport?> = Mutex(nil)
    /// The OCPP central system, once ``startOCPP(_:)`` started it.
    let ocpp: Mutex<PlatformCentralSystem?> = Mutex(nil)
    /// Live video sessions and their RTP receiver (see ReferencePlatform+Video).
    let video = Mutex(PlatformVideoState())
    private let pool: Mutex<(pool: MQTTClientPool?, client: MQTTClientHandle?)> = Mutex((nil, nil))
    private let ticker: Mutex<ScheduledWork?> = Mutex(nil)
    /// The instants the platform stamps and the timers it runs (the heartbeat sweep, delayed alarms).
    public let clock: any PlatformClock
    /// Where publications go instead of the broker, in tests on a manual clock.
    private let outlet: (any PlatformOutlet)?
    private let connected = Atomic<Bool>(false)
    private let resumedSessions = Atomic<Int>(0)
    private let crashed = Atomic<Bool>(false)
    private let ignoredAfterCrash = Atomic<Int>(0)
    let warnings: RateLimitedWarnings
    let logger: Logger
    /// Its part in an active/standby pair (see ReferencePlatform+Standby); active and alone by default.
    let standby = Mutex(StandbyState())
    /// Paused as SIGSTOP pauses a process (see ReferencePlatform+Freeze): what arrived meanwhile.
    let freezeState = Mutex(FreezeState())
    /// The `slow-under-load` switch's bookkeeping: the intake rate, and processing time owed but
    /// not yet spent (slept off a millisecond or more at a time, not per message).
    private let slowdown = Mutex((meter: IntakeMeter(), owed: Duration.zero))

    public convenience init(
        endpoints: Endpoints, configuration: PlatformConfiguration = PlatformConfiguration(),
        faults: PlatformFaults = PlatformFaults(), webhook: PlatformWebhook? = nil, store: PlatformStore? = nil,
        clock: any PlatformClock = SystemPlatformClock(label: "parkbench.platform.ticker"),
        logger: Logger = Logger(label: "parkbench.platform")
    ) {
        self.init(endpoints: endpoints, configuration: configuration, faults: faults, webhook: webhook, store: store, clock: clock,
                  outlet: nil, logger: logger)
    }

    /// A platform that publishes into `outlet` instead of a broker: what a test on a
    /// ``ManualPlatformClock`` drives with ``receive(topic:payload:)`` and ``startTicking()``.
    package init(
        endpoints: Endpoints, configuration: PlatformConfiguration = PlatformConfiguration(),
        faults: PlatformFaults = PlatformFaults(), webhook: PlatformWebhook? = nil, store: PlatformStore? = nil,
        clock: any PlatformClock, outlet: (any PlatformOutlet)?, logger: Logger = Logger(label: "parkbench.platform")
    ) {
        self.clock = clock
        self.outlet = outlet
        self.warnings = RateLimitedWarnings(logger: logger)
        self.logger = logger
        self.endpoints = endpoints
        self.webhook = webhook
        self.store = store
        self.core = Mutex(PlatformCore(configuration: configuration, faults: faults))
    }

    /// Connects to the broker and starts the heartbeat-timeout clock.
    public func start() throws(MQTTError) {
        let newPool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: self)
        // A persistent session: when the broker restarts (with its persistence on), the platform's
        // subscriptions and what was queued for it survive, so a device that reconnects sooner
        // than the platform loses nothing. One client for the whole platform: it may retry
        // briskly without adding to a reconnect storm.
        let cleanSession = core.withLock { $0.faults.cleanSession }
        let client = try newPool.addClient(MQTTClientConfiguration(
            clientID: mqttClientID, host: endpoints.host, port: endpoints.port,
            session: cleanSession ? .clean : .persistent(), credentials: endpoints.credentials,
            subscriptions: ([endpoints.deviceFilter, endpoints.robotFilter] + pairTopics).map { MQTTSubscription($0, qos: .atLeastOnce) },
            reconnect: MQTTReconnectPolicy(base: .milliseconds(200), cap: .seconds(1))), connect: false)
        pool.withLock { $0 = (newPool, client) }
        // Until the first CONNACK this node hears nothing, the lease included.
        brokerConnectionChanged(up: false)
        try newPool.connect(client)
        startTicking()
    }

    /// The platform's MQTT client id. Two nodes of a pair may share a process (the demo): the
    /// node's name keeps their ids apart.
    private var mqttClientID: String {
        let node = standby.withLock { $0.settings.map { "-\($0.node)" } ?? "" }
        return "parkbench-platform\(node)-\(getpid())"
    }

    /// Starts the once-a-second sweep that takes silent devices offline (``start()`` does this).
    package func startTicking() {
        ticker.withLock { slot in
            slot?.cancel()
            slot = clock.scheduleRepeating(every: .seconds(1)) { [weak self] in self?.tick() }
        }
    }

    /// Serves the REST API (see ``PlatformHTTPAPI``) on `host:port` (0: a free port); returns the port.
    public func startHTTP(host: String = "127.0.0.1", port: Int = 0) throws -> Int {
        let server = try PlatformHTTPAPI(host: host, port: port, platform: self)
        api.withLock { $0 = server }
        return server.port
    }

    /// Stops listening and disconnects.
    public func stop() {
        api.withLock { $0?.stop(); $0 = nil }
        ticker.withLock { $0?.cancel(); $0 = nil }
        sip.withLock { $0?.stop(); $0 = nil }
        ocpp.withLock { $0?.stop(); $0 = nil }
        stopVideo()
        store?.close()
        let current = pool.withLock { state -> MQTTClientPool? in
            defer { state = (nil, nil) }
            return state.pool
        }
        current?.shutdown()
        // A clean stop leaves no session behind on the broker, queueing messages nobody will take
        // (a killed node's stays, as a crashed process's would).
        if current != nil, !isCrashed, !core.withLock({ $0.faults.cleanSession }) {
            MQTTSessionEnd.end(clientID: mqttClientID, host: endpoints.host, port: endpoints.port, credentials: endpoints.credentials)
        }
    }

    /// Changes the fault switches at run time.
    public func setFaults(_ faults: PlatformFaults) {
        core.withLock { $0.faults = faults }
        sipFaultsChanged(faults)
    }

    /// Reconnects that found the platform's session still on the broker (its subscriptions, and
    /// what was queued for it meanwhile): after a broker restart, proof that its persistence kept them.
    public var sessionsResumed: Int { resumedSessions.load(ordering: .relaxed) }

    /// True once subscribed to device traffic.
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// True once the `crashAfterMessages` fault switch has fired: from then on the platform
    /// takes nothing in and says nothing, as a crashed process would (its connection stays up,
    /// so only a harness that watches what the platform does can tell).
    public var isCrashed: Bool { crashed.load(ordering: .relaxed) }

    /// Device messages that arrived after the crash and were ignored.
    public var messagesIgnoredAfterCrash: Int { ignoredAfterCrash.load(ordering: .relaxed) }

    /// A copy of the platform's view of the devices.
    public var devices: [String: PlatformCore.DeviceState] { core.withLock { $0.devices } }

    /// Commands sent by linkage rules, and rule firings swallowed by the fault switch.
    public var linkage: (commands: Int, dropped: Int) { core.withLock { ($0.linkageCommands, $0.linkageDropped) } }

    /// Alarms raised, dropped by the fault switch, and malformed messages seen.
    public var counters: (raised: Int, dropped: Int, malformed: Int) {
        core.withLock { ($0.alarmsRaised, $0.alarmsDropped, $0.malformed) }
    }

    /// What was refused or left out of device messages (oversized, too many values, bad values…).
    public var inputStatistics: PlatformInputStatistics { core.withLock { $0.input } }

    /// The limits device messages are held to.
    public var limits: PlatformLimits { core.withLock { $0.configuration.limits } }

    // MARK: MQTTClientPoolDelegate

    public func mqttClientDidSubscribe(_ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]) {
        connected.store(true, ordering: .relaxed)
    }

    public func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        if sessionPresent { resumedSessions.add(1, ordering: .relaxed) }
        brokerConnectionChanged(up: true)
    }

    public func mqttClientDidDisconnect(_ client: MQTTClientHandle, error: MQTTError?, retryIn: Duration?) {
        brokerConnectionChanged(up: false)
    }

    public func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        if let cost = core.withLock({ $0.faults.slowUnderLoad }) { spendProcessingTime(cost) }
        receive(topic: message.topic, payload: message.payload)
    }

    /// The `slow-under-load` switch: blocks the thread messages arrive on for what this message
    /// costs at the current intake rate, so everything behind it (alarms too) waits, as it would
    /// behind a platform's saturated worker.
    private func spendProcessingTime(_ cost: Duration) {
        let now = clock.now()
        let due = slowdown.withLock { state -> Duration in
            let rate = state.meter.arrived(now: now)
            state.owed += IntakeMeter.serviceTime(cost: cost, rate: rate)
            guard state.owed >= .milliseconds(1) else { return .zero }
            defer { state.owed = .zero }
            return state.owed
        }
        guard due > .zero else { return }
        let (seconds, attoseconds) = due.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }

    /// A message from the broker, apart from which client it came through (tests call it directly).
    package func receive(topic: String, payload: [UInt8]) {
        guard !isCrashed else {
            ignoredAfterCrash.add(1, ordering: .relaxed)
            return
        }
        if heldWhileFrozen(topic: topic, payload: payload) { return }
        process(topic: topic, payload: payload)
    }

    /// A message taken in now (after a freeze, in the order it arrived).
    func process(topic: String, payload: [UInt8]) {
        let now = clock.now()
        fenceIfLeaseLapsed(now: now)
        if receivedPairMessage(topic: topic, payload: payload, now: now) { return }
        if receivedRobotMessage(topic: topic, payload: payload, now: now) { return }
        // Its own commands come back through park/#; acknowledgements close them.
        if topic.hasSuffix("/cmd") { return }
        if topic.hasSuffix("/cmd/ack") {
            // Acknowledgements are parsed here, not by the core, so they get its size check first.
            if let problem = core.withLock({ $0.refuseOversized(topic: topic, bytes: payload.count) }) {
                warnings.warn(problem, now: now)
                return
            }
            if let ack = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any], let id = ack["id"] as? String {
                records.acknowledged(id: id, accepted: ack["accepted"] as? Bool ?? false, reason: ack["reason"] as? String, at: now)
                store?.append(.ack(id: id, accepted: ack["accepted"] as? Bool ?? false, at: now))
            }
            return
        }
        let (actions, crash) = core.withLock { core in
            (core.received(topic: topic, payload: payload, now: now), core.shouldCrash)
        }
        if crash {
            crashed.store(true, ordering: .relaxed)
            return
        }
        perform(standingBy(actions, now: now))
    }

    /// An event a device pushed over HTTP (`POST /push`, as vendors' plate cameras do), taken in
    /// exactly as if it had arrived on the device's MQTT event topic — placed in the zone its body
    /// names, so zone rules (open this lane's barrier) apply to it.
    package func pushed(_ body: [UInt8]) -> Result<String, PlatformError> {
        if let problem = core.withLock({ $0.refuseOversized(topic: "POST /push", bytes: body.count) }) {
            warnings.warn(problem, now: clock.now())
            return .failure(PlatformError("the body is over the \(limits.maxPayloadBytes)-byte limit"))
        }
        let message: DeviceMessage
        do throws(DeviceMessageError) { message = try DeviceMessage(topic: "", payload: body, maxValues: limits.maxValues) } catch {
            return .failure(PlatformError("not a device event: \(error)"))
        }
        let zone = message.zone ?? "push"
        for (field, text) in [("device", message.device), ("kind", message.kind), ("zone", zone)]
        where text.isEmpty || text.contains("/") || text.contains("+") || text.contains("#") {
            return .failure(PlatformError("\"\(field)\" must be a non-empty name without / + #, got \(JSONText.quoted(String(text.prefix(64))))"))
        }
        let topic = "park/\(zone)/\(message.kind)/\(message.device)/event"
        receive(topic: topic, payload: body)
        return .success(topic)
    }

    /// From now on the platform takes nothing in and says nothing (the crash fault switch, and ``kill()``).
    func crash() { crashed.store(true, ordering: .relaxed) }

    /// Sends `command` to a device on its `cmd` topic and returns the command's id, as the REST
    /// API's `POST /devices/{id}/commands` does. The `commandsDropped` fault switch records the
    /// request and sends nothing.
    public func command(_ deviceID: String, command: String, arguments: [String: Any]) -> Result<String, PlatformError> {
        guard isActive else { return .failure(PlatformError("this node is the standby; ask the active platform")) }
        if core.withLock({ $0.devices[deviceID]?.viaSIP == true }) {
            return sipCommand(deviceID, command: command, arguments: arguments)
        }
        if core.withLock({ $0.devices[deviceID]?.viaOCPP == true }) {
            return ocppCommand(deviceID, command: command, arguments: arguments)
        }
        if core.withLock({ $0.devices[deviceID]?.viaVDA5050 == true }) {
            return robotCommand(deviceID, command: command, arguments: arguments)
        }
        guard let topic = core.withLock({ $0.devices[deviceID]?.commandTopic }) else {
            return .failure(PlatformError("no device '\(deviceID)' has been heard from, so its command topic is unknown"))
        }
        let sentAt = clock.now()
        let id = records.sent(device: deviceID, command: command, origin: "api", at: sentAt)
        store?.append(.command(id: id, device: deviceID, command: command, origin: "api", sent: sentAt))
        let message: [String: Any] = ["id": id, "command": command, "args": arguments]
        guard let payload = try? JSONSerialization.data(withJSONObject: message, options: [.sortedKeys]) else {
            return .failure(PlatformError("the arguments are not JSON values"))
        }
        guard !core.withLock({ $0.faults.commandsDropped }) else { return .success(id) }
        guard let publish = publisher() else { return .failure(PlatformError("the platform is not connected")) }
        do { try publish(topic, Array(payload), .atLeastOnce) } catch {
            return .failure(PlatformError("cannot publish the command: \(error)"))
        }
        return .success(id)
    }

    /// The REST API's answer to a request, without a socket (a test on a manual clock asks here):
    /// the status code and the JSON body.
    package func answer(method: String, uri: String, body: [UInt8]) -> (status: Int, body: [UInt8]) {
        let answer = APIRoutes.answer(method: HTTPMethod(rawValue: method), uri: uri, body: body, platform: self)
        return (answer.code, answer.body)
    }

    /// Webhook deliveries that failed after their retries.
    public var webhookFailures: Int { webhook?.failures ?? 0 }

    // MARK: Actions

    func tick() {
        guard !isCrashed, !isFrozen else { return }
        let now = clock.now()
        fenceIfLeaseLapsed(now: now)
        perform(standingBy(core.withLock { $0.tick(now: now) }, now: now))
        standbyTick(now: now)
    }

    /// How a publication leaves: through the outlet a test gave, or the broker connection.
    typealias Publish = @Sendable (_ topic: String, _ payload: [UInt8], _ qos: MQTTQoS) throws -> Void

    func publisher() -> Publish? {
        if let outlet { return { topic, payload, qos in outlet.publish(topic: topic, payload: payload, qos: qos) } }
        let (current, client) = pool.withLock { ($0.pool, $0.client) }
        guard let current, let client else { return nil }
        return { topic, payload, qos in try current.publish(client, topic: topic, payload: payload, qos: qos) }
    }

    func perform(_ actions: [PlatformCore.Action]) {
        guard let publish = publisher() else { return }
        for action in actions {
            switch action {
            case .raiseAlarm(let alarm, let delay):
                let topic = endpoints.alarmTopic
                let records = self.records, webhook = self.webhook, store = self.store, clock = self.clock
                let raise: @Sendable () -> Void = {
                    try? publish(topic, alarm.json, .atLeastOnce)
                    records.add(alarm)
                    store?.append(.alarm(alarm, raised: clock.now()))
                    webhook?.deliver(alarm.json)
                }
                if delay == .zero {
                    raise()
                } else {
                    clock.schedule(after: delay, raise)
                }
            case .sendCommand(let device, let topic, let payload, let rule, let delay):
                let records = self.records, store = self.store, clock = self.clock
                let send: @Sendable () -> Void = {
                    if let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any], let id = object["id"] as? String,
                       let command = object["command"] as? String {
                        let sentAt = clock.now()
                        _ = records.sent(device: device, command: command, origin: "linkage \(rule)", id: id, at: sentAt)
                        store?.append(.command(id: id, device: device, command: command, origin: "linkage \(rule)", sent: sentAt))
                    }
                    try? publish(topic, payload, .atLeastOnce)
                }
                if delay == .zero { send() } else { clock.schedule(after: delay, send) }
            case .sendRobotMessage(_, let topic, let payload):
                // VDA 5050 sends orders at QoS 0.
                try? publish(topic, payload, .atMostOnce)
            case .record(let message):
                store?.append(.message(message))
            case .refused(let problem):
                warnings.warn(problem, now: clock.now())
            case .showTelemetry(let telemetry):
                try? publish(endpoints.telemetryTopic, telemetry.json, .atMostOnce)
            case .showRecord(let record):
                try? publish(endpoints.recordsTopic, record.json, .atLeastOnce)
            case .showCatalog(let device, let channels, let sumNum, let complete):
                let object: [String: Any] = [
                    "device": device, "complete": complete, "values": ["channels": channels, "sum_num": sumNum], "ts_ns": clock.now(),
                ]
                let payload = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
                try? publish(endpoints.catalogTopic, payload, .atLeastOnce)
            case .statusChanged(let device, let from, let to):
                store?.append(.status(device: device, status: to.rawValue, at: clock.now()))
                var object: [String: Any] = ["device": device, "status": to.rawValue, "ts_ns": clock.now()]
                if let from { object["from"] = from.rawValue }
                let payload = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
                try? publish(endpoints.statusTopic, payload, .atLeastOnce)
            }
        }
    }

}

/// Where a ``ReferencePlatform`` built for a test publishes instead of a broker.
package protocol PlatformOutlet: Sendable {
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS)
}

/// Why the platform could not do what it was asked.
public struct PlatformError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
