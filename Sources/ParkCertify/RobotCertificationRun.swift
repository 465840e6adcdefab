import Foundation
import ParkEventLoop
import ParkReport
import ParkVDA5050

/// One robot certification: the cases in order, each judged from the states the robot sent.
struct RobotCertificationRun {
    let configuration: RobotCertification.Configuration
    let log: RobotLog
    /// Which way the next order goes along x (+1, -1): back and forth around the start.
    private var direction = 1.0
    private var ordersSent = 0
    /// The action type the robot's factsheet offers on nodes (pick when it has no factsheet).
    private var nodeAction = "pick"
    private let runTag = String(UInt32(truncatingIfNeeded: MonotonicClock.now() / 1_000_000), radix: 36)
    /// The first order's node action, judged at the end of the run: a status may go back later.
    private var watchedAction: (actionId: String, since: Int, started: Date)?

    init(configuration: RobotCertification.Configuration, log: RobotLog) {
        self.configuration = configuration
        self.log = log
    }

    static let source = "VDA 5050 2.1"

    // MARK: Waiting and sending

    /// Waits until `find` finds something in the log, or `timeout` passes.
    func wait<T>(_ timeout: Duration, _ find: ([HeardMessage]) -> T?) -> T? { poll(timeout) { find(log.messages) } }

    /// The first state after log position `index` that `matches`, within `timeout`.
    func state(after index: Int, within timeout: Duration, where matches: (VDA5050State) -> Bool) -> VDA5050State? {
        wait(timeout) { messages in messages.dropFirst(index).lazy.compactMap(\.state).first(where: matches) }
    }

    /// The states after log position `index`.
    func states(after index: Int) -> [VDA5050State] { log.messages.dropFirst(index).compactMap(\.state) }

    var latestState: VDA5050State? { log.messages.last { $0.state != nil }?.state }

    func header(_ topic: VDA5050.Topic) -> VDA5050Header {
        log.header(topic, manufacturer: configuration.manufacturer, serialNumber: configuration.serialNumber)
    }

    /// Sends instant actions; the log position before them.
    @discardableResult
    func instant(_ actions: [VDA5050Action]) -> Int {
        let mark = log.messages.count
        _ = log.send(.instantActions, VDA5050.encode(VDA5050InstantActions(header: header(.instantActions), actions: actions)))
        return mark
    }

    /// Sends `order`; the log position before it.
    func send(_ order: VDA5050Order) -> Int {
        let mark = log.messages.count
        _ = log.send(.order, VDA5050.encode(order))
        return mark
    }

    /// An order through `points` (node id, x, released), starting at sequence id `firstSequence`,
    /// the edges between them released as their end nodes are; `actions` by node index.
    func order(_ orderId: String, update: Int, through points: [(id: String, x: Double, released: Bool)], firstSequence: Int = 0,
               actions: [Int: [VDA5050Action]] = [:]) -> VDA5050Order {
        let where_ = latestState?.agvPosition
        let y = where_?.y ?? 0, mapId = where_?.mapId ?? "park"
        var nodes: [VDA5050Node] = []
        var edges: [VDA5050Edge] = []
        for (index, point) in points.enumerated() {
            var position = VDA5050NodePosition(x: point.x, y: y, mapId: mapId)
            position.allowedDeviationXY = 0.5
            nodes.append(VDA5050Node(nodeId: point.id, sequenceId: firstSequence + 2 * index, released: point.released, nodePosition: position,
                                     actions: actions[index] ?? []))
            guard index > 0 else { continue }
            let from = points[index - 1]
            edges.append(VDA5050Edge(edgeId: "\(from.id)-\(point.id)", sequenceId: firstSequence + 2 * index - 1, released: point.released,
                                     startNodeId: from.id, endNodeId: point.id))
        }
        return VDA5050Order(header: header(.order), orderId: orderId, orderUpdateId: update, nodes: nodes, edges: edges)
    }

    /// Where a new order starts: the node the robot last reached (a fresh one before any), at its position.
    var start: (id: String, x: Double) {
        let state = latestState
        let id = state.map(\.lastNodeId).flatMap { $0.isEmpty ? nil : $0 } ?? "pb-\(runTag)-start"
        return (id, state?.agvPosition?.x ?? 0)
    }

    /// A fresh order id and node ids for it.
    mutating func nextOrder() -> (orderId: String, node: (Int) -> String) {
        ordersSent += 1
        let orderId = "pb-\(runTag)-o\(ordersSent)"
        return (orderId, { "\(orderId)-n\($0)" })
    }

