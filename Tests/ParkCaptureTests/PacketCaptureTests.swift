import Foundation
import ParkCapture
import ParkTestSupport
import Testing

/// A live capture on loopback while an independent paho-mqtt client publishes through
/// mosquitto; tshark then reads the file and the slice.
@Suite(.serialized) struct PacketCaptureTests {
    static let publisher = """
        import sys, time
        import paho.mqtt.client as mqtt
        port = int(sys.argv[1])
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-capture")
        client.connect("127.0.0.1", port)
        client.loop_start()
        for n in range(20):
            client.publish("capture/test/%d" % n, ("m%02d:" % n) + "x" * (n * 500), qos=1).wait_for_publish(10)
        for n in range(20, 30):
            client.publish("capture/test/%d" % n, "burst-%d" % n, qos=0)
        time.sleep(0.3)
        client.disconnect()
        client.loop_stop()
        """

    @Test func capturesDecodesAndWritesFilesTsharkReads() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let file = broker.directory.path("run.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "tcp port \(broker.port)", file: file) } catch {
            Issue.record("packet capture is needed by the harness's --capture and must work here: \(error)")
            return
        }
        capture.start()
        let script = broker.directory.path("publisher.py")
        try Self.publisher.write(toFile: script, atomically: true, encoding: .utf8)
        let started = Int64(Date().timeIntervalSince1970 * 1e9)
        let publisher = try ChildProcess(try executablePath("python3"), [script, String(broker.port)], output: broker.directory.path("pub.log"))
        #expect(publisher.waitForExit(timeout: .seconds(30)))
        // The kernel hands the last frames over within the capture's 10 ms buffer timeout.
        let deadline = Date().addingTimeInterval(5)
        while capture.summary.mqttPackets < 34, Date() < deadline { usleep(20_000) }
        let summary = capture.stop()

        let publishes = capture.mqttPackets.compactMap { packet -> (String, [UInt8], Int64)? in
            guard case .publish(let topic, let payload, _, _, _) = packet.content, Int(packet.flow.destinationPort) == broker.port else { return nil }
            return (topic, payload, packet.timestampNanoseconds)
        }
        #expect(publishes.map(\.0) == (0..<30).map { "capture/test/\($0)" }, "every PUBLISH, in order")
        #expect(publishes.first.map { String(decoding: $0.1.prefix(4), as: UTF8.self) } == "m00:")
        #expect(publishes[19].1.count == 4 + 19 * 500, "a PUBLISH spanning segments arrives whole")
        #expect(zip(publishes, publishes.dropFirst()).allSatisfy { $0.2 <= $1.2 }, "timestamps never go backwards")
        #expect(publishes.allSatisfy { $0.2 >= started - 1_000_000_000 }, "wall-clock capture times")
        #expect(capture.mqttPackets.contains { $0.content == .connect(clientID: "paho-capture", username: nil, protocolLevel: 4) })
        #expect(summary.malformedMQTT == 0)

        // tshark, an independent dissector, reads the same file: same PUBLISH count, nothing malformed.
        let dissected = try tshark(["-r", file, "-d", "tcp.port==\(broker.port),mqtt", "-Y", "mqtt.msgtype == 3", "-T", "fields", "-e", "mqtt.topic"])
        let tsharkTopics = dissected.split(separator: "\n").flatMap { $0.split(separator: ",") }.map(String.init)
        #expect(tsharkTopics.filter { $0.hasPrefix("capture/test/") }.count == 30, "tshark sees the 30 PUBLISHes: \(tsharkTopics)")
        #expect(try tshark(["-r", file, "-d", "tcp.port==\(broker.port),mqtt", "-Y", "_ws.malformed"]).isEmpty)

        // A slice around the middle of the run holds only the packets of that window.
        let middle = publishes[10].2
        let slice = broker.directory.path("slice.pcap")
        let written = try PcapSlice.write(from: file, to: slice, start: middle, end: publishes[12].2)
        #expect(written >= 3 && written < summary.packetsCaptured)
        let sliced = try tshark(["-r", slice, "-d", "tcp.port==\(broker.port),mqtt", "-Y", "mqtt.msgtype == 3", "-T", "fields", "-e", "mqtt.topic"])
        #expect(sliced.contains("capture/test/11") && !sliced.contains("capture/test/2\n"))
        #expect(try tshark(["-r", slice, "-d", "tcp.port==\(broker.port),mqtt", "-Y", "_ws.malformed"]).isEmpty)
    }

    @Test func clearErrorsForBadInterfaceAndFilter() {
        #expect { try PacketCapture(interface: "no-such-if0", filter: "tcp", file: "/tmp/x.pcap") } throws: {
            "\($0)".contains("no-such-if0")
        }
        #expect { try PacketCapture(interface: "lo", filter: "tcp port banana", file: "/tmp/x.pcap") } throws: {
            "\($0)".contains("capture filter 'tcp port banana' is not valid")
        }
        #expect { try PcapSlice.write(from: "/nonexistent.pcap", to: "/tmp/y.pcap", start: 0, end: 1) } throws: {
            "\($0)".hasPrefix("cannot read the capture /nonexistent.pcap")
        }
    }
}
