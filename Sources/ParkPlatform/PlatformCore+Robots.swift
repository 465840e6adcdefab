import ParkProfiles
import ParkVDA5050
import ParkWire

/// A task the fleet manager gave a robot: the way to its destination (empty until the robot has
/// said where it is), where the way is held (the base of its order ends at the first hold), and
/// the request it answers.
public struct RobotTask: Sendable, Hashable {
    public var orderId: String
    public var destination: String
    public var route: [String] = []
    /// The holds not yet passed, in the way's order.
    public var holds: [RobotHold] = []
    /// Whether the device of the first hold has been asked to let the robot on.
    public var asked = false
    /// Order updates sent so far (each releases the way to the next hold).
    public var updates = 0
    /// Calls again of the first hold's lift that left without the robot.
    public var recalls = 0
    public var commandID: String

    /// The way's index of the node the order's base ends at.
    public var baseEnd: Int { holds.first?.at ?? max(0, route.count - 1) }
}

/// A place on a robot's way where the fleet manager holds it until something lets it on: the
/// base of the task's order ends there, and an order update releases the way on.
public struct RobotHold: Sendable, Hashable {
    /// What lets the robot on.
    public enum Reason: Sendable, Hashable {
        /// Nothing but the fleet manager keeping the way ahead back (the horizon): released when
        /// the robot gets there.
        case clearance
        /// An access door (its device id), told to unlock; released when it says `unlocked`
        /// (004 L2048, LK21).
        case door(String)
        /// An elevator (its device id), called to `floor`; released when its doors open there —
        /// once at the robot's floor to board, once at the floor it rides to (004 L2048).
        case lift(String, floor: Int)
    }

    /// The way's index of the node the robot waits at.
    public var at: Int
    public var reason: Reason

    public init(at: Int, _ reason: Reason) {
        self.at = at
        self.reason = reason
    }

    /// The device asked to let the robot on, and what it is told.
    var request: (device: String, command: String, arguments: [(String, WireScalar)])? {
        switch reason {
        case .clearance: nil
        case .door(let door): (door, "unlock", [])
        case .lift(let lift, let floor): (lift, "call", [("floor", .int(Int64(floor)))])
        }
    }

    /// Where `route` is held on `map`: before each access door; before boarding a lift (its car
    /// called to the robot's floor) and in the car (called to the floor the way leaves it at). A
    /// way that starts at a door, or in a car it leaves, is held there first (the door unlocked,
    /// the car called to that floor). A way with none of these keeps its second half back as the
    /// horizon.
    static func holds(on route: [String], map: ParkMap) -> [RobotHold] {
        var holds: [RobotHold] = []
        if let first = route.first.flatMap({ map.node($0) }), route.count >= 2 {
            if let door = first.door { holds.append(RobotHold(at: 0, .door(door))) }
            if let lift = first.elevator, let floor = first.floor, map.node(route[1])?.elevator != lift {
                holds.append(RobotHold(at: 0, .lift(lift, floor: floor)))
            }
        }
        for index in route.indices.dropFirst() {
            guard let node = map.node(route[index]) else { continue }
            if let door = node.door { holds.append(RobotHold(at: index - 1, .door(door))) }
            // A car node after one of the same lift is a ride; after anything else, boarding.
            if let lift = node.elevator, let floor = node.floor { holds.append(RobotHold(at: index - 1, .lift(lift, floor: floor))) }
        }
        if holds.isEmpty, route.count >= 3 { holds = [RobotHold(at: route.count / 2, .clearance)] }
        return holds
    }
}

/// Mobile robots in the platform's rules, as a fleet manager sees them over VDA 5050: the
/// `connection` topic says online (ONLINE) or offline (OFFLINE, or the broker's CONNECTIONBROKEN
/// will), and every `state` keeps them online. A new error in a state is an alarm on the alarm
/// path (linkage, the alarm-delay and drop-alarms switches, `platform/alarms`) named by its
/// `errorType` — every FATAL error (a motor fault, lost localisation, an empty battery) and the
/// warnings a park wants raised (a low battery: 004 L1795, L2075) — once per appearance; the
/// battery and position are telemetry. With the park's map, a robot whose battery runs low is
/// sent back to the nearest charger by the shortest way and told to charge there (004 L1700:
/// 低电量自动返航、自动充电): a VDA 5050 order from the node nearest to it, ending in a
/// `startCharging` action. The `robot-errors-ignored` switch makes the platform deaf to all of it.
extension PlatformCore {
    /// The device kind robots are shown and matched by linkage rules as.
    public static let robotKind = "mobile-robot"
    /// How many tasks may wait in one robot's task list.
    public static let robotQueueLimit = 32
    /// WARNING-level robot errors that are alarms all the same.
    public static let robotWarningAlarms: Set<String> = ["lowBattery"]