    func result(_ id: String, _ title: String, _ verdict: RunReport.Verdict, _ summary: String, findings: [String] = [],
                metrics: [String: Metric] = [:], started: Date, section: String) -> CheckResult {
        CheckResult(
            id: id, title: title, type: "robot-certify", source: "\(Self.source) \(section)",
            severity: ["order-accepted", "stale-update-rejected", "broken-stitch-rejected", "cancel-order"].contains(id) ? "critical" : "major",
            verdict: verdict, summary: summary, metrics: metrics, latency: nil, findings: findings,
            startedAt: ISO8601DateFormatter().string(from: started), startedAtNanoseconds: RunReport.nanoseconds(started),
            durationMilliseconds: Date().timeIntervalSince(started) * 1000)
    }

    func notRun(_ id: String, because reason: String) -> CheckResult {
        result(id, id, .skipped, "not run: \(reason)", started: Date(), section: "")
    }

    static func milliseconds(_ from: UInt64, _ to: UInt64) -> Double { Double(to &- from) / 1e6 }

    /// The errors in `state` (of `type`) that answer the order message `headerId` of `orderId`:
    /// those whose references name the order or the message, and — since a robot need not give
    /// references — new ones without any, not in the state `before` the message. A standing
    /// warning (a low battery, an obstacle) is no answer.
    static func errors(_ state: VDA5050State, type: String? = nil, about orderId: String, headerId: Int, before: VDA5050State?) -> [VDA5050Error] {
        state.errors.filter { error in
            guard type == nil || error.errorType == type else { return false }
            guard let references = error.errorReferences, !references.isEmpty else { return !(before?.errors.contains(error) ?? false) }
            return references.contains {
                ($0.referenceKey == "orderId" && $0.referenceValue == orderId) || ($0.referenceKey == "headerId" && $0.referenceValue == String(headerId))
            }
        }
    }

    // MARK: The run

    mutating func all() throws(RobotCertificationError) -> [CheckResult] {
        var checks = [try connection()]
        checks.append(stateRequest())
        checks.append(factsheet())
        let first = firstOrder()
        checks += first
        if first.first?.verdict == .pass, first.dropFirst().first?.verdict == .pass {
            checks += updates()
            checks += busyPauseCancel()
        } else {
            checks += ["order-update", "stale-update-rejected", "broken-stitch-rejected", "busy-order-rejected", "pause", "cancel-order"].map {
                notRun($0, because: "the first order was not driven to its end")
            }
        }
        checks += [headerIds(), stateInterval(), lastWill(), messagesValid()]
        if let index = checks.firstIndex(where: { $0.id == "order-completed" }), !checks.contains(where: { $0.id == "action-states" }) {
            checks.insert(actionStates(), at: index + 1)
        }
        return checks
    }

    /// The robot is heard: ONLINE on `connection` (retained, as the standard asks), or at least a state.
    func connection() throws(RobotCertificationError) -> CheckResult {
        let started = Date()
        let c = configuration
        c.progress("waiting up to \(c.connectTimeout) for \(log.base)/connection or /state on mqtt://\(c.host):\(c.port)")
        let said = { (messages: [HeardMessage]) in messages.contains { $0.topic == .connection || $0.topic == .state } ? true : nil }
        // A robot whose ONLINE is not retained and whose next state is up to 30 s away is asked for one.
        let first = min(c.connectTimeout, .seconds(3))
        var heard = wait(first, said)
        if heard == nil, c.connectTimeout > first {
            instant([VDA5050Action(actionType: "stateRequest", actionId: "pb-\(runTag)-hello")])
            heard = wait(c.connectTimeout - first, said)
        }
        guard heard != nil else {
            let why = log.connectError.map { "; the broker: \($0)" } ?? ""
            throw .unreachable("nothing heard from \(log.base) within \(c.connectTimeout)\(why)")
        }
        // A retained ONLINE comes at once; give a live one a moment.
        let online = wait(.seconds(2)) { messages in messages.last { $0.topic == .connection } }
        let title = "The connection topic says ONLINE, retained"
        guard let online else {
            return result("connection", title, .fail, "no message on \(log.base)/connection (state heard): a fleet controller cannot tell the robot is there",
                          started: started, section: "connection")
        }
        let decoded = try? VDA5050.decode(VDA5050Connection.self, from: online.bytes)
        guard let decoded else {
            return result("connection", title, .fail, "the connection message does not read: \(String(decoding: online.bytes.prefix(200), as: UTF8.self))",
                          started: started, section: "connection")
        }
        guard decoded.connectionState == .online else {
            return result("connection", title, .fail, "connectionState \(decoded.connectionState.rawValue), expected ONLINE", started: started, section: "connection")
        }
        // Heard live, it may still be retained: a fresh subscriber gets it at once if it is.
        // A retained OFFLINE or CONNECTIONBROKEN of an earlier session does not count.
        let retainedOnline = { (message: HeardMessage) in
            message.topic == .connection && message.retained && (try? VDA5050.decode(VDA5050Connection.self, from: message.bytes))?.connectionState == .online
        }
        let retained = online.retained
            || (log.probe(.connection) && wait(.seconds(3)) { _ in log.probed.contains(where: retainedOnline) ? true : nil } != nil)
        guard retained else {
            return result("connection", title, .fail, "ONLINE, not retained: a fleet controller that starts later does not see it",
                          started: started, section: "connection")
        }
        return result("connection", title, .pass, "ONLINE, retained, version \(decoded.version)", started: started, section: "connection")
    }

