import Foundation

// The messages of VDA 5050 2.x (the interface between a fleet controller and mobile robots),
// with the standard's field names, so that what ParkBench writes is the standard's JSON and
// what it reads from a peer is checked against the same shapes. Optional fields are nil when
// absent and left out when written.

/// The fields every VDA 5050 message opens with.
public struct VDA5050Header: Codable, Hashable, Sendable {
    /// Per topic and sender, one higher with each message (it starts again at 0 after a restart).
    public var headerId: Int
    /// ISO 8601 in UTC with milliseconds, `2026-12-07T08:00:00.000Z`.
    public var timestamp: String
    /// The protocol version, `2.1.0`.
    public var version: String
    public var manufacturer: String
    public var serialNumber: String

    public init(headerId: Int, timestamp: String, version: String = VDA5050.version, manufacturer: String, serialNumber: String) {
        self.headerId = headerId
        self.timestamp = timestamp
        self.version = version
        self.manufacturer = manufacturer
        self.serialNumber = serialNumber
    }
}

/// A JSON value, as an action parameter's `value` may be any.
public enum VDA5050Value: Codable, Hashable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([VDA5050Value])
    case object([String: VDA5050Value])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let items = try? container.decode([VDA5050Value].self) { self = .array(items) }
        else if let members = try? container.decode([String: VDA5050Value].self) { self = .object(members) }
        else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "a parameter value must not be null") }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .bool(let flag): try container.encode(flag)
        case .array(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }
}

/// `key` and `value` of an action's parameter (`{"key": "duration", "value": 30}`).
public struct VDA5050ActionParameter: Codable, Hashable, Sendable {
    public var key: String
    public var value: VDA5050Value
    public init(key: String, value: VDA5050Value) {
        self.key = key
        self.value = value
    }
}

/// How an action lets others run beside it: NONE (driving and other actions go on), SOFT (other
/// actions may run, driving stops), HARD (nothing else).
public enum VDA5050BlockingType: String, Codable, Hashable, Sendable, CaseIterable {
    case none = "NONE", soft = "SOFT", hard = "HARD"
}

/// An action on a node, an edge, or sent at once (instantActions).
public struct VDA5050Action: Codable, Hashable, Sendable {
    public var actionType: String
    public var actionId: String
    public var actionDescription: String?
    public var blockingType: VDA5050BlockingType
    public var actionParameters: [VDA5050ActionParameter]?

    public init(actionType: String, actionId: String, blockingType: VDA5050BlockingType = .none, actionParameters: [VDA5050ActionParameter]? = nil) {
        self.actionType = actionType
        self.actionId = actionId
        self.blockingType = blockingType
        self.actionParameters = actionParameters
    }

    /// The value of parameter `key`, if given.
    public func parameter(_ key: String) -> VDA5050Value? { actionParameters?.first { $0.key == key }?.value }
}

/// A point on a map, in metres and radians.
public struct VDA5050NodePosition: Codable, Hashable, Sendable {
    public var x: Double
    public var y: Double
    public var theta: Double?
    public var allowedDeviationXY: Double?
    public var allowedDeviationTheta: Double?
    public var mapId: String

    public init(x: Double, y: Double, theta: Double? = nil, allowedDeviationXY: Double? = nil, mapId: String) {
        self.x = x
        self.y = y
        self.theta = theta
        self.allowedDeviationXY = allowedDeviationXY
        self.mapId = mapId
    }
}

/// A node of an order: even sequence ids (0, 2, 4, …) alternate with the edges' odd ones.
public struct VDA5050Node: Codable, Hashable, Sendable {
    public var nodeId: String
    public var sequenceId: Int
    public var nodeDescription: String?
    /// Part of the base (the robot may drive to it) or the horizon (planned, not yet released).
    public var released: Bool
    public var nodePosition: VDA5050NodePosition?
    public var actions: [VDA5050Action]

    public init(nodeId: String, sequenceId: Int, released: Bool = true, nodePosition: VDA5050NodePosition? = nil, actions: [VDA5050Action] = []) {
        self.nodeId = nodeId
        self.sequenceId = sequenceId
        self.released = released
        self.nodePosition = nodePosition
        self.actions = actions
    }
}

/// An edge of an order, from one node to the next.
public struct VDA5050Edge: Codable, Hashable, Sendable {
    public var edgeId: String
    public var sequenceId: Int
    public var edgeDescription: String?
    public var released: Bool
    public var startNodeId: String
    public var endNodeId: String
    /// Metres per second.
    public var maxSpeed: Double?
    /// Metres, as the fleet controller knows it.
    public var length: Double?
    public var actions: [VDA5050Action]

