import Foundation

/// Judges raw bytes against VDA 5050 2.1.0, field by field, as the standard's tables describe each
/// topic's message: the fields it must have, their JSON types, enumerations and ranges. Certify
/// judges every message a robot sends by it, so it reads anything a peer may send (not JSON, too
/// big, nested without end) and answers with problems that name the field, never a crash.
///
/// The tables follow the VDA's published JSON schemas wherever those assert something, so that a
/// message passes here exactly when it passes there; the three places the schemas contradict the
/// standard (`blockingTypes`, `orientationType`, a 3D envelope's `description`) follow its text
/// instead, and say so.
public enum VDA5050Validator {
    /// The ways `bytes` is not a valid VDA 5050 2.1 message on `topic`, each naming the field
    /// (`state.nodeStates[0].sequenceId: expected an integer, got "1"`); empty when it is valid.
    /// Never crashes on any input (not JSON, huge, deeply nested): at most `limit` problems.
    public static func problems(in bytes: [UInt8], topic: VDA5050.Topic, limit: Int = 20) -> [String] {
        guard limit > 0 else { return [] }
        guard bytes.count <= VDA5050.maximumMessageBytes else {
            return ["\(topic.rawValue): \(bytes.count) bytes is over the \(VDA5050.maximumMessageBytes)-byte limit"]
        }
        let message: Any
        do {
            // Fragments are read so that `"text"` or `3` is reported as "not an object", like any
            // other wrong type. JSONSerialization refuses nesting deeper than 512 by itself.
            message = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            return ["\(topic.rawValue): not JSON" + (reason.map { " (\($0))" } ?? "")]
        }
        var report = Report(limit: limit)
        report.check(message, is: .object(fields(of: topic)), at: topic.rawValue)
        return report.problems
    }

    static func fields(of topic: VDA5050.Topic) -> [Field] {
        switch topic {
        case .order: order
        case .instantActions: instantActions
        case .state: state
        case .visualization: visualization
        case .connection: connection
        case .factsheet: factsheet
        }
    }
}

// MARK: - The description language

extension VDA5050Validator {
    /// What a value must be.
    indirect enum Kind: Sendable {
        case string
        /// A JSON number that is whole (`3`, and `3.0` too, as JSON Schema counts it).
        case integer
        case number
        case boolean
        /// A string, one of these.
        case oneOf([String])
        case object([Field])
        /// An array whose every item is of the kind.
        case array(Kind)
        /// Any object at all (a 3D envelope's `data`).
        case anyObject
        /// Any value but null (an action parameter's `value`).
        case anyValue
        /// A number or integer within bounds.
        case bounded(Kind, minimum: Double?, maximum: Double?)

        func atLeast(_ minimum: Double) -> Kind { .bounded(self, minimum: minimum, maximum: nil) }
        func within(_ range: ClosedRange<Double>) -> Kind { .bounded(self, minimum: range.lowerBound, maximum: range.upperBound) }
    }

    /// A member of an object. Members not in a table are allowed anywhere, as the schemas allow
    /// them (none of them sets `additionalProperties`).
    struct Field: Sendable {
        var name: String
        var required: Bool
        var kind: Kind
    }

    static func required(_ name: String, _ kind: Kind) -> Field { Field(name: name, required: true, kind: kind) }
    static func optional(_ name: String, _ kind: Kind) -> Field { Field(name: name, required: false, kind: kind) }
}

// MARK: - Checking

extension VDA5050Validator {
    /// The problems found so far, stopping at the limit (so a 1 MiB array of wrong items costs
    /// no more than `limit` strings).
    struct Report {
        let limit: Int
        var problems: [String] = []
        var isFull: Bool { problems.count >= limit }

        mutating func add(_ path: String, _ problem: String) {
            if !isFull { problems.append("\(path): \(problem)") }
        }