    /// stateRequest: a state comes at once, the instant action FINISHED in it.
    func stateRequest() -> CheckResult {
        let started = Date()
        let title = "stateRequest is answered with a state"
        let actionId = "pb-\(runTag)-state-request"
        let sentAt = MonotonicClock.now()
        let mark = instant([VDA5050Action(actionType: "stateRequest", actionId: actionId)])
        guard let index = wait(configuration.answerTimeout, { messages in messages.indices.dropFirst(mark).first { messages[$0].state != nil } }) else {
            return result("state-request", title, .fail, "no state within \(configuration.answerTimeout) of a stateRequest", started: started, section: "instantActions")
        }
        let answeredAt = log.messages[index].at
        let reported = state(after: mark, within: configuration.answerTimeout) { state in
            state.actionStates.contains { $0.actionId == actionId && $0.actionStatus == .finished }
        }
        let metrics = ["answer_ms": Metric(value: Self.milliseconds(sentAt, answeredAt), unit: .milliseconds)]
        guard reported != nil else {
            return result("state-request", title, .fail, "a state came, but the stateRequest never showed FINISHED in actionStates", metrics: metrics,
                          started: started, section: "instantActions")
        }
        return result("state-request", title, .pass, String(format: "state %.0f ms after the request, the action FINISHED", metrics["answer_ms"]!.value),
                      metrics: metrics, started: started, section: "instantActions")
    }

    /// factsheetRequest: a factsheet valid by the field tables.
    mutating func factsheet() -> CheckResult {
        let started = Date()
        let title = "factsheetRequest is answered with a valid factsheet"
        let mark = instant([VDA5050Action(actionType: "factsheetRequest", actionId: "pb-\(runTag)-factsheet")])
        guard let sheet = wait(configuration.answerTimeout, { messages in messages.dropFirst(mark).first { $0.topic == .factsheet } }) else {
            return result("factsheet", title, .fail, "no factsheet within \(configuration.answerTimeout) of a factsheetRequest", started: started, section: "factsheet")
        }
        let problems = VDA5050Validator.problems(in: sheet.bytes, topic: .factsheet)
        // Only the actions are read: the rest of a factsheet may carry what this run never needs.
        struct Actions: Decodable {
            struct Features: Decodable {
                struct Action: Decodable { var actionType: String; var actionScopes: [String] }
                var agvActions: [Action]
            }
            var protocolFeatures: Features
        }
        var note = ""
        if let decoded = try? VDA5050.decode(Actions.self, from: sheet.bytes) {
            let onNodes = decoded.protocolFeatures.agvActions.filter { $0.actionScopes.contains("NODE") }.map(\.actionType)
            if let chosen = ["pick", "drop", "wait"].first(where: onNodes.contains) ?? onNodes.first { nodeAction = chosen }
        } else {
            note = " (its actions unread: the run uses pick)"
        }
        guard problems.isEmpty else {
            return result("factsheet", title, .fail, "the factsheet is not valid: \(problems.count) problem(s)", findings: problems, started: started, section: "factsheet")
        }
        return result("factsheet", title, .pass, "valid; the run's node action: \(nodeAction)\(note)", started: started, section: "factsheet")
    }

