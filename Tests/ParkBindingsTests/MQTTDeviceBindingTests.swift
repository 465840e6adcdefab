import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkMQTT
import ParkTestSupport
import ParkWire
import Testing

/// Smoke detectors on a real mosquitto broker, watched by an independent paho-mqtt client.
@Suite(.serialized) struct MQTTDeviceBindingTests {
    /// paho-mqtt subscribes to `park/#` and appends every message it sees to a file as a JSON
    /// line ({"topic", "payload" (text), "retain"}) until a stop file appears. Nothing here runs
    /// on a fixed time window: the test waits for what it expects, with deadlines, so a loaded
    /// machine (tests run in parallel) only makes it slower, not wrong.
    static let collector = """
        import json, os, sys, time
        import paho.mqtt.client as mqtt
        port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        topic_filter = sys.argv[4] if len(sys.argv) > 4 else "park/#"
        sink = open(out, "a")
        ready = []
        def on_message(c, u, m):
            sink.write(json.dumps({"topic": m.topic, "payload": m.payload.decode("utf-8", "replace"), "retain": bool(m.retain)}) + "\\n")
            sink.flush()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-collector-%d" % os.getpid())
        client.on_message = on_message
        client.on_subscribe = lambda c, u, mid, codes, props: ready.append(1)
        client.connect("127.0.0.1", port)
        client.subscribe(topic_filter, qos=1)
        client.loop_start()
        deadline = time.time() + 20
        while not ready and time.time() < deadline: time.sleep(0.01)
        print("subscribed" if ready else "no suback", flush=True)
        deadline = time.time() + 120
        while not os.path.exists(stop) and time.time() < deadline: time.sleep(0.02)
        client.loop_stop()
        sink.close()
        """

    /// paho-mqtt publishes one QoS 1 message and waits for the broker's PUBACK.
    static let publisher = """
        import sys
        import paho.mqtt.client as mqtt
        port, topic, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", port)
        client.loop_start()
        client.publish(topic, payload, qos=1).wait_for_publish(20)
        client.disconnect()
        client.loop_stop()
        """

