import Foundation
import ParkBindings
import ParkCore
import ParkFaults
import ParkRuntime
import ParkWire
import Synchronization

/// A system under test that runs inside the harness's process on a ``VirtualPark``'s clock: the
/// reference platform, in the tests that prove each fault switch fails exactly its checks. It
/// sees only what it would over MQTT — topics and payloads — and answers HTTP requests as its
/// REST API would, so the checks judge it exactly as they judge a platform over the network.
package protocol InProcessSystem: AnyObject, Sendable {
    /// Topic filters of the device traffic it takes (what it would subscribe to).
    var subscriptions: [String] { get }
    /// Called once, before anything arrives: how it publishes (alarms, status, commands).
    func attach(publish: @escaping @Sendable (_ topic: String, _ payload: [UInt8]) -> Void)
    /// A message on one of its subscriptions arrives now.
    func receive(topic: String, payload: [UInt8])
    /// When its clock next has work due (wall ns since the epoch); nil when nothing is scheduled.
    var nextDeadline: Int64? { get }
    /// Runs its clock to `wall` (ns since the epoch), doing the work that falls due on the way.
    func advance(toWall wall: Int64)
    /// Its REST API's answer to a request.
    func request(method: String, url: URL, body: [UInt8]) -> HTTPAnswer
    /// Kills its active node, as `kill -9` would; what was done.
    func kill() -> String
    /// Whether the broker keeps its session (subscriptions, QoS 1 messages queued for it) while
    /// it is away, a broker restart included.
    var keepsSession: Bool { get }
    /// Its connection to the broker went down (the broker stopped) or came back.
    func brokerConnection(up: Bool)
    /// Pauses its active node, as SIGSTOP would, or resumes it; what was done, nil when it cannot.
    func freeze(_ frozen: Bool) -> String?
}

extension InProcessSystem {
    package var keepsSession: Bool { true }
    package func brokerConnection(up: Bool) {}
    package func freeze(_ frozen: Bool) -> String? { nil }
}