    /// A new order of two nodes with an action on the second: accepted, driven to its end, the
    /// action's states in the standard's order.
    mutating func firstOrder() -> [CheckResult] {
        let started = Date()
        let (orderId, node) = nextOrder()
        let start = self.start
        let end = start.x + direction * configuration.leg
        direction = -direction
        let actionId = "\(orderId)-\(nodeAction)"
        let action = VDA5050Action(actionType: nodeAction, actionId: actionId, blockingType: .hard,
                                   actionParameters: [VDA5050ActionParameter(key: "duration", value: .number(1))])
        let order = order(orderId, update: 0, through: [(start.id, start.x, true), (node(1), end, true)], actions: [1: [action]])
        configuration.progress("order \(orderId): \(start.id) → \(node(1)) (\(configuration.leg) m), \(nodeAction) there")
        let sentAt = MonotonicClock.now()
        let before = latestState
        let mark = send(order)
        let acceptedTitle = "A new order is accepted"
        let taken = state(after: mark, within: configuration.answerTimeout) { state in
            state.orderId == orderId || !Self.errors(state, about: orderId, headerId: order.headerId, before: before).isEmpty
        }
        guard let taken, taken.orderId == orderId else {
            let why = taken.map { Self.errors($0, about: orderId, headerId: order.headerId, before: before).map { "\($0.errorType): \($0.errorDescription ?? "")" }.joined(separator: "; ") }
                ?? "no state with orderId \(orderId) within \(configuration.answerTimeout)"
            return [result("order-accepted", acceptedTitle, .fail, "rejected: \(why)", started: started, section: "order"),
                    notRun("order-completed", because: "the order was not accepted"), notRun("action-states", because: "the order was not accepted")]
        }
        let acceptedAt = log.messages.dropFirst(mark).first { $0.state?.orderId == orderId }?.at ?? sentAt
        let accepted = result("order-accepted", acceptedTitle, .pass, String(format: "accepted in %.0f ms", Self.milliseconds(sentAt, acceptedAt)),
                              metrics: ["accept_ms": Metric(value: Self.milliseconds(sentAt, acceptedAt), unit: .milliseconds)],
                              started: started, section: "order")

        let completedTitle = "The order is driven to its last node, nothing left"
        let done = state(after: mark, within: configuration.driveTimeout) { state in
            state.orderId == orderId && state.lastNodeId == node(1) && state.nodeStates.isEmpty && !state.driving
                && state.actionStates.contains { $0.actionId == actionId && $0.actionStatus.isTerminal }
        }
        let completed: CheckResult
        if let done {
            var findings: [String] = []
            let y = order.nodes.last?.nodePosition?.y ?? 0
            if let position = done.agvPosition, hypot(position.x - end, position.y - y) > 0.5 {
                findings.append(String(format: "at %.2f, %.2f: %.2f m from the node (allowed 0.5)", position.x, position.y, hypot(position.x - end, position.y - y)))
            }
            completed = result("order-completed", completedTitle, findings.isEmpty ? .pass : .fail,
                               findings.isEmpty ? "at \(node(1)), nodeStates empty, driving false" : "at \(node(1)) by its state, but elsewhere",
                               findings: findings, started: started, section: "order")
        } else {
            let last = latestState
            completed = result("order-completed", completedTitle, .fail,
                               "not at the end within \(configuration.driveTimeout): lastNodeId \(last?.lastNodeId ?? "?"), \(last?.nodeStates.count ?? 0) node(s) left",
                               started: started, section: "order")
        }

        watchedAction = (actionId, mark, started)
        return [accepted, completed]
    }

    /// The first order's node action: its states, from the order on to the end of the run, in the
    /// standard's order, never back, ending FINISHED.
    func actionStates() -> CheckResult {
        guard let (actionId, mark, started) = watchedAction else { return notRun("action-states", because: "the order was not accepted") }
        let statuses = states(after: mark).compactMap { $0.actionStates.first { $0.actionId == actionId }?.actionStatus }
        var sequence: [VDA5050ActionStatus] = []
        for status in statuses where sequence.last != status { sequence.append(status) }
        let shown = sequence.map(\.rawValue).joined(separator: " → ")
        let backwards = zip(sequence, sequence.dropFirst()).first { $0.rank >= $1.rank }
        let title = "An action's states follow WAITING → INITIALIZING → RUNNING → FINISHED"
        if let (from, to) = backwards {
            return result("action-states", title, .fail, "\(from.rawValue) → \(to.rawValue) goes back (\(shown))", started: started, section: "actionStates")
        }
        guard sequence.last == .finished else {
            return result("action-states", title, .fail, sequence.isEmpty ? "\(actionId) never appeared in actionStates" : "ended \(shown)",
                          started: started, section: "actionStates")
        }
        return result("action-states", title, .pass, shown, started: started, section: "actionStates")
    }

