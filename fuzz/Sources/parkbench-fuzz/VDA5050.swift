import ParkVDA5050

// MARK: - VDA 5050 (what a robot reads from its fleet controller, and the controller from robots)

/// The bytes as each VDA 5050 message a peer sends: whatever decodes encodes to bytes that decode
/// equal; a decoded order goes to a robot's order book (after a first order, so updates and
/// stitches are tried too), which must keep its nodes in sequence and its base before its horizon.
let vda5050Target = FuzzTarget(name: "vda5050", summary: "VDA 5050 messages decode → encode → decode; orders through a robot's order book; the field-table validator on any topic") { bytes in
    var input = Choices(bytes)
    let selector = input.byte()
    let rest = Array(input.rest)
    if let order = try? VDA5050.decode(VDA5050Order.self, from: rest) {
        let again = try? VDA5050.decode(VDA5050Order.self, from: VDA5050.encode(order))
        check(again == order, "an order did not read back as written")
        var book = VDA5050OrderBook()
        if selector & 1 != 0, let first = order.nodes.first {
            // A current order ending where this one starts: the update and stitch rules get a turn.
            let start = VDA5050Node(nodeId: "S", sequenceId: max(0, first.sequenceId - 2))
            let lead = VDA5050Edge(edgeId: "S-\(first.nodeId)", sequenceId: max(0, first.sequenceId - 1), startNodeId: "S", endNodeId: first.nodeId)
            let header = VDA5050Header(headerId: 0, timestamp: order.timestamp, manufacturer: order.manufacturer, serialNumber: order.serialNumber)
            let previous = VDA5050Order(
                header: header, orderId: order.orderId, orderUpdateId: selector & 2 != 0 ? order.orderUpdateId &- 1 : order.orderUpdateId,
                nodes: first.sequenceId >= 2 ? [start, VDA5050Node(nodeId: first.nodeId, sequenceId: first.sequenceId)] : [start],
                edges: first.sequenceId >= 2 ? [lead] : [])
            _ = book.receive(previous)
        }
        _ = book.receive(order)
        let sequence = book.nodes.map(\.sequenceId)
        check(sequence == sequence.sorted() && Set(sequence).count == sequence.count, "the book's nodes out of sequence: \(sequence)")
        if let horizon = book.nodes.firstIndex(where: { !$0.released }) {
            check(!book.nodes[horizon...].contains(where: \.released), "a released node after the horizon began")
        }
        while book.reachNextNode() != nil {}
        check(!book.nodes.contains(where: \.released), "released nodes left after driving to the end")
    }
    if let actions = try? VDA5050.decode(VDA5050InstantActions.self, from: rest) {
        check((try? VDA5050.decode(VDA5050InstantActions.self, from: VDA5050.encode(actions))) == actions, "instantActions did not read back")
    }
    if let state = try? VDA5050.decode(VDA5050State.self, from: rest) {
        check((try? VDA5050.decode(VDA5050State.self, from: VDA5050.encode(state))) == state, "a state did not read back")
    }
    // certify's judge of every message a robot sends: any bytes, as any topic, within its limit.
    let topic = VDA5050.Topic.allCases[Int(selector) % VDA5050.Topic.allCases.count]
    check(VDA5050Validator.problems(in: rest, topic: topic, limit: 8).count <= 8, "the validator went past its limit")
}
