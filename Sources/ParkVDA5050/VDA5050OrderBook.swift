/// What a robot does with the orders it receives, by the standard's acceptance rules (VDA 5050
/// 2.x, "order" and "order update"): the order it is working on, split into the base (released:
/// it may drive there) and the horizon (planned, not yet released), and how far it has come.
///
/// - An order that is not well formed — no nodes, sequence ids that do not alternate 0, 1, 2, …
///   between nodes and edges, an edge that does not join its neighbours, a released node or edge
///   after an unreleased one, an action id used twice — is rejected: `validationError`.
/// - The same `orderId`:
///   - a lower `orderUpdateId` than the current one is stale: rejected, `orderUpdateError`;
///   - the same `orderUpdateId` is the same order sent again: ignored;
///   - a higher one must start where the current base ends (same node id and sequence id):
///     then the horizon is replaced and the base extended; otherwise rejected, `orderUpdateError`.
/// - A new `orderId` is taken only when the robot has finished the current order (no base left
///   to drive, no action of it still running) and the new order starts at the node the robot
///   last reached (or, before any order, anywhere); otherwise rejected, `orderError` (still busy)
///   or `noRouteError` (starts elsewhere).
///
/// A rejected order leaves everything as it was; the error goes into the robot's state with
/// references to the order (`headerId`, `orderId`, `orderUpdateId`).
public struct VDA5050OrderBook: Sendable {
    /// What became of an order.
    public enum Decision: Hashable, Sendable {
        /// A new order, now the current one.
        case accepted
        /// An update of the current order: the base extended, the horizon replaced.
        case updated
        /// The current order sent again (same id and update id): nothing changes.
        case duplicate
        case rejected(VDA5050Error)
    }

    public private(set) var orderId = ""
    public private(set) var orderUpdateId = 0
    /// Nodes still ahead (the last reached one is not among them), base then horizon.
    public private(set) var nodes: [VDA5050Node] = []
    /// Edges still ahead, base then horizon.
    public private(set) var edges: [VDA5050Edge] = []
    public private(set) var lastNodeId = ""
    public private(set) var lastNodeSequenceId = 0
    /// Actions of the current order not yet finished or failed (the robot says when they end).
    public private(set) var openActions: Set<String> = []
    /// Firmware defects to simulate, so that `certify --robot` can be seen to catch them (the
    /// book breaks the rules of `staleUpdatesIgnored`, `brokenStitchAccepted`,
    /// `busyOrderAccepted` and `horizonDriven`).
    public var defects: Set<VDA5050Defect> = []

    public init() {}

    /// Whether the robot is done with its order: nothing released left to drive, no action of
    /// it still open.
    public var isIdle: Bool { !nodes.contains { $0.released } && !edges.contains { $0.released } && openActions.isEmpty }

    /// The last released node of the current order: where the base ends.
    public var baseEnd: (nodeId: String, sequenceId: Int) {
        if let node = nodes.last(where: \.released) { return (node.nodeId, node.sequenceId) }
        return (lastNodeId, lastNodeSequenceId)
    }

    /// Applies the acceptance rules to `order`.
    public mutating func receive(_ order: VDA5050Order) -> Decision {
        if let problem = Self.validate(order) {
            return .rejected(error("validationError", problem, order))
        }
        if order.orderId == orderId, !orderId.isEmpty {
            if order.orderUpdateId < orderUpdateId {
                if defects.contains(.staleUpdatesIgnored) { return .duplicate }
                return .rejected(error("orderUpdateError", "orderUpdateId \(order.orderUpdateId) is older than the current \(orderUpdateId)", order))
            }
            if order.orderUpdateId == orderUpdateId { return .duplicate }
            let first = order.nodes[0], end = baseEnd
            guard (first.nodeId == end.nodeId && first.sequenceId == end.sequenceId) || defects.contains(.brokenStitchAccepted) else {
                return .rejected(error(
                    "orderUpdateError",
                    "the update starts at \(first.nodeId)/\(first.sequenceId), not where the base ends (\(end.nodeId)/\(end.sequenceId))", order))
            }
            // The stitching node is already in the base (or reached): keep it once, take its actions.
            let keptNodes = nodes.filter(\.released).filter { $0.sequenceId < first.sequenceId }
            let keptEdges = edges.filter(\.released)
            let stitch = nodes.first { $0.released && $0.sequenceId == first.sequenceId }
            nodes = keptNodes + (stitch == nil && lastNodeSequenceId == first.sequenceId ? [] : [first]) + order.nodes.dropFirst()
            edges = keptEdges + order.edges
            orderUpdateId = order.orderUpdateId
            openActions.formUnion(order.nodes.dropFirst().flatMap(\.actions).map(\.actionId) + order.edges.flatMap(\.actions).map(\.actionId))
            if stitch != nil || lastNodeSequenceId != first.sequenceId { openActions.formUnion(first.actions.map(\.actionId)) }
            return .updated
        }
        guard isIdle || defects.contains(.busyOrderAccepted) else {
            return .rejected(error("orderError", "order \(orderId) is still being driven; \(order.orderId) must wait or cancel it first", order))
        }
        let first = order.nodes[0]
        if !lastNodeId.isEmpty, first.nodeId != lastNodeId {
            return .rejected(error("noRouteError", "the order starts at \(first.nodeId); the robot is at \(lastNodeId)", order))
        }
        orderId = order.orderId
        orderUpdateId = order.orderUpdateId
        nodes = order.nodes
        edges = order.edges
        openActions = Set(order.nodes.flatMap(\.actions).map(\.actionId) + order.edges.flatMap(\.actions).map(\.actionId))
        return .accepted
    }

