import Foundation
import ParkTestSupport
import Testing

/// A model's `mqtt:` section decides how its devices log in, where they publish and what their
/// fields are called; devices of other models in the same run keep the run's conventions.
/// Checked from outside: mosquitto's connection log and a paho-mqtt subscriber.
@Suite struct ModelMQTTConventionsTests {
    let cli = CLITests()

    static let subscriber = """
        import json, sys, time
        import paho.mqtt.client as mqtt
        port, seconds = int(sys.argv[1]), float(sys.argv[2])
        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe("#", qos=1)
        def on_subscribe(client, userdata, mid, reason_code_list, properties):
            print(json.dumps({"event": "subscribed"}), flush=True)
        def on_message(client, userdata, msg):
            print(json.dumps({"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace")}), flush=True)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="conventions-witness")
        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect("127.0.0.1", port, keepalive=30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            client.loop(timeout=0.05)
        """

    @Test func aModelsProfileSetsItsLoginTopicsAndFieldNames() throws {
        let directory = try TemporaryDirectory()
        let broker = try MosquittoBroker()
        let park = directory.path("park.yaml")
        try """
            park: conventions
            seed: 3
            zones: [{id: A}]
            populations:
              - {model: aliot-sd200, zone: A, count: 2, id: "ali-{n}", parameters: {report_interval: 1s}}
              - {model: acme-sd100, zone: A, count: 1, id: "acme-{n}", parameters: {report_interval: 1s}}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let secrets = directory.path("secrets")
        try "ali-1=s3cret-one\nali-2=s3cret-two\nacme-1=s3cret-three\n".write(toFile: secrets, atomically: true, encoding: .utf8)
        let script = directory.path("witness.py"), log = directory.path("witness.jsonl")
        try Self.subscriber.write(toFile: script, atomically: true, encoding: .utf8)
        let witness = try ChildProcess(try executablePath("python3"), [script, String(broker.port), "30"], output: log)
        defer { witness.stop() }
        let deadline = Date().addingTimeInterval(30)
        while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("subscribed") {
            try #require(Date() < deadline && witness.isRunning, "the paho witness did not subscribe")
            usleep(50_000)
        }

        let run = try cli.parkbench("simulate", "--park", park, "--duration", "3s", "--broker", "mqtt://127.0.0.1:\(broker.port)",
                                    "--secrets-file", secrets, "--show", "none", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"), "secrets never reach the output")

        // Login: the signed scheme for the model that asks for it, the run's (password) for the other.
        let brokerLog = broker.log
        #expect(brokerLog.contains("as ali-1|securemode=3,signmethod=hmacsha256,timestamp="), "\(brokerLog)")
        #expect(brokerLog.contains("u'ali-2&a1SmokeSD200'"))
        #expect(brokerLog.contains("as acme-1 ") && brokerLog.contains("u'acme-1'"))

        let messages = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.compactMap { message -> (topic: String, body: [String: Any])? in
            guard let topic = message["topic"] as? String, let payload = message["payload"] as? String,
                  let body = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
            return (topic, body)
        }
        let aliTelemetry = messages.filter { $0.topic == "/sys/a1SmokeSD200/ali-1/thing/telemetry" }
        try #require(!aliTelemetry.isEmpty, "ali-1 publishes on its model's topics: \(messages.map(\.topic))")
        let body = aliTelemetry[0].body
        #expect(body["deviceName"] as? String == "ali-1")
        #expect((body["id"] as? Int ?? 0) > 0, "seq travels as id")
        #expect(body["params"] is [String: Any] && body["time_ns"] != nil)
        #expect(body["device"] == nil && body["values"] == nil && body["seq"] == nil, "renamed, not duplicated: \(body)")
        #expect(messages.contains { $0.topic == "/sys/a1SmokeSD200/ali-2/thing/status" && $0.body["deviceName"] as? String == "ali-2" })

        let acme = messages.filter { $0.topic == "park/A/smoke-detector/acme-1/telemetry" }
        try #require(!acme.isEmpty, "the other model keeps the run's topics")
        #expect(acme[0].body["device"] as? String == "acme-1" && acme[0].body["values"] is [String: Any])
    }

    /// A profile that puts a secret in YAML, names an unknown scheme or field, or has a broken
    /// topic template is refused by `validate`, naming the key.
    @Test func badMQTTSectionsAreRefusedWithTheirKey() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path("bad.yaml")
        try """
            kind: smoke-detector
            model: bad-sd
            mqtt:
              auth: kerberos
              password: hunter2
              fields: {colour: red}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try cli.parkbench("validate", file)
        #expect(run.status == 2)
        let output = run.stdout + run.stderr
        #expect(output.contains("mqtt.auth: unknown auth scheme 'kerberos'"), "\(output)")
        #expect(output.contains("mqtt.password: secrets never go in a profile"))
        #expect(output.contains("mqtt.fields.colour: no message field 'colour'"))
        #expect(!output.contains("hunter2"))

        let template = directory.path("template.yaml")
        try "kind: smoke-detector\nmodel: bad-topics\nmqtt:\n  topics: \"park/{zoen}/{id}\"\n".write(toFile: template, atomically: true, encoding: .utf8)
        let broken = try cli.parkbench("validate", template)
        #expect(broken.status == 2)
        #expect((broken.stdout + broken.stderr).contains("unknown placeholder {zoen}"), "\(broken.stdout)\(broken.stderr)")
    }
}