    /// An order with a horizon, the update that releases it, then a stale update and a broken stitch.
    mutating func updates() -> [CheckResult] {
        var started = Date()
        let (orderId, node) = nextOrder()
        let start = self.start
        let a = start.x + direction * configuration.leg, b = a + direction * configuration.leg
        direction = -direction
        configuration.progress("order \(orderId): base to \(node(1)), horizon to \(node(2)); then the update releasing it")
        let planned = order(orderId, update: 0, through: [(start.id, start.x, true), (node(1), a, true), (node(2), b, false)])
        var mark = send(planned)
        let title = "An update that starts where the base ends is stitched on"
        let atBaseEnd = state(after: mark, within: configuration.driveTimeout) { state in
            state.orderId == orderId && ((state.lastNodeId == node(1) && !state.driving) || state.lastNodeId == node(2))
        }
        guard let atBaseEnd, atBaseEnd.lastNodeId == node(1) else {
            let last = latestState
            let why = atBaseEnd != nil ? "drove into the horizon: reached \(node(2)), which was not released"
                : "the base (to \(node(1))) was not driven: lastNodeId \(last?.lastNodeId ?? "?"), orderId \(last?.orderId ?? "?")"
            return [result("order-update", title, .fail, why, started: started, section: "order update"),
                    notRun("stale-update-rejected", because: "no order to update"), notRun("broken-stitch-rejected", because: "no order to update")]
        }
        var findings: [String] = []
        if states(after: mark).contains(where: { $0.lastNodeId == node(2) }) { findings.append("drove into the horizon (\(node(2)) was not released)") }
        let update = order(orderId, update: 1, through: [(node(1), a, true), (node(2), b, true)], firstSequence: 2)
        mark = send(update)
        let stitched = state(after: mark, within: configuration.driveTimeout) { state in
            state.orderId == orderId && state.orderUpdateId == 1 && state.lastNodeId == node(2) && state.nodeStates.isEmpty
        }
        if stitched == nil {
            let last = latestState
            findings.append("after update 1: orderUpdateId \(last?.orderUpdateId ?? -1), lastNodeId \(last?.lastNodeId ?? "?"), errors \(last?.errors.map(\.errorType) ?? [])")
        }
        let updated = result("order-update", title, findings.isEmpty ? .pass : .fail,
                             findings.isEmpty ? "stopped at the base's end, took update 1, drove on to \(node(2))" : findings[0], findings: findings,
                             started: started, section: "order update")

        started = Date()
        let before = latestState
        let stale = order(orderId, update: 0, through: [(start.id, start.x, true), (node(1), a, true)])
        mark = send(stale)
        let staleTitle = "An update older than the current one is rejected with orderUpdateError"
        let refused = state(after: mark, within: configuration.answerTimeout) { state in
            Self.newErrors(state, since: before, type: "orderUpdateError", orderId: orderId, headerId: stale.headerId)
        }
        let staleResult: CheckResult
        if refused != nil {
            let moved = states(after: mark).contains { $0.orderUpdateId != 1 || $0.lastNodeId != node(2) }
            staleResult = result("stale-update-rejected", staleTitle, moved ? .fail : .pass,
                                 moved ? "an orderUpdateError, but the order changed" : "orderUpdateError; the order stayed at update 1", started: started, section: "order update")
        } else {
            let last = latestState
            staleResult = result("stale-update-rejected", staleTitle, .fail,
                                 "no orderUpdateError within \(configuration.answerTimeout) of orderUpdateId 0 after 1 (now orderUpdateId \(last?.orderUpdateId ?? -1))",
                                 started: started, section: "order update")
        }

        started = Date()
        let beforeStitch = latestState
        let far = b + direction * configuration.leg * 3
        let broken = order(orderId, update: 2, through: [(node(9), far, true), (node(10), far + configuration.leg, true)], firstSequence: 4)
        mark = send(broken)
        let stitchTitle = "An update that does not start where the base ends is rejected with orderUpdateError"
        let stitchRefused = state(after: mark, within: configuration.answerTimeout) { state in
            Self.newErrors(state, since: beforeStitch, type: "orderUpdateError", orderId: orderId, headerId: broken.headerId)
        }
        let took = states(after: mark).contains { $0.orderUpdateId == 2 || $0.nodeStates.contains { $0.nodeId == node(10) } }
        let stitchResult = result("broken-stitch-rejected", stitchTitle, stitchRefused != nil && !took ? .pass : .fail,
                                  took ? "update 2 (starting at \(node(9)), not \(node(2))) was taken"
                                      : stitchRefused != nil ? "orderUpdateError; the order stayed as it was"
                                      : "no orderUpdateError within \(configuration.answerTimeout) of an update starting at \(node(9)) instead of \(node(2))",
                                  started: started, section: "order update")
        return [updated, staleResult, stitchResult]
    }