    /// The robot reached the next node: it leaves the list with the edge that led to it. Returns
    /// the node, nil when none is released ahead (the robot must not drive into the horizon).
    public mutating func reachNextNode() -> VDA5050Node? {
        guard let next = nodes.first, mayDrive(to: next) else { return nil }
        nodes.removeFirst()
        if let edge = edges.first, edge.endNodeId == next.nodeId, edge.sequenceId == next.sequenceId - 1 { edges.removeFirst() }
        lastNodeId = next.nodeId
        lastNodeSequenceId = next.sequenceId
        return next
    }

    /// Whether the robot may set off for `node`: it is released (or the robot has the
    /// `horizonDriven` defect).
    public func mayDrive(to node: VDA5050Node) -> Bool { node.released || defects.contains(.horizonDriven) }

    /// The robot's position at start: the node it stands on.
    public mutating func place(at nodeId: String) {
        lastNodeId = nodeId
        lastNodeSequenceId = 0
    }

    /// An action of the order ended (finished or failed).
    public mutating func actionEnded(_ actionId: String) { openActions.remove(actionId) }

    /// cancelOrder: the rest of the order is dropped; the robot stays where it is.
    public mutating func cancel() {
        nodes = []
        edges = []
        openActions = []
    }

    /// The first problem with `order`'s shape, nil when it is well formed.
    public static func validate(_ order: VDA5050Order) -> String? {
        guard !order.orderId.isEmpty else { return "orderId is empty" }
        guard order.orderUpdateId >= 0 else { return "orderUpdateId \(order.orderUpdateId) is negative" }
        guard let first = order.nodes.first else { return "an order needs at least one node" }
        guard first.released else { return "the first node must be released" }
        guard order.edges.count == order.nodes.count - 1 else {
            return "\(order.nodes.count) nodes need \(order.nodes.count - 1) edges, got \(order.edges.count)"
        }
        for (index, node) in order.nodes.enumerated() where node.sequenceId != first.sequenceId + 2 * index {
            return "nodes[\(index)] \(node.nodeId) has sequenceId \(node.sequenceId), expected \(first.sequenceId + 2 * index)"
        }
        for (index, edge) in order.edges.enumerated() {
            if edge.sequenceId != first.sequenceId + 2 * index + 1 {
                return "edges[\(index)] \(edge.edgeId) has sequenceId \(edge.sequenceId), expected \(first.sequenceId + 2 * index + 1)"
            }
            if edge.startNodeId != order.nodes[index].nodeId || edge.endNodeId != order.nodes[index + 1].nodeId {
                return "edges[\(index)] \(edge.edgeId) joins \(edge.startNodeId) → \(edge.endNodeId), not \(order.nodes[index].nodeId) → \(order.nodes[index + 1].nodeId)"
            }
            if edge.released != order.nodes[index + 1].released {
                return "edges[\(index)] \(edge.edgeId) is \(edge.released ? "released" : "unreleased") but the node it leads to is not"
            }
        }
        if let firstHorizon = order.nodes.firstIndex(where: { !$0.released }), order.nodes[firstHorizon...].contains(where: \.released) {
            return "a released node follows an unreleased one (nodes[\(firstHorizon)])"
        }
        var actionIds = Set<String>()
        for action in order.nodes.flatMap(\.actions) + order.edges.flatMap(\.actions) where !actionIds.insert(action.actionId).inserted {
            return "actionId \(action.actionId) is used twice"
        }
        return nil
    }

    private func error(_ type: String, _ description: String, _ order: VDA5050Order) -> VDA5050Error {
        VDA5050Error(type, level: .warning, description: description, references: [
            VDA5050ErrorReference("headerId", String(order.headerId)), VDA5050ErrorReference("orderId", order.orderId),
            VDA5050ErrorReference("orderUpdateId", String(order.orderUpdateId)),
        ])
    }
}
