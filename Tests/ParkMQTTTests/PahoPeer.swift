import Foundation
import ParkTestSupport

/// paho-mqtt (Python), an MQTT client nobody here wrote, run as a separate process so the pool is
/// checked against an independent implementation rather than against itself.
///
/// Each script prints one JSON object per line to its output file; the test polls that file.
enum PahoPeer {
    /// Subscribes to a filter, prints `{"event":"subscribed"}` after SUBACK, then one line per
    /// message (payload as hex), and exits after `count` messages or `timeout` seconds.
    static let subscriber = """
        import json, sys, time
        import paho.mqtt.client as mqtt

        host, port, topic, count, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        received = 0

        def out(obj):
            print(json.dumps(obj), flush=True)

        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe(topic, qos=2)

        def on_subscribe(client, userdata, mid, reason_code_list, properties):
            out({"event": "subscribed"})

        def on_message(client, userdata, msg):
            global received
            received += 1
            out({"event": "message", "topic": msg.topic, "payload": msg.payload.hex(), "qos": msg.qos, "retain": bool(msg.retain)})

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-subscriber")
        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect(host, port, keepalive=30)
        deadline = time.monotonic() + timeout
        while received < count and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        client.disconnect()
        out({"event": "done", "received": received})
        sys.exit(0 if received >= count else 3)
        """

    /// Publishes `count` QoS 1 messages (topic `<prefix>/<i>`, payload `expectedPayload(i)`), waits
    /// until each is acknowledged, prints `{"event":"published"}` and exits.
    static let publisher = """
        import json, sys, time
        import paho.mqtt.client as mqtt

        host, port, prefix, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

        def payload(i):
            return bytes([i % 256, 0, 255]) + ("paho-%d-ü" % i).encode("utf-8")

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-publisher")
        client.connect(host, port, keepalive=30)
        client.loop_start()
        infos = [client.publish("%s/%d" % (prefix, i), payload(i), qos=1) for i in range(count)]
        for info in infos:
            info.wait_for_publish(timeout=10)
        client.disconnect()
        client.loop_stop()
        print(json.dumps({"event": "published", "count": sum(1 for i in infos if i.is_published())}), flush=True)
        """

    /// What the publisher script sends as message `i`.
    static func expectedPayload(_ i: Int) -> [UInt8] {
        [UInt8(i % 256), 0, 255] + Array("paho-\(i)-ü".utf8)
    }

    static func run(script: String, arguments: [String], in directory: TemporaryDirectory, name: String) throws
        -> (process: ChildProcess, output: String)
    {
        let scriptPath = directory.path("\(name).py")
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let output = directory.path("\(name).jsonl")
        let process = try ChildProcess(try executablePath("python3"), [scriptPath] + arguments, output: output)
        return (process, output)
    }

    /// The JSON objects printed so far (a partly written last line is skipped).
    static func lines(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}

extension [UInt8] {
    init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self = bytes
    }
}