    /// Whether `state` answers the order message `headerId` with an error of `type`: one that
    /// names the message, or one about the order that the state `before` it did not have.
    static func newErrors(_ state: VDA5050State, since before: VDA5050State?, type: String, orderId: String, headerId: Int) -> Bool {
        let answering = errors(state, type: type, about: orderId, headerId: headerId, before: before)
        let standing = Set(before?.errors ?? [])
        return answering.contains { error in
            error.errorReferences?.contains { $0.referenceKey == "headerId" && $0.referenceValue == String(headerId) } == true || !standing.contains(error)
        }
    }

    /// A long order: a new order while it drives (rejected), a pause and its end, then cancelOrder.
    mutating func busyPauseCancel() -> [CheckResult] {
        var started = Date()
        let (orderId, node) = nextOrder()
        let start = self.start
        let legs = 6
        let points = [(start.id, start.x, true)] + (1 ... legs).map { (node($0), start.x + direction * configuration.leg * Double($0), true) }
        direction = -direction
        configuration.progress("order \(orderId): \(legs) legs, to be interrupted")
        var mark = send(order(orderId, update: 0, through: points))
        guard state(after: mark, within: configuration.answerTimeout, where: { $0.orderId == orderId && $0.driving }) != nil else {
            // A third new order, from where the last one ended, as good as the first: not taken is a failure.
            let last = latestState
            let reason = "the robot did not drive order \(orderId) within \(configuration.answerTimeout) (orderId \(last?.orderId ?? "?"), errors \(last?.errors.map(\.errorType) ?? []))"
            return [result("busy-order-rejected", "A new order while one is driven is rejected", .fail, reason, started: started, section: "order"),
                    notRun("pause", because: "no order under way"), notRun("cancel-order", because: "no order under way")]
        }

        let (otherId, otherNode) = nextOrder()
        let here = self.start
        let other = order(otherId, update: 0, through: [(here.id, here.x, true), (otherNode(1), here.x - direction * configuration.leg, true)])
        let beforeOther = latestState
        mark = send(other)
        let busyTitle = "A new order while one is driven is rejected"
        let refused = state(after: mark, within: configuration.answerTimeout) { state in
            !Self.errors(state, about: otherId, headerId: other.headerId, before: beforeOther).isEmpty || state.orderId == otherId
        }
        let busy: CheckResult
        if let refused, refused.orderId != otherId {
            let types = Self.errors(refused, about: otherId, headerId: other.headerId, before: beforeOther).map(\.errorType)
            busy = result("busy-order-rejected", busyTitle, .pass, "rejected (\(types.joined(separator: ", "))), still on \(orderId)", started: started, section: "order")
        } else {
            busy = result("busy-order-rejected", busyTitle, .fail,
                          refused == nil ? "no error within \(configuration.answerTimeout) for order \(otherId) sent mid-drive" : "it dropped \(orderId) for \(otherId) mid-drive",
                          started: started, section: "order")
        }

        started = Date()
        let pauseTitle = "startPause stops the robot, stopPause lets it go on"
        var pause: CheckResult
        mark = instant([VDA5050Action(actionType: "startPause", actionId: "pb-\(runTag)-pause", blockingType: .hard)])
        if let paused = state(after: mark, within: configuration.answerTimeout, where: { $0.paused == true }) {
            var findings: [String] = []
            if paused.driving { findings.append("paused, but driving is true") }
            mark = instant([VDA5050Action(actionType: "stopPause", actionId: "pb-\(runTag)-resume", blockingType: .hard)])
            if state(after: mark, within: configuration.answerTimeout, where: { $0.paused == false && ($0.driving || $0.nodeStates.isEmpty) }) == nil {
                findings.append("no state with paused false and the robot driving on within \(configuration.answerTimeout) of stopPause")
            }
            pause = result("pause", pauseTitle, findings.isEmpty ? .pass : .fail, findings.first ?? "paused (driving false), then on its way again",
                           findings: findings, started: started, section: "instantActions")
        } else {
            pause = result("pause", pauseTitle, .fail, "no state with paused true within \(configuration.answerTimeout) of startPause", started: started, section: "instantActions")
        }

        started = Date()
        let cancelTitle = "cancelOrder stops the robot and ends the order"
        guard latestState.map({ $0.orderId == orderId && !$0.nodeStates.isEmpty }) == true else {
            return [busy, pause, result("cancel-order", cancelTitle, .fail,
                                        "the order ended before cancelOrder could be sent: give a longer --leg (the robot drives it in under a pause and two answers)",
                                        started: started, section: "instantActions")]
        }
        let cancelId = "pb-\(runTag)-cancel"
        mark = instant([VDA5050Action(actionType: "cancelOrder", actionId: cancelId, blockingType: .hard)])
        let cancelled = state(after: mark, within: configuration.answerTimeout) { state in
            state.nodeStates.isEmpty && state.edgeStates.isEmpty && !state.driving
                && state.actionStates.contains { $0.actionId == cancelId && $0.actionStatus == .finished }
        }
        let cancel: CheckResult
        if let cancelled {
            let reached = cancelled.lastNodeId
            cancel = result("cancel-order", cancelTitle, reached == node(legs) ? .fail : .pass,
                            reached == node(legs) ? "the order was driven to its end, not cancelled" : "stopped after \(reached.isEmpty ? "the start" : reached), nothing left, cancelOrder FINISHED",
                            started: started, section: "instantActions")
        } else {
            let last = latestState
            cancel = result("cancel-order", cancelTitle, .fail,
                            "within \(configuration.answerTimeout): \(last?.nodeStates.count ?? 0) node(s) left, driving \(last?.driving ?? false), cancelOrder \(last?.actionStates.first { $0.actionId == cancelId }?.actionStatus.rawValue ?? "not reported")",
                            started: started, section: "instantActions")
        }
        return [busy, pause, cancel]
    }

