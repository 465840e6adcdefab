import Foundation
import ParkBindings
import ParkCapture
import ParkCore
import ParkMQTT
import ParkPlatform
import ParkTestSupport
import ParkWire
import Testing

/// A car-park entrance lane on the wire: the plate camera and barrier plugins (loaded from their
/// libraries, as `parkbench` loads them) on MQTT through mosquitto, the reference platform with
/// the checked-in whitelist rule, and paho-mqtt watching every topic from outside — the read
/// with its plate as text, the platform's `open` on the barrier's command topic, the barrier's
/// `raised`. A stranger's read goes out the same way and no `open` follows. tshark, a dissector
/// nobody here wrote, reads the capture of it all: the read's PUBLISH carries the plate as UTF-8
/// text, the platform's PUBLISH to the barrier carries `open`, and nothing is malformed.
@Suite(.serialized) struct ParkingLaneInteropTests {
    @Test func aWhitelistedPlateOpensTheBarrierOnTheWire() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let rules = try LinkageRule.load(file: root.appendingPathComponent("conformance/platform/linkage.yaml").path)
        let platform = ReferencePlatform(endpoints: .init(port: broker.port), configuration: PlatformConfiguration(linkageRules: rules))
        try platform.start()
        defer { platform.stop() }
        try waitFor("the platform subscribed", seconds: 30) { platform.isConnected }
        let witness = try MQTTDeviceBindingTests.Collector(broker.directory, port: broker.port, filter: "park/#")
        defer { witness.stop() }
        let file = broker.directory.path("lane.pcap")
        let capture = try PacketCapture(interface: "lo", filter: "tcp port \(broker.port)", file: file)
        capture.start()

        let plugins = PluginLoader.discover()
        let camera = try #require(plugins.kinds.first { $0.descriptor.name == "lpr-camera" }, "libParkPluginLPRCamera.so is built next to the tests")
        let barrier = try #require(plugins.kinds.first { $0.descriptor.name == "barrier" }, "libParkPluginBarrier.so is built next to the tests")
        func planned(_ kind: PluginDeviceKind, _ id: String, _ overrides: [String: String]) throws -> PlannedDevice {
            PlannedDevice(kind: kind, setup: DeviceSetup(
                id: id, parameters: try DeviceParameters(descriptor: kind.descriptor, overrides: overrides),
                random: .forDevice(id, runSeed: 5), placement: Placement(zone: "G1", floor: 1)))
        }
        let plan = [
            try planned(camera, "lpr-1", ["recognition_time": "200ms", "recognition_jitter": "50ms", "error_rate": "0", "miss_rate": "0"]),
            try planned(barrier, "barrier-1", ["rise_time": "1s", "auto_close": "0s"]),
        ]
        let models = ["lpr-1": "hik-ids-tcg405", "barrier-1": "acme-br12"]
        let binding = try MQTTDeviceBinding(
            devices: plan.map { BoundDevice(id: $0.id, kind: $0.kind.descriptor.name, model: models[$0.id] ?? "", zone: "G1") },
            configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        try binding.connect()
        await engine.start()
        defer { binding.shutdown() }
        try waitFor("both devices known to the platform", seconds: 30) { platform.devices["barrier-1"] != nil && platform.devices["lpr-1"] != nil }

        try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string("京A12345")]), to: "lpr-1")
        try waitFor("the barrier up", seconds: 30) { try engine.ledger.records().contains { $0.deviceID == "barrier-1" && $0.name == "raised" } }
        try waitFor("paho to see the barrier's raised", seconds: 30) {
            witness.seen.contains { $0.topic == "park/G1/barrier/barrier-1/event" && $0.json?["name"] as? String == "raised" }
        }
        let read = try #require(witness.seen.first { $0.topic == "park/G1/lpr-camera/lpr-1/event" && $0.json?["name"] as? String == "plate" })
        let values = try #require(read.json?["values"] as? [String: Any])
        #expect(values["plate"] as? String == "京A12345", "the plate goes on the wire as text: \(read.payload)")
        #expect((values["confidence"] as? Double).map { $0 >= 0.9 && $0 <= 0.99 } == true)
        let open = try #require(witness.seen.first { $0.topic == "park/G1/barrier/barrier-1/cmd" })
        #expect(open.json?["command"] as? String == "open" && open.json?["rule"] as? String == "entrance-whitelist")
        #expect(open.json?["trigger"] as? String == "lpr-1")
        // On the wire in order: the read, the platform's open, the barrier up (one second later).
        let order = witness.seen.map(\.topic)
        let readIndex = try #require(order.firstIndex(of: "park/G1/lpr-camera/lpr-1/event"))
        let openIndex = try #require(order.firstIndex(of: "park/G1/barrier/barrier-1/cmd"))
        #expect(readIndex < openIndex)

        // A stranger: read and published, and the platform sends nothing for it (its rules run in
        // the very callback that takes the read in, so once the read is counted, so is any command).
        #expect(platform.linkage.commands == 1)
        let readsBefore = platform.devices["lpr-1"]?.messages ?? 0
        try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string("晋Z99999")]), to: "lpr-1")
        try waitFor("paho to see the stranger's read", seconds: 30) {
            witness.seen.contains { ($0.json?["values"] as? [String: Any])?["plate"] as? String == "晋Z99999" }
        }
        try waitFor("the platform to take the stranger's read in", seconds: 30) { (platform.devices["lpr-1"]?.messages ?? 0) > readsBefore }
        #expect(platform.linkage.commands == 1, "no open for a plate off the whitelist")
        #expect(witness.seen.filter { $0.topic == "park/G1/barrier/barrier-1/cmd" }.count == 1)
        await engine.stop()
        _ = capture.stop()

        let decode = ["-r", file, "-d", "tcp.port==\(broker.port),mqtt"]
        #expect(try tshark(decode + ["-Y", "_ws.malformed || _ws.expert.severity >= error"]).isEmpty, "tshark finds nothing malformed")
        let publishes = try tshark(decode + ["-Y", "mqtt.msgtype == 3", "-T", "fields", "-e", "mqtt.topic", "-e", "mqtt.msg"])
            .split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1).map(String.init) }
        func text(_ field: String) -> String {
            // tshark prints a payload as hex (with or without colons), or as text on some versions.
            let hex = field.replacingOccurrences(of: ":", with: "")
            guard hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { return field }
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let onWire = publishes.filter { $0.count == 2 }.map { (topic: $0[0], payload: text($0[1])) }
        #expect(onWire.contains { $0.topic == "park/G1/lpr-camera/lpr-1/event" && $0.payload.contains(#""plate":"京A12345""#) },
                "tshark: the read's PUBLISH carries the plate as text; saw \(onWire.map(\.topic))")
        #expect(onWire.contains { $0.topic == "park/G1/barrier/barrier-1/cmd" && $0.payload.contains(#""command":"open""#) })
    }
}