    struct Seen {
        var topic: String
        var payload: String
        var retain: Bool
        var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
        }
        var isDeviceMessage: Bool { topic.hasSuffix("/telemetry") || topic.hasSuffix("/event") }
    }

    /// A running paho collector.
    final class Collector {
        let process: ChildProcess
        let output: String
        let stopFile: String

        init(_ directory: TemporaryDirectory, port: Int, filter: String = "park/#") throws {
            let script = directory.path("collector.py")
            try MQTTDeviceBindingTests.collector.write(toFile: script, atomically: true, encoding: .utf8)
            let name = UUID().uuidString
            output = directory.path("seen-\(name).jsonl")
            stopFile = directory.path("stop-\(name)")
            let log = directory.path("collector-\(name).log")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process = try ChildProcess(try executablePath("python3"), [script, String(port), output, stopFile, filter], output: log)
            try waitFor("the paho collector to subscribe", seconds: 30) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if !self.process.isRunning || text.contains("no suback") { throw BrokerError("paho collector failed: \(text)") }
                return text.contains("subscribed")
            }
        }

        /// What it has seen so far (a line still being written is skipped).
        var seen: [Seen] {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
                return Seen(topic: object["topic"] as? String ?? "", payload: object["payload"] as? String ?? "",
                            retain: object["retain"] as? Bool ?? false)
            }
        }

        func stop() {
            _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
            if !process.waitForExit(timeout: .seconds(10)) { process.stop() }
        }

        deinit { process.stop(grace: .seconds(1)) }
    }

    func publish(_ directory: TemporaryDirectory, port: Int, topic: String, payload: String) throws {
        let script = directory.path("publisher.py")
        try Self.publisher.write(toFile: script, atomically: true, encoding: .utf8)
        let process = try ChildProcess(try executablePath("python3"), [script, String(port), topic, payload])
        #expect(process.waitForExit(timeout: .seconds(30)), "paho publisher did not finish")
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
        let collector = try Collector(broker.directory, port: broker.port)
        let binding = try MQTTDeviceBinding(devices: bound(plan), configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 2, observer: binding)
        binding.routeCommands(to: engine)
        try binding.connect()
        await engine.start()
        try waitFor("20 devices connected", seconds: 30) { binding.statistics.pool.connectedClients == 20 }

        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-7/cmd", payload: #"{"id":"c-1","command":"self-test"}"#)
        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-8/cmd", payload: #"{"id":7,"command":"reboot"}"#)
        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-9/cmd", payload: "not json")
        try await engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "smoke-3")
        try waitFor("the alarm, three acks and 100 device messages at paho", seconds: 30) {
            let seen = collector.seen
            return seen.contains { $0.payload.contains("smoke-alarm") }
                && seen.filter { $0.topic.hasSuffix("/cmd/ack") }.count == 3
                && seen.filter(\.isDeviceMessage).count >= 100
        }
        await engine.stop()
        let statistics = binding.statistics
        binding.shutdown()
        let ledger = try engine.ledger.records().filter { $0.entry == .emission && $0.channel != .local }
        try waitFor("every ledger emission and 20 offline statuses at paho", seconds: 30) {
            let seen = collector.seen
            return seen.filter(\.isDeviceMessage).count >= ledger.count
                && seen.filter { $0.topic.hasSuffix("/status") && $0.payload.contains("offline") }.count >= 20
        }
        collector.stop()
        let seen = collector.seen
        #expect(statistics.pool.connectedClients == 20)
        #expect(statistics.dropped == 0)

        // Field-by-field check of every device message.
        let deviceMessages = seen.filter(\.isDeviceMessage)
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

        // The wire matches the ledger: same (device, seq) pairs, each once, in order per device
        // and topic, and the sequence has no holes (local emissions do not use up wire sequence
        // numbers). Order across a device's topics is not compared: MQTT orders messages per
        // topic and QoS only, and a QoS 1 event waiting for an in-flight slot is passed by QoS 0
        // telemetry when the machine is busy.
        for device in plan.map(\.id) {
            let mine = deviceMessages.filter { $0.json?["device"] as? String == device }
            let wire = mine.compactMap { $0.json?["seq"] as? Int }
            let truth = ledger.filter { $0.deviceID == device }.map { Int($0.deviceSequence) }
            #expect(wire.sorted() == truth, "device \(device): wire \(wire.count) messages vs ledger \(truth.count)")
            #expect(truth == Array(1...truth.count), "device \(device): gaps in its own sequence")
            for topic in Set(mine.map(\.topic)) {
                let sequence = mine.filter { $0.topic == topic }.compactMap { $0.json?["seq"] as? Int }
                #expect(sequence == sequence.sorted(), "\(topic): out of order")
            }
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
        let late = try Collector(broker.directory, port: broker.port)
        try waitFor("20 retained statuses", seconds: 30) { late.seen.filter { $0.topic.hasSuffix("/status") }.count >= 20 }
        late.stop()
        let statuses = late.seen.filter { $0.topic.hasSuffix("/status") }
        #expect(statuses.count == 20)
        #expect(statuses.allSatisfy { $0.retain && $0.json?["status"] as? String == "offline" })
    }

    /// A wire format of the tests' own, far from JSON: `name|seq|point=value;…`, commands as
    /// `command|id`, acks as `ack|id@topic|accepted-or-reason`.
    struct PipeFormat: DeviceWireFormat {
        func emission(_ emission: WireEmission) -> [UInt8] {
            Array("\(emission.name)|\(emission.sequence)|\(emission.values.map { "\($0.point)=\($0.json)" }.joined(separator: ";"))".utf8)
        }
        func status(of device: BoundDevice, online: Bool, wallNanoseconds: Int64?) -> [UInt8] { Array((online ? "up" : "down").utf8) }
        func command(from payload: [UInt8], topic: String) throws(WireError) -> WireCommand {
            let parts = String(decoding: payload, as: UTF8.self).split(separator: "|").map(String.init)
            guard parts.count == 2 else { throw WireError("want command|id, got \(parts.count) parts") }
            return WireCommand(id: "\(parts[1])@\(topic)", command: parts[0], arguments: [:])
        }
        func commandAck(
            of device: BoundDevice, id: String, command: String, rejection: String?, values: DeviceEnvelope.Values, wallNanoseconds: Int64
        ) -> [UInt8] {
            Array("ack|\(id)|\(rejection ?? "accepted")".utf8)
        }
    }

    /// The format a model's conventions name is what its devices write and read — emissions,
    /// status, last will, commands (given their topic) and acks — while the other models' devices
    /// in the same binding keep the JSON envelope; paho sees both.
    @Test func aModelsWireFormatIsWhatItsDevicesWriteAndRead() async throws {
        let broker = try MosquittoBroker()
        let plan = try plan(count: 4)
        var devices = bound(plan)
        devices[0].model = "pipe-sd1"
        devices[1].model = "pipe-sd1"
        let collector = try Collector(broker.directory, port: broker.port)
        var configuration = MQTTDeviceBinding.Configuration(port: broker.port)
        configuration.conventions = ["pipe-sd1": MQTTModelConventions(format: PipeFormat())]
        let binding = try MQTTDeviceBinding(devices: devices, configuration: configuration)
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        try binding.connect()
        await engine.start()
        try waitFor("4 devices connected and subscribed", seconds: 30) { binding.statistics.subscribedDevices == 4 }
        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-1/cmd", payload: "self-test|c-9")
        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-2/cmd", payload: "{}")
        try publish(broker.directory, port: broker.port, topic: "park/A/smoke-detector/smoke-3/cmd", payload: #"{"id":"c-3","command":"self-test"}"#)
        try waitFor("three acks and telemetry from all four", seconds: 30) {
            let seen = collector.seen
            return seen.filter { $0.topic.hasSuffix("/cmd/ack") }.count == 3
                && Set(seen.filter(\.isDeviceMessage).map { $0.topic.split(separator: "/")[3] }).count == 4
        }
        await engine.stop()
        binding.shutdown()
        collector.stop()
        let seen = collector.seen
        func on(_ device: String, _ suffix: String) -> [String] {
            seen.filter { $0.topic == "park/A/smoke-detector/\(device)/\(suffix)" }.map(\.payload)
        }
        for device in ["smoke-1", "smoke-2"] {
            let telemetry = on(device, "telemetry")
            #expect(!telemetry.isEmpty && telemetry.allSatisfy { $0.hasPrefix("telemetry|") && $0.contains("smoke_density=") }, "\(telemetry)")
            #expect(on(device, "status").first == "up" && on(device, "status").last == "down")
        }
        #expect(on("smoke-1", "cmd/ack") == ["ack|c-9@park/A/smoke-detector/smoke-1/cmd|accepted"])
        #expect(on("smoke-2", "cmd/ack").first?.hasPrefix("ack||want command|id") == true, "\(on("smoke-2", "cmd/ack"))")
        for device in ["smoke-3", "smoke-4"] {
            #expect(on(device, "telemetry").allSatisfy { $0.hasPrefix("{\"device\":\"\(device)\"") })
        }
        let envelopeAck = try #require(seen.first { $0.topic.hasSuffix("smoke-3/cmd/ack") }?.json)
        #expect(envelopeAck["id"] as? String == "c-3" && envelopeAck["accepted"] as? Bool == true)
        #expect(binding.statistics.malformedCommands == 1)
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
        try waitFor("3 devices connected", seconds: 30) { binding.statistics.pool.connectedClients == 3 }
        let collector = try Collector(broker.directory, port: broker.port)
        let topic = "park/A/smoke-detector/smoke-2/status"
        try waitFor("the retained online status", seconds: 30) { collector.seen.contains { $0.topic == topic } }
        try binding.dropConnection(of: "smoke-2", reconnect: false)
        try waitFor("the will", seconds: 30) { collector.seen.contains { $0.topic == topic && $0.payload.contains("offline") } }
        collector.stop()
        await engine.stop()
        binding.shutdown()
        let statuses = collector.seen.filter { $0.topic == topic }
        #expect(statuses.first?.retain == true, "first the retained online status")
        #expect(statuses.first?.json?["status"] as? String == "online")
        #expect(statuses.contains { !$0.retain && $0.json?["status"] as? String == "offline" }, "then the will, live")
    }

    /// One secret per device (004 L754): against a broker with a password file, devices with
    /// their own secret get in, and a device presenting another device's secret is refused.
    @Test func eachDeviceLogsInWithItsOwnSecret() async throws {
        let directory = try TemporaryDirectory()
        let passwords = directory.path("passwords")
        let entries = [("smoke-1", "s1-secret"), ("smoke-2", "s2-secret"), ("smoke-3", "s3-secret")]
        for (index, entry) in entries.enumerated() {
            let tool = try ChildProcess(
                try executablePath("mosquitto_passwd"), ["-b"] + (index == 0 ? ["-c"] : []) + [passwords, entry.0, entry.1])
            #expect(tool.waitForExit(timeout: .seconds(10)) && tool.status == 0)
        }
        let broker = try MosquittoBroker(options: ["allow_anonymous false", "password_file \(passwords)"], directory: directory)
        // smoke-3 presents smoke-1's secret: an impostor.
        let secretsFile = directory.path("devices.secrets")
        try "# test secrets\nsmoke-1=s1-secret\nsmoke-2 = s2-secret\n\nsmoke-3=s1-secret\n"
            .write(toFile: secretsFile, atomically: true, encoding: .utf8)
        let secrets = try DeviceSecrets.load(file: secretsFile)
        let plan = try plan(count: 3)
        let binding = try MQTTDeviceBinding(
            devices: bound(plan),
            configuration: .init(port: broker.port, credentials: { device in
                MQTTAuthScheme.password.credentials(for: device, secret: secrets.secret(for: device.id))
            }))
        try binding.connect()
        try waitFor("two devices in and one refused", seconds: 30) {
            let pool = binding.statistics.pool
            return pool.connectedClients == 2 && pool.connectsRefused >= 1
        }
        #expect(binding.statistics.refusedDevices == ["smoke-3"], "the impostor, and only it, is refused")
        binding.shutdown()
    }

    /// Secrets files are strict, and their errors name the line but never the secret.
    @Test func secretsFileErrorsNameTheLine() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path("bad.secrets")
        try "a=1\nb-without-secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: BindingError("\(file):2: expected 'device-id=secret'")) { try DeviceSecrets.load(file: file) }
        try "a=hunter2\na=hunter3\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try DeviceSecrets.load(file: file)
            Issue.record("a second secret for one device was accepted")
        } catch {
            #expect(error.message == "\(file):2: device 'a' has a second secret")
            #expect(!error.message.contains("hunter"))
        }
        let token = MQTTAuthScheme.token.credentials(for: BoundDevice(id: "d", kind: "k", model: "m"), secret: "tok-123")
        #expect(token == MQTTCredentials(username: "tok-123", password: nil))
    }

    /// Commands parse strictly, with the reason in the error.
    @Test func commandPayloads() throws {
        let envelope = EnvelopeWireFormat()
        let command = try envelope.deviceCommand(
            from: Array(#"{"id":"a","command":"set-threshold","args":{"smoke_threshold":0.2,"n":3,"on":true}}"#.utf8), topic: "t/cmd")
        #expect(command == DeviceCommand("set-threshold", arguments: ["smoke_threshold": .double(0.2), "n": .int(3), "on": .bool(true)], id: "a"))
        #expect(throws: BindingError("command is not valid: missing field \"command\"; got {\"id\":1}")) {
            try envelope.deviceCommand(from: Array(#"{"id":1}"#.utf8), topic: "t/cmd")
        }
    }
}

/// Polls `condition` every 20 ms until it holds; fails the test with `what` after `seconds`.
func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw BrokerError("timed out after \(seconds) s waiting for \(what)") }
        usleep(20_000)
    }
}
