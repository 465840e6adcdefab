/// The robot's side of VDA 5050: what its controller does with orders and instant actions, and
/// what it reports — everything but the machine itself. The machine (a simulated robot) is told
/// what to do by ``Directive``s and tells the session what happened (arrived, an action ended,
/// its position and battery); the session keeps the order book, the action states and the
/// errors, and writes the `state` and `visualization` messages.
///
/// How an order is driven: the first node is where the robot stands, reached at once. At each
/// node its actions run one after another; a `HARD` or `SOFT` one holds the robot there until it
/// ends, a `NONE` one does not. Then the robot drives the next released edge to its node; the
/// edge's own actions start as it sets off. It stops at the end of the base and waits for an
/// update to release more. Instant actions: `cancelOrder` (stop, drop the rest, the order's
/// open actions FAILED), `startPause`/`stopPause`, `stateRequest`, `startCharging`/`stopCharging`,
/// `initPosition`, `factsheetRequest`; any other type FAILED with an `actionNotSupported`-style error.
public struct VDA5050VehicleSession: Sendable {
    /// What the machine is to do now.
    public enum Directive: Hashable, Sendable {
        /// Drive along `edge` to `node` (its position, at most the edge's `maxSpeed`).
        case drive(to: VDA5050Node, along: VDA5050Edge)
        /// Start `action` (an order's or an instant one the machine carries out: clean, pick, …).
        case run(VDA5050Action)
        /// Stop moving and stop every action now (cancel, pause).
        case stop
        /// Charge (startCharging); `stopCharging` gives `.stopCharging`.
        case charge
        case stopCharging
    }

    public let manufacturer: String
    public let serialNumber: String
    public let mapId: String
    public private(set) var book = VDA5050OrderBook()
    public private(set) var actionStates: [VDA5050ActionState] = []
    public private(set) var errors: [VDA5050Error] = []
    public private(set) var paused = false
    public private(set) var driving = false
    public private(set) var position: VDA5050AGVPosition?
    public private(set) var velocity: VDA5050Velocity?
    public private(set) var battery = VDA5050BatteryState(batteryCharge: 100, charging: false)
    public private(set) var safety = VDA5050SafetyState()
    /// Set by every change a fleet controller must hear of; the binding publishes `state` and clears it.
    public var stateChanged = true
    /// Set by `factsheetRequest`; the binding publishes the `factsheet` and clears it.
    public var factsheetRequested = false
    /// The firmware defects the robot simulates (the order book's among them); the binding
    /// carries out those of the wire (`connectionNotRetained`, `headerIdsRestart`, `mapOffset`).
    public var defects: Set<VDA5050Defect> {
        get { book.defects }
        set { book.defects = newValue }
    }

    /// The order's actions not yet started, per node or edge (by sequence id), in order.
    private var pendingActions: [Int: [VDA5050Action]] = [:]
    /// Running actions that hold the robot where it is (HARD, SOFT).
    private var blocking: Set<String> = []
    /// Instant actions that end when the machine says so (startCharging).
    private var instantRunning: Set<String> = []
    /// The node being driven to, if any.
    private var target: VDA5050Node?
    /// An action reported FINISHED that the next state is to show FAILED (`finishedActionsFailed`).
    private var regressing: String?

    public init(manufacturer: String, serialNumber: String, mapId: String, at node: String? = nil) {
        self.manufacturer = manufacturer
        self.serialNumber = serialNumber
        self.mapId = mapId
        if let node { book.place(at: node) }
    }

    // MARK: From the fleet controller

    /// An `order` (new or update): the decision, and what the machine is to do now.
    public mutating func receive(order: VDA5050Order) -> (VDA5050OrderBook.Decision, [Directive]) {
        let decision = book.receive(order)
        switch decision {
        case .rejected(let error):
            errors.append(error)
            stateChanged = true
            return (decision, [])
        case .duplicate:
            return (decision, [])
        case .accepted, .updated:
            // Errors about earlier orders are resolved by a good one.
            errors.removeAll { ["orderError", "orderUpdateError", "noRouteError", "validationError"].contains($0.errorType) }
            if case .accepted = decision {
                // A new order: what is left of the last one's bookkeeping goes (running instant
                // actions, such as charging, stay).
                actionStates.removeAll { state in !instantRunning.contains(state.actionId) && state.actionStatus.isDone }
                pendingActions = [:]
            }
            // Actions already known (an update repeating the stitching node's) are not run twice.
            let known = Set(actionStates.map(\.actionId))
            for node in order.nodes { queue(node.actions, at: node.sequenceId, known: known) }
            for edge in order.edges { queue(edge.actions, at: edge.sequenceId, known: known) }
            for action in order.nodes.flatMap(\.actions) + order.edges.flatMap(\.actions) where !known.contains(action.actionId) {
                actionStates.append(VDA5050ActionState(actionId: action.actionId, actionType: action.actionType, actionStatus: .waiting))
            }
            stateChanged = true
            var directives: [Directive] = []
            // A new order starts at the node the robot stands on: reached at once.
            if case .accepted = decision, let first = book.reachNextNode() { directives += startActions(at: first.sequenceId) }
            return (decision, directives + proceed())
        }
    }

