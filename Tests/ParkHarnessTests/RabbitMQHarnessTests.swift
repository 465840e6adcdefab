import Foundation
import ParkBroker
import ParkHarness
import ParkPlatform
import ParkReport
import Testing

/// The park-core suite through a second broker no one here tuned like the embedded mosquitto:
/// RabbitMQ's MQTT plugin (Debian's `rabbitmq-server`), with the reference platform, the park's
/// devices and the harness's observer all on its MQTT port.
@Suite(.serialized) struct RabbitMQHarnessTests {
    /// park-core's checks that need only MQTT (and the platform's REST API for the command):
    /// latency, delivery, accuracy, command, linkage (platform → sounder commands) and status
    /// (last wills, retained status). Not the meter checks (Modbus / DL/T 645 behind a gateway)
    /// nor auth (the broker's own accounts).
    static let mqttChecks = [
        "smoke-alarm-latency", "emergency-button-latency", "fire-water-low-pressure-latency", "telemetry-delivery",
        "environment-accuracy", "emergency-linkage-sound-light", "platform-command", "offline-detection",
    ]

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: HarnessRuns.packageRoot.appendingPathComponent(path).path, encoding: .utf8)
    }

    /// `yaml` without the top-level `key:` and its indented lines.
    static func withoutSection(_ key: String, of yaml: String) -> String {
        var skipping = false
        return yaml.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.hasPrefix("\(key):") { skipping = true; return false }
            if skipping, line.hasPrefix(" ") { return false }
            skipping = false
            return true
        }.joined(separator: "\n")
    }

    @Test func parkCoreSuitePassesThroughRabbitMQ() async throws {
        try #require(RabbitMQBroker.isInstalled, "RabbitMQ is not installed: run scripts/deps.sh test")
        let broker = try RabbitMQBroker()
        defer { broker.stop() }
        print("RabbitMQ \(broker.nodeName) up on MQTT port \(broker.port) after \(broker.startupTime ?? .zero)")
        // The demo park's meters answer on free Modbus / DL/T 645 ports, as in `parkbench demo`.
        // Without its video: section: this run is about MQTT through RabbitMQ, and the reference
        // platform started here serves no SIP (the video suite has its own end-to-end test).
        let profile = Self.withoutSection("video", of: try Self.text("conformance/platforms/reference.yaml"))
            .replacingOccurrences(of: "127.0.0.1:1502", with: "127.0.0.1:0").replacingOccurrences(of: "127.0.0.1:1645", with: "127.0.0.1:0")
        let report = try await HarnessRuns.runAgainstReference(
            try Self.text("conformance/suites/park-core.yaml"),
            linkage: try LinkageRule.load(file: HarnessRuns.packageRoot.appendingPathComponent("conformance/platform/linkage.yaml").path),
            broker: broker, park: try Self.text("conformance/parks/demo.yaml"), platform: profile, only: Self.mqttChecks)
        #expect(report.checks.map(\.id) == Self.mqttChecks)
        for check in report.checks {
            #expect(check.verdict == .pass, "\(check.id): \(check.summary) \(check.findings)")
        }
        // The checks a broker's own behaviour could fool — retained statuses and last wills,
        // command topics — still see a broken platform through RabbitMQ: no offline detection,
        // dropped linkage and dropped commands each fail the check that watches them; delivery,
        // which none of them touches, still passes. (Every platform switch on every check:
        // VirtualFaultMatrixTests, on virtual time.)
        let brokerSensitive = ["telemetry-delivery", "emergency-linkage-sound-light", "platform-command", "offline-detection"]
        let broken = try await HarnessRuns.runAgainstReference(
            try Self.text("conformance/suites/park-core.yaml"),
            faults: PlatformFaults(offlineDetectionDisabled: true, linkageDropped: true, commandsDropped: true),
            broker: broker, park: try Self.text("conformance/parks/demo.yaml"), platform: profile, only: brokerSensitive)
        #expect(broken.checks.map(\.id) == brokerSensitive)
        #expect(broken.checks.filter { $0.verdict == .pass }.map(\.id) == ["telemetry-delivery"], "\(broken.checks.map { ($0.id, $0.verdict) })")
        #expect(broken.checks.filter { $0.verdict == .fail }.count == brokerSensitive.count - 1)

        // The same node for the comparison with mosquitto (a node takes ~9 s to start).
        try compareWithMosquitto(broker)

        // stop() leaves no Erlang VM and no epmd behind.
        let vm = try #require(broker.vmPID, "the node wrote no pid file")
        broker.stop()
        #expect(kill(vm, 0) != 0, "the Erlang VM \(vm) outlived stop()")
        #expect(!loopbackPortAccepts(broker.port) && !loopbackPortAccepts(broker.epmdPort))
    }

    /// What the two brokers differ in, measured with an independent client (paho) and pinned,
    /// so the README's "Brokers proven" stays true and an upgrade that changes any of it shows.
    /// ParkBench relies on none of the RabbitMQ gaps: every client speaks MQTT 3.1.1 at QoS 1,
    /// the harness and the reference platform are subscribed before the devices connect (so they
    /// see statuses and wills live), and nothing reads `$SYS`.
    /// (Run on the node of ``parkCoreSuitePassesThroughRabbitMQ()``, after its suite.)
    func compareWithMosquitto(_ broker: RabbitMQBroker) throws {
        let rabbit = try Self.probe(broker, stopping: false)
        let mosquitto = try Self.probe(try MosquittoBroker())
        print("mosquitto: \(mosquitto.sorted { $0.key < $1.key })\nRabbitMQ: \(rabbit.sorted { $0.key < $1.key })")
        // Alike: a will is published within milliseconds of a cut connection and retained; a
        // retained message reaches a subscription to its exact topic; QoS 1 messages wait for a
        // persistent session (clean_session false) that is away, and one delivered but never
        // acknowledged is delivered again when the session returns.
        for found in [rabbit, mosquitto] {
            #expect(found["retained_to_exact_topic"] as? Bool == true)
            #expect(found["will_retained"] as? Bool == true)
            #expect((found["will_live_ms"] as? Int).map { $0 < 1_000 } == true, "\(found)")
            #expect(found["qos1_queued_for_persistent_session"] as? Bool == true)
            #expect(found["qos1_unacked_redelivered"] as? Bool == true, "\(found)")
            #expect(found["qos1_redelivery_dup_flag"] as? Bool == true, "\(found)")
        }
        // Different: RabbitMQ 3.10 replays retained messages only to exact-topic subscriptions,
        // grants QoS 1 for QoS 2, has no $SYS tree and refuses MQTT 5.
        #expect(mosquitto["retained_to_wildcard"] as? Bool == true)
        #expect(rabbit["retained_to_wildcard"] as? Bool == false)
        #expect(mosquitto["qos2_granted"] as? Int == 2)
        #expect(rabbit["qos2_granted"] as? Int == 1)
        #expect(mosquitto["sys_topics"] as? Bool == true)
        #expect(rabbit["sys_topics"] as? Bool == false)
        #expect(mosquitto["mqtt5_accepted"] as? Bool == true)
        #expect(rabbit["mqtt5_accepted"] as? Bool == false)
    }

    /// Runs the probe against `broker` (then stops it, unless told not to) and returns what it found.
    static func probe(_ broker: some LoopbackBroker, stopping: Bool = true) throws -> [String: Any] {
        defer { if stopping { broker.stop() } }
        let script = broker.directory.path("differ.py"), out = broker.directory.path("differ.out")
        try Self.probeScript.write(toFile: script, atomically: true, encoding: .utf8)
        let peer = try ChildProcess(try executablePath("python3"), [script, String(broker.port)], output: out)
        let finished = peer.waitForExit(timeout: .seconds(60))
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        try #require(finished && peer.status == 0, "the probe against \(broker.brokerName) failed: \(output)")
        let line = try #require(output.split(separator: "\n").last.map(String.init))
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output)")
    }

    static let probeScript = #"""
