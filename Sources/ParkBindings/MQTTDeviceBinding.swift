import Logging
import ParkCore
import ParkMQTT
import ParkWire
import Synchronization

/// Puts a park's devices on MQTT: one client per device in an ``MQTTClientPool``, each device's
/// emissions published in its model's wire format (ParkWire's ``DeviceWireFormat``; the JSON
/// envelope unless the model says otherwise) on its topics, commands taken from its `cmd`
/// topic and answered on `cmd/ack`, and a retained `status` of online (on connect) or offline
/// (its last will, published by the broker when the device vanishes).
///
/// Attach it to an engine as its ``EmissionObserver``; give it a ``CommandHandler`` so commands
/// reach the devices. `local` emissions (a sounder, a chirp) never go on the wire.
public final class MQTTDeviceBinding: EmissionObserver, MQTTClientPoolDelegate, CommandTakingBinding, Sendable {
    /// How devices reach the broker.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var topics: DeviceTopicTemplate
        public var telemetryQoS: MQTTQoS
        public var eventQoS: MQTTQoS
        public var protocolVersion: MQTTProtocolVersion
        public var keepAlive: Duration
        /// Credentials per device (nil: anonymous). Secrets come from the caller's environment
        /// or files, never from profiles.
        public var credentials: @Sendable (BoundDevice) -> MQTTCredentials?
        /// The MQTT client id of each device (default its id; signing schemes change it).
        public var clientID: @Sendable (BoundDevice) -> String = { $0.id }
        /// Local address the clients connect from (e.g. 127.0.0.7): a shard of its own on
        /// loopback, so shards never compete for one address's ports and TIME_WAIT slots.
        public var bindAddress: String?
        public var ioThreads: Int
        public var connectWindow: Int
        /// Per model name: the topic template, field names or wire format its profile sets, over
        /// `topics` and the standard envelope.
        public var conventions: [String: MQTTModelConventions] = [:]
        /// How a device retries after its connection breaks (default: 0.5 s doubling to 30 s, full jitter).
        public var reconnect = MQTTReconnectPolicy()
        /// Events that go some other way (a plate camera's reads pushed over HTTP, see
        /// ``HTTPPushDeviceBinding``): not published here.
        public var sentElsewhere: @Sendable (_ deviceID: String, _ event: String) -> Bool = { _, _ in false }

