import Foundation
import Logging
import ParkCore
import ParkMQTT
import ParkProfiles
import ParkVDA5050
import ParkWire
import Synchronization

/// Puts the robots of a park — devices whose model has a `vda5050:` section — on MQTT as VDA 5050
/// vehicles: each its own client with the standard's topics
/// (`<interface>/v2/<manufacturer>/<serial>/…`, the serial number its device id), `connection`
/// ONLINE on connect and OFFLINE on stop, retained, with CONNECTIONBROKEN as its last will;
/// `order` and `instantActions` taken in; `state` on every change and at least every
/// `state_interval`; `visualization` every `visualization_interval`.
///
/// Each robot's protocol side is a ``VDA5050VehicleSession``; the machine is the device. The
/// session's directives become the device's commands (`drive` to a node's position at the edge's
/// speed, `task` for clean/pick/drop/wait actions, `charge`, `stop`), and the device's events
/// come back as the session's input (`arrived`, `task-finished`, a `fault` as a FATAL error, an
/// e-stop in the safety state, `low-battery` as a WARNING). One pool of clients on a few I/O
/// threads and one ticker for every robot: never a thread per robot.
public final class VDA5050RobotBinding: EmissionObserver, MQTTClientPoolDelegate, CommandTakingBinding, Sendable {
    /// Where the robots' broker is.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var keepAlive: Duration
        public var credentials: @Sendable (BoundDevice) -> MQTTCredentials?
        public var ioThreads: Int
        /// How long a `pick`, `drop` or any other timed action without a `duration` takes.
        public var defaultActionTime: Duration
        /// The map the robots' positions are on (their state's `mapId`): the park map the fleet
        /// manager plans on; nil: each robot's zone.
        public var mapId: String?