    public init(edgeId: String, sequenceId: Int, released: Bool = true, startNodeId: String, endNodeId: String,
                maxSpeed: Double? = nil, length: Double? = nil, actions: [VDA5050Action] = []) {
        self.edgeId = edgeId
        self.sequenceId = sequenceId
        self.released = released
        self.startNodeId = startNodeId
        self.endNodeId = endNodeId
        self.maxSpeed = maxSpeed
        self.length = length
        self.actions = actions
    }
}

/// `order`: the route a robot is to drive, with what to do on the way; updated under the same
/// `orderId` with a higher `orderUpdateId`.
public struct VDA5050Order: Codable, Hashable, Sendable {
    public var headerId: Int
    public var timestamp: String
    public var version: String
    public var manufacturer: String
    public var serialNumber: String
    public var orderId: String
    public var orderUpdateId: Int
    public var zoneSetId: String?
    public var nodes: [VDA5050Node]
    public var edges: [VDA5050Edge]

    public init(header: VDA5050Header, orderId: String, orderUpdateId: Int, nodes: [VDA5050Node], edges: [VDA5050Edge]) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.orderId = orderId
        self.orderUpdateId = orderUpdateId
        self.nodes = nodes
        self.edges = edges
    }
}

/// `instantActions`: actions to run now, outside any order (cancelOrder, startPause, …).
public struct VDA5050InstantActions: Codable, Hashable, Sendable {
    public var headerId: Int
    public var timestamp: String
    public var version: String
    public var manufacturer: String
    public var serialNumber: String
    public var actions: [VDA5050Action]

    public init(header: VDA5050Header, actions: [VDA5050Action]) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.actions = actions
    }
}

/// Where an action is in its life.
public enum VDA5050ActionStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case waiting = "WAITING", initializing = "INITIALIZING", running = "RUNNING"
    case finished = "FINISHED", failed = "FAILED"
}

public struct VDA5050NodeState: Codable, Hashable, Sendable {
    public var nodeId: String
    public var sequenceId: Int
    public var nodeDescription: String?
    public var released: Bool
    public var nodePosition: VDA5050NodePosition?

    public init(_ node: VDA5050Node) {
        nodeId = node.nodeId
        sequenceId = node.sequenceId
        nodeDescription = node.nodeDescription
        released = node.released
        nodePosition = node.nodePosition
    }
}

public struct VDA5050EdgeState: Codable, Hashable, Sendable {
    public var edgeId: String
    public var sequenceId: Int
    public var edgeDescription: String?
    public var released: Bool

    public init(_ edge: VDA5050Edge) {
        edgeId = edge.edgeId
        sequenceId = edge.sequenceId
        edgeDescription = edge.edgeDescription
        released = edge.released
    }
}

public struct VDA5050ActionState: Codable, Hashable, Sendable {
    public var actionId: String
    public var actionType: String?
    public var actionDescription: String?
    public var actionStatus: VDA5050ActionStatus
    public var resultDescription: String?

    public init(actionId: String, actionType: String?, actionStatus: VDA5050ActionStatus, resultDescription: String? = nil) {
        self.actionId = actionId
        self.actionType = actionType
        self.actionStatus = actionStatus
        self.resultDescription = resultDescription
    }
}

public struct VDA5050BatteryState: Codable, Hashable, Sendable {
    /// Percent, 0–100.
    public var batteryCharge: Double
    public var batteryVoltage: Double?
    public var batteryHealth: Double?
    public var charging: Bool
    /// Metres it can still drive.
    public var reach: Double?

    public init(batteryCharge: Double, charging: Bool, reach: Double? = nil) {
        self.batteryCharge = batteryCharge
        self.charging = charging
        self.reach = reach
    }
}

public struct VDA5050ErrorReference: Codable, Hashable, Sendable {
    public var referenceKey: String
    public var referenceValue: String
    public init(_ key: String, _ value: String) {
        referenceKey = key
        referenceValue = value
    }
}

public enum VDA5050ErrorLevel: String, Codable, Hashable, Sendable { case warning = "WARNING", fatal = "FATAL" }

/// An error the robot reports in its state: a rejected order, a blocked edge, a motor fault.
public struct VDA5050Error: Codable, Hashable, Sendable {
    public var errorType: String
    public var errorReferences: [VDA5050ErrorReference]?
    public var errorDescription: String?
    public var errorLevel: VDA5050ErrorLevel

    public init(_ type: String, level: VDA5050ErrorLevel = .warning, description: String? = nil, references: [VDA5050ErrorReference]? = nil) {
        errorType = type
        errorLevel = level
        errorDescription = description
        errorReferences = references
    }
}

public enum VDA5050EStop: String, Codable, Hashable, Sendable { case autoAck = "AUTOACK", manual = "MANUAL", remote = "REMOTE", none = "NONE" }