    /// `instantActions`: what the machine is to do now.
    public mutating func receive(instantActions message: VDA5050InstantActions) -> [Directive] {
        var directives: [Directive] = []
        for action in message.actions {
            actionStates.removeAll { $0.actionId == action.actionId }
            var state = VDA5050ActionState(actionId: action.actionId, actionType: action.actionType, actionStatus: .finished)
            switch action.actionType {
            case "cancelOrder":
                if book.nodes.isEmpty && book.openActions.isEmpty && target == nil {
                    state.actionStatus = .failed
                    state.resultDescription = "no order to cancel"
                    errors.append(VDA5050Error("noOrderToCancel", description: "cancelOrder with no order under way",
                                               references: [VDA5050ErrorReference("actionId", action.actionId)]))
                } else if !defects.contains(.cancelIgnored) {
                    directives.append(.stop)
                    for index in actionStates.indices where !actionStates[index].actionStatus.isDone && !instantRunning.contains(actionStates[index].actionId) {
                        actionStates[index].actionStatus = .failed
                        actionStates[index].resultDescription = "cancelled"
                    }
                    book.cancel()
                    pendingActions = [:]
                    blocking = []
                    target = nil
                    driving = false
                }
            case "startPause":
                paused = true
                if !defects.contains(.pauseIgnored) {
                    directives.append(.stop)
                    driving = false
                }
            case "stopPause":
                paused = false
                if let node = target {
                    // The drive that the pause stopped is driven again from where the robot stands.
                    target = nil
                    if let edge = book.edges.first(where: { $0.endNodeId == node.nodeId && $0.sequenceId == node.sequenceId - 1 }) {
                        target = node
                        driving = true
                        directives.append(.drive(to: node, along: edge))
                    }
                }
            case "stateRequest":
                // The state below still goes out; the action is left out of it.
                if defects.contains(.stateRequestUnreported) { continue }
            case "factsheetRequest":
                factsheetRequested = !defects.contains(.factsheetRequestIgnored)
            case "startCharging":
                state.actionStatus = .running
                instantRunning.insert(action.actionId)
                directives.append(.charge)
            case "stopCharging":
                directives.append(.stopCharging)
            case "initPosition":
                if case .string(let node)? = action.parameter("lastNodeId") { book.place(at: node) }
                if case .number(let x)? = action.parameter("x"), case .number(let y)? = action.parameter("y") {
                    var theta = 0.0
                    if case .number(let given)? = action.parameter("theta") { theta = given }
                    position = VDA5050AGVPosition(x: x, y: y, theta: theta, mapId: mapId)
                }
            default:
                state.actionStatus = .failed
                state.resultDescription = "not supported"
                errors.append(VDA5050Error("actionNotSupported", description: "instant action \(action.actionType) is not supported",
                                           references: [VDA5050ErrorReference("actionId", action.actionId)]))
            }
            actionStates.append(state)
        }
        stateChanged = true
        return directives + proceed()
    }

    // MARK: From the machine

    /// The machine reached the node it was sent to.
    public mutating func arrived() -> [Directive] {
        guard target != nil else { return [] }
        target = nil
        driving = false
        guard let node = book.reachNextNode() else { return [] }
        stateChanged = true
        return startActions(at: node.sequenceId) + proceed()
    }

    /// An action the machine ran has ended.
    public mutating func actionEnded(_ actionId: String, failed: Bool = false, description: String? = nil) -> [Directive] {
        guard let index = actionStates.firstIndex(where: { $0.actionId == actionId }) else { return [] }
        actionStates[index].actionStatus = failed ? .failed : .finished
        actionStates[index].resultDescription = description
        blocking.remove(actionId)
        let instant = instantRunning.remove(actionId) != nil
        book.actionEnded(actionId)
        stateChanged = true
        if defects.contains(.finishedActionsFailed), !failed, !instant, book.isIdle, book.nodes.isEmpty { regressing = actionId }
        return proceed()
    }