        mutating func check(_ value: Any, is kind: Kind, at path: String) {
            guard !isFull else { return }
            switch kind {
            case .string:
                if !(value is String) { add(path, "expected a string, got \(describe(value))") }
            case .integer:
                if let number = number(value), number.isFinite, number.rounded() == number {} else {
                    add(path, "expected an integer, got \(describe(value))")
                }
            case .number:
                if number(value) == nil { add(path, "expected a number, got \(describe(value))") }
            case .boolean:
                if !isBoolean(value) { add(path, "expected true or false, got \(describe(value))") }
            case .oneOf(let names):
                if let text = value as? String, names.contains(text) {} else {
                    add(path, "expected one of \(names.joined(separator: ", ")), got \(describe(value))")
                }
            case .anyObject:
                if !(value is [String: Any]) { add(path, "expected an object, got \(describe(value))") }
            case .anyValue:
                if value is NSNull { add(path, "expected a value, got null") }
            case .bounded(let inner, let minimum, let maximum):
                let before = problems.count
                check(value, is: inner, at: path)
                guard problems.count == before, let number = number(value) else { return }
                if let minimum, number < minimum { add(path, "\(describe(value)) is below the minimum \(format(minimum))") }
                if let maximum, number > maximum { add(path, "\(describe(value)) is above the maximum \(format(maximum))") }
            case .array(let item):
                guard let items = value as? [Any] else { return add(path, "expected an array, got \(describe(value))") }
                for (index, element) in items.enumerated() where !isFull {
                    check(element, is: item, at: "\(path)[\(index)]")
                }
            case .object(let fields):
                guard let members = value as? [String: Any] else { return add(path, "expected an object, got \(describe(value))") }
                for field in fields where !isFull {
                    let fieldPath = path + member(field.name)
                    if let fieldValue = members[field.name] {
                        check(fieldValue, is: field.kind, at: fieldPath)
                    } else if field.required {
                        add(fieldPath, "missing (required)")
                    }
                }
            }
        }
    }

    /// JSONSerialization reads `true` and `false` as NSNumbers too (on Linux and macOS alike), so
    /// a bare `as? Bool` would take `1` for true and `as? Double` would take `true` for 1. Its
    /// booleans are the only numbers it makes with the `char` type ("c"); every JSON number
    /// comes out as a long, an unsigned long, a double or a decimal.
    static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// The number `value` is, if it is a JSON number (not a boolean).
    static func number(_ value: Any) -> Double? {
        guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
        return number.doubleValue
    }

    /// `value` as it looked in the message, short enough for a report line.
    static func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case let text as String:
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            return "\"\(shown)\""
        case is [String: Any]: return "an object"
        case is [Any]: return "an array"
        case let number as NSNumber:
            return isBoolean(number) ? (number.boolValue ? "true" : "false") : format(number.doubleValue)
        default: return "\(type(of: value))"
        }
    }

    static func format(_ number: Double) -> String {
        number.isFinite && number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
    }

    /// `.name`, or `["order.nodes"]` for the factsheet's keys that have dots in them.
    static func member(_ name: String) -> String {
        name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? ".\(name)" : "[\"\(name)\"]"
    }
}

// MARK: - The tables (VDA 5050 2.1.0, chapter 6)

extension VDA5050Validator {
    /// The fields every message opens with (6.1.1). Not checked as dates: `timestamp` is only
    /// annotated `format: date-time` in the schemas, which JSON Schema validators do not assert.
    static func header(required isRequired: Bool) -> [Field] {
        let field = isRequired ? required : optional
        return [
            field("headerId", .integer), field("timestamp", .string), field("version", .string),
            field("manufacturer", .string), field("serialNumber", .string),
        ]
    }

    static let blockingType = Kind.oneOf(["NONE", "SOFT", "HARD"])

    static let action = Kind.object([
        required("actionType", .string),
        required("actionId", .string),
        optional("actionDescription", .string),
        required("blockingType", blockingType),
        optional("actionParameters", .array(.object([
            required("key", .string),
            required("value", .anyValue),
        ]))),
    ])

    /// A NURBS curve (order edges and state edge states alike). The state's table puts no minimum
    /// on `degree` or `weight`; the order's does.
    static func trajectory(inOrder: Bool) -> Kind {
        .object([
            required("degree", inOrder ? Kind.integer.atLeast(1) : .integer),
            required("knotVector", .array(Kind.number.within(0 ... 1))),
            required("controlPoints", .array(.object([
                required("x", .number),
                required("y", .number),
                optional("weight", inOrder ? Kind.number.atLeast(0) : .number),
            ]))),
        ])
    }

