import Foundation
import ParkMQTT
import ParkEventLoop
import ParkModbus
import ParkProfiles
import ParkWire
import Synchronization

/// The reference platform's meter-reading gateway (智能网关, 004 L3499–3513): it polls meters
/// over Modbus TCP or RTU (through their model's register map) or DL/T 645-2007 (the standard data
/// items) on a configurable period (L3511) and
/// publishes each reading northbound over MQTT as the meter's telemetry, on the meter's own
/// topics, through one gateway connection. A meter that misses `offlineAfter` polls in a row is
/// reported offline (its retained status), and online again at its next answer (L3509).
///
/// Commands for a meter (its `cmd` topic, as a device would take them) become coil writes when
/// the map has a coil for them (`relay-open` → the relay coil off; on DL/T 645 a 1C relay-control
/// frame), or an immediate reading for
/// `read` (L3511: on-demand collection); each is answered on `cmd/ack`.
///
/// One thread polls every meter in turn, synchronously, as a gateway's RS-485 master does;
/// registers that sit next to each other in a table are read in one request.
public final class MeterGateway: @unchecked Sendable {
    /// One meter behind the gateway.
    public struct Meter: Sendable {
        public var id: String
        public var kind: String
        public var zone: String?
        public var host: String
        public var port: Int
        public var link: Link

        /// How the meter is addressed on its bus, and read.
        public enum Link: Sendable {
            /// A Modbus TCP unit read through its model's register map.
            case modbus(unit: UInt8, map: ModelModbusMap)
            /// A Modbus RTU slave on the serial line `host` names (8N1 at `baudRate`).
            case modbusRTU(unit: UInt8, map: ModelModbusMap, baudRate: Int)
            /// A DL/T 645 meter by its 12-digit number, read through the standard data items.
            case dlt645(meter: String)
        }

        /// A Modbus TCP meter.
        public init(id: String, kind: String, zone: String?, host: String, port: Int, unit: UInt8, map: ModelModbusMap) {
            self.init(id: id, kind: kind, zone: zone, host: host, port: port, link: .modbus(unit: unit, map: map))
        }

        /// A Modbus RTU meter on a serial line (`/dev/ttyUSB0`, a pty of `simulate --modbus-rtu`).
        public init(id: String, kind: String, zone: String?, serialDevice: String, baudRate: Int = 9600, unit: UInt8, map: ModelModbusMap) {
            self.init(id: id, kind: kind, zone: zone, host: serialDevice, port: 0, link: .modbusRTU(unit: unit, map: map, baudRate: baudRate))
        }

        /// The unit and register map of a Modbus meter (TCP or RTU).
        var modbus: (unit: UInt8, map: ModelModbusMap)? {
            switch link {
            case .modbus(let unit, let map), .modbusRTU(let unit, let map, _): (unit, map)
            case .dlt645: nil
            }
        }

        /// The connection it is polled over: meters on one bus or endpoint share it.
        var connectionKey: String { port == 0 ? host : "\(host):\(port)" }

        public init(id: String, kind: String, zone: String?, host: String, port: Int, link: Link) {
            self.id = id
            self.kind = kind
            self.zone = zone
            self.host = host
            self.port = port
            self.link = link
        }
    }

    public struct Configuration: Sendable {
        public var name: String
        public var period: Duration
        public var brokerHost: String
        public var brokerPort: Int
        public var credentials: MQTTCredentials?
        /// Consecutive failed polls before a meter is reported offline.
        public var offlineAfter = 3
        public var timeoutMicroseconds = 500_000
        public var faults = MeterGatewayFaults()
        /// Store-and-forward on disk (``GatewaySpoolSettings``); nil: readings the uplink does not
        /// take in time wait in the MQTT client's memory (up to 1,000), and a restart loses them.
        public var spool: GatewaySpoolSettings?

        public init(name: String, period: Duration, brokerHost: String, brokerPort: Int, credentials: MQTTCredentials? = nil) {
            self.name = name
            self.period = period
            self.brokerHost = brokerHost
            self.brokerPort = brokerPort
            self.credentials = credentials
        }
    }

    /// Counters since start.
    public struct Statistics: Sendable, Hashable {
        public var polls = 0
        /// Polling rounds finished (every polled meter read once).
        public var rounds = 0
        public var failedPolls = 0
        public var requests = 0
        public var published = 0
        public var commands = 0
        public var offlineMeters: [String] = []
        /// With a spool: readings on disk not yet acknowledged by the broker, those acknowledged,
        /// those dropped because it was full, and those an earlier run left that it found at start.
        public var spooled = 0
        public var delivered = 0
        public var spoolDropped = 0
        public var spoolRecovered = 0
    }