# Probes what brokers differ in, as ParkBench's clients meet it; prints one JSON object.
import json, socket, sys, time
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
found = {}
def client(cid, clean=True, protocol=mqtt.MQTTv311):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=clean if protocol != mqtt.MQTTv5 else None, protocol=protocol)
    c.received = []
    c.arrivals = {}
    def on_message(c_, u, m):
        c.received.append((m.topic, m.payload.decode(), m.retain)); c.arrivals.setdefault(m.topic, time.time())
    c.on_message = on_message
    return c
def up(c):
    c.connect("127.0.0.1", port); c.loop_start()
    for _ in range(100):
        if c.is_connected(): return c
        time.sleep(0.02)
    return c
pub = up(client("probe-pub"))
pub.publish("probe/d1/status", "online", qos=1, retain=True).wait_for_publish()
time.sleep(0.3)
wild = up(client("probe-wild")); wild.subscribe("probe/+/status", 1)
exact = up(client("probe-exact")); exact.subscribe("probe/d1/status", 1)
time.sleep(1)
found["retained_to_wildcard"] = len(wild.received) > 0
found["retained_to_exact_topic"] = len(exact.received) > 0
# A last will, retained, published when the connection is cut without DISCONNECT.
w = client("probe-will"); w.will_set("probe/d2/status", "offline", qos=1, retain=True); up(w)
time.sleep(0.3)
cut = time.time(); w.socket().shutdown(socket.SHUT_RDWR); w.loop_stop()
deadline = time.time() + 5
while time.time() < deadline and not any(t == "probe/d2/status" for t, _, _ in wild.received): time.sleep(0.005)
live = [r for r in wild.received if r[0] == "probe/d2/status"]
found["will_live_ms"] = round((wild.arrivals["probe/d2/status"] - cut) * 1000) if live else None
later = up(client("probe-later")); later.subscribe("probe/d2/status", 1); time.sleep(1)
found["will_retained"] = any(p == "offline" and r for _, p, r in later.received)
# QoS 2 subscription, $SYS, MQTT 5.
granted = []
q2 = client("probe-q2"); q2.on_subscribe = lambda c, u, mid, codes, props: granted.extend(int(getattr(x, "value", x)) for x in codes)
up(q2); q2.subscribe([("probe/q2", 2), ("$SYS/#", 0)]); time.sleep(1)
found["qos2_granted"] = granted[0] if granted else None
found["sys_topics"] = any(t.startswith("$SYS") for t, _, _ in q2.received)
v5 = client("probe-v5", protocol=mqtt.MQTTv5); up(v5)
found["mqtt5_accepted"] = v5.is_connected()
# QoS 1 kept for a persistent session (clean_session false) while it is away.
away = up(client("probe-away", clean=False)); away.subscribe("probe/queued", 1); time.sleep(0.5)
away.disconnect(); away.loop_stop(); time.sleep(0.3)
pub.publish("probe/queued", "while-away", qos=1).wait_for_publish(); time.sleep(0.3)
back = up(client("probe-away", clean=False)); time.sleep(1)
found["qos1_queued_for_persistent_session"] = any(p == "while-away" for _, p, _ in back.received)
# A QoS 1 message delivered to a persistent session and never acknowledged: sent again (DUP)
# when the session reconnects? Spoken on a raw socket, since paho acknowledges by itself.
def packet(kind, body):
    n, length = len(body), b""
    while True:
        digit, n = n % 128, n // 128
        length += bytes([digit | (0x80 if n else 0)])
        if not n: return bytes([kind]) + length + body