    /// ±π as the schemas write it, to their (differing) digits.
    static let angle = Kind.number.within(-3.14159265359 ... 3.14159265359)

    static let order: [Field] = header(required: true) + [
        required("orderId", .string),
        required("orderUpdateId", Kind.integer.atLeast(0)),
        optional("zoneSetId", .string),
        required("nodes", .array(.object([
            required("nodeId", .string),
            required("sequenceId", Kind.integer.atLeast(0)),
            optional("nodeDescription", .string),
            required("released", .boolean),
            optional("nodePosition", .object([
                required("x", .number),
                required("y", .number),
                optional("theta", angle),
                optional("allowedDeviationXY", Kind.number.atLeast(0)),
                optional("allowedDeviationTheta", Kind.number.within(-3.141592654 ... 3.141592654)),
                required("mapId", .string),
                optional("mapDescription", .string),
            ])),
            required("actions", .array(action)),
        ]))),
        required("edges", .array(.object([
            required("edgeId", .string),
            required("sequenceId", Kind.integer.atLeast(0)),
            optional("edgeDescription", .string),
            required("released", .boolean),
            required("startNodeId", .string),
            required("endNodeId", .string),
            optional("maxSpeed", .number),
            optional("maxHeight", .number),
            optional("minHeight", .number),
            optional("orientation", angle),
            // The standard's table: GLOBAL or TANGENTIAL. The 2.1.0 schema describes the enum
            // but declares only a string, so it accepts any text here; this does not.
            optional("orientationType", .oneOf(["GLOBAL", "TANGENTIAL"])),
            optional("direction", .string),
            optional("rotationAllowed", .boolean),
            optional("maxRotationSpeed", .number),
            optional("length", .number),
            optional("trajectory", trajectory(inOrder: true)),
            optional("corridor", .object([
                required("leftWidth", Kind.number.atLeast(0)),
                required("rightWidth", Kind.number.atLeast(0)),
                optional("corridorRefPoint", .oneOf(["KINEMATICCENTER", "CONTOUR"])),
            ])),
            required("actions", .array(action)),
        ]))),
    ]

    static let instantActions: [Field] = header(required: true) + [
        required("actions", .array(action)),
    ]

    static let agvPosition = Kind.object([
        required("x", .number),
        required("y", .number),
        required("theta", .number),
        required("mapId", .string),
        optional("mapDescription", .string),
        required("positionInitialized", .boolean),
        optional("localizationScore", Kind.number.within(0 ... 1)),
        optional("deviationRange", .number),
    ])

    static let velocity = Kind.object([optional("vx", .number), optional("vy", .number), optional("omega", .number)])

    static let references = Kind.array(.object([required("referenceKey", .string), required("referenceValue", .string)]))

    static let boundingBoxReference = Kind.object([
        required("x", .number), required("y", .number), required("z", .number), optional("theta", .number),
    ])

    static let loadDimensions = Kind.object([required("length", .number), required("width", .number), optional("height", .number)])