    /// A robot's `connection` message.
    public mutating func robotConnection(_ id: String, state: VDA5050Connection.State, now: UInt64) -> [Action] {
        switch state {
        case .online: return robotHeard(id, now: now)
        case .offline, .broken:
            guard var device = devices[id], device.status != .offline, !faults.offlineDetectionDisabled else { return [] }
            let before = device.status
            device.status = .offline
            devices[id] = device
            return [.statusChanged(device: id, from: before, to: .offline)]
        }
    }

    /// A robot's `state`: online; new alarm-worthy errors raised; battery and position shown.
    public mutating func robotState(_ id: String, _ message: VDA5050State, now: UInt64) -> [Action] {
        var actions = robotHeard(id, now: now)
        guard var device = devices[id] else { return actions }
        device.robotManufacturer = message.manufacturer
        if !message.lastNodeId.isEmpty { device.robotLastNode = message.lastNodeId }
        if let position = message.agvPosition {
            device.robotX = position.x
            device.robotY = position.y
        }
        let alarmWorthy = faults.robotErrorsIgnored
            ? [] : message.errors.filter { $0.errorLevel == .fatal || Self.robotWarningAlarms.contains($0.errorType) }
        let showing = Set(alarmWorthy.map(\.errorType))
        let fresh = showing.subtracting(device.robotErrors).sorted()
        device.robotErrors = showing
        let before = device.status
        device.status = message.errors.contains { $0.errorLevel == .fatal } ? .abnormal : .online
        var values: [String: Double] = ["battery": message.batteryState.batteryCharge, "driving": message.driving ? 1 : 0]
        if let position = message.agvPosition, viewDue(id, now: now) {
            values["x"] = position.x
            values["y"] = position.y
        }
        device.values.merge(values) { $1 }
        devices[id] = device
        if before != device.status { actions.append(.statusChanged(device: id, from: before, to: device.status)) }
        for type in fresh {
            actions += deviceAlarm(id, event: type, values: ["battery": message.batteryState.batteryCharge], now: now)
        }
        actions.append(.showTelemetry(PlatformTelemetry(
            device: id, kind: Self.robotKind, messageID: nil, deviceTimeNanoseconds: nil, receivedNanoseconds: now, values: values)))
        // The task first: one this state shows done is done, not sent home half-finished.
        actions += taskProgress(id, message, now: now)
        if let order = devices[id]?.robotReturnOrder,
           message.orderId != order, message.errors.contains(where: { $0.errorReferences?.contains { $0.referenceKey == "orderId" && $0.referenceValue == order } == true }) {
            // The robot refused the way home (still busy when it came): asked again below.
            devices[id]?.robotReturnOrder = nil
        }
        if !showing.contains("lowBattery") {
            devices[id]?.robotReturnOrder = nil
        } else if devices[id]?.robotReturnOrder == nil {
            actions += returnToCharge(id, message, now: now)
        }
        // Free — nothing to drive, no action running (charging holds it) — it takes the next task.
        if message.nodeStates.isEmpty, !message.driving, !message.actionStates.contains(where: { $0.actionStatus == .running || $0.actionStatus == .initializing }) {
            actions += startNextTask(id, now: now)
        }
        return actions
    }

