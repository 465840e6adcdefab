import Foundation
import ParkTestSupport
import ParkVDA5050
import Testing

/// The run-time validator certify judges robots' messages by, checked against the VDA's own JSON
/// schemas for VDA 5050 2.1.0 (Python `jsonschema`, one run for the whole corpus): one valid
/// message per topic and every mechanical way of breaking each — a field removed, a value of the
/// wrong type, an enum off its list, a number out of range — must get the same verdict from both.
@Suite struct VDA5050ValidatorTests {
    @Test func agreesWithThePublishedSchemasOnEveryMutation() throws {
        _ = try #require(VDA5050Schemas.directory(), "the VDA 5050 schemas (../shared/vda5050-schemas) are not found: set VDA5050_SCHEMAS")
        var corpus = Corpus()
        for (name, topic, message) in try validMessages() {
            corpus.add(name, topic, message.text)
            for (change, mutated) in variants(of: message, at: topic.rawValue) {
                corpus.add("\(name): \(change)", topic, mutated.text)
            }
        }
        for topic in VDA5050.Topic.allCases {
            corpus.add("\(topic.rawValue) hand: not JSON", topic, #"{"headerId": 1,"#)
            corpus.add("\(topic.rawValue) hand: top-level array", topic, "[]")
            corpus.add("\(topic.rawValue) hand: empty object", topic, "{}")
            corpus.add("\(topic.rawValue) hand: a string", topic, #""state""#)
        }
        // Where the 2.1.0 schemas contradict the standard's own tables, the validator follows the
        // tables; these pin down both sides so that a fix to either is noticed.
        let factsheet = try JSON(parsing: Self.factsheet)
        var blocking = factsheet
        blocking["protocolFeatures"]["agvActions"][0]["blockingTypes"] = ["HARD", "SOFT"]
        corpus.add("quirk: factsheet blockingTypes as the standard writes them", .factsheet, blocking.text, ours: true, schema: false)
        blocking["protocolFeatures"]["agvActions"][0]["blockingTypes"] = ["BOGUS"]
        corpus.add("quirk: factsheet blockingTypes off the list", .factsheet, blocking.text, ours: false, schema: false)
        var envelope = factsheet
        envelope["agvGeometry"]["envelopes3d"][0]["description"] = "outer hull"
        corpus.add("quirk: factsheet envelopes3d description as free text", .factsheet, envelope.text, ours: true, schema: false)
        envelope["agvGeometry"]["envelopes3d"][0]["description"] = 3
        corpus.add("quirk: factsheet envelopes3d description as a number", .factsheet, envelope.text, ours: false, schema: true)
        // (orientationType is kept out of the valid order, whose mutations would swap it for BOGUS.)
        var orientation = try JSON(parsing: String(decoding: VDA5050.encode(Self.order()), as: UTF8.self))
        orientation["edges"][0]["orientationType"] = "GLOBAL"
        corpus.add("order: orientationType GLOBAL", .order, orientation.text)
        orientation["edges"][0]["orientationType"] = "SIDEWAYS"
        corpus.add("quirk: order orientationType off the standard's list", .order, orientation.text, ours: false, schema: true)

        let started = ContinuousClock.now
        let verdicts = try VDA5050Schemas.validate(corpus.samples.map { ($0.name, $0.topic.rawValue, $0.json) })
        var disagreements: [String] = []
        var invalid = 0
        for sample in corpus.samples {
            let ours = VDA5050Validator.problems(in: Array(sample.json.utf8), topic: sample.topic)
            let theirs = verdicts[sample.name] ?? ["not validated"]
            if !theirs.isEmpty { invalid += 1 }
            if !sample.agrees(ours: ours.isEmpty, schema: theirs.isEmpty) {
                disagreements.append("\(sample.name)\n    ours: \(ours)\n    jsonschema: \(theirs)\n    json: \(sample.json.prefix(300))")
            }
        }
        if !disagreements.isEmpty { print("VDA5050Validator disagrees with jsonschema on:\n" + disagreements.joined(separator: "\n")) }
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(corpus.samples.count) samples:\n\(disagreements.prefix(20).joined(separator: "\n"))")
        #expect(verdicts.count == corpus.samples.count)
        // The corpus must test both ways: enough valid variants (optional fields removed, numbers
        // within range) and enough invalid ones.
        #expect(invalid > 500 && corpus.samples.count - invalid > 200, "\(invalid) invalid of \(corpus.samples.count)")
        print("VDA5050Validator: \(corpus.samples.count) samples cross-checked (\(invalid) invalid) in \(ContinuousClock.now - started)")
    }

    @Test func problemsNameTheirField() throws {
        func problems(_ topic: VDA5050.Topic, _ json: JSON) -> [String] { VDA5050Validator.problems(in: Array(json.text.utf8), topic: topic) }
        let messages = Dictionary(uniqueKeysWithValues: try validMessages().map { ($0.name, $0.json) })
        var state = try #require(messages["state"])
        #expect(problems(.state, state) == [])
        state["nodeStates"][0]["sequenceId"] = "1"
        #expect(problems(.state, state) == [#"state.nodeStates[0].sequenceId: expected an integer, got "1""#])
        state["batteryState"]["charging"] = 1
        state["headerId"] = true
        state["safetyState"]["eStop"] = "BOGUS"
        state["agvPosition"]["localizationScore"] = 1.5
        state.remove("driving")
        #expect(Set(problems(.state, state)) == [
            "state.headerId: expected an integer, got true",
            #"state.nodeStates[0].sequenceId: expected an integer, got "1""#,
            "state.driving: missing (required)",
            "state.agvPosition.localizationScore: 1.5 is above the maximum 1",
            "state.batteryState.charging: expected true or false, got 1",
            #"state.safetyState.eStop: expected one of AUTOACK, MANUAL, REMOTE, NONE, got "BOGUS""#,
        ])
        #expect(problems(.state, state).count == 6)
        #expect(VDA5050Validator.problems(in: Array(state.text.utf8), topic: .state, limit: 2).count == 2)

        var order = try #require(messages["order"])
        order["nodes"][0]["actions"][0]["actionParameters"][0].remove("value")
        order["edges"][0]["trajectory"]["knotVector"][1] = 2
        #expect(problems(.order, order) == [
            "order.nodes[0].actions[0].actionParameters[0].value: missing (required)",
            "order.edges[0].trajectory.knotVector[1]: 2 is above the maximum 1",
        ])
        var factsheet = try JSON(parsing: Self.factsheet)
        factsheet["protocolLimits"]["maxArrayLens"]["order.nodes"] = 1.5
        #expect(problems(.factsheet, factsheet) == [#"factsheet.protocolLimits.maxArrayLens["order.nodes"]: expected an integer, got 1.5"#])
        #expect(VDA5050Validator.problems(in: Array("[1]".utf8), topic: .connection) == ["connection: expected an object, got an array"])
        #expect(VDA5050Validator.problems(in: Array("{".utf8), topic: .order).first?.hasPrefix("order: not JSON") == true)
        #expect(problems(.visualization, [:]) == [], "every visualization field is optional")
    }

    /// Whatever arrives, an answer and no crash: random bytes, every cut of every valid message,
    /// single bytes flipped, nesting past the parser's limit, more than the size limit, a huge
    /// array of wrong items.
    @Test func anyInputGetsAnAnswerWithinTheLimit() throws {
        var random = SplitMix64(seed: 5050)
        let topics = VDA5050.Topic.allCases
        for round in 0 ..< 2_000 {
            let bytes = (0 ..< Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let found = VDA5050Validator.problems(in: bytes, topic: topics[round % topics.count], limit: 5)
            #expect(!found.isEmpty && found.count <= 5)
        }
        for (name, topic, message) in try validMessages() {
            let bytes = Array(message.text.utf8)
            #expect(VDA5050Validator.problems(in: bytes, topic: topic) == [], "\(name) is valid")
            for cut in 0 ..< bytes.count {
                #expect(!VDA5050Validator.problems(in: Array(bytes[..<cut]), topic: topic).isEmpty, "\(name) cut at \(cut)")
            }
            for _ in 0 ..< 300 {
                var flipped = bytes
                flipped[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
                #expect(VDA5050Validator.problems(in: flipped, topic: topic, limit: 3).count <= 3)
            }
        }
        let deep = Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        #expect(VDA5050Validator.problems(in: deep, topic: .state).count == 1)
        let deepValue = #"{"headerId":0,"timestamp":"t","version":"2.1.0","manufacturer":"m","serialNumber":"s","actions":[{"actionId":"a","actionType":"t","blockingType":"NONE","actionParameters":[{"key":"k","value":"#
            + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}]}]}"
        #expect(VDA5050Validator.problems(in: Array(deepValue.utf8), topic: .instantActions) == [])
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: VDA5050.maximumMessageBytes + 1)
        #expect(VDA5050Validator.problems(in: huge, topic: .order).count == 1)
        let manyWrong = #"{"nodes":["# + Array(repeating: "1", count: 100_000).joined(separator: ",") + "]}"
        #expect(VDA5050Validator.problems(in: Array(manyWrong.utf8), topic: .order).count == 20)
        #expect(VDA5050Validator.problems(in: Array("{}".utf8), topic: .order, limit: 0) == [])
        for odd in ["1e400", "-0", "\u{FEFF}{}", "{\"headerId\": 99999999999999999999999}", "\"\\ud800\"", "nul", "{\"a\":\"\u{0}\"}"] {
            _ = VDA5050Validator.problems(in: Array(odd.utf8), topic: .visualization)
        }
        _ = VDA5050Validator.problems(in: [0xFF, 0xFE, 0x7B, 0x7D], topic: .visualization)
    }

    // MARK: The corpus

    /// One valid message per topic: the structs ParkBench writes, through `VDA5050.encode`, with
    /// the optional parts they do not model added, so that every table is exercised.
    private func validMessages() throws -> [(name: String, topic: VDA5050.Topic, json: JSON)] {
        let header = VDA5050Header(headerId: 7, timestamp: "2026-12-07T08:00:00.123Z", manufacturer: "Acme", serialNumber: "R-1")
        func json<Message: Encodable>(_ message: Message) throws -> JSON {
            let text = String(decoding: VDA5050.encode(message), as: UTF8.self)
            let value = try JSON(parsing: text)
            // The test's own JSON reads and writes these messages unchanged (same sorted keys).
            #expect(value.text == text)
            return value
        }

        var order = try json(Self.order())
        order["zoneSetId"] = "day"
        order["nodes"][0]["nodeDescription"] = "lobby"
        order["nodes"][0]["nodePosition"]["allowedDeviationTheta"] = 0.2
        order["nodes"][0]["nodePosition"]["mapDescription"] = "ground floor"
        order["edges"][0]["edgeDescription"] = "ramp"
        order["edges"][0]["maxHeight"] = 2.1
        order["edges"][0]["minHeight"] = 0.1
        order["edges"][0]["orientation"] = 1.5
        order["edges"][0]["direction"] = "left"
        order["edges"][0]["rotationAllowed"] = true
        order["edges"][0]["maxRotationSpeed"] = 0.5
        order["edges"][0]["trajectory"] = ["degree": 1, "knotVector": [0, 0.5, 1], "controlPoints": [["x": 0, "y": 0, "weight": 1], ["x": 10, "y": 0]]]
        order["edges"][0]["corridor"] = ["leftWidth": 0.5, "rightWidth": 0.5, "corridorRefPoint": "CONTOUR"]
        order["edges"][0]["actions"] = [[
            "actionType": "beep", "actionId": "e1", "blockingType": "NONE", "actionDescription": "on the ramp",
            "actionParameters": [["key": "volume", "value": 3]],
        ]]

        var instant = try json(VDA5050InstantActions(header: header, actions: [
            VDA5050Action(actionType: "startCharging", actionId: "i1", blockingType: .soft,
                          actionParameters: [VDA5050ActionParameter(key: "until", value: .number(95))]),
            VDA5050Action(actionType: "stateRequest", actionId: "i2"),
        ]))
        instant["actions"][0]["actionDescription"] = "to 95 %"

        var robot = VDA5050VehicleSession(manufacturer: "Acme", serialNumber: "R-1", mapId: "park", at: "A")
        _ = robot.receive(order: Self.order())
        robot.update(x: 4.2, y: 0.5, theta: 0.1, speed: 1.2, batteryCharge: 64.3, charging: false)
        robot.setError("motorFault", level: .warning, description: "left drive warm")
        var state = try json(robot.state(header: header))
        state["maps"] = [["mapId": "park", "mapVersion": "3", "mapDescription": "ground", "mapStatus": "ENABLED"]]
        state["zoneSetId"] = "day"
        state["distanceSinceLastNode"] = 4.2
        state["nodeStates"][0]["nodeDescription"] = "lobby"
        state["edgeStates"][0]["edgeDescription"] = "ramp"
        state["edgeStates"][0]["trajectory"] = ["degree": 1, "knotVector": [0, 1], "controlPoints": [["x": 0, "y": 0, "weight": 1]]]
        state["agvPosition"]["mapDescription"] = "ground"
        state["agvPosition"]["localizationScore"] = 0.9
        state["agvPosition"]["deviationRange"] = 0.05
        state["loads"] = [[
            "loadId": "L1", "loadType": "EPAL", "loadPosition": "front", "weight": 120,
            "boundingBoxReference": ["x": 0, "y": 0, "z": 0.1, "theta": 0], "loadDimensions": ["length": 1.2, "width": 0.8, "height": 1],
        ]]
        state["actionStates"][0]["actionDescription"] = "cleaning"
        state["actionStates"][0]["resultDescription"] = "half done"
        state["batteryState"]["batteryVoltage"] = 48.1
        state["batteryState"]["batteryHealth"] = 97
        state["batteryState"]["reach"] = 1_800
        state["errors"][0]["errorHint"] = "let it cool"
        state["errors"][0]["errorReferences"] = [["referenceKey": "nodeId", "referenceValue": "B"]]
        state["information"] = [["infoType": "cleaning", "infoLevel": "INFO", "infoDescription": "row 3",
                                 "infoReferences": [["referenceKey": "actionId", "referenceValue": "clean-1"]]]]
        #expect(state["nodeStates"][0] != .null && state["edgeStates"][0] != .null && state["actionStates"][0] != .null && state["errors"][0] != .null)

        var visualization = try json(robot.visualization(header: header))
        visualization["agvPosition"]["localizationScore"] = 0.5
        visualization["agvPosition"]["deviationRange"] = 0.1

        let connection = try json(VDA5050Connection(header: header, connectionState: .online))
        return [
            ("order", .order, order), ("instantActions", .instantActions, instant), ("state", .state, state),
            ("visualization", .visualization, visualization), ("connection", .connection, connection),
            ("factsheet", .factsheet, try JSON(parsing: Self.factsheet)),
        ]
    }

    /// An order of two released nodes and a horizon node, with an action carrying a parameter of
    /// every JSON kind on the first node (the mutations walk arrays through their first item).
    static func order() -> VDA5050Order {
        let header = VDA5050Header(headerId: 3, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1")
        var clean = VDA5050Action(actionType: "clean", actionId: "clean-1", blockingType: .hard, actionParameters: [
            VDA5050ActionParameter(key: "area", value: .string("B1")), VDA5050ActionParameter(key: "width", value: .number(0.6)),
            VDA5050ActionParameter(key: "wet", value: .bool(true)), VDA5050ActionParameter(key: "zones", value: .array([.string("z1"), .number(2)])),
            VDA5050ActionParameter(key: "extra", value: .object(["k": .string("v")])),
        ])
        clean.actionDescription = "the lobby floor"
        return VDA5050Order(header: header, orderId: "o1", orderUpdateId: 0, nodes: [
            VDA5050Node(nodeId: "A", sequenceId: 0, nodePosition: VDA5050NodePosition(x: 0, y: 0, theta: 0.5, allowedDeviationXY: 0.3, mapId: "park"),
                        actions: [clean]),
            VDA5050Node(nodeId: "B", sequenceId: 2, nodePosition: VDA5050NodePosition(x: 10, y: 0, theta: -0.5, mapId: "park")),
            VDA5050Node(nodeId: "C", sequenceId: 4, released: false),
        ], edges: [
            VDA5050Edge(edgeId: "A-B", sequenceId: 1, startNodeId: "A", endNodeId: "B", maxSpeed: 1.2, length: 10),
            VDA5050Edge(edgeId: "B-C", sequenceId: 3, released: false, startNodeId: "B", endNodeId: "C"),
        ])
    }

    /// A complete factsheet, every section of the 2.1.0 table filled. (Not `blockingTypes` nor a
    /// 3D envelope's `description`: the schema refuses those, see the quirks above.)
    static let factsheet = #"""
        {
          "headerId": 0, "timestamp": "2026-12-07T08:00:00.000Z", "version": "2.1.0", "manufacturer": "Acme", "serialNumber": "R-1",
          "typeSpecification": {
            "seriesName": "Cleaner", "seriesDescription": "floor cleaner", "agvKinematic": "DIFF", "agvClass": "CARRIER",
            "maxLoadMass": 20, "localizationTypes": ["NATURAL", "RFID"], "navigationTypes": ["AUTONOMOUS"]
          },
          "physicalParameters": {
            "speedMin": 0.1, "speedMax": 1.5, "accelerationMax": 0.5, "decelerationMax": 1,
            "heightMin": 0.4, "heightMax": 1.2, "width": 0.7, "length": 1.1
          },
          "protocolLimits": {
            "maxStringLens": {"msgLen": 65536, "topicSerialLen": 32, "topicElemLen": 32, "idLen": 64, "idNumericalOnly": false, "enumLen": 32, "loadIdLen": 16},
            "maxArrayLens": {
              "order.nodes": 1000, "order.edges": 999, "node.actions": 8, "edge.actions": 8, "actions.actionsParameters": 8,
              "instantActions": 8, "trajectory.knotVector": 64, "trajectory.controlPoints": 64, "state.nodeStates": 1000,
              "state.edgeStates": 999, "state.loads": 1, "state.actionStates": 64, "state.errors": 16, "state.information": 16,
              "error.errorReferences": 4, "information.infoReferences": 4
            },
            "timing": {"minOrderInterval": 1, "minStateInterval": 0.5, "defaultStateInterval": 30, "visualizationInterval": 1}
          },
          "protocolFeatures": {
            "optionalParameters": [{"parameter": "order.edges.trajectory", "support": "SUPPORTED", "description": "lines only"}],
            "agvActions": [{
              "actionType": "clean", "actionDescription": "cleans an area", "actionScopes": ["NODE", "INSTANT"],
              "actionParameters": [{"key": "area", "valueDataType": "STRING", "description": "which area", "isOptional": false}],
              "resultDescription": "area cleaned"
            }]
          },
          "agvGeometry": {
            "wheelDefinitions": [{
              "type": "DRIVE", "isActiveDriven": true, "isActiveSteered": false, "position": {"x": 0, "y": 0.3, "theta": 0},
              "diameter": 0.2, "width": 0.05, "centerDisplacement": 0, "constraints": "none"
            }],
            "envelopes2d": [{"set": "base", "polygonPoints": [{"x": 0.5, "y": 0.35}, {"x": -0.5, "y": 0.35}], "description": "footprint"}],
            "envelopes3d": [{"set": "base", "format": "DXF", "data": {"points": 8}, "url": "https://example.com/hull.dxf"}]
          },
          "loadSpecification": {
            "loadPositions": ["front"],
            "loadSets": [{
              "setName": "bin", "loadType": "BIN", "loadPositions": ["front"], "description": "a waste bin",
              "boundingBoxReference": {"x": 0, "y": 0, "z": 0.2, "theta": 0}, "loadDimensions": {"length": 0.4, "width": 0.4, "height": 0.6},
              "maxWeight": 20, "minLoadhandlingHeight": 0.1, "maxLoadhandlingHeight": 0.3, "minLoadhandlingDepth": 0, "maxLoadhandlingDepth": 0.2,
              "minLoadhandlingTilt": 0, "maxLoadhandlingTilt": 0.1, "agvSpeedLimit": 1, "agvAccelerationLimit": 0.3, "agvDecelerationLimit": 0.5,
              "pickTime": 5, "dropTime": 5
            }]
          },
          "vehicleConfig": {
            "versions": [{"key": "firmware", "value": "4.2"}],
            "network": {"dnsServers": ["10.0.0.1"], "localIpAddress": "10.0.0.20", "ntpServers": ["10.0.0.1"], "netmask": "255.255.255.0", "defaultGateway": "10.0.0.1"}
          }
        }
        """#

    /// Every way of breaking `value` once, named by where: each member removed, each value swapped
    /// for one of another type (or null), strings for "BOGUS" (every enum off its list), numbers
    /// for fractions, negatives and large ones (every integer and every bound); objects and arrays
    /// walked into, arrays through their first item.
    private func variants(of value: JSON, at path: String) -> [(change: String, value: JSON)] {
        var found = wrongValues(for: value).map { ("\(path) = \($0.label)", $0.value) }
        switch value {
        case .object(let members):
            for key in members.keys.sorted() {
                var removed = members
                removed[key] = nil
                found.append(("\(path).\(key) removed", .object(removed)))
                for (change, inner) in variants(of: members[key] ?? .null, at: "\(path).\(key)") {
                    var changed = members
                    changed[key] = inner
                    found.append((change, .object(changed)))
                }
            }
        case .array(let items) where !items.isEmpty:
            for (change, inner) in variants(of: items[0], at: "\(path)[0]") {
                var changed = items
                changed[0] = inner
                found.append((change, .array(changed)))
            }
        default: break
        }
        return found
    }

    private func wrongValues(for value: JSON) -> [(label: String, value: JSON)] {
        switch value {
        case .string: [("7", 7), ("\"BOGUS\"", "BOGUS"), ("null", .null)]
        case .integer, .number: [("\"1\"", "1"), ("true", true), ("null", .null), ("1.5", 1.5), ("-1", -1), ("1000000", 1_000_000)]
        case .bool: [("\"true\"", "true"), ("1", 1), ("null", .null)]
        case .object: [("[]", [])]
        case .array: [("{}", [:]), ("[null]", [.null])]
        case .null: []
        }
    }
}

/// The samples, each with the verdicts expected of the validator and of jsonschema (the same,
/// but for the schemas' known quirks).
private struct Corpus {
    struct Sample {
        var name: String
        var topic: VDA5050.Topic
        var json: String
        var oursValid: Bool?
        var schemaValid: Bool?
    }
    private(set) var samples: [Sample] = []
    private var names: Set<String> = []

    mutating func add(_ name: String, _ topic: VDA5050.Topic, _ json: String) {
        guard names.insert(name).inserted else { return }
        samples.append(Sample(name: name, topic: topic, json: json))
    }

    mutating func add(_ name: String, _ topic: VDA5050.Topic, _ json: String, ours: Bool, schema: Bool) {
        guard names.insert(name).inserted else { return }
        samples.append(Sample(name: name, topic: topic, json: json, oursValid: ours, schemaValid: schema))
    }
}

private extension Corpus.Sample {
    /// Agreement by default: each side is expected to say what the other says.
    func agrees(ours: Bool, schema: Bool) -> Bool {
        if let oursValid, let schemaValid { return ours == oursValid && schema == schemaValid }
        return ours == schema
    }
}

/// A JSON value of the test's own, read and written with Codable rather than JSONSerialization,
/// so the corpus does not depend on how the validator reads.
private enum JSON: Codable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null, bool(Bool), integer(Int), number(Double), string(String), array([JSON]), object([String: JSON])

    init(parsing text: String) throws { self = try JSONDecoder().decode(JSON.self, from: Data(text.utf8)) }
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .integer(value) }
    init(floatLiteral value: Double) { self = .number(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSON)...) { self = .object(Dictionary(uniqueKeysWithValues: elements)) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let whole = try? container.decode(Int.self) { self = .integer(whole) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let items = try? container.decode([JSON].self) { self = .array(items) }
        else { self = .object(try container.decode([String: JSON].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .integer(let whole): try container.encode(whole)
        case .number(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }

    /// Written as `VDA5050.encode` writes: keys sorted, slashes bare.
    var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// A member (`.null` when there is none, so that paths chain: `state["nodeStates"][0]["nodeId"]`).
    subscript(key: String) -> JSON {
        get { if case .object(let members) = self { members[key] ?? .null } else { .null } }
        set { if case .object(var members) = self { members[key] = newValue; self = .object(members) } }
    }

    subscript(index: Int) -> JSON {
        get { if case .array(let items) = self, items.indices.contains(index) { items[index] } else { .null } }
        set { if case .array(var items) = self, items.indices.contains(index) { items[index] = newValue; self = .array(items) } }
    }

    mutating func remove(_ key: String) {
        if case .object(var members) = self { members[key] = nil; self = .object(members) }
    }
}

/// Reproducible random numbers for the fuzz test.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