    static let state: [Field] = header(required: true) + [
        optional("maps", .array(.object([
            required("mapId", .string),
            required("mapVersion", .string),
            optional("mapDescription", .string),
            required("mapStatus", .oneOf(["ENABLED", "DISABLED"])),
        ]))),
        required("orderId", .string),
        required("orderUpdateId", .integer),
        optional("zoneSetId", .string),
        required("lastNodeId", .string),
        required("lastNodeSequenceId", .integer),
        required("driving", .boolean),
        optional("paused", .boolean),
        optional("newBaseRequest", .boolean),
        optional("distanceSinceLastNode", .number),
        required("operatingMode", .oneOf(["AUTOMATIC", "SEMIAUTOMATIC", "MANUAL", "SERVICE", "TEACHIN"])),
        required("nodeStates", .array(.object([
            required("nodeId", .string),
            required("sequenceId", .integer),
            optional("nodeDescription", .string),
            required("released", .boolean),
            optional("nodePosition", .object([
                required("x", .number), required("y", .number), optional("theta", .number), required("mapId", .string),
            ])),
        ]))),
        required("edgeStates", .array(.object([
            required("edgeId", .string),
            required("sequenceId", .integer),
            optional("edgeDescription", .string),
            required("released", .boolean),
            optional("trajectory", trajectory(inOrder: false)),
        ]))),
        optional("agvPosition", agvPosition),
        optional("velocity", velocity),
        optional("loads", .array(.object([
            optional("loadId", .string),
            optional("loadType", .string),
            optional("loadPosition", .string),
            optional("boundingBoxReference", boundingBoxReference),
            optional("loadDimensions", loadDimensions),
            optional("weight", Kind.number.atLeast(0)),
        ]))),
        required("actionStates", .array(.object([
            required("actionId", .string),
            optional("actionType", .string),
            optional("actionDescription", .string),
            required("actionStatus", .oneOf(["WAITING", "INITIALIZING", "RUNNING", "FINISHED", "FAILED"])),
            optional("resultDescription", .string),
        ]))),
        // The table gives batteryCharge in percent but no bounds, and neither does the schema.
        required("batteryState", .object([
            required("batteryCharge", .number),
            optional("batteryVoltage", .number),
            optional("batteryHealth", Kind.number.within(0 ... 100)),
            required("charging", .boolean),
            optional("reach", Kind.number.atLeast(0)),
        ])),
        required("errors", .array(.object([
            required("errorType", .string),
            optional("errorReferences", references),
            optional("errorDescription", .string),
            optional("errorHint", .string),
            required("errorLevel", .oneOf(["WARNING", "FATAL"])),
        ]))),
        optional("information", .array(.object([
            required("infoType", .string),
            optional("infoReferences", references),
            optional("infoDescription", .string),
            required("infoLevel", .oneOf(["INFO", "DEBUG"])),
        ]))),
        required("safetyState", .object([
            required("eStop", .oneOf(["AUTOACK", "MANUAL", "REMOTE", "NONE"])),
            required("fieldViolation", .boolean),
        ])),
    ]

    /// Everything optional: it is sent often, so a robot may leave out what it cannot tell.
    static let visualization: [Field] = header(required: false) + [
        optional("agvPosition", agvPosition),
        optional("velocity", velocity),
    ]

    static let connection: [Field] = header(required: true) + [
        required("connectionState", .oneOf(["ONLINE", "OFFLINE", "CONNECTIONBROKEN"])),
    ]