    /// A robot's `visualization`: its position, shown on the platform's map as it moves (004
    /// L1791: 支持地图显示，查看机器人作业所在位置), and a task waiting for it planned.
    public mutating func robotVisualization(_ id: String, _ message: VDA5050Visualization, now: UInt64) -> [Action] {
        guard let position = message.agvPosition, devices[id]?.viaVDA5050 == true else { return [] }
        devices[id]?.robotX = position.x
        devices[id]?.robotY = position.y
        if let manufacturer = message.manufacturer, devices[id]?.robotManufacturer == nil { devices[id]?.robotManufacturer = manufacturer }
        var actions: [Action] = []
        if viewDue(id, now: now) {
            actions.append(.showTelemetry(PlatformTelemetry(
                device: id, kind: Self.robotKind, messageID: nil, deviceTimeNanoseconds: nil, receivedNanoseconds: now,
                values: ["x": position.x, "y": position.y])))
        }
        return actions + planPending(id, now: now)
    }

    /// Whether the robot's position is to be shown now: always, but at most every
    /// `robotViewInterval` under the `robot-view-sampled` switch.
    private mutating func viewDue(_ id: String, now: UInt64) -> Bool {
        guard let interval = faults.robotViewInterval else { return true }
        let every = UInt64(max(0, interval.components.seconds)) * 1_000_000_000 + UInt64(max(0, interval.components.attoseconds) / 1_000_000_000)
        if let last = devices[id]?.robotShownAt, now &- last < every { return false }
        devices[id]?.robotShownAt = now
        return true
    }

    /// A task asked before the robot said where it is, planned now that it has; one it cannot
    /// reach fails, shown as such.
    private mutating func planPending(_ id: String, now: UInt64) -> [Action] {
        guard let task = devices[id]?.robotTask, task.route.isEmpty else { return [] }
        switch planTask(id, now: now) {
        case .success(let actions): return actions
        case .failure(let error): return [taskFailed(id, task, because: error.description, now: now)]
        }
    }

    /// Sends robot `id` to node `destination` of the park's map by the shortest way, as a task,
    /// held wherever the way needs a door or lift to let it on (``RobotHold``) or else in two
    /// halves, each hold released by an order update. Its end shows as a `task-completed` record.
    /// A robot busy with a task or on its way to charge gets it on its task list (a
    /// `task-queued` record), started when it is free. `commandID` names the request it answers.
    public mutating func robotTask(_ id: String, to destination: String, commandID: String, now: UInt64) -> Result<[Action], PlatformError> {
        guard let map = configuration.robotMap else { return .failure(PlatformError("the platform has no map of the park for its robots (--robot-map)")) }
        guard var device = devices[id], device.viaVDA5050 else {
            return .failure(PlatformError("no robot '\(id)' has been heard on VDA 5050"))
        }
        guard map.node(destination) != nil else {
            return .failure(PlatformError("no node '\(destination)' on map \(map.id); nodes: \(map.nodes.map(\.id).joined(separator: ", "))"))
        }
        let task = RobotTask(orderId: "", destination: destination, commandID: commandID)
        // One order at a time: the robot would refuse a second while it drives the first.
        if device.robotTask != nil || device.robotReturnOrder != nil || !device.robotQueue.isEmpty {
            guard device.robotQueue.count < Self.robotQueueLimit else {
                return .failure(PlatformError("robot '\(id)' has \(device.robotQueue.count) tasks waiting already: its task list is full"))
            }
            device.robotQueue.append(task)
            devices[id] = device
            return .success([.showRecord(PlatformRecord(
                device: id, kind: Self.robotKind, event: "task-queued", messageID: commandID, deviceTimeNanoseconds: nil,
                receivedNanoseconds: now, values: ["waiting": Double(device.robotQueue.count)], texts: ["to": destination]))])
        }
        devices[id] = device
        return start(task, for: id, now: now)
    }

    /// Makes `task` robot `id`'s and plans it, its order named by the header it goes out with
    /// (unique per robot).
    private mutating func start(_ task: RobotTask, for id: String, now: UInt64) -> Result<[Action], PlatformError> {
        guard let device = devices[id] else { return .success([]) }
        var task = task
        task.orderId = "task-\(id)-\(device.robotOrderHeaderId)"
        devices[id]?.robotTask = task
        return planTask(id, now: now)
    }

