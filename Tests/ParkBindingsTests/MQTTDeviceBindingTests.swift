import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkMQTT
import ParkTestSupport
import Testing

/// Smoke detectors on a real mosquitto broker, watched by an independent paho-mqtt client.
@Suite(.serialized) struct MQTTDeviceBindingTests {
    /// paho-mqtt subscribes to `park/#`, optionally sends commands, and writes every message it
    /// sees as a JSON line: {"topic", "payload" (text), "retain"}.
    static let collector = """
        import json, sys, time
        import paho.mqtt.client as mqtt
        port, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
        commands = json.loads(sys.argv[4]) if len(sys.argv) > 4 else []
        seen = []
        ready = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-collector")
        client.on_message = lambda c, u, m: seen.append({"topic": m.topic, "payload": m.payload.decode("utf-8", "replace"), "retain": bool(m.retain)})
        client.on_subscribe = lambda c, u, mid, codes, props: ready.append(1)
        client.connect("127.0.0.1", port)
        client.subscribe("park/#", qos=1)
        client.loop_start()
        deadline = time.time() + 5
        while not ready and time.time() < deadline: time.sleep(0.01)
        print("subscribed", flush=True)
        start = time.time()
        for when, topic, payload in commands:
            time.sleep(max(0, start + when - time.time()))
            client.publish(topic, payload, qos=1)
        time.sleep(max(0, start + seconds - time.time()))
        client.loop_stop()
        with open(out, "w") as f:
            for m in seen: f.write(json.dumps(m) + "\\n")
        """