public struct VDA5050SafetyState: Codable, Hashable, Sendable {
    public var eStop: VDA5050EStop
    public var fieldViolation: Bool
    public init(eStop: VDA5050EStop = .none, fieldViolation: Bool = false) {
        self.eStop = eStop
        self.fieldViolation = fieldViolation
    }
}

public struct VDA5050AGVPosition: Codable, Hashable, Sendable {
    public var x: Double
    public var y: Double
    public var theta: Double
    public var mapId: String
    public var positionInitialized: Bool
    public var localizationScore: Double?

    public init(x: Double, y: Double, theta: Double, mapId: String, positionInitialized: Bool = true) {
        self.x = x
        self.y = y
        self.theta = theta
        self.mapId = mapId
        self.positionInitialized = positionInitialized
    }
}

public struct VDA5050Velocity: Codable, Hashable, Sendable {
    public var vx: Double?
    public var vy: Double?
    public var omega: Double?
    public init(vx: Double? = nil, vy: Double? = nil, omega: Double? = nil) {
        self.vx = vx
        self.vy = vy
        self.omega = omega
    }
}

public enum VDA5050OperatingMode: String, Codable, Hashable, Sendable {
    case automatic = "AUTOMATIC", semiautomatic = "SEMIAUTOMATIC", manual = "MANUAL", service = "SERVICE", teachIn = "TEACHIN"
}

/// `state`: everything the robot is and is doing, sent on every change and at least every 30 s.
public struct VDA5050State: Codable, Hashable, Sendable {
    public var headerId: Int
    public var timestamp: String
    public var version: String
    public var manufacturer: String
    public var serialNumber: String
    public var orderId: String
    public var orderUpdateId: Int
    public var lastNodeId: String
    public var lastNodeSequenceId: Int
    public var nodeStates: [VDA5050NodeState]
    public var edgeStates: [VDA5050EdgeState]
    public var agvPosition: VDA5050AGVPosition?
    public var velocity: VDA5050Velocity?
    public var driving: Bool
    public var paused: Bool?
    public var newBaseRequest: Bool?
    public var distanceSinceLastNode: Double?
    public var actionStates: [VDA5050ActionState]
    public var batteryState: VDA5050BatteryState
    public var operatingMode: VDA5050OperatingMode
    public var errors: [VDA5050Error]
    public var safetyState: VDA5050SafetyState

    public init(
        header: VDA5050Header, orderId: String = "", orderUpdateId: Int = 0, lastNodeId: String = "", lastNodeSequenceId: Int = 0,
        nodeStates: [VDA5050NodeState] = [], edgeStates: [VDA5050EdgeState] = [], agvPosition: VDA5050AGVPosition? = nil,
        velocity: VDA5050Velocity? = nil, driving: Bool = false, paused: Bool? = nil, newBaseRequest: Bool? = nil,
        actionStates: [VDA5050ActionState] = [], batteryState: VDA5050BatteryState, operatingMode: VDA5050OperatingMode = .automatic,
        errors: [VDA5050Error] = [], safetyState: VDA5050SafetyState = VDA5050SafetyState()
    ) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.orderId = orderId
        self.orderUpdateId = orderUpdateId
        self.lastNodeId = lastNodeId
        self.lastNodeSequenceId = lastNodeSequenceId
        self.nodeStates = nodeStates
        self.edgeStates = edgeStates
        self.agvPosition = agvPosition
        self.velocity = velocity
        self.driving = driving
        self.paused = paused
        self.newBaseRequest = newBaseRequest
        self.actionStates = actionStates
        self.batteryState = batteryState
        self.operatingMode = operatingMode
        self.errors = errors
        self.safetyState = safetyState
    }
}

/// `connection`: ONLINE when the robot connects, OFFLINE when it leaves, CONNECTIONBROKEN as its
/// MQTT last will when the broker loses it.
public struct VDA5050Connection: Codable, Hashable, Sendable {
    public enum State: String, Codable, Hashable, Sendable { case online = "ONLINE", offline = "OFFLINE", broken = "CONNECTIONBROKEN" }
    public var headerId: Int
    public var timestamp: String
    public var version: String
    public var manufacturer: String
    public var serialNumber: String
    public var connectionState: State

    public init(header: VDA5050Header, connectionState: State) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.connectionState = connectionState
    }
}

/// `visualization`: the position at a higher rate than `state`, for a fleet view.
public struct VDA5050Visualization: Codable, Hashable, Sendable {
    public var headerId: Int?
    public var timestamp: String?
    public var version: String?
    public var manufacturer: String?
    public var serialNumber: String?
    public var agvPosition: VDA5050AGVPosition?
    public var velocity: VDA5050Velocity?

    public init(header: VDA5050Header, agvPosition: VDA5050AGVPosition?, velocity: VDA5050Velocity?) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.agvPosition = agvPosition
        self.velocity = velocity
    }
}