    /// Every topic's headerId rises by one per message.
    func headerIds() -> CheckResult {
        let started = Date()
        var last: [VDA5050.Topic: Int] = [:]
        var findings: [String] = []
        var gaps = 0
        for message in log.messages where !message.retained {
            // A last will is written when the robot connects: its headerId is as old as that.
            if message.topic == .connection, (try? VDA5050.decode(VDA5050Connection.self, from: message.bytes))?.connectionState == .broken { continue }
            guard let id = (try? VDA5050.decode(VDA5050Header.self, from: message.bytes))?.headerId else { continue }
            if let previous = last[message.topic] {
                if id <= previous { findings.append("\(message.topic.rawValue): headerId \(id) after \(previous)") } else if id > previous + 1 { gaps += 1 }
            }
            last[message.topic] = id
        }
        let summary = findings.isEmpty ? "rising on every topic" + (gaps > 0 ? " (\(gaps) gap(s): messages lost or not seen)" : "") : "\(findings.count) out of order"
        return result("header-ids", "headerId rises per topic", findings.isEmpty ? .pass : .fail, summary, findings: Array(findings.prefix(20)),
                      started: started, section: "protocol header")
    }

    /// State at least every 30 s (the standard's longest interval): the run goes on, sending
    /// nothing, until `stateWindow` has passed since the first state; the longest gap counts the
    /// time since the last one. A window shorter than 30 s cannot judge the rule: not judged.
    func stateInterval(now: UInt64? = nil) -> CheckResult {
        let started = Date()
        let limit = Double(nanoseconds(VDA5050.maximumStateInterval)) / 1e6
        if now == nil, let first = log.messages.first(where: { $0.topic == .state })?.at {
            let until = first + nanoseconds(configuration.stateWindow)
            if MonotonicClock.now() < until {
                configuration.progress(String(format: "watching the robot's state for %.0f s more (the standard's 30 s rule)", Double(until - MonotonicClock.now()) / 1e9))
                while MonotonicClock.now() < until { usleep(100_000) }
            }
        }
        let end = now ?? MonotonicClock.now()
        let times = log.messages.filter { $0.topic == .state && !$0.retained }.map(\.at)
        guard let first = times.first else {
            return result("state-interval", "state at least every 30 s", .fail, "no state heard", started: started, section: "state")
        }
        let gaps = zip(times, times.dropFirst()).map { Self.milliseconds($0, $1) } + [Self.milliseconds(times[times.count - 1], end)]
        let longest = gaps.max() ?? 0
        let watched = Self.milliseconds(first, end)
        let metrics = ["longest_gap_ms": Metric(value: longest, unit: .milliseconds), "states": Metric(value: Double(times.count), unit: .count)]
        let summary = String(format: "%d states over %.1f s, longest gap %.1f s", times.count, watched / 1000, longest / 1000)
        if longest > limit { return result("state-interval", "state at least every 30 s", .fail, summary, metrics: metrics, started: started, section: "state") }
        if watched < limit {
            return result("state-interval", "state at least every 30 s", .skipped, "not judged: " + summary + " (the rule needs 30 s watched)",
                          metrics: metrics, started: started, section: "state")
        }
        return result("state-interval", "state at least every 30 s", .pass, summary, metrics: metrics, started: started, section: "state")
    }