def text(value):
    value = value.encode(); return len(value).to_bytes(2, "big") + value
def read(sock):
    def byte():
        b = sock.recv(1)
        if not b: raise ConnectionError("closed")
        return b[0]
    header, multiplier, n = byte(), 1, 0
    while True:
        b = byte(); n += (b & 0x7F) * multiplier; multiplier *= 128
        if not b & 0x80: break
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk: raise ConnectionError("closed")
        body += chunk
    return header, body
def raw_session():
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    sock.sendall(packet(0x10, text("MQTT") + bytes([4, 0]) + (60).to_bytes(2, "big") + text("probe-raw")))
    header, body = read(sock)
    assert header == 0x20 and body[1] == 0, (header, body)
    return sock
sock = raw_session()
sock.sendall(packet(0x82, (1).to_bytes(2, "big") + text("probe/redeliver") + bytes([1])))
read(sock)  # SUBACK
pub.publish("probe/redeliver", "unacknowledged", qos=1).wait_for_publish()
header, body = read(sock)  # the PUBLISH, left without PUBACK
sock.close(); time.sleep(0.5)
sock = raw_session()
try:
    header, body = read(sock)
    found["qos1_unacked_redelivered"] = header & 0xF0 == 0x30 and b"unacknowledged" in body
    found["qos1_redelivery_dup_flag"] = bool(header & 0x08)
except (socket.timeout, ConnectionError):
    found["qos1_unacked_redelivered"] = False
    found["qos1_redelivery_dup_flag"] = None
sock.close()
print(json.dumps(found))
"""#
}