    public let configuration: Configuration
    private let meters: [Meter]
    /// Per meter: where it publishes, filled in once (every reading goes to one of these).
    private let topics: [MeterTopics]
    /// Which meter a command topic belongs to.
    private let meterByCommandTopic: [String: Int]
    /// Names the gateway in every message, so a platform (and a reader of the capture) can tell
    /// a reading the gateway made from one a device sent itself.
    private let gatewayField: [(key: String, json: String)]
    /// Per meter: the Modbus requests that read it (nil for a DL/T 645 meter).
    private let plans: [ReadPlan?]
    private let pool: MQTTClientPool
    private let client: MQTTClientHandle
    /// The store-and-forward spool, when configured.
    let outbox: GatewayOutbox?
    /// Tells this run's readings from an earlier run's in their `msg_id`s (their sequence numbers
    /// start again at 1), so a platform that drops messages it has seen keeps the new ones.
    private let boot = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
    private let counters = Mutex(Statistics())
    private let stopping = Atomic<Bool>(false)
    private let pendingCommands = Mutex<[PendingCommand]>([])
    /// Wakes the polling thread early: a command arrived, or stop() was called.
    private let wake = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// The instants readings are stamped with and the pause between polling rounds.
    public let clock: any PlatformClock

    /// - Parameter clock: a ``ManualPlatformClock`` lets a test step through polling rounds
    ///   (each `advance(by: period)` starts one) instead of waiting for them.
    public init(meters: [Meter], configuration: Configuration, clock: any PlatformClock = SystemPlatformClock(label: "parkbench.gateway"))
        throws(MeterGatewayError)
    {
        self.clock = clock
        self.meters = meters
        self.configuration = configuration
        topics = meters.map(MeterTopics.init)
        meterByCommandTopic = Dictionary(topics.enumerated().map { ($1.command, $0) }, uniquingKeysWith: { first, _ in first })
        gatewayField = [("gateway", JSONText.quoted(configuration.name))]
        plans = meters.map { meter in
            meter.modbus.map { ReadPlan($0.map, wordSwapped: configuration.faults.wordSwap) }
        }
        let receiver = CommandReceiver()
        do {
            pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: receiver)
            var client = MQTTClientConfiguration(
                clientID: "gateway-\(configuration.name)", host: configuration.brokerHost, port: configuration.brokerPort,
                credentials: configuration.credentials,
                subscriptions: topics.map { MQTTSubscription($0.command, qos: .atLeastOnce) })
            client.tcpNoDelay = true
            self.client = try pool.addClient(client)
        } catch {
            throw MeterGatewayError("cannot start the gateway's MQTT client: \(error)")
        }
        if let settings = configuration.spool, !configuration.faults.spoolDropped {
            let (pool, client) = (pool, self.client)
            do {
                outbox = try GatewayOutbox(settings) { topic, payload, tag in
                    (try? pool.publish(client, topic: topic, payload: payload, qos: .atLeastOnce, tag: tag)) != nil
                }
            } catch {
                pool.shutdown()
                throw MeterGatewayError("cannot open the gateway's spool in \(settings.directory): \(error)")
            }
        } else {
            outbox = nil
        }
        receiver.gateway = self
        // What an earlier run left in the spool goes first.
        outbox?.drain()
    }

    public var statistics: Statistics {
        var figures = counters.withLock { $0 }
        if let spool = outbox?.figures {
            (figures.spooled, figures.delivered, figures.spoolDropped, figures.spoolRecovered) = (spool.queued, spool.delivered, spool.dropped, spool.recovered)
        }
        return figures
    }

    /// The meters actually polled: all of them, unless the meter-limit fault caps them.
    private var polledMeters: ArraySlice<Meter> {
        meters.prefix(configuration.faults.meterLimit ?? meters.count)
    }

    public func start() {
        let thread = Thread { [self] in
            poll()
            finished.signal()
        }
        thread.name = "meter-gateway"
        self.thread = thread
        thread.start()
    }

    /// Stops polling (after the current meter) and disconnects.
    public func stop() {
        guard thread != nil, !stopping.exchange(true, ordering: .relaxed) else { return }
        wake.signal()
        finished.wait()
        pool.shutdown()
    }

    // MARK: - Polling

    private var connections: [String: ModbusMaster] = [:]
    private var dlt645Connections: [String: DLT645Master] = [:]
    private var failures: [String: Int] = [:]
    private var online: Set<String> = []
    private var sequence: [String: Int] = [:]

    private func poll() {
        let period = (configuration.faults.period ?? configuration.period).nanoseconds
        var next = clock.now()
        while !stopping.load(ordering: .relaxed) {
            for index in polledMeters.indices {
                if stopping.load(ordering: .relaxed) { break }
                runCommands()
                read(index)
            }
            counters.withLock { $0.rounds += 1 }
            outbox?.sync()
            next += period
            // Commands do not wait for the next round.
            while !stopping.load(ordering: .relaxed), clock.now() < next {
                clock.wait(until: next, or: wake)
                runCommands()
            }
        }
    }

    private func master(for meter: Meter) throws(ModbusClientError) -> ModbusMaster {
        if let existing = connections[meter.connectionKey] { return existing }
        let created: ModbusMaster
        if case .modbusRTU(_, _, let baudRate) = meter.link {
            created = try ModbusMaster(serialDevice: meter.host, baudRate: baudRate, timeoutMicroseconds: configuration.timeoutMicroseconds)
        } else {
            created = try ModbusMaster(host: meter.host, port: meter.port, timeoutMicroseconds: configuration.timeoutMicroseconds)
        }
        connections[meter.connectionKey] = created
        return created
    }

    private func dlt645Master(for meter: Meter) throws(DLT645Master.Failure) -> DLT645Master {
        if let existing = dlt645Connections[meter.connectionKey] { return existing }
        let created = try DLT645Master(host: meter.host, port: meter.port, timeoutMicroseconds: configuration.timeoutMicroseconds)
        dlt645Connections[meter.connectionKey] = created
        return created
    }

    /// Reads one meter and publishes the reading, or counts the miss.
    @discardableResult
    private func read(_ index: Int) -> Bool {
        let meter = meters[index]
        counters.withLock { $0.polls += 1 }
        let polledAt = clock.now()
        var values: [(String, Double)] = []
        var requests = 0
        if case .dlt645(let number) = meter.link {
            do throws(DLT645Master.Failure) {
                let client = try dlt645Master(for: meter)
                for item in DLT645DataItem.polled {
                    requests += 1
                    values.append((item.quantity, try client.read(meter: number, identifier: item.identifier, as: item.number)))
                }
            } catch {
                if error.isTransport { dlt645Connections[meter.connectionKey] = nil }
                missed(index, requests: requests)
                return false
            }
            answered(index, values: values, requests: requests, at: polledAt)
            return true
        }
        guard let plan = plans[index], let unit = meter.modbus?.unit else { return false }
        do throws(ModbusClientError) {
            let client = try master(for: meter)
            for block in plan.blocks {
                requests += 1
                let words = try client.readRegisters(inputTable: block.inputTable, unit: unit, address: block.address, count: block.count)
                for field in block.fields {
                    let start = field.offset
                    guard start + field.width <= words.count, let value = field.format.decode(Array(words[start ..< start + field.width])) else { continue }
                    values.append((field.point, value))
                }
            }
        } catch {
            if case .transport = error { connections[meter.connectionKey] = nil }
            missed(index, requests: requests)
            return false
        }
        answered(index, values: values, requests: requests, at: polledAt)
        return true
    }

    private func answered(_ index: Int, values: [(String, Double)], requests: Int, at polledAt: UInt64) {
        let meter = meters[index]
        counters.withLock { $0.requests += requests }
        failures[meter.id] = 0
        if !online.contains(meter.id) {
            online.insert(meter.id)
            publishStatus(index, online: true)
            counters.withLock { $0.offlineMeters.removeAll { $0 == meter.id } }
        }
        sequence[meter.id, default: 0] += 1
        publishReading(index, values: values, seq: sequence[meter.id]!, at: polledAt)
    }

    private func missed(_ index: Int, requests: Int) {
        let meter = meters[index]
        failures[meter.id, default: 0] += 1
        counters.withLock {
            $0.failedPolls += 1
            $0.requests += requests
        }
        if failures[meter.id] == configuration.offlineAfter, !configuration.faults.offlineReportsDropped {
            online.remove(meter.id)
            publishStatus(index, online: false)
            counters.withLock { $0.offlineMeters.append(meter.id) }
        }
    }

    // MARK: - Commands

    fileprivate struct PendingCommand {
        var meter: Int
        var id: String
        var command: String
    }

    fileprivate func received(_ message: MQTTMessage) {
        guard let meter = meterByCommandTopic[message.topic] else { return }
        let command: WireCommand
        do { command = try DeviceEnvelope.command(from: message.payload) } catch {
            acknowledge(meter, id: "", command: "", rejection: "\(error)")
            return
        }
        pendingCommands.withLock { $0.append(PendingCommand(meter: meter, id: command.id ?? "", command: command.command)) }
        wake.signal()
    }

    /// Runs queued commands on the polling thread, which owns the Modbus connections.
    private func runCommands() {
        let commands = pendingCommands.withLock { queue -> [PendingCommand] in
            defer { queue.removeAll() }
            return queue
        }
        for pending in commands {
            counters.withLock { $0.commands += 1 }
            let meter = meters[pending.meter]
            if pending.command == "read" {
                let answered = read(pending.meter)
                acknowledge(pending.meter, id: pending.id, command: pending.command, rejection: answered ? nil : "the meter did not answer")
                continue
            }
            let unit: UInt8, map: ModelModbusMap
            switch meter.link {
            case .dlt645(let number):
                relay(meter, number: number, pending)
                continue
            case .modbus(let modbusUnit, let modbusMap), .modbusRTU(let modbusUnit, let modbusMap, _):
                unit = modbusUnit
                map = modbusMap
            }
            guard let coil = map.coils.first(where: { $0.onCommand == pending.command || $0.offCommand == pending.command }) else {
                let known = ["read"] + map.coils.flatMap { [$0.onCommand, $0.offCommand] }
                acknowledge(pending.meter, id: pending.id, command: pending.command,
                            rejection: "\(meter.id) takes \(known.joined(separator: ", ")) through this gateway")
                continue
            }
            do throws(ModbusClientError) {
                try master(for: meter).writeCoil(unit: unit, address: coil.address, on: coil.onCommand == pending.command)
                acknowledge(pending.meter, id: pending.id, command: pending.command, rejection: nil)
            } catch {
                if case .transport = error { connections[meter.connectionKey] = nil }
                acknowledge(pending.meter, id: pending.id, command: pending.command, rejection: "coil write failed: \(error)")
            }
        }
    }

    /// A relay command to a DL/T 645 meter: a 1C frame, 1A to trip (拉闸), 1C to close (合闸).
    private func relay(_ meter: Meter, number: String, _ pending: PendingCommand) {
        let codes: [String: UInt8] = ["relay-open": 0x1A, "relay-close": 0x1C]
        guard let code = codes[pending.command] else {
            acknowledge(pending.meter, id: pending.id, command: pending.command,
                        rejection: "\(meter.id) takes read, relay-open, relay-close through this gateway")
            return
        }
        do throws(DLT645Master.Failure) {
            try dlt645Master(for: meter).relay(meter: number, code: code)
            acknowledge(pending.meter, id: pending.id, command: pending.command, rejection: nil)
        } catch {
            if error.isTransport { dlt645Connections[meter.connectionKey] = nil }
            acknowledge(pending.meter, id: pending.id, command: pending.command, rejection: "relay control failed: \(error)")
        }
    }

    // MARK: - Publishing

    private func publishReading(_ index: Int, values: [(String, Double)], seq: Int, at time: UInt64) {
        let meter = meters[index]
        let payload = DeviceEnvelope.emission(
            device: meter.id, kind: meter.kind, sequence: UInt64(seq), messageID: "\(meter.id)#gw\(boot).\(seq)",
            wallNanoseconds: Int64(time), channel: "telemetry", name: "telemetry",
            values: values.map { ($0.0, JSONText.number($0.1)) }, extra: gatewayField)
        do {
            if let outbox {
                try outbox.append(topic: topics[index].telemetry, payload: payload)
            } else {
                try pool.publish(client, topic: topics[index].telemetry, payload: payload, qos: .atLeastOnce)
            }
            counters.withLock { $0.published += 1 }
        } catch {}
    }

    private func publishStatus(_ index: Int, online: Bool) {
        let meter = meters[index]
        let payload = DeviceEnvelope.status(device: meter.id, kind: meter.kind, online: online, wallNanoseconds: nil, extra: gatewayField)
        try? pool.publish(client, topic: topics[index].status, payload: payload, qos: .atLeastOnce, retain: true)
    }

    /// Answers a command on the meter's `cmd/ack`: accepted, or refused with its reason.
    private func acknowledge(_ index: Int, id: String, command: String, rejection: String?) {
        let payload = DeviceEnvelope.commandAck(
            device: meters[index].id, id: id, command: command, rejection: rejection,
            wallNanoseconds: Int64(clock.now()), extra: gatewayField)
        try? pool.publish(client, topic: topics[index].acknowledgement, payload: payload, qos: .atLeastOnce)
    }
}

