import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkMQTT
import ParkPlatform
import ParkTestSupport
import Testing

/// Devices → mosquitto → the reference platform → northbound, watched from outside by paho-mqtt,
/// with the platform's fault switches proving that what is watched can go wrong.
@Suite(.serialized) struct ReferencePlatformTests {
    let helper = MQTTDeviceBindingTests()

    @Test func platformRaisesAlarmsAndTracksStatusAndItsFaultsShow() async throws {
        let broker = try MosquittoBroker()
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port), configuration: PlatformConfiguration(heartbeatTimeout: .seconds(30)))
        try platform.start()
        defer { platform.stop() }
        try waitFor("the platform subscribed", seconds: 30) { platform.isConnected }
        let northbound = try MQTTDeviceBindingTests.Collector(broker.directory, port: broker.port, filter: "platform/#")

        let plan = try helper.plan(count: 3)
        let binding = try MQTTDeviceBinding(devices: helper.bound(plan), configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        try binding.connect()
        await engine.start()
        try waitFor("3 devices connected", seconds: 30) { binding.statistics.pool.connectedClients == 3 }
        try waitFor("3 devices online at the platform", seconds: 30) {
            northbound.seen.filter { $0.topic == "platform/status" && $0.payload.contains("online") }.count == 3
        }

        // A correct platform raises the alarm northbound, echoing the device's message id.
        try await engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "smoke-2")
        let alarmRecord = try #require(try engine.ledger.records().first { $0.name == "smoke-alarm" })
        try waitFor("the smoke alarm northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/alarms" && $0.json?["msg_id"] as? String == alarmRecord.messageID }
        }

        // alarm-delay: the same kind of alarm now takes at least the delay.
        platform.setFaults(PlatformFaults(alarmDelay: .milliseconds(1_500)))
        let start = ContinuousClock.now
        try await engine.apply(Stimulus("heat", arguments: ["temperature": .double(80)]), to: "smoke-3")
        try waitFor("the delayed heat alarm northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/alarms" && $0.json?["event"] as? String == "heat-alarm" }
        }
        #expect(ContinuousClock.now - start >= .milliseconds(1_500), "the fault switch must show in the measured latency")

        // drop-alarms: the platform takes the tamper in and says nothing.
        platform.setFaults(PlatformFaults(dropAlarms: true))
        try await engine.apply(Stimulus("tamper"), to: "smoke-1")
        try waitFor("the platform to swallow the tamper", seconds: 30) { platform.counters.dropped == 1 }
        #expect(!northbound.seen.contains { $0.json?["event"] as? String == "tamper" })

        // A device that vanishes is offline at the platform (through its will).
        try binding.dropConnection(of: "smoke-1", reconnect: false)
        try waitFor("smoke-1 offline northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/status" && $0.payload.contains(#""device":"smoke-1""#) && $0.payload.contains("offline") }
        }
        #expect(platform.devices["smoke-1"]?.status == .offline)
        #expect(platform.devices["smoke-2"]?.gaps == 0, "nothing lost between devices and platform")

        // crash-after-N: the platform falls silent. Only smoke-3 keeps talking (smoke-2 leaves
        // first), so once the crashed platform has ignored two more messages, smoke-3's tamper
        // was among them: MQTT keeps one client's messages in order.
        try binding.dropConnection(of: "smoke-2", reconnect: false)
        try waitFor("smoke-2 offline northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/status" && $0.payload.contains(#""device":"smoke-2""#) && $0.payload.contains("offline") }
        }
        let seen = platform.devices.values.reduce(0) { $0 + $1.messages }
        platform.setFaults(PlatformFaults(crashAfterMessages: seen + 1))
        try waitFor("the platform to crash on its next message", seconds: 30) { platform.isCrashed }
        let raisedAtCrash = platform.counters.raised
        let ignoredBefore = platform.messagesIgnoredAfterCrash
        try await engine.apply(Stimulus("tamper"), to: "smoke-3")
        try waitFor("the tamper and a later message to reach the crashed platform", seconds: 30) {
            platform.messagesIgnoredAfterCrash >= ignoredBefore + 2
        }
        // A live platform raises in the very callback that ignored it.
        #expect(platform.counters.raised == raisedAtCrash, "a crashed platform raises nothing")
        #expect(!northbound.seen.contains { $0.json?["device"] as? String == "smoke-3" && $0.json?["event"] as? String == "tamper" })
        northbound.stop()
        await engine.stop()
        binding.shutdown()
    }

    /// Issue 11: an 11 MB message of 600,000 values, through mosquitto, is refused unread and
    /// counted, and the smoke alarm published right after it is raised — the platform is not
    /// stalled by it (before, it spent seconds on that message and hundreds of megabytes).
    @Test func oversizedMessageIsRefusedAndTheAlarmAfterItIsRaised() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let platform = ReferencePlatform(endpoints: .init(port: broker.port))
        try platform.start()
        defer { platform.stop() }
        try waitFor("the platform subscribed", seconds: 30) { platform.isConnected }
        let publisher = broker.directory.path("publisher.py")
        try """
            import json, sys
            import paho.mqtt.client as mqtt
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            client.connect("127.0.0.1", int(sys.argv[1]))
            client.loop_start()
            big = {"device": "big-1", "kind": "meter", "channel": "telemetry", "values": {"k%d" % i: i for i in range(600000)}}
            client.publish("park/A/meter/big-1/telemetry", json.dumps(big), qos=1).wait_for_publish()
            alarm = {"device": "s1", "kind": "smoke-detector", "seq": 1, "msg_id": "s1#1", "channel": "event", "name": "smoke-alarm", "values": {"smoke_density": 0.4}}
            client.publish("park/A/smoke-detector/s1/event", json.dumps(alarm), qos=1).wait_for_publish()
            client.disconnect()
            """.write(toFile: publisher, atomically: true, encoding: .utf8)
        let process = try ChildProcess(try executablePath("python3"), [publisher, String(broker.port)], output: broker.directory.path("publisher.log"))
        #expect(process.waitForExit(timeout: .seconds(60)))
        try waitFor("the alarm after the big message", seconds: 30) { platform.counters.raised == 1 }
        #expect(platform.inputStatistics.oversized == 1)
        #expect(platform.devices["big-1"] == nil && platform.devices["s1"]?.values == ["smoke_density": 0.4])
    }

    /// The REST API and the webhook, from outside: Python's urllib reads /alarms, /devices and
    /// /devices/{id}, asks for a command and sees the device's acknowledgement at /commands/{id};
    /// a Python http.server receives each alarm with the shared secret.
    @Test func restAPIAndWebhookServeWhatThePlatformHolds() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        // The webhook receiver: writes each POST's secret header and body as a JSON line.
        let receiver = broker.directory.path("receiver.py")
        try """
            import json, sys
            from http.server import BaseHTTPRequestHandler, HTTPServer
            port, out = int(sys.argv[1]), sys.argv[2]
            class Handler(BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    with open(out, "a") as f:
                        f.write(json.dumps({"secret": self.headers.get("X-ParkBench-Secret"), "body": json.loads(body)}) + "\\n")
                    self.send_response(204); self.end_headers()
                def log_message(self, *args): pass
            HTTPServer(("127.0.0.1", port), Handler).serve_forever()
            """.write(toFile: receiver, atomically: true, encoding: .utf8)
        let hookPort = try freeLoopbackPort()
        let received = broker.directory.path("webhook.jsonl")
        let receiverProcess = try ChildProcess(try executablePath("python3"), [receiver, String(hookPort), received], output: broker.directory.path("receiver.log"))
        defer { receiverProcess.stop(grace: .seconds(1)) }
        try waitFor("the webhook receiver", seconds: 20) { loopbackPortAccepts(hookPort) }
        setenv("PARKBENCH_TEST_HOOK_SECRET", "hook-secret-123", 1)

        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port), configuration: PlatformConfiguration(heartbeatTimeout: .seconds(30)),
            webhook: try PlatformWebhook(url: "http://127.0.0.1:\(hookPort)/alarms", secretEnvironment: "PARKBENCH_TEST_HOOK_SECRET"),
            store: try PlatformStore(path: broker.directory.path("platform.sqlite"), flushInterval: .milliseconds(20)))
        try platform.start()
        defer { platform.stop() }
        let apiPort = try platform.startHTTP()
        try waitFor("the platform subscribed", seconds: 30) { platform.isConnected }

        let plan = try helper.plan(count: 2)
        let binding = try MQTTDeviceBinding(devices: helper.bound(plan), configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        try binding.connect()
        await engine.start()
        try waitFor("2 devices known to the platform and subscribed to their commands", seconds: 30) {
            platform.devices.count == 2 && binding.statistics.subscribedDevices == 2
        }
        try await engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "smoke-1")
        try waitFor("the alarm at the platform", seconds: 30) { platform.counters.raised == 1 }

        let client = broker.directory.path("client.py")
        try """
            import json, sys, time, urllib.request, urllib.error
            base = "http://127.0.0.1:%s" % sys.argv[1]
            def call(method, path, body=None):
                data = None if body is None else body.encode()
                request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
                try:
                    response = urllib.request.urlopen(request, timeout=10)
                    return response.status, json.loads(response.read())
                except urllib.error.HTTPError as error:
                    return error.code, json.loads(error.read())
            result = {}
            result["alarms"] = call("GET", "/alarms")
            result["alarms_since"] = call("GET", "/alarms?since=1")
            result["devices"] = call("GET", "/devices")
            result["device"] = call("GET", "/devices/smoke-1")
            result["missing"] = call("GET", "/devices/nobody")
            result["bad"] = call("POST", "/devices/smoke-2/commands", "not json")
            status, sent = call("POST", "/devices/smoke-2/commands", json.dumps({"command": "self-test"}))
            result["sent"] = [status, sent]
            for _ in range(2000):
                status, command = call("GET", "/commands/" + sent["id"])
                if "ack" in command: break
                time.sleep(0.01)
            result["command"] = [status, command]
            print(json.dumps(result))
            """.write(toFile: client, atomically: true, encoding: .utf8)
        let output = broker.directory.path("client.out")
        let process = try ChildProcess(try executablePath("python3"), [client, String(apiPort)], output: output)
        #expect(process.waitForExit(timeout: .seconds(30)))
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: [Any]])
        let alarms = try #require(result["alarms"]?.last as? [[String: Any]])
        #expect(result["alarms"]?.first as? Int == 200 && alarms.count == 1)
        #expect(alarms.first?["event"] as? String == "smoke-alarm" && alarms.first?["msg_id"] as? String != nil)
        #expect((result["alarms_since"]?.last as? [Any])?.isEmpty == true)
        #expect((result["devices"]?.last as? [[String: Any]])?.map { $0["device"] as? String } == ["smoke-1", "smoke-2"])
        let device = try #require(result["device"]?.last as? [String: Any])
        #expect(device["status"] as? String == "online" && device["zone"] as? String != nil)
        #expect((device["values"] as? [String: Any])?["smoke_density"] != nil && device["values_msg_id"] as? String != nil)
        #expect(result["missing"]?.first as? Int == 404)
        #expect(result["bad"]?.first as? Int == 400)
        #expect(result["sent"]?.first as? Int == 202)
        let command = try #require(result["command"]?.last as? [String: Any])
        #expect((command["ack"] as? [String: Any])?["accepted"] as? Bool == true, "the device's acknowledgement closes the command: \(command)")

        try waitFor("the webhook delivery", seconds: 30) { FileManager.default.fileExists(atPath: received) }
        let delivery = try #require(try JSONSerialization.jsonObject(
            with: Data((try String(contentsOfFile: received, encoding: .utf8)).split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(delivery["secret"] as? String == "hook-secret-123")
        #expect((delivery["body"] as? [String: Any])?["event"] as? String == "smoke-alarm")

        // Everything went to SQLite too, in batches.
        let store = try #require(platform.store)
        try waitFor("the command's ack in the database", seconds: 30) {
            store.flush()
            return (try? store.counts()["commands"]) == 1 && store.rowsWritten > 0
        }
        let rows = try store.counts()
        #expect(rows["alarms"] == 1 && (rows["messages"] ?? 0) >= 3 && (rows["status_changes"] ?? 0) >= 2, "\(rows)")
        await engine.stop()
        binding.shutdown()
    }
}
