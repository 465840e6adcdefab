import Foundation
import ParkCapture
import ParkReport

/// Recomputes a latency check's samples from packet-capture timestamps, as an independent
/// witness of the harness's own clock readings: for each sample matched by `msg_id`, the wire
/// time of the device's PUBLISH carrying that id (device → broker) to the wire time of the
/// platform's northbound PUBLISH carrying it (broker → observer).
public enum WireTiming {
    /// One sample measured twice.
    public struct Pair: Sendable, Hashable {
        public var messageID: String
        public var harnessMilliseconds: Double
        public var wireMilliseconds: Double
        public var differenceMilliseconds: Double { harnessMilliseconds - wireMilliseconds }
    }

    /// Pairs every `msg_id`-matched sample of `evidence` with its wire timing. Samples whose two
    /// packets are not both in the capture are left out (and counted by the caller).
    public static func pairs(
        _ evidence: LatencyEvidence, packets: [WireMQTTPacket], brokerPort: Int, northboundTopic: (String) -> Bool
    ) -> [Pair] {
        var deviceSent: [String: Int64] = [:]
        var platformSent: [String: Int64] = [:]
        let wanted = Set(evidence.samples.compactMap { $0.matchedBy == "msg_id" ? $0.messageID : nil })
        for packet in packets {
            guard case .publish(let topic, let payload, _, _, _) = packet.content,
                  let id = messageID(in: payload), wanted.contains(id) else { continue }
            if Int(packet.flow.destinationPort) == brokerPort, !northboundTopic(topic) {
                if deviceSent[id] == nil { deviceSent[id] = packet.timestampNanoseconds }
            } else if Int(packet.flow.sourcePort) == brokerPort, northboundTopic(topic) {
                if platformSent[id] == nil { platformSent[id] = packet.timestampNanoseconds }
            }
        }
        return evidence.samples.compactMap { sample in
            guard sample.matchedBy == "msg_id", let id = sample.messageID, let sent = deviceSent[id], let shown = platformSent[id] else { return nil }
            return Pair(messageID: id, harnessMilliseconds: sample.latencyMilliseconds, wireMilliseconds: Double(shown - sent) / 1e6)
        }
    }

    /// The `msg_id` of a JSON payload, read without a full parse (the field is flat and quoted).
    static func messageID(in payload: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else { return nil }
        return object["msg_id"] as? String
    }
}
