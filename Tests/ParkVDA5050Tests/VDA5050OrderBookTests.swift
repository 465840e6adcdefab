import Foundation
import ParkVDA5050
import Testing

/// A robot's order acceptance (VDA 5050 2.x): new orders, resends, stale and stitched updates,
/// orders while busy, orders that start elsewhere, and orders that are not well formed.
@Suite struct VDA5050OrderBookTests {
    @Test func newOrderIsAcceptedAndDriven() {
        var book = VDA5050OrderBook()
        book.place(at: "A")
        #expect(book.receive(order("o1", 0, path: ["A", "B", "C"])) == .accepted)
        #expect(book.orderId == "o1" && !book.isIdle && book.baseEnd == ("C", 4))
        #expect(book.reachNextNode()?.nodeId == "A")
        #expect(book.reachNextNode()?.nodeId == "B" && book.edges.map(\.edgeId) == ["B-C"])
        #expect(book.reachNextNode()?.nodeId == "C")
        #expect(book.reachNextNode() == nil && book.lastNodeId == "C" && book.lastNodeSequenceId == 4)
        #expect(book.isIdle)
    }

    @Test func resendIsIgnoredAndStaleUpdateRejected() {
        var book = VDA5050OrderBook()
        #expect(book.receive(order("o1", 3, path: ["A", "B"])) == .accepted)
        #expect(book.receive(order("o1", 3, path: ["A", "B"])) == .duplicate)
        guard case .rejected(let error) = book.receive(order("o1", 2, path: ["A", "B"])) else {
            Issue.record("a stale update must be rejected")
            return
        }
        #expect(error.errorType == "orderUpdateError" && error.errorLevel == .warning)
        #expect(error.errorReferences?.contains(VDA5050ErrorReference("orderUpdateId", "2")) == true)
        #expect(book.orderUpdateId == 3, "a rejected update changes nothing")
    }

    /// The base A-B with horizon C; the update starts at B (sequence 2), releases C and adds D.
    @Test func updateStitchesAtTheEndOfTheBase() {
        var book = VDA5050OrderBook()
        #expect(book.receive(order("o1", 0, path: ["A", "B", "C"], released: 2)) == .accepted)
        #expect(book.baseEnd == ("B", 2))
        #expect(book.reachNextNode()?.nodeId == "A")
        #expect(book.reachNextNode()?.nodeId == "B")
        #expect(book.reachNextNode() == nil, "the horizon is not driven")
        #expect(!book.isIdle || book.nodes.allSatisfy { !$0.released })
        #expect(book.receive(order("o1", 1, path: ["B", "C", "D"], firstSequence: 2)) == .updated)
        #expect(book.nodes.map(\.nodeId) == ["C", "D"] && book.nodes.allSatisfy(\.released))
        #expect(book.edges.map(\.sequenceId) == [3, 5])
        #expect(book.reachNextNode()?.sequenceId == 4 && book.reachNextNode()?.nodeId == "D")

        // An update that does not start where the base ends is refused.
        var other = VDA5050OrderBook()
        _ = other.receive(order("o2", 0, path: ["A", "B", "C"], released: 2))
        guard case .rejected(let error) = other.receive(order("o2", 1, path: ["C", "D"], firstSequence: 4)) else {
            Issue.record("a broken stitch must be rejected")
            return
        }
        #expect(error.errorType == "orderUpdateError")
        #expect(error.errorDescription?.contains("not where the base ends (B/2)") == true, "\(error)")
    }

    @Test func newOrderWhileBusyOrElsewhereIsRejected() {
        var book = VDA5050OrderBook()
        book.place(at: "A")
        _ = book.receive(order("o1", 0, path: ["A", "B"], actions: ["pick-1"]))
        guard case .rejected(let busy) = book.receive(order("o2", 0, path: ["A", "C"])) else {
            Issue.record("a new order while busy must be rejected")
            return
        }
        #expect(busy.errorType == "orderError")
        _ = book.reachNextNode()
        _ = book.reachNextNode()
        #expect(!book.isIdle, "its action is still open")
        book.actionEnded("pick-1")
        #expect(book.isIdle)
        guard case .rejected(let elsewhere) = book.receive(order("o2", 0, path: ["A", "C"])) else {
            Issue.record("an order that starts where the robot is not must be rejected")
            return
        }
        #expect(elsewhere.errorType == "noRouteError")
        #expect(book.receive(order("o2", 0, path: ["B", "C"])) == .accepted)
        book.cancel()
        #expect(book.isIdle && book.receive(order("o3", 0, path: ["B", "A"])) == .accepted)
    }

    @Test func malformedOrdersAreRejected() {
        var cases: [(VDA5050Order, String)] = []
        var gap = order("o", 0, path: ["A", "B", "C"])
        gap.nodes[2].sequenceId = 6
        cases.append((gap, "nodes[2] C has sequenceId 6, expected 4"))
        var wrongEdge = order("o", 0, path: ["A", "B"])
        wrongEdge.edges[0].endNodeId = "Z"
        cases.append((wrongEdge, "joins A → Z, not A → B"))
        var releasedAfterHorizon = order("o", 0, path: ["A", "B", "C"], released: 2)
        releasedAfterHorizon.nodes[2].released = true
        releasedAfterHorizon.edges[1].released = true
        releasedAfterHorizon.nodes[1].released = false
        releasedAfterHorizon.edges[0].released = false
        cases.append((releasedAfterHorizon, "a released node follows an unreleased one"))
        var twice = order("o", 0, path: ["A", "B"], actions: ["x"])
        twice.nodes[0].actions = [VDA5050Action(actionType: "drop", actionId: "x")]
        cases.append((twice, "actionId x is used twice"))
        var missingEdge = order("o", 0, path: ["A", "B"])
        missingEdge.edges = []
        cases.append((missingEdge, "2 nodes need 1 edges, got 0"))
        cases.append((order("o", 0, path: []), "at least one node"))
        for (bad, expected) in cases {
            var book = VDA5050OrderBook()
            guard case .rejected(let error) = book.receive(bad) else {
                Issue.record("accepted: \(expected)")
                continue
            }
            #expect(error.errorType == "validationError")
            #expect(error.errorDescription?.contains(expected) == true, "\(error.errorDescription ?? "") should say \(expected)")
            #expect(book.orderId.isEmpty)
        }
    }