    /// The last will: the robot's connection cut by `cutConnection`, the broker publishes its
    /// CONNECTIONBROKEN on `connection` within `willTimeout`. Whether it comes back ONLINE is
    /// said, not judged.
    func lastWill() -> CheckResult {
        let started = Date()
        let title = "The last will says CONNECTIONBROKEN when the connection is cut"
        guard let cut = configuration.cutConnection else {
            return result("last-will", title, .skipped, "not run: no way to cut the robot's connection was given (--cut-command)", started: started, section: "connection")
        }
        configuration.progress("cutting the robot's connection; its last will may take up to \(configuration.willTimeout)")
        let mark = log.messages.count
        // Before the cut: a will can arrive while the cut command is still being reaped.
        let cutAt = MonotonicClock.now()
        do { try cut() } catch {
            return result("last-will", title, .error, "the connection could not be cut: \(error)", started: started, section: "connection")
        }
        func says(_ state: VDA5050Connection.State) -> ([HeardMessage]) -> HeardMessage? {
            { messages in
                messages.dropFirst(mark).first { $0.topic == .connection && (try? VDA5050.decode(VDA5050Connection.self, from: $0.bytes))?.connectionState == state }
            }
        }
        guard let will = wait(configuration.willTimeout, says(.broken)) else {
            return result("last-will", title, .fail,
                          "no CONNECTIONBROKEN on \(log.base)/connection within \(configuration.willTimeout) of the cut: the robot left no last will there",
                          started: started, section: "connection")
        }
        let metrics = ["will_ms": Metric(value: Self.milliseconds(cutAt, will.at), unit: .milliseconds)]
        // A few seconds for a robot that reconnects by itself; one cut off for good is no fault.
        let comeback = min(configuration.answerTimeout, .seconds(5))
        let back = wait(comeback, says(.online)) != nil
        return result("last-will", title, .pass,
                      String(format: "CONNECTIONBROKEN %.0f ms after the cut; ", metrics["will_ms"]!.value)
                          + (back ? "ONLINE again" : "not back within \(comeback)"),
                      metrics: metrics, started: started, section: "connection")
    }

    /// Every message valid by the field tables, and its header naming this robot.
    func messagesValid() -> CheckResult {
        let started = Date()
        var findings: [String] = []
        var invalid = 0
        let messages = log.messages
        for message in messages {
            var problems = VDA5050Validator.problems(in: message.bytes, topic: message.topic, limit: 5)
            if let header = try? VDA5050.decode(VDA5050Header.self, from: message.bytes),
               header.manufacturer != configuration.manufacturer || header.serialNumber != configuration.serialNumber {
                problems.append("the header names \(header.manufacturer)/\(header.serialNumber), the topic \(configuration.manufacturer)/\(configuration.serialNumber)")
            }
            guard !problems.isEmpty else { continue }
            invalid += 1
            if findings.count < 20 { findings.append("\(message.topic.rawValue): " + problems.joined(separator: "; ")) }
        }
        return result("messages-valid", "Every message is valid by the standard's field tables", invalid == 0 ? .pass : .fail,
                      invalid == 0 ? "\(messages.count) messages, all valid" : "\(invalid) of \(messages.count) messages invalid", findings: findings,
                      metrics: ["messages": Metric(value: Double(messages.count), unit: .count)], started: started, section: "JSON schemas")
    }
}

extension VDA5050ActionStatus {
    /// Its place in the standard's sequence; FINISHED and FAILED both end it.
    var rank: Int {
        switch self {
        case .waiting: 0
        case .initializing: 1
        case .running: 2
        case .finished, .failed: 3
        }
    }

    var isTerminal: Bool { rank == 3 }
}
