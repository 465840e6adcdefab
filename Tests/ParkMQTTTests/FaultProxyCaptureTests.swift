import Foundation
import ParkCapture
import ParkFaults
import ParkMQTT
import ParkTestSupport
import Testing

extension MQTTClientPoolTests {
    /// tshark, a dissector nobody here wrote, reads a capture of a recovery through the fault
    /// proxy: the reset is on the wire as RST segments, the device connects again (a second MQTT
    /// CONNECT) after the last of them, and every message is published in the order it was sent,
    /// the ones held while the link was down after the reconnect — nothing malformed.
    @Test func tsharkSeesTheResetTheReconnectAndTheReplayInOrder() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let proxy = try FaultProxy(.init(upstreamHost: broker.address, upstreamPort: broker.port, namer: { bytes in
            switch MQTTConnectPeek.clientID(in: bytes) {
            case .needMore: .needMore
            case .clientID(let id): .named(id)
            case .notConnect: .anonymous
            }
        }))
        defer { proxy.stop() }
        let file = broker.directory.path("recovery.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "tcp port \(proxy.port)", file: file) } catch {
            Issue.record("packet capture must work here (root or CAP_NET_RAW): \(error)")
            return
        }
        capture.start()

        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }
        let device = try pool.addClient(.init(
            clientID: "gateway-9", port: proxy.port, reconnect: MQTTReconnectPolicy(base: .milliseconds(100), cap: .milliseconds(300))))
        try await waitUntil("the device connected through the proxy") { recorder.read { $0.connects[device] ?? 0 } == 1 }
        let count = 20
        for i in 0 ..< count {
            if i == 10 { proxy.set(.reset, names: ["gateway-9"]) }
            try pool.publish(device, topic: "recovery/gateway-9", payload: Array(String(format: "m%02d", i).utf8), qos: .atLeastOnce, tag: UInt64(i))
            try await Task.sleep(for: .milliseconds(30))
        }
        proxy.heal()
        try await waitUntil("every message acknowledged", timeout: .seconds(15)) { recorder.acknowledgedCount() == count }
        let deadline = Date().addingTimeInterval(2)
        while capture.summary.mqttPackets < 2 * count, Date() < deadline { usleep(20_000) }
        _ = capture.stop()

        let decode = ["-r", file, "-d", "tcp.port==\(proxy.port),mqtt"]
        let resets = try tshark(decode + ["-Y", "tcp.flags.reset == 1", "-T", "fields", "-e", "frame.time_epoch"])
            .split(separator: "\n").compactMap { Double($0) }
        #expect(!resets.isEmpty, "the reset is on the wire")
        let connects = try tshark(decode + ["-Y", "mqtt.msgtype == 1", "-T", "fields", "-e", "frame.time_epoch", "-e", "mqtt.clientid"])
            .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(connects.count >= 2 && connects.allSatisfy { $0.last == "gateway-9" }, "\(connects)")
        let lastReset = resets.max() ?? 0
        #expect(connects.contains { (Double($0.first ?? "") ?? 0) > lastReset }, "a CONNECT after the last RST: \(connects), RSTs \(resets)")

        // Every PUBLISH the device sent, in capture order (a resend after the reconnect may repeat one).
        let published = try tshark(decode + ["-Y", "mqtt.msgtype == 3 && tcp.dstport == \(proxy.port)", "-T", "fields", "-e", "frame.time_epoch", "-e", "mqtt.msg"])
            .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        func text(_ field: String) -> String {
            // tshark prints the payload as hex (with or without colons), or as text on some versions.
            let hex = field.replacingOccurrences(of: ":", with: "")
            if hex.count % 2 == 0, let bytes = [UInt8](hex: hex), !bytes.isEmpty { return String(decoding: bytes, as: UTF8.self) }
            return field
        }
        var firstSeen: [(message: String, at: Double)] = []
        for line in published where line.count == 2 {
            // Several PUBLISHes in one segment (the replay after the reconnect) come comma-separated.
            for field in line[1].split(separator: ",") {
                let message = text(String(field))
                if !firstSeen.contains(where: { $0.message == message }) { firstSeen.append((message, Double(line[0]) ?? 0)) }
            }
        }
        #expect(firstSeen.map(\.message) == (0 ..< count).map { String(format: "m%02d", $0) }, "published in the order sent: \(firstSeen.map(\.message))")
        // Sent while the link was reset: they reach the wire only on the new connection.
        let held = firstSeen.filter { $0.message >= "m11" }
        #expect(!held.isEmpty && held.allSatisfy { $0.at > lastReset }, "held messages after the last RST (\(lastReset)): \(held)")
        #expect(try tshark(decode + ["-Y", "_ws.malformed"]).isEmpty, "nothing malformed")
    }
}

extension MQTTClientPoolTests {
    /// A child process gets stdin, stdout and stderr and nothing else of ours: a socket it kept
    /// would outlive our close of it (the peer never sees the connection end, and its epoll
    /// registration keeps firing under a number that by now means another socket).
    @Test func childProcessesInheritNoDescriptors() throws {
        let directory = try TemporaryDirectory()
        let leaky = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // no close-on-exec, on purpose
        defer { close(leaky) }
        let listing = directory.path("fds.txt")
        let child = try ChildProcess("/bin/sh", ["-c", "ls /proc/$$/fd"], output: listing)
        #expect(child.waitForExit(timeout: .seconds(10)))
        let descriptors = try String(contentsOfFile: listing, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(!descriptors.contains(Int(leaky)), "our socket \(leaky) went to the child: \(descriptors)")
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "0, 1, 2 and at most the shell's own: \(descriptors)")
    }
}