        public init(host: String = "127.0.0.1", port: Int = 1883, keepAlive: Duration = .seconds(30),
                    credentials: @escaping @Sendable (BoundDevice) -> MQTTCredentials? = { _ in nil }, ioThreads: Int = 1,
                    defaultActionTime: Duration = .seconds(5), mapId: String? = nil) {
            self.host = host
            self.port = port
            self.keepAlive = keepAlive
            self.credentials = credentials
            self.ioThreads = ioThreads
            self.defaultActionTime = defaultActionTime
            self.mapId = mapId
        }
    }

    /// What the binding did, for the run's summary and the tests.
    public struct Figures: Sendable, Hashable {
        public var connected = 0
        public var orders = 0
        public var ordersRejected = 0
        public var instantActions = 0
        /// Messages on `order` or `instantActions` that are not the standard's (counted, and an
        /// error in the robot's state).
        public var malformed = 0
        public var states = 0
        public var visualizations = 0
        public var factsheets = 0
        /// Device commands the machine refused (a drive in fault, a task while driving).
        public var commandsRefused = 0
    }

    private struct Robot {
        var device: BoundDevice
        var settings: ModelVDA5050Settings
        var manufacturer: String
        /// The model's name and top speed (m/s), for the factsheet.
        var series: String
        var speedMax: Double
        var session: VDA5050VehicleSession
        var headers = VDA5050HeaderCounter()
        var handle: MQTTClientHandle?
        var lastState: ContinuousClock.Instant?
        var lastVisualization: ContinuousClock.Instant?
        /// The action (instant or an order's) that started charging: finished when the machine
        /// is charged or stops charging.
        var chargingAction: String?
        /// Whether the machine's last report said it was charging.
        var wasCharging = false
        /// The battery level its last `low-battery` came at: the warning stays in the state until
        /// the battery is 10 points above it again (charged, or set so by the harness).
        var lowBatteryAt: Double?
        /// The `ref` of the drive under way: an `arrived` for another is stale.
        var driveRef: String?
        var driveNumber = 0

        func topic(_ topic: VDA5050.Topic) -> String {
            VDA5050.topic(topic, manufacturer: manufacturer, serialNumber: device.id, interface: settings.interface)
        }
    }

    /// One robot's state behind its own lock: robots never wait for each other.
    private final class RobotCell: Sendable {
        private let lock: Mutex<Robot>
        init(_ robot: sending Robot) { lock = Mutex(robot) }
        func withLock<T: Sendable>(_ body: (inout Robot) -> T) -> T { lock.withLock { body(&$0) } }
    }

    private let configuration: Configuration
    private let robots: [String: RobotCell]
    private let order: [String]
    private let byClient = Mutex<[Int: String]>([:])
    private let pool = Mutex<MQTTClientPool?>(nil)
    private let handler = Mutex<DeviceCommandHandler?>(nil)
    private let state = Mutex(Figures())
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    /// Serves the devices among `devices` whose model has a `vda5050:` section.
    public init(devices: [BoundDevice], catalog: ModelCatalog, configuration: Configuration,
                logger: Logger = Logger(label: "parkbench.vda5050")) {
        var robots: [String: RobotCell] = [:]
        var order: [String] = []
        for device in devices {
            guard let profile = catalog.model(named: device.model), let settings = profile.vda5050 else { continue }
            let manufacturer = settings.manufacturer ?? (profile.vendor.isEmpty ? "ParkBench" : profile.vendor)
            var session = VDA5050VehicleSession(manufacturer: manufacturer, serialNumber: device.id, mapId: configuration.mapId ?? device.zone ?? "park")
            session.defects = settings.defects
            let speed = profile.parameters["max_speed"].flatMap(Double.init) ?? 1
            robots[device.id] = RobotCell(Robot(
                device: device, settings: settings, manufacturer: manufacturer, series: profile.model, speedMax: speed, session: session))
            order.append(device.id)
        }
        self.robots = robots
        self.order = order
        self.configuration = configuration
        self.logger = logger
    }

    /// The robots it serves, in park order.
    public var deviceIDs: [String] { order }

    /// Whether `deviceID` is one of its robots (and so not on ParkBench's own MQTT envelope).
    public func serves(_ deviceID: String) -> Bool { robots[deviceID] != nil }

    public var figures: Figures { state.withLock { $0 } }

    public func setCommandHandler(_ handler: @escaping DeviceCommandHandler) {
        self.handler.withLock { $0 = handler }
    }

    /// Connects every robot and starts the ticker that sends `state` and `visualization` on time.
    public func start() throws(BindingError) {
        guard !robots.isEmpty else { return }
        let pool: MQTTClientPool
        do {
            pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: configuration.ioThreads), delegate: self)
        } catch {
            throw BindingError("VDA 5050: cannot start the MQTT clients: \(error)")
        }
        self.pool.withLock { $0 = pool }
        for id in order {
            guard let robot = robots[id] else { continue }
            let (clientConfiguration, device) = robot.withLock { robot in
                var headers = robot.headers
                let will = VDA5050Connection(
                    header: headers.header(.connection, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now()),
                    connectionState: .broken)
                robot.headers = headers
                return (MQTTClientConfiguration(
                    clientID: "\(robot.manufacturer)-\(robot.device.id)", host: configuration.host, port: configuration.port,
                    keepAlive: configuration.keepAlive, credentials: configuration.credentials(robot.device),
                    will: robot.settings.defects.contains(.noLastWill)
                        ? nil : MQTTWill(topic: robot.topic(.connection), payload: VDA5050.encode(will), qos: .atLeastOnce, retain: true),
                    subscriptions: [MQTTSubscription(robot.topic(.order), qos: .atMostOnce),
                                    MQTTSubscription(robot.topic(.instantActions), qos: .atMostOnce)]), robot.device)
            }
            do {
                let handle = try pool.addClient(clientConfiguration)
                robot.withLock { $0.handle = handle }
                byClient.withLock { $0[handle.index] = device.id }
            } catch {
                throw BindingError("VDA 5050: robot \(device.id): \(error)")
            }
        }
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                tick()
            }
        }
        ticker.withLock { $0 = task }
    }

    /// Says OFFLINE for every robot, disconnects them and stops.
    public func stop() {
        ticker.withLock { $0?.cancel() }
        guard let pool = pool.withLock({ $0 }) else { return }
        for id in order {
            guard let robot = robots[id] else { continue }
            robot.withLock { robot in
                guard let handle = robot.handle else { return }
                let offline = VDA5050Connection(
                    header: robot.headers.header(.connection, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now()),
                    connectionState: .offline)
                try? pool.publish(handle, topic: robot.topic(.connection), payload: VDA5050.encode(offline), qos: .atLeastOnce, retain: true)
            }
        }
        // A moment for the OFFLINE messages to leave before the connections close.
        Thread.sleep(forTimeInterval: 0.2)
        for id in order {
            if let handle = robots[id]?.withLock({ $0.handle }) { try? pool.disconnect(handle) }
        }
        pool.shutdown()
        self.pool.withLock { $0 = nil }
    }

    /// Cuts a robot's connection as a network fault would (no DISCONNECT: the broker publishes
    /// its CONNECTIONBROKEN will); with `reconnect` it comes back by its backoff, ONLINE again.
    public func dropConnection(_ deviceID: String, reconnect: Bool = true) throws(BindingError) {
        guard let pool = pool.withLock({ $0 }), let handle = robots[deviceID]?.withLock({ $0.handle }) else {
            throw BindingError("VDA 5050: no connected robot '\(deviceID)'")
        }
        do { try pool.dropConnection(handle, reconnect: reconnect) } catch { throw BindingError("VDA 5050: robot \(deviceID): \(error)") }
    }

    // MARK: MQTT

    public func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        guard let id = byClient.withLock({ $0[client.index] }), let robot = robots[id], let pool = pool.withLock({ $0 }) else { return }
        state.withLock { $0.connected += 1 }
        robot.withLock { robot in
            let online = VDA5050Connection(
                header: robot.headers.header(.connection, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now()),
                connectionState: .online)
            try? pool.publish(client, topic: robot.topic(.connection), payload: VDA5050.encode(online), qos: .atLeastOnce,
                              retain: !robot.settings.defects.contains(.connectionNotRetained))
            robot.session.stateChanged = true
            robot.session.factsheetRequested = true
        }
        publishStateIfChanged(robot)
    }

    public func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        guard let id = byClient.withLock({ $0[client.index] }), let robot = robots[id] else { return }
        let directives: [VDA5050VehicleSession.Directive]
        if message.topic.hasSuffix("/" + VDA5050.Topic.order.rawValue) {
            do throws(VDA5050DecodingError) {
                let order = try VDA5050.decode(VDA5050Order.self, from: message.payload)
                let (decision, produced) = robot.withLock { robot in
                    let outcome = robot.session.receive(order: order)
                    if outcome.0 == .accepted, robot.settings.defects.contains(.headerIdsRestart) { robot.headers.restart(.state) }
                    return outcome
                }
                state.withLock {
                    $0.orders += 1
                    if case .rejected = decision { $0.ordersRejected += 1 }
                }
                directives = produced
            } catch {
                malformed(robot, "order", error)
                return
            }
        } else if message.topic.hasSuffix("/" + VDA5050.Topic.instantActions.rawValue) {
            do throws(VDA5050DecodingError) {
                let actions = try VDA5050.decode(VDA5050InstantActions.self, from: message.payload)
                state.withLock { $0.instantActions += 1 }
                directives = robot.withLock { robot in
                    for action in actions.actions where action.actionType == "startCharging" { robot.chargingAction = action.actionId }
                    return robot.session.receive(instantActions: actions)
                }
            } catch {
                malformed(robot, "instantActions", error)
                return
            }
        } else {
            return
        }
        carryOut(directives, for: robot)
        publishStateIfChanged(robot)
    }

    private func malformed(_ robot: RobotCell, _ topic: String, _ error: VDA5050DecodingError) {
        state.withLock { $0.malformed += 1 }
        robot.withLock { $0.session.setError("validationError", level: .warning, description: "\(topic): \(error.message)") }
        publishStateIfChanged(robot)
    }

    // MARK: The machine

    public func deviceEmitted(_ record: LedgerRecord) {
        guard let robot = robots[record.deviceID] else { return }
        func text(_ point: String) -> String? {
            if case .string(let value)? = record.readings.first(where: { $0.point == point })?.value { return value }
            return nil
        }
        func number(_ point: String) -> Double? { record.readings.first { $0.point == point }?.value.doubleValue }
        var directives: [VDA5050VehicleSession.Directive] = []
        robot.withLock { robot in
            if record.channel == .telemetry {
                let charging: Bool
                if case .bool(let flag)? = record.readings.first(where: { $0.point == "charging" })?.value { charging = flag } else { charging = false }
                let battery = number("battery") ?? 0
                robot.session.update(
                    x: number("x") ?? 0, y: number("y") ?? 0, theta: number("theta") ?? 0, speed: number("speed") ?? 0,
                    batteryCharge: battery, charging: charging)
                if let low = robot.lowBatteryAt, battery >= low + 10 {
                    robot.lowBatteryAt = nil
                    robot.session.setError("lowBattery", level: nil)
                }
                // Charging ended (full, stopped, or cut short): so did the action that began it.
                if robot.wasCharging, !charging, let action = robot.chargingAction {
                    robot.chargingAction = nil
                    directives = robot.session.actionEnded(action)
                }
                robot.wasCharging = charging
                return
            }
            guard record.channel == .event else { return }
            switch record.name {
            case "arrived":
                guard text("ref") == robot.driveRef else { return }
                robot.driveRef = nil
                if let x = number("x"), let y = number("y") { robot.session.stoppedAt(x: x, y: y) }
                directives = robot.session.arrived()
            case "task-finished":
                if let ref = text("ref") { directives = robot.session.actionEnded(ref) }
            case "task-failed":
                if let ref = text("ref") { directives = robot.session.actionEnded(ref, failed: true, description: text("reason")) }
            case "charged":
                robot.lowBatteryAt = nil
                robot.session.setError("lowBattery", level: nil)
                if let action = robot.chargingAction {
                    robot.chargingAction = nil
                    directives = robot.session.actionEnded(action)
                }
            case "low-battery":
                robot.lowBatteryAt = number("battery") ?? 0
                robot.session.setError("lowBattery", level: .warning, description: "battery \(number("battery").map { String(Int($0)) } ?? "?") %")
            case "drive-failed":
                robot.driveRef = nil
                robot.session.driveFailed()
            case "fault":
                let reason = text("reason") ?? "unknown"
                robot.session.setError(Self.errorType(forFault: reason), level: .fatal, description: reason)
            case "fault-cleared":
                for type in ["motorFault", "localizationError", "batteryEmpty", "machineFault"] { robot.session.setError(type, level: nil) }
            case "estop":
                robot.session.setEmergencyStop(true)
            case "estop-released":
                robot.session.setEmergencyStop(false)
            case "blocked":
                robot.session.setError("obstacle", level: .warning, description: "an obstacle blocks the way")
            case "unblocked":
                robot.session.setError("obstacle", level: nil)
            default:
                return
            }
        }
        carryOut(directives, for: robot)
        publishStateIfChanged(robot)
    }

    static func errorType(forFault reason: String) -> String {
        switch reason {
        case "motor": "motorFault"
        case "localization": "localizationError"
        case "battery-empty": "batteryEmpty"
        default: "machineFault"
        }
    }

    /// The session's directives as device commands. Commands go out asynchronously; a refusal
    /// comes back into the session (the action failed, the drive did not start).
    private func carryOut(_ directives: [VDA5050VehicleSession.Directive], for robot: RobotCell) {
        guard !directives.isEmpty, let handler = handler.withLock({ $0 }) else { return }
        for directive in directives {
            var actionId: String?
            let command: DeviceCommand?
            let deviceID = robot.withLock { $0.device.id }
            switch directive {
            case .drive(let node, let edge):
                guard let position = node.nodePosition else {
                    robot.withLock { robot in
                        robot.session.driveFailed()
                        robot.session.setError("noRouteError", level: .warning, description: "node \(node.nodeId) has no nodePosition")
                    }
                    command = nil
                    break
                }
                let ref = robot.withLock { robot -> String in
                    robot.driveNumber += 1
                    robot.driveRef = "drive-\(robot.driveNumber)"
                    return robot.driveRef!
                }
                // A robot whose map is off stops a metre to the side of the node, yet reports it reached.
                let offset = robot.withLock { $0.settings.defects.contains(.mapOffset) } ? 1.0 : 0
                let (x, y) = (position.x, position.y + offset)
                var arguments: [String: PointValue] = ["x": .double(x), "y": .double(y), "ref": .string(ref)]
                if let speed = edge.maxSpeed, speed > 0 { arguments["speed"] = .double(speed) }
                command = DeviceCommand("drive", arguments: arguments)
            case .run(let action):
                actionId = action.actionId
                command = machineCommand(for: action)
                if action.actionType == "startCharging" { robot.withLock { $0.chargingAction = action.actionId } }
                if command == nil {
                    let ended = robot.withLock {
                        $0.session.actionEnded(action.actionId, failed: true, description: "\(action.actionType) is not something this robot does")
                    }
                    carryOut(ended, for: robot)
                }
            case .stop: command = DeviceCommand("stop")
            case .charge: command = DeviceCommand("charge")
            case .stopCharging: command = DeviceCommand("stop")
            }
            guard let command else { continue }
            let failedAction = actionId
            Task { [self] in
                let outcome = await handler(deviceID, command)
                let reason: String?
                switch outcome {
                case .failure(let error): reason = "\(error)"
                case .success(let result):
                    if case .rejected(let why) = result.outcome { reason = why } else { reason = nil }
                }
                guard let reason else { return }
                state.withLock { $0.commandsRefused += 1 }
                let more: [VDA5050VehicleSession.Directive] = robot.withLock { robot in
                    if let failedAction { return robot.session.actionEnded(failedAction, failed: true, description: reason) }
                    if command.name == "drive" {
                        robot.driveRef = nil
                        robot.session.driveFailed()
                        robot.session.setError("driveRefused", level: .warning, description: reason)
                    }
                    if command.name == "charge", let action = robot.chargingAction {
                        robot.chargingAction = nil
                        return robot.session.actionEnded(action, failed: true, description: reason)
                    }
                    return []
                }
                carryOut(more, for: robot)
                publishStateIfChanged(robot)
            }
        }
    }

    /// The machine's command for an order's action: clean, pick, drop, wait and the like are timed
    /// tasks; startCharging charges; nil for what a mobile robot does not do.
    private func machineCommand(for action: VDA5050Action) -> DeviceCommand? {
        var arguments: [String: PointValue] = ["type": .string(action.actionType), "ref": .string(action.actionId)]
        func seconds(_ key: String) -> Double? {
            switch action.parameter(key) {
            case .number(let value)?: value
            case .string(let text)?: Double(text)
            default: nil
            }
        }
        switch action.actionType {
        case "startCharging":
            return DeviceCommand("charge")
        case "clean":
            if let area = seconds("area") { arguments["area"] = .double(area) }
            if let duration = seconds("duration") { arguments["duration"] = .double(duration) }
            if arguments["area"] == nil && arguments["duration"] == nil {
                arguments["duration"] = .double(Double(configuration.defaultActionTime.components.seconds))
            }
        case "pick", "drop", "wait", "patrol", "inspect", "deliver", "scan":
            let duration = seconds("duration") ?? Double(configuration.defaultActionTime.components.seconds)
            arguments["duration"] = .double(duration)
        default:
            return nil
        }
        return DeviceCommand("task", arguments: arguments)
    }

    // MARK: Publishing

    /// Sends `state` if something changed, and the `factsheet` if it was asked for.
    private func publishStateIfChanged(_ robot: RobotCell) {
        guard let pool = pool.withLock({ $0 }) else { return }
        let (sentState, sentFactsheet) = robot.withLock { robot -> (Bool, Bool) in
            guard let handle = robot.handle else { return (false, false) }
            var factsheet = false
            if robot.session.factsheetRequested {
                let header = robot.headers.header(.factsheet, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now())
                let message = Self.factsheet(of: robot, header: header)
                factsheet = (try? pool.publish(handle, topic: robot.topic(.factsheet), payload: VDA5050.encode(message), qos: .atLeastOnce)) != nil
                robot.session.factsheetRequested = false
            }
            guard robot.session.stateChanged else { return (false, factsheet) }
            return (send(state: &robot, pool: pool, handle: handle), factsheet)
        }
        if sentState || sentFactsheet {
            state.withLock {
                if sentState { $0.states += 1 }
                if sentFactsheet { $0.factsheets += 1 }
            }
        }
    }

    /// The actions a robot of this binding takes, and where: what ``machineCommand(for:)`` and
    /// the session carry out.
    private static let actions: [VDA5050Factsheet.ActionDescription] = {
        let duration = VDA5050Factsheet.ActionDescription.Parameter(key: "duration", valueDataType: "NUMBER", description: "seconds", isOptional: true)
        let timed = ["pick", "drop", "wait", "patrol", "inspect", "deliver", "scan"].map {
            VDA5050Factsheet.ActionDescription($0, scopes: ["NODE", "EDGE"], parameters: [duration])
        }
        let clean = VDA5050Factsheet.ActionDescription("clean", scopes: ["NODE", "EDGE"], parameters: [
            VDA5050Factsheet.ActionDescription.Parameter(key: "area", valueDataType: "NUMBER", description: "square metres", isOptional: true), duration,
        ])
        let instant = ["cancelOrder", "startPause", "stopPause", "stateRequest", "factsheetRequest", "stopCharging"].map {
            VDA5050Factsheet.ActionDescription($0, scopes: ["INSTANT"])
        }
        let initPosition = VDA5050Factsheet.ActionDescription("initPosition", scopes: ["INSTANT"], parameters: [
            .init(key: "x", valueDataType: "NUMBER"), .init(key: "y", valueDataType: "NUMBER"), .init(key: "theta", valueDataType: "NUMBER", isOptional: true),
            .init(key: "lastNodeId", valueDataType: "STRING"),
        ])
        return timed + [clean, VDA5050Factsheet.ActionDescription("startCharging", scopes: ["INSTANT", "NODE"])] + instant + [initPosition]
    }()

    private static func factsheet(of robot: Robot, header: VDA5050Header) -> VDA5050Factsheet {
        let seconds = { (duration: DeviceDuration) in Double(duration.nanoseconds) / 1e9 }
        let visualization = seconds(robot.settings.visualizationInterval)
        return VDA5050Factsheet(
            header: header,
            typeSpecification: .init(seriesName: robot.series),
            physicalParameters: .init(speedMax: robot.speedMax),
            protocolLimits: .init(
                maxStringLens: [:], maxArrayLens: [:],
                timing: .init(minOrderInterval: 0.1, minStateInterval: 0.1, defaultStateInterval: seconds(robot.settings.stateInterval),
                              visualizationInterval: visualization > 0 ? visualization : nil)),
            protocolFeatures: .init(
                optionalParameters: [.init("order.edges.maxSpeed"), .init("order.nodes.nodePosition", support: "REQUIRED")],
                agvActions: actions))
    }

    private func send(state robot: inout Robot, pool: MQTTClientPool, handle: MQTTClientHandle) -> Bool {
        // A defect may hold a change back for the state after this one (finishedActionsFailed): it goes at once.
        for _ in 0 ..< 2 {
            let header = robot.headers.header(.state, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now())
            let message = robot.session.state(header: header)
            guard (try? pool.publish(handle, topic: robot.topic(.state), payload: VDA5050.encode(message), qos: .atMostOnce)) != nil else { return false }
            robot.session.stateChanged = false
            robot.session.statePublished()
            if !robot.session.stateChanged { break }
        }
        robot.lastState = ContinuousClock.now
        return true
    }

    /// Every 100 ms: a state that is due (changed, or `state_interval` since the last), and a
    /// visualization that is due.
    private func tick() {
        guard let pool = pool.withLock({ $0 }) else { return }
        let now = ContinuousClock.now
        var states = 0, visualizations = 0
        for id in order {
            guard let robot = robots[id] else { continue }
            robot.withLock { robot in
                guard let handle = robot.handle else { return }
                let interval = Duration.nanoseconds(Int64(robot.settings.stateInterval.nanoseconds))
                if robot.session.stateChanged || robot.lastState.map({ now - $0 >= interval }) ?? true {
                    if send(state: &robot, pool: pool, handle: handle) { states += 1 }
                }
                let every = Duration.nanoseconds(Int64(robot.settings.visualizationInterval.nanoseconds))
                guard every > .zero, robot.session.position != nil, robot.lastVisualization.map({ now - $0 >= every }) ?? true else { return }
                let header = robot.headers.header(.visualization, manufacturer: robot.manufacturer, serialNumber: robot.device.id, nanosecondsSinceEpoch: Self.now())
                let message = robot.session.visualization(header: header)
                if (try? pool.publish(handle, topic: robot.topic(.visualization), payload: VDA5050.encode(message), qos: .atMostOnce)) != nil {
                    robot.lastVisualization = now
                    visualizations += 1
                }
            }
        }
        if states + visualizations > 0 {
            state.withLock {
                $0.states += states
                $0.visualizations += visualizations
            }
        }
    }

    private static func now() -> Int64 { SystemClock.wallNow().nanosecondsSinceEpoch }
}