/// A park and an in-process system under test on one virtual clock, joined by an in-memory
/// broker: devices publish their emissions in their wire format on their topics (``DeviceWireTable``,
/// as the MQTT binding does), the system gets what it subscribes to, its publications reach the
/// profile's observers and the devices' command topics, and every hop takes ``hop``.
///
/// Time moves only while a check waits (``waitUntil(deadline:_:)``), from one due event to the
/// next — a device timer, a delivery, the system's own timers — so a suite that takes a minute of
/// wall time runs in milliseconds, and gives the same verdicts every time. What it cannot
/// simulate it refuses: meters behind a gateway (nothing here polls them) and device logins.
///
/// Broken links (``setLink(_:of:)``) behave as the fault proxy and the MQTT binding make them
/// behave live: a partition holds a device's messages both ways and lets them through in order
/// once healed (no keepalive runs out here: partitions on a virtual park are taken to be shorter
/// than it); lost acknowledgements let the device's messages through, and on healing its
/// connection is reset, so its last will goes out and it sends its unacknowledged QoS 1 messages
/// again; a reset sends the last will at once and the device holds what it emits (up to
/// ``offlineQueueLimit``, as the binding's pool does) until it reconnects.
///
/// A broker restart (``stopBroker()``, ``startBroker()``) is one of a persistent broker: while it
/// is down every device holds what it emits, and what was on its way is kept; once it is back the
/// devices reconnect after ``deviceReconnectDelay`` and the system after ``systemReconnectDelay``
/// (the harness's own observers at once). What was kept, and what devices send before the system
/// is back, reaches the system only if it keeps its session (``InProcessSystem/keepsSession``).
///
/// Not for concurrent use: one task (the one running the checks) drives it, as the checks run
/// one after another. Its state sits behind a lock only so that is safe to state.
package final class VirtualPark: HarnessDriver, @unchecked Sendable {
    /// One message on its way through the in-memory broker.
    private struct Delivery {
        var due: Int64
        var order: Int
        var topic: String
        var payload: [UInt8]
    }

    /// The ground truth the checks time the system against.
    package let truth: GroundTruthIndex
    /// What the profile's observers saw the system publish.
    package let observations = ObservationLog()
    /// Time each message takes from publisher to subscriber.
    package let hop: DeviceDuration
    private let engine: VirtualTimeEngine
    private let wire: DeviceWireTable
    private let indexByID: [String: Int]
    private let deviceByCommandTopic: [String: Int]
    private let system: any InProcessSystem
    private let systemFilters: [String]
    private let streams: [PlatformProfile.MQTTStream]
    private let wallOrigin: Int64
    private let lock = NSRecursiveLock()
    private var queue: [Delivery] = []
    private var nextOrder = 0
    private var connected: Set<Int> = []
    /// Emissions lost because their device was disconnected (or its offline queue was full), and
    /// commands that reached a device while it was: as a broker would drop them.
    package private(set) var droppedWhileDisconnected = 0
    /// Messages a device holds while its link is reset, as the MQTT binding's pool does by default.
    package static let offlineQueueLimit = 1_000
    /// The links ``setLink(_:of:)`` broke, by device index, and what each holds.
    private var links: [Int: LinkCondition] = [:]
    /// Partition: the device's publications and the commands on their way to it.
    private var heldPublications: [Int: [(topic: String, payload: [UInt8])]] = [:]
    private var heldCommands: [Int: [Delivery]] = [:]
    /// Acknowledgements lost: QoS 1 publications the broker took but the device never saw acknowledged.
    private var unacknowledged: [Int: [(topic: String, payload: [UInt8])]] = [:]
    /// Reset: what the device emits until it is connected again.
    private var offlineQueue: [Int: [(topic: String, payload: [UInt8])]] = [:]
    /// How long after the broker's return the devices, and the system, are connected again: the
    /// devices first, as a live run has them reconnect the moment the broker is back.
    package static let deviceReconnectDelay: DeviceDuration = .milliseconds(20)
    package static let systemReconnectDelay: DeviceDuration = .seconds(1)
    /// The broker is stopped: nothing is delivered; what falls due is kept here.
    private var brokerDown = false
    /// Devices cut off by the broker's stop, until they reconnect.
    private var reconnecting: Set<Int> = []
    /// Counts the broker's stops: a reconnect scheduled by one start is void after the next stop.
    private var brokerStops = 0
    private var keptByBroker: [Delivery] = []
    /// Whether the system is connected; while it is not, what its session would hold, and what it
    /// publishes (held by its own client until it reconnects).
    private var systemConnected = true
    private var systemBacklog: [Delivery] = []
    private var systemOutbox: [(topic: String, payload: [UInt8])] = []
    /// Work due at a set time (reconnects after a broker restart), in due order.
    private var timed: [(due: Int64, work: () -> Void)] = []

    /// - Parameters:
    ///   - plan: the devices to run (meters a gateway would poll left out).
    ///   - devices: the same devices as the wire sees them.
    ///   - profile: the observers' streams (`observe.mqtt`).
    /// - Throws: ``EngineError`` when a device cannot be made.
    package init(
        plan: [PlannedDevice], devices: [BoundDevice], topics: DeviceTopicTemplate = .standard,
        conventions: [String: MQTTModelConventions] = [:], profile: PlatformProfile, system: any InProcessSystem,
        hop: DeviceDuration = .milliseconds(2), wallOrigin: WallTime = ManualClock.defaultWallOrigin
    ) throws(EngineError) {
        let forwarder = EmissionForwarder(), truth = GroundTruthIndex()
        self.truth = truth
        engine = VirtualTimeEngine(clock: ManualClock(wallOrigin: wallOrigin), observer: MulticastEmissionObserver([truth, forwarder]))
        for device in plan { try engine.add(device) }
        let wire = DeviceWireTable(devices: devices, topics: topics, conventions: conventions)
        self.wire = wire
        indexByID = Dictionary(devices.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        deviceByCommandTopic = Dictionary(devices.indices.map { (wire.topic($0, .command), $0) }, uniquingKeysWith: { first, _ in first })
        self.system = system
        systemFilters = system.subscriptions
        streams = profile.mqtt
        self.hop = hop
        self.wallOrigin = wallOrigin.nanosecondsSinceEpoch
        forwarder.park = self
        system.attach { [weak self] topic, payload in self?.systemPublished(topic: topic, payload: payload) }
    }

    /// Connects every device (each announces itself online) and starts them.
    package func start() {
        lock.withLock {
            for index in wire.devices.indices {
                connected.insert(index)
                publishStatus(of: index, online: true)
            }
            engine.start()
        }
    }

    /// A context for the checks, over the park's `devices` as the suite selects them.
    package func context(devices: [ParkFile.ParkDevice], kinds: DeviceKindRegistry, profile: PlatformProfile, minimumSamples: Int? = nil) -> HarnessContext {
        HarnessContext(
            devices: devices, kinds: kinds, profile: profile, truth: truth, observations: observations, driver: self,
            minimumSamples: minimumSamples)
    }

    // MARK: HarnessDriver

    package func wallNow() -> Int64 { lock.withLock { engine.clock.now().wall.nanosecondsSinceEpoch } }

    package func apply(_ stimulus: Stimulus, to deviceID: String) async throws(EngineError) -> LedgerRecord {
        try applyNow(stimulus, to: deviceID)
    }

    package func sendRecorded(_ command: DeviceCommand, to deviceID: String) async throws(EngineError) -> LedgerRecord {
        try sendNow(command, to: deviceID)
    }

    private func applyNow(_ stimulus: Stimulus, to deviceID: String) throws(EngineError) -> LedgerRecord {
        lock.lock()
        defer { lock.unlock() }
        return try engine.apply(stimulus, to: deviceID)
    }

    private func sendNow(_ command: DeviceCommand, to deviceID: String) throws(EngineError) -> LedgerRecord {
        lock.lock()
        defer { lock.unlock() }
        return try engine.sendRecorded(command, to: deviceID).record
    }

    /// A dropped device's last will (`offline`, retained) goes out at once, as a broker sends it
    /// when the connection breaks; on reconnecting it announces itself online again.
    package func setConnected(_ deviceID: String, _ connected: Bool) throws(BindingError) {
        guard let index = indexByID[deviceID] else { throw BindingError("no device '\(deviceID)' on the virtual park's broker") }
        lock.withLock {
            if connected {
                guard self.connected.insert(index).inserted else { return }
                publishStatus(of: index, online: true)
            } else {
                guard self.connected.remove(index) != nil else { return }
                publish(topic: wire.topic(index, .status), payload: wire.format(index).status(of: wire.devices[index], online: false, wallNanoseconds: nil))
            }
        }
    }

    package func isBehindGateway(_ deviceID: String) -> Bool { false }

    package func isOnMQTTLink(_ deviceID: String) -> Bool { indexByID[deviceID] != nil }

    package func setPace(_ factor: Double) { lock.withLock { engine.pace.set(factor) } }

    package func setLink(_ condition: LinkCondition, of deviceIDs: [String]) throws(CheckFailure) {
        let unknown = deviceIDs.filter { indexByID[$0] == nil }
        guard unknown.isEmpty else { throw CheckFailure("no device \(unknown.prefix(5).joined(separator: ", ")) on the virtual park's broker") }
        lock.withLock {
            for id in deviceIDs {
                let index = indexByID[id]!
                let previous = links[index] ?? .healthy
                guard previous != condition else { continue }
                links[index] = condition == .healthy ? nil : condition
                changeLink(of: index, from: previous, to: condition)
            }
        }
    }

    /// What a link changing does to the device's connection and to what it holds.
    private func changeLink(of index: Int, from previous: LinkCondition, to condition: LinkCondition) {
        let online = connected.contains(index)
        // The connection breaks: the broker sends the last will.
        let breaks = condition == .reset || previous == .acksLost
        if breaks, online, previous != .reset {
            publish(topic: wire.topic(index, .status), payload: wire.format(index).status(of: wire.devices[index], online: false, wallNanoseconds: nil))
        }
        var pending: [(topic: String, payload: [UInt8])] = []
        pending += unacknowledged.removeValue(forKey: index) ?? []
        pending += heldPublications.removeValue(forKey: index) ?? []
        pending += offlineQueue.removeValue(forKey: index) ?? []
        let commands = heldCommands.removeValue(forKey: index) ?? []
        switch condition {
        case .healthy:
            guard online else { return }
            if breaks || previous == .reset { publishStatus(of: index, online: true) }
            for message in pending { publish(topic: message.topic, payload: message.payload) }
            for delivery in commands { command(delivery, to: index) }
        case .partition:
            heldPublications[index] = pending
            heldCommands[index] = commands
        case .acksLost:
            for message in pending { publish(topic: message.topic, payload: message.payload) }
            droppedWhileDisconnected += commands.count
        case .reset:
            offlineQueue[index] = Array(pending.prefix(Self.offlineQueueLimit))
            droppedWhileDisconnected += max(0, pending.count - Self.offlineQueueLimit) + commands.count
        }
    }

    package func waitUntil(deadline: Int64, _ condition: () -> Bool) async -> Bool {
        while true {
            if condition() { return true }
            let now = wallNow()
            if now >= deadline { return false }
            let next = nextEvent() ?? deadline
            step(to: min(deadline, max(next, now)))
            // A system that leaves work due now undone must not stop the clock: time moves on.
            if next <= now, let again = nextEvent(), again <= now { step(to: min(deadline, now + 1_000)) }
        }
    }

    package func killPlatform() async -> Result<String, CheckFailure> {
        .success(lock.withLock { system.kill() })
    }

    package func restorePlatform() async -> Result<String, CheckFailure>? { nil }

    package func freezePlatform(_ frozen: Bool) async -> Result<String, CheckFailure> {
        guard let what = lock.withLock({ system.freeze(frozen) }) else {
            return .failure(CheckFailure("the in-process system cannot be paused"))
        }
        return .success(what)
    }

    package func stopBroker() async -> Result<String, CheckFailure> {
        lock.withLock {
            brokerDown = true
            brokerStops += 1
            // Devices whose link is broken already keep to that fault's model.
            reconnecting = connected.filter { links[$0] == nil }
            systemConnected = false
            system.brokerConnection(up: false)
        }
        return .success("the virtual park's broker")
    }

    package func startBroker() async -> Result<String, CheckFailure> {
        lock.withLock {
            brokerDown = false
            let now = wallNow()
            // What fell due while it was down: the harness's observers have it at once; the system
            // when it is back, if its session kept it; devices' commands are gone (clean sessions).
            for delivery in keptByBroker {
                var kept = delivery
                kept.due = now
                deliver(kept)
            }
            keptByBroker = []
            let stop = brokerStops
            schedule(at: now + Int64(Self.deviceReconnectDelay.nanoseconds)) { [self] in
                guard stop == brokerStops, !brokerDown else { return }
                let back = reconnecting
                reconnecting = []
                // A device disconnected meanwhile comes back through setConnected, as any other.
                for index in back.sorted() where connected.contains(index) && links[index] == nil {
                    publishStatus(of: index, online: true)
                    for message in offlineQueue.removeValue(forKey: index) ?? [] { publish(topic: message.topic, payload: message.payload) }
                }
            }
            schedule(at: now + Int64(Self.systemReconnectDelay.nanoseconds)) { [self] in
                guard stop == brokerStops, !brokerDown else { return }
                systemConnected = true
                system.brokerConnection(up: true)
                let backlog = systemBacklog, outbox = systemOutbox
                systemBacklog = []
                systemOutbox = []
                for delivery in backlog { system.receive(topic: delivery.topic, payload: delivery.payload) }
                for message in outbox { publish(topic: message.topic, payload: message.payload) }
            }
        }
        return .success("the virtual park's broker")
    }

    private func schedule(at due: Int64, _ work: @escaping () -> Void) {
        let position = timed.lastIndex { $0.due <= due }.map { $0 + 1 } ?? 0
        timed.insert((due, work), at: position)
    }

    package func request(method: String, url: URL, body: [UInt8]) async -> Result<HTTPAnswer, CheckFailure> {
        let answer = lock.withLock { system.request(method: method, url: url, body: body) }
        // The request and its answer each cross the network once.
        step(to: wallNow() + 2 * Int64(hop.nanoseconds))
        return .success(answer)
    }

    // MARK: The clock

    /// The earliest of the next device timer, delivery and system timer (wall ns).
    private func nextEvent() -> Int64? {
        lock.withLock {
            [engine.nextDeadline.map { wallOrigin + Int64($0.nanoseconds) }, queue.first?.due, system.nextDeadline, timed.first?.due]
                .compactMap { $0 }.min()
        }
    }

    /// Runs everything due up to `target`: device timers, then the system's, then the deliveries
    /// (which may cause more deliveries, due a hop later).
    private func step(to target: Int64) {
        lock.withLock {
            engine.advance(to: MonotonicInstant(nanoseconds: UInt64(max(0, target - wallOrigin))))
            system.advance(toWall: target)
            while let first = timed.first, first.due <= target {
                timed.removeFirst()
                first.work()
            }
            while let first = queue.first, first.due <= target {
                queue.removeFirst()
                deliver(first)
            }
        }
    }

    // MARK: The broker

    fileprivate func deviceEmitted(_ record: LedgerRecord) {
        guard let channel = record.channel, let wireChannel = DeviceWireTable.Channel(channel), let index = indexByID[record.deviceID] else { return }
        guard connected.contains(index) else {
            droppedWhileDisconnected += 1
            return
        }
        let message = (topic: wire.topic(index, wireChannel), payload: wire.format(index).emission(WireEmission(record, device: wire.devices[index])))
        // The broker is down, or back but the device not yet reconnected: it holds what it emits.
        switch reconnecting.contains(index) ? .reset : links[index] ?? .healthy {
        case .healthy:
            publish(topic: message.topic, payload: message.payload)
        case .partition:
            heldPublications[index, default: []].append(message)
        case .acksLost:
            publish(topic: message.topic, payload: message.payload)
            // Telemetry goes at QoS 0 (nothing to acknowledge); the rest at QoS 1.
            if wireChannel != .telemetry { unacknowledged[index, default: []].append(message) }
        case .reset:
            if offlineQueue[index, default: []].count < Self.offlineQueueLimit { offlineQueue[index, default: []].append(message) } else {
                droppedWhileDisconnected += 1
            }
        }
    }

    private func publishStatus(of index: Int, online: Bool) {
        publish(topic: wire.topic(index, .status), payload: wire.format(index).status(of: wire.devices[index], online: online, wallNanoseconds: wallNow()))
    }

    /// Queues a message for its subscribers, due one hop from now.
    private func publish(topic: String, payload: [UInt8]) {
        lock.withLock {
            let due = engine.clock.now().wall.nanosecondsSinceEpoch + Int64(hop.nanoseconds)
            let delivery = Delivery(due: due, order: nextOrder, topic: topic, payload: payload)
            nextOrder += 1
            // Deliveries are due in publication order, one hop each: appending keeps the queue sorted.
            let position = queue.lastIndex { $0.due <= due }.map { $0 + 1 } ?? 0
            queue.insert(delivery, at: position)
        }
    }

    /// What the system publishes: held by its own client while it is not connected.
    private func systemPublished(topic: String, payload: [UInt8]) {
        lock.withLock {
            if systemConnected { publish(topic: topic, payload: payload) } else { systemOutbox.append((topic, payload)) }
        }
    }

    private func deliver(_ delivery: Delivery) {
        if brokerDown {
            keptByBroker.append(delivery)
            return
        }
        if systemFilters.contains(where: { MQTTTopicFilter.matches($0, topic: delivery.topic) }) {
            if systemConnected {
                system.receive(topic: delivery.topic, payload: delivery.payload)
            } else if system.keepsSession {
                systemBacklog.append(delivery)
            } else {
                droppedWhileDisconnected += 1
            }
        }
        MQTTObserver.observe(topic: delivery.topic, payload: delivery.payload, arrived: delivery.due, streams: streams, log: observations)
        if let index = deviceByCommandTopic[delivery.topic] { command(delivery, to: index) }
    }

    /// A command reaches its device, which answers on `cmd/ack` as the MQTT binding's devices do.
    private func command(_ delivery: Delivery, to index: Int) {
        guard connected.contains(index), !reconnecting.contains(index) else {
            droppedWhileDisconnected += 1
            return
        }
        switch links[index] ?? .healthy {
        case .healthy: break
        case .partition:
            heldCommands[index, default: []].append(delivery)
            return
        case .acksLost, .reset:
            droppedWhileDisconnected += 1
            return
        }
        let device = wire.devices[index], format = wire.format(index)
        let ack: [UInt8]
        do throws(BindingError) {
            let command = try format.deviceCommand(from: delivery.payload, topic: delivery.topic)
            let result: CommandResult
            do throws(EngineError) { result = try engine.send(command, to: device.id) } catch { result = .rejected(error.description) }
            ack = format.commandAck(of: device, id: command.id ?? "", command: command.name, result: result, wall: engine.clock.now().wall)
        } catch {
            ack = format.commandAck(of: device, id: "", command: "", result: .rejected(error.message), wall: engine.clock.now().wall)
        }
        publish(topic: wire.topic(index, .commandAck), payload: ack)
    }
}

/// Hands the engine's emissions to the park that owns the engine (which does not exist yet when
/// the engine is made).
private final class EmissionForwarder: EmissionObserver, @unchecked Sendable {
    weak var park: VirtualPark?
    func deviceEmitted(_ record: LedgerRecord) { park?.deviceEmitted(record) }
}