    static let factsheet: [Field] = [
        // The factsheet's header is optional but for version, manufacturer and serialNumber.
        optional("headerId", Kind.integer.atLeast(0)),
        optional("timestamp", .string),
        required("version", .string),
        required("manufacturer", .string),
        required("serialNumber", .string),
        required("typeSpecification", .object([
            required("seriesName", .string),
            optional("seriesDescription", .string),
            required("agvKinematic", .oneOf(["DIFF", "OMNI", "THREEWHEEL"])),
            required("agvClass", .oneOf(["FORKLIFT", "CONVEYOR", "TUGGER", "CARRIER"])),
            required("maxLoadMass", Kind.number.atLeast(0)),
            required("localizationTypes", .array(.oneOf(["NATURAL", "REFLECTOR", "RFID", "DMC", "SPOT", "GRID"]))),
            required("navigationTypes", .array(.oneOf(["PHYSICAL_LINE_GUIDED", "VIRTUAL_LINE_GUIDED", "AUTONOMOUS"]))),
        ])),
        required("physicalParameters", .object(
            ["speedMin", "speedMax", "accelerationMax", "decelerationMax"].map { required($0, .number) }
                + [optional("heightMin", .number)]
                + ["heightMax", "width", "length"].map { required($0, .number) })),
        required("protocolLimits", .object([
            required("maxStringLens", .object([
                optional("msgLen", .integer),
                optional("topicSerialLen", .integer),
                optional("topicElemLen", .integer),
                optional("idLen", .integer),
                optional("idNumericalOnly", .boolean),
                optional("enumLen", .integer),
                optional("loadIdLen", .integer),
            ])),
            // Keyed by `message.array`, as the standard spells them (`actionsParameters` too).
            required("maxArrayLens", .object([
                "order.nodes", "order.edges", "node.actions", "edge.actions", "actions.actionsParameters",
                "instantActions", "trajectory.knotVector", "trajectory.controlPoints", "state.nodeStates",
                "state.edgeStates", "state.loads", "state.actionStates", "state.errors", "state.information",
                "error.errorReferences", "information.infoReferences",
            ].map { optional($0, .integer) })),
            required("timing", .object([
                required("minOrderInterval", .number),
                required("minStateInterval", .number),
                optional("defaultStateInterval", .number),
                optional("visualizationInterval", .number),
            ])),
        ])),
        required("protocolFeatures", .object([
            required("optionalParameters", .array(.object([
                required("parameter", .string),
                required("support", .oneOf(["SUPPORTED", "REQUIRED"])),
                optional("description", .string),
            ]))),
            required("agvActions", .array(.object([
                required("actionType", .string),
                optional("actionDescription", .string),
                required("actionScopes", .array(.oneOf(["INSTANT", "NODE", "EDGE"]))),
                optional("actionParameters", .array(.object([
                    required("key", .string),
                    required("valueDataType", .oneOf(["BOOL", "NUMBER", "INTEGER", "FLOAT", "STRING", "OBJECT", "ARRAY"])),
                    optional("description", .string),
                    optional("isOptional", .boolean),
                ]))),
                optional("resultDescription", .string),
                // The standard's table: an array of NONE, SOFT, HARD. The 2.1.0 schema puts the
                // enum on the array itself, so it refuses every blockingTypes; this does not.
                optional("blockingTypes", .array(blockingType)),
            ]))),
        ])),
        required("agvGeometry", .object([
            optional("wheelDefinitions", .array(.object([
                required("type", .oneOf(["DRIVE", "CASTER", "FIXED", "MECANUM"])),
                required("isActiveDriven", .boolean),
                required("isActiveSteered", .boolean),
                required("position", .object([required("x", .number), required("y", .number), optional("theta", .number)])),
                required("diameter", .number),
                required("width", .number),
                optional("centerDisplacement", .number),
                optional("constraints", .string),
            ]))),
            optional("envelopes2d", .array(.object([
                required("set", .string),
                required("polygonPoints", .array(.object([required("x", .number), required("y", .number)]))),
                optional("description", .string),
            ]))),
            optional("envelopes3d", .array(.object([
                required("set", .string),
                required("format", .string),
                optional("data", .anyObject),
                optional("url", .string),
                // Free text in the standard's table; the 2.1.0 schema says integer here (and
                // string for the 2D envelopes beside it). The text wins.
                optional("description", .string),
            ]))),
        ])),
        required("loadSpecification", .object([
            optional("loadPositions", .array(.string)),
            optional("loadSets", .array(.object([
                required("setName", .string),
                required("loadType", .string),
                optional("loadPositions", .array(.string)),
                optional("boundingBoxReference", boundingBoxReference),
                optional("loadDimensions", loadDimensions),
            ] + [
                "maxWeight", "minLoadhandlingHeight", "maxLoadhandlingHeight", "minLoadhandlingDepth",
                "maxLoadhandlingDepth", "minLoadhandlingTilt", "maxLoadhandlingTilt", "agvSpeedLimit",
                "agvAccelerationLimit", "agvDecelerationLimit", "pickTime", "dropTime",
            ].map { optional($0, .number) } + [
                optional("description", .string),
            ]))),
        ])),
        optional("vehicleConfig", .object([
            optional("versions", .array(.object([required("key", .string), required("value", .string)]))),
            optional("network", .object([
                optional("dnsServers", .array(.string)),
                optional("localIpAddress", .string),
                optional("ntpServers", .array(.string)),
                optional("netmask", .string),
                optional("defaultGateway", .string),
            ])),
        ])),
    ]
}