    /// The first task of a free robot's task list started (one that cannot be planned shows as
    /// failed, and the next is tried).
    private mutating func startNextTask(_ id: String, now: UInt64) -> [Action] {
        guard var device = devices[id], device.robotTask == nil, device.robotReturnOrder == nil, !device.robotQueue.isEmpty else { return [] }
        let task = device.robotQueue.removeFirst()
        devices[id] = device
        switch start(task, for: id, now: now) {
        // Done at once (already there): the next one.
        case .success(let actions) where devices[id]?.robotTask == nil: return actions + startNextTask(id, now: now)
        case .success(let actions): return actions
        case .failure(let error): return [taskFailed(id, task, because: error.description, now: now)] + startNextTask(id, now: now)
        }
    }

    /// Plans robot `id`'s task from the node it stands at and sends the order; nothing yet while
    /// the robot has not said where it is (its first state with a position plans it).
    private mutating func planTask(_ id: String, now: UInt64) -> Result<[Action], PlatformError> {
        guard let map = configuration.robotMap, let device = devices[id], var task = device.robotTask, task.route.isEmpty,
              let manufacturer = device.robotManufacturer else { return .success([]) }
        guard let start = device.robotLastNode.flatMap({ map.node($0) })?.id ?? nearestNode(to: device, on: map) else { return .success([]) }
        if start == task.destination {
            // Nothing to drive (a task waiting on the list for where the robot now stands).
            devices[id]?.robotTask = nil
            return .success([completed(id, task, nodes: 1, now: now)])
        }
        guard let route = map.route(from: start, to: task.destination), route.count >= 2 else {
            devices[id]?.robotTask = nil
            return .failure(PlatformError("no way from \(start) to \(task.destination) on map \(map.id)"))
        }
        task.route = route
        task.holds = RobotHold.holds(on: route, map: map)
        devices[id]?.robotTask = task
        let order = Self.order(task.orderId, update: 0, through: task.route, from: 0, released: task.baseEnd + 1, on: map)
        return .success([sendOrder(order, to: id, manufacturer: manufacturer, now: now)])
    }

    /// A task's next step from the robot's `state`: when the robot stands at the base's end, the
    /// horizon released or the hold's device asked to let it on (unless a fault switch says
    /// otherwise); the record when it is at the destination with nothing left to drive.
    private mutating func taskProgress(_ id: String, _ message: VDA5050State, now: UInt64) -> [Action] {
        if devices[id]?.robotTask?.route.isEmpty == true { return planPending(id, now: now) }
        guard var task = devices[id]?.robotTask, let map = configuration.robotMap, let manufacturer = devices[id]?.robotManufacturer else { return [] }
        guard message.orderId == task.orderId else {
            // The robot refused the task's order (busy, or it starts elsewhere): the task ends there.
            let refusal = message.errors.first { $0.errorReferences?.contains { $0.referenceKey == "orderId" && $0.referenceValue == task.orderId } == true }
            guard let refusal else { return [] }
            devices[id]?.robotTask = nil
            return [taskFailed(id, task, because: "\(refusal.errorType): \(refusal.errorDescription ?? "refused")", now: now)]
        }
        var actions: [Action] = []
        if let hold = task.holds.first, message.lastNodeId == task.route[hold.at] {
            if let request = hold.request {
                // Asked once, on the linkage path (the linkage switches act on it as on any
                // linkage); a device not heard yet (no command topic) is asked on a later state.
                if !task.asked, let device = devices[request.device], device.commandTopic != nil {
                    task.asked = true
                    if let ask = linkageCommand(to: device, command: request.command, arguments: request.arguments, rule: "fleet-manager", trigger: id) {
                        actions.append(ask)
                    }
                }
            } else if let update = release(&task, on: map, manufacturer: manufacturer, to: id, now: now) {
                actions.append(update)
            }
        }
        if message.lastNodeId == task.destination, message.nodeStates.isEmpty, !message.driving {
            actions.append(completed(id, task, nodes: task.route.count, now: now))
            devices[id]?.robotTask = nil
        } else {
            devices[id]?.robotTask = task
        }
        return actions
    }

