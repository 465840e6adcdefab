@testable import ParkCapture
import Testing

/// MQTT packets cut out of hand-built TCP streams: split, merged, retransmitted, garbled.
@Suite struct MQTTWireDecoderTests {
    let flow = TCPFlow(sourceAddress: 0x7F00_0001, sourcePort: 50_000, destinationAddress: 0x7F00_0001, destinationPort: 1883)

    func publish(_ topic: String, _ payload: String, qos: UInt8 = 0, id: UInt16 = 1) -> [UInt8] {
        var body: [UInt8] = [UInt8(topic.utf8.count >> 8), UInt8(topic.utf8.count & 0xFF)] + Array(topic.utf8)
        if qos > 0 { body += [UInt8(id >> 8), UInt8(id & 0xFF)] }
        body += Array(payload.utf8)
        var length = body.count
        var encoded: [UInt8] = []
        repeat {
            var byte = UInt8(length % 128)
            length /= 128
            if length > 0 { byte |= 0x80 }
            encoded.append(byte)
        } while length > 0
        return [0x30 | (qos << 1)] + encoded + body
    }

    func topics(_ packets: [WireMQTTPacket]) -> [String] {
        packets.compactMap { if case .publish(let topic, _, _, _, _) = $0.content { topic } else { nil } }
    }

    @Test func severalPacketsInOneSegmentAndOneAcrossSegments() {
        var decoder = MQTTWireDecoder()
        let big = publish("park/A/x/big/telemetry", String(repeating: "x", count: 300), qos: 1, id: 7)
        let stream = publish("a", "1") + publish("b", "2") + big
        let first = decoder.feed(stream[0..<40], sequence: 1000, flow: flow, timestamp: 1)
        #expect(topics(first) == ["a", "b"])
        let second = decoder.feed(stream[40..<200], sequence: 1040, flow: flow, timestamp: 2)
        #expect(second.isEmpty, "the big packet is not complete yet")
        let third = decoder.feed(stream[200...], sequence: 1200, flow: flow, timestamp: 3)
        #expect(topics(third) == ["park/A/x/big/telemetry"])
        #expect(third.first?.timestampNanoseconds == 3, "stamped when its last byte arrived")
        if case .publish(_, let payload, let qos, let id, _) = third.first?.content {
            #expect(payload.count == 300 && qos == 1 && id == 7)
        } else { Issue.record("expected a PUBLISH") }
        #expect(decoder.malformed == 0)
    }

    @Test func retransmissionsAreSkippedAndGapsResynchronise() {
        var decoder = MQTTWireDecoder()
        let one = publish("one", "1"), two = publish("two", "2"), three = publish("three", "3")
        #expect(topics(decoder.feed(one[...], sequence: 0, flow: flow, timestamp: 1)) == ["one"])
        // The same segment again (retransmitted), then one overlapping the next.
        #expect(decoder.feed(one[...], sequence: 0, flow: flow, timestamp: 2).isEmpty)
        let overlap = (one + two)[...]
        #expect(topics(decoder.feed(overlap, sequence: 0, flow: flow, timestamp: 3)) == ["two"])
        // A segment the capture missed: the next one starts cleanly on a packet boundary.
        let afterGap = UInt32(one.count + two.count + 50)
        #expect(topics(decoder.feed(three[...], sequence: afterGap, flow: flow, timestamp: 4)) == ["three"])
        #expect(decoder.gaps == 1)
    }

    @Test func garbageIsCountedNotTrusted() {
        var decoder = MQTTWireDecoder()
        let garbage: [UInt8] = [0x00, 0x02, 0xFF, 0xFF] + publish("ok", "1")
        let packets = decoder.feed(garbage[...], sequence: 0, flow: flow, timestamp: 1)
        #expect(decoder.malformed >= 1)
        #expect(packets.allSatisfy { if case .publish(let topic, _, _, _, _) = $0.content { topic == "ok" } else { true } })
        // A length that claims 200 MB is garbage, not something to wait for.
        var other = MQTTWireDecoder()
        _ = other.feed([0x30, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3][...], sequence: 0, flow: flow, timestamp: 1)
        #expect(other.malformed == 1)
    }

    @Test func connectKeepsTheUserButNeverThePassword() {
        var decoder = MQTTWireDecoder()
        // CONNECT 3.1.1, flags user+password, keepalive 60, client "dev-1", user "dev-1", password "hunter2".
        var body: [UInt8] = [0, 4] + Array("MQTT".utf8) + [4, 0xC2, 0, 60]
        for field in ["dev-1", "dev-1", "hunter2"] { body += [0, UInt8(field.utf8.count)] + Array(field.utf8) }
        let packet: [UInt8] = [0x10, UInt8(body.count)] + body
        let decoded = decoder.feed(packet[...], sequence: 0, flow: flow, timestamp: 1)
        #expect(decoded.first?.content == .connect(clientID: "dev-1", username: "dev-1", protocolLevel: 4))
        #expect(!"\(decoded)".contains("hunter2"))
    }
}