    struct Seen {
        var topic: String
        var payload: String
        var retain: Bool
        var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
        }
    }

    func runCollector(_ directory: TemporaryDirectory, port: Int, seconds: Double, commands: [(Double, String, String)] = [])
        throws -> (process: ChildProcess, output: String)
    {
        let script = directory.path("collector.py")
        try Self.collector.write(toFile: script, atomically: true, encoding: .utf8)
        let output = directory.path("seen-\(UUID().uuidString).jsonl")
        let commandJSON = String(decoding: try JSONSerialization.data(withJSONObject: commands.map { [$0.0, $0.1, $0.2] }), as: UTF8.self)
        let log = directory.path("collector-\(UUID().uuidString).log")
        let process = try ChildProcess(try executablePath("python3"), [script, String(port), String(seconds), output, commandJSON], output: log)
        // Wait for the subscription, so nothing the devices send first is missed.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains("subscribed") == true { break }
            try #require(process.isRunning, "paho collector exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            usleep(10_000)
        }
        return (process, output)
    }

    func read(_ output: String) throws -> [Seen] {
        try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Seen(topic: object["topic"] as? String ?? "", payload: object["payload"] as? String ?? "",
                        retain: object["retain"] as? Bool ?? false)
        }
    }

    func plan(count: Int) throws -> [PlannedDevice] {
        let kind = SmokeDetectorKind()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [
            "heartbeat_interval": "1s", "report_interval": "250ms", "start_spread": "250ms",
        ])
        return (1...count).map { n in
            let id = "smoke-\(n)"
            return PlannedDevice(kind: kind, setup: DeviceSetup(
                id: id, parameters: parameters, random: .forDevice(id, runSeed: 3), placement: Placement(zone: "A", floor: 1)))
        }
    }

    func bound(_ plan: [PlannedDevice]) -> [BoundDevice] {
        plan.map { BoundDevice(id: $0.id, kind: $0.kind.descriptor.name, model: "acme-sd100", zone: $0.setup.placement.zone) }
    }

    /// Every message the devices send reaches an independent subscriber as JSON with the
    /// documented fields; per device the sequence numbers match the ledger exactly (no loss, no
    /// duplicates, in order); a command from paho reaches the device and is acknowledged; a clean
    /// stop leaves a retained `offline` status.
    @Test func devicesPublishDocumentedJSONAndTakeCommands() async throws {
        let broker = try MosquittoBroker()
        let plan = try plan(count: 20)
        let collector = try runCollector(
            broker.directory, port: broker.port, seconds: 4,
            commands: [(1.0, "park/A/smoke-detector/smoke-7/cmd", #"{"id":"c-1","command":"self-test"}"#),
                       (1.2, "park/A/smoke-detector/smoke-8/cmd", #"{"id":7,"command":"reboot"}"#),
                       (1.4, "park/A/smoke-detector/smoke-9/cmd", "not json")])
        let binding = try MQTTDeviceBinding(devices: bound(plan), configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 2, observer: binding)
        binding.setCommandHandler { id, command in
            do throws(EngineError) { return .success(try await engine.send(command, to: id)) } catch { return .failure(error) }
        }
        try binding.connect()
        await engine.start()
        try await Task.sleep(for: .milliseconds(1_500))
        try await engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "smoke-3")
        try await Task.sleep(for: .milliseconds(1_000))
        await engine.stop()
        let statistics = binding.statistics
        binding.shutdown()
        #expect(collector.process.waitForExit(timeout: .seconds(15)))
        let seen = try read(collector.output)
        #expect(statistics.pool.connectedClients == 20)
        #expect(statistics.dropped == 0)

        // Field-by-field check of every device message.
        let deviceMessages = seen.filter { $0.topic.hasSuffix("/telemetry") || $0.topic.hasSuffix("/event") }
        #expect(deviceMessages.count > 100)
        for message in deviceMessages {
            let json = try #require(message.json, "not JSON: \(message.payload)")
            let device = try #require(json["device"] as? String)
            let seq = try #require(json["seq"] as? Int)
            #expect(json["msg_id"] as? String == "\(device)#\(seq)")
            #expect(message.topic.hasPrefix("park/A/smoke-detector/\(device)/"))
            #expect((json["ts"] as? String)?.hasSuffix("Z") == true)
            #expect((json["ts_ns"] as? Int ?? 0) > 1_700_000_000_000_000_000)
            #expect(json["channel"] as? String == String(message.topic.split(separator: "/").last ?? ""))
            #expect(json["values"] is [String: Any])
            #expect(json["name"] is String)
        }

        // The wire matches the ledger: same (device, seq) pairs, each once, in order per device.
        let ledger = try engine.ledger.records().filter { $0.entry == .emission && $0.channel != .local }
        for device in plan.map(\.id) {
            let wire = deviceMessages.compactMap { $0.json }.filter { $0["device"] as? String == device }.compactMap { $0["seq"] as? Int }
            let truth = ledger.filter { $0.deviceID == device }.map { Int($0.deviceSequence) }
            #expect(wire == truth, "device \(device): wire \(wire.count) messages vs ledger \(truth.count)")
        }
        let alarm = try #require(deviceMessages.first { $0.json?["name"] as? String == "smoke-alarm" }?.json)
        #expect(alarm["device"] as? String == "smoke-3")
        let density = try #require((alarm["values"] as? [String: Any])?["smoke_density"] as? Double)
        #expect(abs(density - 0.4) < 0.02, "the measured density, not the truth, within the sensor's noise")
        #expect(!seen.contains { $0.payload.contains("sounder") || $0.payload.contains("chirp") }, "local emissions stay off the wire")

        // Commands: accepted, rejected by the device, and malformed.
        let acks = seen.filter { $0.topic.hasSuffix("/cmd/ack") }.compactMap(\.json)
        let selfTest = try #require(acks.first { $0["id"] as? String == "c-1" })
        #expect(selfTest["accepted"] as? Bool == true)
        #expect(selfTest["device"] as? String == "smoke-7")
        let reboot = try #require(acks.first { $0["id"] as? String == "7" })
        #expect(reboot["accepted"] as? Bool == false)
        #expect(reboot["reason"] as? String == "unknown command 'reboot'")
        let garbage = try #require(acks.first { $0["device"] as? String == "smoke-9" })
        #expect((garbage["reason"] as? String)?.hasPrefix("command is not valid: not JSON") == true)
        #expect(try engine.ledger.records().contains { $0.entry == .command && $0.messageID == "c-1" })

        // After a clean stop the retained status of every device says offline.
        let late = try runCollector(broker.directory, port: broker.port, seconds: 0.5)
        #expect(late.process.waitForExit(timeout: .seconds(10)))
        let statuses = try read(late.output).filter { $0.topic.hasSuffix("/status") }
        #expect(statuses.count == 20)
        #expect(statuses.allSatisfy { $0.retain && $0.json?["status"] as? String == "offline" })
    }

    /// A device that vanishes without DISCONNECT is marked offline by the broker through its
    /// last will, which is what a platform's offline detection listens for.
    @Test func vanishedDeviceLeavesItsWill() async throws {
        let broker = try MosquittoBroker()
        let plan = try plan(count: 3)
        let binding = try MQTTDeviceBinding(
            devices: bound(plan), configuration: .init(port: broker.port, keepAlive: .seconds(5)))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        try binding.connect()
        await engine.start()
        let deadline = ContinuousClock.now + .seconds(10)
        while binding.statistics.pool.connectedClients < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let collector = try runCollector(broker.directory, port: broker.port, seconds: 2)
        try binding.dropConnection(of: "smoke-2", reconnect: false)
        #expect(collector.process.waitForExit(timeout: .seconds(15)))
        await engine.stop()
        binding.shutdown()
        let statuses = try read(collector.output).filter { $0.topic == "park/A/smoke-detector/smoke-2/status" }
        #expect(statuses.first?.retain == true, "first the retained online status")
        #expect(statuses.contains { !$0.retain && $0.json?["status"] as? String == "offline" }, "then the will, live")
    }

    /// The default topic template fills every placeholder; bad templates are refused.
    @Test func topicTemplates() throws {
        let device = BoundDevice(id: "d1", kind: "smoke-detector", model: "m", zone: nil, floor: 3)
        #expect(MQTTTopicTemplate.standard.topic(for: device, channel: "event") == "park/park/smoke-detector/d1/event")
        #expect(try MQTTTopicTemplate("site/{floor}/{model}/{id}/{channel}").topic(for: device, channel: "cmd/ack") == "site/3/m/d1/cmd/ack")
        #expect(throws: BindingError.self) { try MQTTTopicTemplate("park/{zoen}/{id}") }
        #expect(throws: BindingError.self) { try MQTTTopicTemplate("park/+/{id}") }
        #expect(throws: BindingError.self) { try MQTTTopicTemplate("park/{kind}") }
    }

    /// Commands parse strictly, with the reason in the error.
    @Test func commandPayloads() throws {
        let command = try MQTTPayloads.command(from: Array(#"{"id":"a","command":"set-threshold","args":{"smoke_threshold":0.2,"n":3,"on":true}}"#.utf8))
        #expect(command == DeviceCommand("set-threshold", arguments: ["smoke_threshold": .double(0.2), "n": .int(3), "on": .bool(true)], id: "a"))
        #expect(throws: BindingError("command is not valid: missing field \"command\"; got {\"id\":1}")) {
            try MQTTPayloads.command(from: Array(#"{"id":1}"#.utf8))
        }
    }
}