/// A meter's topics under the standard template, for the gateway to publish and subscribe on.
private struct MeterTopics {
    var telemetry, status, command, acknowledgement: String

    init(_ meter: MeterGateway.Meter) {
        let device = BoundDevice(id: meter.id, kind: meter.kind, model: "", zone: meter.zone)
        func topic(_ channel: String) -> String { DeviceTopicTemplate.standard.topic(for: device, channel: channel) }
        telemetry = topic("telemetry")
        status = topic("status")
        command = topic("cmd")
        acknowledgement = topic("cmd/ack")
    }
}

/// The reference gateway's fault switches: each makes one gateway check fail for its reason.
public struct MeterGatewayFaults: Sendable, Hashable {
    /// Poll at this period instead of the configured one (a gateway slower than it claims).
    public var period: Duration?
    /// Poll only the first N meters (a gateway below the 32 + 32 of 004 L3505).
    public var meterLimit: Int?
    /// Decode 32-bit values with their words swapped (a map entered with the wrong byte order).
    public var wordSwap = false
    /// Never report a meter offline.
    public var offlineReportsDropped = false
    /// Keep no spool even when one is configured: what the uplink does not take in time waits in
    /// memory (1,000 readings) and is lost beyond that, and lost altogether when the gateway restarts.
    public var spoolDropped = false