        public init(
            host: String = "127.0.0.1", port: Int = 1883, topics: DeviceTopicTemplate = .standard,
            telemetryQoS: MQTTQoS = .atMostOnce, eventQoS: MQTTQoS = .atLeastOnce,
            protocolVersion: MQTTProtocolVersion = .v311, keepAlive: Duration = .seconds(60),
            credentials: @escaping @Sendable (BoundDevice) -> MQTTCredentials? = { _ in nil },
            ioThreads: Int = 1, connectWindow: Int = 64
        ) {
            self.host = host
            self.port = port
            self.topics = topics
            self.telemetryQoS = telemetryQoS
            self.eventQoS = eventQoS
            self.protocolVersion = protocolVersion
            self.keepAlive = keepAlive
            self.credentials = credentials
            self.ioThreads = ioThreads
            self.connectWindow = connectWindow
        }
    }

    /// Delivers a command to a device (on the engine) and returns its answer.
    public typealias CommandHandler = DeviceCommandHandler

    /// Figures of the binding, beside the pool's own.
    public struct Statistics: Sendable {
        public var pool: MQTTPoolStatistics
        /// Emissions that could not be queued (pool queue full, client stopped): counted, not retried.
        public var dropped: Int
        public var commandsReceived: Int
        public var malformedCommands: Int
        /// Devices whose last connect attempt the broker refused as not authorized, sorted.
        public var refusedDevices: [String]
        /// Devices whose command subscription the broker has granted on their current connection:
        /// until then a command sent to them is lost, so "ready" means connected and subscribed.
        public var subscribedDevices: Int = 0
    }

    public let configuration: Configuration
    public let devices: [BoundDevice]
    private let indexByID: [String: Int]
    /// Each device's topics and wire format.
    public let wire: DeviceWireTable
    /// The pool and its handles, indexed like ``devices``; nil pool before connect and after shutdown.
    private let state = Mutex<(pool: MQTTClientPool?, handles: [MQTTClientHandle])>((nil, []))
    private let commandHandler: Mutex<CommandHandler?> = Mutex(nil)
    private let dropped = Atomic<Int>(0)
    private let commandsReceived = Atomic<Int>(0)
    private let malformedCommands = Atomic<Int>(0)
    private let refused = Mutex<Set<String>>([])
    private let subscribed = Mutex<Set<Int>>([])
    private let logger: Logger

    public init(devices: [BoundDevice], configuration: Configuration, logger: Logger = Logger(label: "parkbench.mqtt-binding")) throws(BindingError) {
        var indexByID: [String: Int] = [:]
        for (index, device) in devices.enumerated() {
            guard indexByID[device.id] == nil else { throw BindingError("device id '\(device.id)' is bound twice") }
            indexByID[device.id] = index
        }
        self.devices = devices
        self.indexByID = indexByID
        self.configuration = configuration
        self.logger = logger
        wire = DeviceWireTable(devices: devices, topics: configuration.topics, conventions: configuration.conventions)
    }

    private func format(_ index: Int) -> any DeviceWireFormat { wire.format(index) }

    /// Whether `deviceID` is one of this binding's devices.
    public func serves(_ deviceID: String) -> Bool { indexByID[deviceID] != nil }

    /// Sets where commands go; until set, commands are answered "not ready".
    public func setCommandHandler(_ handler: @escaping CommandHandler) {
        commandHandler.withLock { $0 = handler }
    }

    /// Creates the pool and starts connecting every device (paced by the connect window).
    public func connect() throws(BindingError) {
        let newPool: MQTTClientPool
        do {
            newPool = try MQTTClientPool(
                configuration: MQTTClientPoolConfiguration(ioThreads: configuration.ioThreads, connectWindow: configuration.connectWindow),
                delegate: self)
        } catch {
            throw BindingError("cannot start the MQTT client pool: \(error)")
        }
        var handles: [MQTTClientHandle] = []
        handles.reserveCapacity(devices.count)
        for (index, device) in devices.enumerated() {
            let client = MQTTClientConfiguration(
                clientID: configuration.clientID(device), host: configuration.host, port: configuration.port,
                bindAddress: configuration.bindAddress,
                protocolVersion: configuration.protocolVersion, keepAlive: configuration.keepAlive,
                credentials: configuration.credentials(device),
                will: MQTTWill(topic: wire.topic(index, .status), payload: format(index).status(of: device, online: false, wallNanoseconds: nil),
                               qos: .atLeastOnce, retain: true),
                subscriptions: [MQTTSubscription(wire.topic(index, .command), qos: .atLeastOnce)],
                reconnect: configuration.reconnect)
            do {
                handles.append(try newPool.addClient(client, connect: false))
            } catch {
                newPool.shutdown()
                throw BindingError("cannot add MQTT client for device '\(device.id)': \(error)")
            }
        }
        // Publish only once every handle is known: callbacks look clients up by handle index.
        state.withLock { $0 = (newPool, handles) }
        for handle in handles { try? newPool.connect(handle) }
    }

    /// Publishes a retained `offline` status for every device, then disconnects them
    /// (DISCONNECT, so no will) and stops the pool. A clean stop thus leaves the same retained
    /// status a crash would, instead of a stale `online`.
    public func shutdown() {
        let (current, handles) = state.withLock { state -> (MQTTClientPool?, [MQTTClientHandle]) in
            defer { state = (nil, []) }
            return (state.pool, state.handles)
        }
        guard let current else { return }
        let wall = SystemClock.wallNow()
        for (index, handle) in handles.enumerated() {
            // Queued before the DISCONNECT on the same I/O thread, so it goes out first.
            try? current.publish(
                handle, topic: wire.topic(index, .status), payload: format(index).status(of: devices[index], online: false, wallNanoseconds: wall.nanosecondsSinceEpoch),
                qos: .atLeastOnce, retain: true)
        }
        current.shutdown()
    }

    /// Cuts a device's connection without DISCONNECT (the broker then publishes its will):
    /// the "device vanishes" fault.
    public func dropConnection(of deviceID: String, reconnect: Bool) throws(BindingError) {
        guard let index = indexByID[deviceID] else { throw BindingError("no bound device '\(deviceID)'") }
        let (current, handles) = state.withLock { ($0.pool, $0.handles) }
        guard let current else { throw BindingError("the binding is not connected") }
        do { try current.dropConnection(handles[index], reconnect: reconnect) } catch {
            throw BindingError("cannot drop '\(deviceID)': \(error)")
        }
    }

    /// Connects a device again after ``dropConnection(of:reconnect:)`` with `reconnect: false`:
    /// the "device comes back" half of that fault.
    public func reconnect(_ deviceID: String) throws(BindingError) {
        guard let index = indexByID[deviceID] else { throw BindingError("no bound device '\(deviceID)'") }
        let (current, handles) = state.withLock { ($0.pool, $0.handles) }
        guard let current else { throw BindingError("the binding is not connected") }
        do { try current.connect(handles[index]) } catch {
            throw BindingError("cannot reconnect '\(deviceID)': \(error)")
        }
    }

    /// Cuts every waiting device's reconnect backoff short: they try again now (connected ones
    /// are left be). What some of a large park's devices always do the moment a broker is back.
    public func reconnectNow() {
        let (current, handles) = state.withLock { ($0.pool, $0.handles) }
        guard let current else { return }
        for handle in handles { try? current.connect(handle) }
    }

    public var statistics: Statistics {
        Statistics(
            pool: state.withLock { $0.pool }?.statistics ?? MQTTPoolStatistics(),
            dropped: dropped.load(ordering: .relaxed),
            commandsReceived: commandsReceived.load(ordering: .relaxed),
            malformedCommands: malformedCommands.load(ordering: .relaxed),
            refusedDevices: refused.withLock { $0.sorted() },
            subscribedDevices: subscribed.withLock { $0.count })
    }

    // MARK: EmissionObserver

    public func deviceEmitted(_ record: LedgerRecord) {
        // `local` emissions (a sounder, a chirp) have no wire channel.
        guard let channel = record.channel.flatMap(DeviceWireTable.Channel.init), let index = indexByID[record.deviceID] else { return }
        if channel == .event, configuration.sentElsewhere(record.deviceID, record.name) { return }
        let (current, handles) = state.withLock { ($0.pool, $0.handles) }
        guard let current else { return }
        let qos: MQTTQoS = switch channel {
        case .telemetry: configuration.telemetryQoS
        case .event: configuration.eventQoS
        default: .atLeastOnce
        }
        do {
            try current.publish(handles[index], topic: wire.topic(index, channel), payload: format(index).emission(WireEmission(record, device: devices[index])),
                                qos: qos, retain: channel == .status, tag: record.order)
        } catch {
            dropped.add(1, ordering: .relaxed)
        }
    }

    // MARK: MQTTClientPoolDelegate

    public func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        guard client.index < devices.count, let current = state.withLock({ $0.pool }) else { return }
        _ = refused.withLock { $0.remove(devices[client.index].id) }
        let payload = format(client.index).status(of: devices[client.index], online: true, wallNanoseconds: SystemClock.wallNow().nanosecondsSinceEpoch)
        try? current.publish(client, topic: wire.topic(client.index, .status), payload: payload, qos: .atLeastOnce, retain: true)
    }

    public func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
        guard client.index < devices.count else { return }
        if error.isAuthenticationFailure { _ = refused.withLock { $0.insert(devices[client.index].id) } }
        let retry = retryIn.map { "retrying in \($0)" } ?? "giving up"
        // Once per streak (and when giving up), not at every retry.
        logger.log(level: failures == 1 || retryIn == nil ? .warning : .debug,
                   "device '\(devices[client.index].id)' could not connect to \(configuration.host):\(configuration.port): \(error) (\(retry))")
    }

    public func mqttClientDidSubscribe(_ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]) {
        guard !grantedQoS.contains(where: { $0 > 2 }) else { return }
        _ = subscribed.withLock { $0.insert(client.index) }
    }

    public func mqttClientDidDisconnect(_ client: MQTTClientHandle, error: MQTTError?, retryIn: Duration?) {
        _ = subscribed.withLock { $0.remove(client.index) }
    }

    public func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        guard client.index < devices.count, let current = state.withLock({ $0.pool }) else { return }
        let device = devices[client.index]
        let ackTopic = wire.topic(client.index, .commandAck)
        let format = format(client.index)
        commandsReceived.add(1, ordering: .relaxed)
        let command: DeviceCommand
        do { command = try format.deviceCommand(from: message.payload, topic: message.topic) } catch {
            malformedCommands.add(1, ordering: .relaxed)
            logger.warning("device '\(device.id)' got a malformed command on \(message.topic): \(error.message)")
            let ack = format.commandAck(of: device, id: "", command: "", result: .rejected(error.message), wall: SystemClock.wallNow())
            try? current.publish(client, topic: ackTopic, payload: ack, qos: .atLeastOnce)
            return
        }
        let handler = commandHandler.withLock { $0 }
        let id = command.id ?? ""
        Task {
            let result: CommandResult
            if let handler {
                switch await handler(device.id, command) {
                case .success(let answer): result = answer
                case .failure(let error): result = .rejected(error.description)
                }
            } else {
                result = .rejected("the device is not running yet")
            }
            let ack = format.commandAck(of: device, id: id, command: command.name, result: result, wall: SystemClock.wallNow())
            try? current.publish(client, topic: ackTopic, payload: ack, qos: .atLeastOnce)
        }
    }
}
