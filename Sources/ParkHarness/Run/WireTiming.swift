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

    /// Pairs every `msg_id`-matched sample of `evidence` with its wire timing. A device's
    /// message is a PUBLISH to the broker on a topic no stream watches, its id in `msg_id`; the
    /// platform's is a PUBLISH from the broker that one of `streams` accepts, its id where that
    /// stream's mapping says (a field path, or a topic level). Samples whose two packets are not
    /// both in the capture are left out (and counted by the caller).
    public static func pairs(
        _ evidence: LatencyEvidence, packets: [WireMQTTPacket], brokerPort: Int, streams: [PlatformProfile.MQTTStream]
    ) -> [Pair] {
        var deviceSent: [String: Int64] = [:]
        var platformSent: [String: Int64] = [:]
        let wanted = Set(evidence.samples.compactMap { $0.matchedBy == "msg_id" ? $0.messageID : nil })
        guard !wanted.isEmpty else { return [] }
        for packet in packets {
            guard case .publish(let topic, let payload, _, _, _) = packet.content,
                  let json = try? JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed]) else { continue }
            let northbound = streams.contains { MQTTTopicFilter.matches($0.topic, topic: topic) }
            if Int(packet.flow.destinationPort) == brokerPort, !northbound {
                if let id = (json as? [String: Any])?["msg_id"] as? String, wanted.contains(id), deviceSent[id] == nil {
                    deviceSent[id] = packet.timestampNanoseconds
                }
            } else if Int(packet.flow.sourcePort) == brokerPort, northbound {
                for stream in streams where stream.accepts(topic: topic, json: json) {
                    if let id = stream.fields.text("msg_id", path: stream.fields.messageID, in: json, topic: topic), wanted.contains(id),
                       platformSent[id] == nil {
                        platformSent[id] = packet.timestampNanoseconds
                    }
                }
            }
        }
        return evidence.samples.compactMap { sample in
            guard sample.matchedBy == "msg_id", let id = sample.messageID, let sent = deviceSent[id], let shown = platformSent[id] else { return nil }
            return Pair(messageID: id, harnessMilliseconds: sample.latencyMilliseconds, wireMilliseconds: Double(shown - sent) / 1e6)
        }
    }
}