    /// `task`'s way released to its next hold (or its end) by an order update (none under
    /// `horizon-never-released`; a stale update id under `stale-order-updates`).
    private mutating func release(_ task: inout RobotTask, on map: ParkMap, manufacturer: String, to id: String, now: UInt64) -> Action? {
        guard !faults.robotHorizonKept, !task.holds.isEmpty else { return nil }
        let from = task.baseEnd
        task.holds.removeFirst()
        task.asked = false
        task.recalls = 0
        task.updates += 1
        let update = Self.order(task.orderId, update: faults.robotUpdatesStale ? 0 : task.updates, through: Array(task.route[from...]),
                                from: from, released: task.baseEnd - from + 1, on: map)
        return sendOrder(update, to: id, manufacturer: manufacturer, now: now)
    }

    /// A task done, as a record the platform shows.
    private func completed(_ id: String, _ task: RobotTask, nodes: Int, now: UInt64) -> Action {
        .showRecord(PlatformRecord(
            device: id, kind: Self.robotKind, event: "task-completed", messageID: task.commandID, deviceTimeNanoseconds: nil,
            receivedNanoseconds: now, values: ["nodes": Double(nodes)], texts: ["to": task.destination, "order": task.orderId]))
    }

    /// A task that ended without the robot at its destination, as a record the platform shows.
    private func taskFailed(_ id: String, _ task: RobotTask, because reason: String, now: UInt64) -> Action {
        .showRecord(PlatformRecord(
            device: id, kind: Self.robotKind, event: "task-failed", messageID: task.commandID, deviceTimeNanoseconds: nil,
            receivedNanoseconds: now, values: [:], texts: ["to": task.destination, "order": task.orderId, "reason": reason]))
    }

    /// A device's event that lets a robot waiting for it on: a door says it is unlocked, or a lift
    /// opens its doors at the floor it was called to — the robot's way on is released. A lift
    /// that closes its doors at that floor without the robot (it stood open there when called,
    /// so the call was no new one) is called again.
    mutating func gateEvent(_ device: String, event: String, values: [String: Double], now: UInt64) -> [Action] {
        guard let map = configuration.robotMap, ["unlocked", "door-opened", "door-closed"].contains(event) else { return [] }
        var actions: [Action] = []
        for (id, state) in devices {
            guard var task = state.robotTask, task.asked, let hold = task.holds.first, let manufacturer = state.robotManufacturer else { continue }
            switch hold.reason {
            case .door(let door) where door == device && event == "unlocked":
                break
            case .lift(let lift, let floor) where lift == device && values["floor"] == Double(floor):
                // A few times at most: a fleet manager that never lets the robot on would keep the car cycling.
                if event == "door-closed", task.recalls < 3, let request = hold.request, let car = devices[lift] {
                    task.recalls += 1
                    devices[id]?.robotTask = task
                    if let again = linkageCommand(to: car, command: request.command, arguments: request.arguments, rule: "fleet-manager", trigger: id) {
                        actions.append(again)
                    }
                }
                guard event == "door-opened" else { continue }
            default:
                continue
            }
            if let update = release(&task, on: map, manufacturer: manufacturer, to: id, now: now) { actions.append(update) }
            devices[id]?.robotTask = task
        }
        return actions
    }

    private func nearestNode(to device: DeviceState, on map: ParkMap) -> String? {
        guard let x = device.robotX, let y = device.robotY else { return nil }
        func distance(_ node: ParkMap.Node) -> Double { ((node.x - x) * (node.x - x) + (node.y - y) * (node.y - y)).squareRoot() }
        return map.nodes.min(by: { distance($0) < distance($1) })?.id
    }

    /// An order (or update) through `route`, whose first node is the way's `from`-th (sequence
    /// ids count from there); its first `released` nodes released, the rest the horizon.
    static func order(_ orderId: String, update: Int, through route: [String], from: Int, released: Int, on map: ParkMap,
                      finalActions: [VDA5050Action] = []) -> (orderId: String, update: Int, nodes: [VDA5050Node], edges: [VDA5050Edge]) {
        let nodes = route.enumerated().compactMap { index, nodeId -> VDA5050Node? in
            guard let node = map.node(nodeId) else { return nil }
            return VDA5050Node(nodeId: nodeId, sequenceId: 2 * (from + index), released: index < released,
                               nodePosition: VDA5050NodePosition(x: node.x, y: node.y, mapId: map.id),
                               actions: index == route.count - 1 ? finalActions : [])
        }
        let edges = zip(route, route.dropFirst()).enumerated().map { index, pair in
            let edge = map.edge(from: pair.0, to: pair.1)
            return VDA5050Edge(edgeId: edge?.id ?? "\(pair.0)-\(pair.1)", sequenceId: 2 * (from + index) + 1, released: index + 1 < released,
                               startNodeId: pair.0, endNodeId: pair.1, maxSpeed: edge?.maxSpeed, length: edge?.length)
        }
        return (orderId, update, nodes, edges)
    }