    @Test func timestampsAreISO8601UTCWithMilliseconds() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        for milliseconds: Int64 in [0, 1, 999, 951_782_400_000, 1_796_630_400_123, 4_102_444_799_999, 1_709_164_800_000] {
            let ours = VDA5050.timestamp(nanosecondsSinceEpoch: milliseconds * 1_000_000 + 456_789)
            #expect(ours == formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000)), "\(milliseconds)")
        }
        #expect(VDA5050.topic(.state, manufacturer: "Acme", serialNumber: "R-001") == "uagv/v2/Acme/R-001/state")
    }

    @Test func headersCountPerTopic() {
        var counter = VDA5050HeaderCounter()
        let ids = [VDA5050.Topic.state, .state, .visualization, .state, .connection].map {
            counter.header($0, manufacturer: "Acme", serialNumber: "R-1", nanosecondsSinceEpoch: 0).headerId
        }
        #expect(ids == [0, 1, 0, 2, 0])
    }

    @Test func peerMessagesAreDecodedOrRefusedByField() throws {
        let text = #"{"headerId":1,"timestamp":"2026-12-07T08:00:00.000Z","version":"2.1.0","manufacturer":"Acme","serialNumber":"R-1","orderId":"o1","orderUpdateId":0,"nodes":[{"nodeId":"A","sequenceId":0,"released":true,"actions":[{"actionType":"pick","actionId":"p1","blockingType":"HARD","actionParameters":[{"key":"stationType","value":"floor"},{"key":"height","value":0.5},{"key":"ok","value":true},{"key":"list","value":[1,"a"]}]}]}],"edges":[]}"#
        let order = try VDA5050.decode(VDA5050Order.self, from: Array(text.utf8))
        #expect(order.nodes[0].actions[0].parameter("height") == .number(0.5))
        #expect(order.nodes[0].actions[0].parameter("list") == .array([.number(1), .string("a")]))
        #expect(order.nodes[0].actions[0].blockingType == .hard)
        let again = try VDA5050.decode(VDA5050Order.self, from: VDA5050.encode(order))
        #expect(again == order)

        let broken = text.replacingOccurrences(of: #""sequenceId":0"#, with: #""sequenceId":"zero""#)
        #expect(throws: VDA5050DecodingError.self) { try VDA5050.decode(VDA5050Order.self, from: Array(broken.utf8)) }
        do {
            _ = try VDA5050.decode(VDA5050Order.self, from: Array(broken.utf8))
        } catch {
            #expect(error.message.hasPrefix("nodes[0].sequenceId: expected"), "\(error)")
        }
        do {
            _ = try VDA5050.decode(VDA5050Order.self, from: Array(text.replacingOccurrences(of: #","edges":[]"#, with: "").utf8))
        } catch {
            #expect(error.message == "edges: missing", "\(error)")
        }
        do {
            _ = try VDA5050.decode(VDA5050Order.self, from: Array(repeating: UInt8(ascii: " "), count: VDA5050.maximumMessageBytes + 1))
        } catch {
            #expect(error.message.contains("over the"), "\(error)")
        }
        #expect(throws: VDA5050DecodingError.self) { try VDA5050.decode(VDA5050Order.self, from: Array("{\"headerId\":".utf8)) }
    }
}

/// An order along `path` (node ids), the first `released` nodes released (all by default), the
/// actions on the last node.
func order(
    _ id: String, _ update: Int, path: [String], released: Int? = nil, firstSequence: Int = 0, actions: [String] = []
) -> VDA5050Order {
    let base = released ?? path.count
    let nodes = path.enumerated().map { index, nodeId in
        VDA5050Node(
            nodeId: nodeId, sequenceId: firstSequence + 2 * index, released: index < base,
            nodePosition: VDA5050NodePosition(x: Double(index) * 10, y: 0, mapId: "park"),
            actions: index == path.count - 1 ? actions.map { VDA5050Action(actionType: "pick", actionId: $0, blockingType: .hard) } : [])
    }
    let edges = zip(path, path.dropFirst()).enumerated().map { index, pair in
        VDA5050Edge(
            edgeId: "\(pair.0)-\(pair.1)", sequenceId: firstSequence + 2 * index + 1, released: index + 1 < base,
            startNodeId: pair.0, endNodeId: pair.1, maxSpeed: 1.2)
    }
    let header = VDA5050Header(headerId: update, timestamp: "2026-12-07T08:00:00.000Z", manufacturer: "Acme", serialNumber: "R-1")
    return VDA5050Order(header: header, orderId: id, orderUpdateId: update, nodes: nodes, edges: edges)
}
