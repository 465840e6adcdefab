import ParkProfiles
import ParkVDA5050

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
        if let position = message.agvPosition {
            values["x"] = position.x
            values["y"] = position.y
        }
        device.values.merge(values) { $1 }
        devices[id] = device
        if before != device.status { actions.append(.statusChanged(device: id, from: before, to: device.status)) }
        for type in fresh {
            actions += deviceAlarm(id, event: type, values: ["battery": message.batteryState.batteryCharge], now: now)
        }
        if !showing.contains("lowBattery") {
            devices[id]?.robotReturnOrder = nil
        } else if devices[id]?.robotReturnOrder == nil, let order = returnToCharge(id, now: now) {
            actions.append(order)
        }
        actions.append(.showTelemetry(PlatformTelemetry(
            device: id, kind: Self.robotKind, messageID: nil, deviceTimeNanoseconds: nil, receivedNanoseconds: now, values: values)))
        return actions
    }

    /// The order that takes robot `id` from the node nearest to it to the nearest charger (by the
    /// length of the way), where it starts charging; nil without a map, a position or a charger
    /// it can reach.
    private mutating func returnToCharge(_ id: String, now: UInt64) -> Action? {
        guard let map = configuration.robotMap, var device = devices[id], let x = device.robotX, let y = device.robotY,
              let manufacturer = device.robotManufacturer else { return nil }
        func distance(_ node: ParkMap.Node) -> Double { ((node.x - x) * (node.x - x) + (node.y - y) * (node.y - y)).squareRoot() }
        guard let start = map.nodes.min(by: { distance($0) < distance($1) }) else { return nil }
        func length(_ route: [String]) -> Double {
            zip(route, route.dropFirst()).reduce(0) { $0 + (map.edge(from: $1.0, to: $1.1)?.length ?? .infinity) }
        }
        let routes = map.nodes.filter(\.charger).compactMap { map.route(from: start.id, to: $0.id) }
        guard let route = routes.min(by: { length($0) < length($1) }) else { return nil }
        device.robotOrderHeaderId += 1
        let orderId = "return-\(id)-\(device.robotOrderHeaderId)"
        device.robotReturnOrder = orderId
        devices[id] = device
        let nodes = route.enumerated().compactMap { index, nodeId -> VDA5050Node? in
            guard let node = map.node(nodeId) else { return nil }
            let charge = index == route.count - 1
                ? [VDA5050Action(actionType: "startCharging", actionId: "\(orderId)-charge", blockingType: .hard)] : []
            return VDA5050Node(nodeId: nodeId, sequenceId: 2 * index, nodePosition: VDA5050NodePosition(x: node.x, y: node.y, mapId: map.id), actions: charge)
        }
        let edges = zip(route, route.dropFirst()).enumerated().map { index, pair in
            let edge = map.edge(from: pair.0, to: pair.1)
            return VDA5050Edge(edgeId: edge?.id ?? "\(pair.0)-\(pair.1)", sequenceId: 2 * index + 1, startNodeId: pair.0, endNodeId: pair.1,
                               maxSpeed: edge?.maxSpeed, length: edge?.length)
        }
        let header = VDA5050Header(
            headerId: device.robotOrderHeaderId, timestamp: VDA5050.timestamp(nanosecondsSinceEpoch: Int64(now)),
            manufacturer: manufacturer, serialNumber: id)
        let order = VDA5050Order(header: header, orderId: orderId, orderUpdateId: 0, nodes: nodes, edges: edges)
        return .sendRobotMessage(
            device: id, topic: VDA5050.topic(.order, manufacturer: manufacturer, serialNumber: id), payload: VDA5050.encode(order))
    }

    /// A robot was heard: known from now on, and online if it was unknown or offline.
    private mutating func robotHeard(_ id: String, now: UInt64) -> [Action] {
        heard(id, kind: Self.robotKind, via: \.viaVDA5050, now: now) { $0 == .unknown || $0 == .offline }
    }
}