    /// The binding sent a `state`: what a defect holds back for the one after happens now.
    public mutating func statePublished() {
        guard let actionId = regressing else { return }
        regressing = nil
        if let index = actionStates.firstIndex(where: { $0.actionId == actionId }) {
            actionStates[index].actionStatus = .failed
            actionStates[index].resultDescription = "order ended"
            stateChanged = true
        }
    }

    /// The machine's latest position, speed and battery (no state change by itself: visualization
    /// carries the position; `state` gets it when it is next sent).
    public mutating func update(x: Double, y: Double, theta: Double, speed: Double, batteryCharge: Double, charging: Bool) {
        position = VDA5050AGVPosition(x: x, y: y, theta: theta, mapId: mapId)
        velocity = VDA5050Velocity(vx: speed, vy: 0, omega: 0)
        if charging != battery.charging { stateChanged = true }
        battery = VDA5050BatteryState(batteryCharge: (batteryCharge * 10).rounded() / 10, charging: charging)
    }

    /// The machine stands still at (x, y): where an arrival or a stop left it, more exact than
    /// its last periodic report.
    public mutating func stoppedAt(x: Double, y: Double) {
        position = VDA5050AGVPosition(x: x, y: y, theta: position?.theta ?? 0, mapId: mapId)
        velocity = VDA5050Velocity(vx: 0, vy: 0, omega: 0)
    }

    /// A machine error appears (`motorFault`, FATAL) or goes (nil level removes it).
    public mutating func setError(_ type: String, level: VDA5050ErrorLevel?, description: String? = nil) {
        errors.removeAll { $0.errorType == type }
        if let level { errors.append(VDA5050Error(type, level: level, description: description)) }
        stateChanged = true
    }

    /// The emergency stop's state.
    public mutating func setEmergencyStop(_ pressed: Bool) {
        safety.eStop = pressed ? .manual : .none
        if pressed {
            driving = false
        }
        stateChanged = true
    }

    /// The drive the machine was on failed (a fault, an e-stop): the robot stays where it is;
    /// the order waits (a fleet controller cancels or sends it on).
    public mutating func driveFailed() {
        driving = false
        stateChanged = true
    }

    // MARK: Messages

    /// The `state` message as things stand.
    public func state(header: VDA5050Header) -> VDA5050State {
        VDA5050State(
            header: header, orderId: book.orderId, orderUpdateId: book.orderUpdateId, lastNodeId: book.lastNodeId,
            lastNodeSequenceId: book.lastNodeSequenceId, nodeStates: book.nodes.map(VDA5050NodeState.init),
            edgeStates: book.edges.map(VDA5050EdgeState.init), agvPosition: position, velocity: velocity, driving: driving,
            paused: paused, newBaseRequest: !book.nodes.isEmpty && !book.nodes.contains(where: \.released),
            actionStates: actionStates, batteryState: battery, errors: errors, safetyState: safety)
    }

    /// The `visualization` message.
    public func visualization(header: VDA5050Header) -> VDA5050Visualization {
        VDA5050Visualization(header: header, agvPosition: position, velocity: velocity)
    }

    // MARK: Driving the order

    private mutating func queue(_ actions: [VDA5050Action], at sequenceId: Int, known: Set<String>) {
        let fresh = actions.filter { !known.contains($0.actionId) }
        if !fresh.isEmpty { pendingActions[sequenceId, default: []] += fresh }
    }

    /// Starts the actions waiting at `sequenceId` (a node reached, an edge set off on).
    private mutating func startActions(at sequenceId: Int) -> [Directive] {
        guard let actions = pendingActions.removeValue(forKey: sequenceId) else { return [] }
        var directives: [Directive] = []
        for action in actions {
            if let index = actionStates.firstIndex(where: { $0.actionId == action.actionId }) { actionStates[index].actionStatus = .running }
            if action.blockingType != .none { blocking.insert(action.actionId) }
            directives.append(.run(action))
        }
        stateChanged = true
        return directives
    }

    /// Sets off for the next node when nothing holds the robot: not paused, not stopped by an
    /// e-stop or a fatal error, no blocking action running, not already driving, and the next
    /// node released.
    private mutating func proceed() -> [Directive] {
        guard !paused, target == nil, blocking.isEmpty, safety.eStop == .none, !errors.contains(where: { $0.errorLevel == .fatal }),
              let next = book.nodes.first, book.mayDrive(to: next),
              let edge = book.edges.first(where: { $0.endNodeId == next.nodeId && $0.sequenceId == next.sequenceId - 1 })
        else { return [] }
        target = next
        driving = true
        stateChanged = true
        return startActions(at: edge.sequenceId) + [.drive(to: next, along: edge)]
    }
}

extension VDA5050ActionStatus {
    /// Finished or failed: the action will not change again.
    var isDone: Bool { self == .finished || self == .failed }
}