    /// The order message to robot `id`, with the fleet manager's next header for it.
    private mutating func sendOrder(_ order: (orderId: String, update: Int, nodes: [VDA5050Node], edges: [VDA5050Edge]), to id: String,
                                    manufacturer: String, now: UInt64) -> Action {
        let headerId = devices[id]?.robotOrderHeaderId ?? 0
        devices[id]?.robotOrderHeaderId = headerId + 1
        let header = VDA5050Header(headerId: headerId, timestamp: VDA5050.timestamp(nanosecondsSinceEpoch: Int64(now)),
                                   manufacturer: manufacturer, serialNumber: id)
        let message = VDA5050Order(header: header, orderId: order.orderId, orderUpdateId: order.update, nodes: order.nodes, edges: order.edges)
        return .sendRobotMessage(device: id, topic: VDA5050.topic(.order, manufacturer: manufacturer, serialNumber: id), payload: VDA5050.encode(message))
    }

    /// The order that takes robot `id` from the node it last reached (or the one nearest to it)
    /// to the nearest charger (by the length of the way), where it starts charging; nothing
    /// without a map, a position or a charger it can reach. A robot still driving (`message`
    /// shows what is left of its order) is told to `cancelOrder` first: it would refuse a new
    /// order while busy.
    private mutating func returnToCharge(_ id: String, _ message: VDA5050State, now: UInt64) -> [Action] {
        guard let map = configuration.robotMap, var device = devices[id], let manufacturer = device.robotManufacturer,
              let start = device.robotLastNode.flatMap({ map.node($0) })?.id ?? nearestNode(to: device, on: map) else { return [] }
        func length(_ route: [String]) -> Double {
            zip(route, route.dropFirst()).reduce(0) { $0 + (map.edge(from: $1.0, to: $1.1)?.length ?? .infinity) }
        }
        let routes = map.nodes.filter(\.charger).compactMap { map.route(from: start, to: $0.id) }
        guard let route = routes.min(by: { length($0) < length($1) }) else { return [] }
        let orderId = "return-\(id)-\(device.robotOrderHeaderId)"
        device.robotReturnOrder = orderId
        // A task under way gives way to the return, and goes back to the head of the task list,
        // planned afresh when the robot is charged.
        if let task = device.robotTask {
            device.robotQueue.insert(RobotTask(orderId: "", destination: task.destination, commandID: task.commandID), at: 0)
        }
        device.robotTask = nil
        var actions: [Action] = []
        if !message.nodeStates.isEmpty || message.driving {
            let header = VDA5050Header(headerId: device.robotInstantHeaderId, timestamp: VDA5050.timestamp(nanosecondsSinceEpoch: Int64(now)),
                                       manufacturer: manufacturer, serialNumber: id)
            device.robotInstantHeaderId += 1
            let cancel = VDA5050InstantActions(header: header, actions: [VDA5050Action(actionType: "cancelOrder", actionId: "\(orderId)-cancel", blockingType: .hard)])
            actions.append(.sendRobotMessage(device: id, topic: VDA5050.topic(.instantActions, manufacturer: manufacturer, serialNumber: id),
                                             payload: VDA5050.encode(cancel)))
        }
        devices[id] = device
        let charge = VDA5050Action(actionType: "startCharging", actionId: "\(orderId)-charge", blockingType: .hard)
        return actions + [sendOrder(Self.order(orderId, update: 0, through: route, from: 0, released: route.count, on: map, finalActions: [charge]),
                                    to: id, manufacturer: manufacturer, now: now)]
    }

    /// A robot was heard: known from now on, and online if it was unknown or offline.
    private mutating func robotHeard(_ id: String, now: UInt64) -> [Action] {
        heard(id, kind: Self.robotKind, via: \.viaVDA5050, now: now) { $0 == .unknown || $0 == .offline }
    }
}