    public init(period: Duration? = nil, meterLimit: Int? = nil, wordSwap: Bool = false, offlineReportsDropped: Bool = false) {
        self.period = period
        self.meterLimit = meterLimit
        self.wordSwap = wordSwap
        self.offlineReportsDropped = offlineReportsDropped
    }
}

/// Why a gateway could not start.
public struct MeterGatewayError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Which requests read a meter's map: registers adjacent in one table share a request (up to the
/// 125 registers a read may return), as a gateway configured for the meter would read them.
struct ReadPlan: Sendable {
    struct Field: Sendable {
        var point: String
        var offset: Int
        var width: Int
        var format: ModbusValueFormat
    }

    struct Block: Sendable {
        var inputTable: Bool
        var address: Int
        var count: Int
        var fields: [Field]
    }

    let blocks: [Block]

    init(_ map: ModelModbusMap, wordSwapped: Bool = false) {
        var blocks: [Block] = []
        let registers = map.registers.sorted { ($0.table, $0.address) < ($1.table, $1.address) }
        for register in registers {
            guard var format = ModbusValueFormat(typeName: register.type, orderName: register.order, scale: register.scale) else { continue }
            if wordSwapped, register.width == 2, let swapped = ModbusValueFormat(
                typeName: register.type, orderName: register.order == "CDAB" ? "ABCD" : "CDAB", scale: register.scale) {
                format = swapped
            }
            let input = register.table == "input"
            if var last = blocks.last, last.inputTable == input, last.address + last.count == register.address,
               last.count + register.width <= 125 {
                last.fields.append(Field(point: register.point, offset: last.count, width: register.width, format: format))
                last.count += register.width
                blocks[blocks.count - 1] = last
            } else {
                blocks.append(Block(inputTable: input, address: register.address, count: register.width,
                                    fields: [Field(point: register.point, offset: 0, width: register.width, format: format)]))
            }
        }
        self.blocks = blocks
    }
}

/// Hands the gateway its command messages; a separate object so the pool's delegate reference
/// is not the gateway itself (the pool would otherwise keep its owner alive).
private final class CommandReceiver: MQTTClientPoolDelegate, @unchecked Sendable {
    weak var gateway: MeterGateway?

    func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        gateway?.received(message)
    }

    func mqttPublishDidComplete(_ client: MQTTClientHandle, tag: UInt64, outcome: MQTTPublishOutcome) {
        guard tag != 0, let outbox = gateway?.outbox else { return }
        if case .acknowledged = outcome { outbox.completed(tag: tag, acknowledged: true) } else { outbox.completed(tag: tag, acknowledged: false) }
    }
}
