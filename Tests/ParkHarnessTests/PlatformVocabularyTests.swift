import Foundation
import ParkCapture
@testable import ParkHarness
import ParkProfiles
import ParkTestSupport
import Testing

/// A platform with words of its own — `SMOKE` and `PANIC` for the park's alarms, `connected:
/// true|false` for status, its own field names, and a second feed where the device id is only
/// in the topic and alarms and status share one topic — written in Python with paho-mqtt,
/// independent of ParkBench's code: described by a profile alone, it passes when it behaves;
/// the same platform without the vocabulary fails, and a status value nobody mapped is counted.
@Suite(.serialized) struct PlatformVocabularyTests {
    static let platform = """
        import json, sys
        import paho.mqtt.client as mqtt
        port, ready = int(sys.argv[1]), sys.argv[2]
        NAMES = {("smoke-detector", "smoke-alarm"): "SMOKE", ("emergency-button", "alarm"): "PANIC"}
        def on_connect(client, userdata, flags, reason, properties):
            client.subscribe("park/#", qos=1)
        def on_subscribe(client, userdata, mid, reasons, properties):
            open(ready, "w").close()
        def on_message(client, userdata, message):
            try:
                body = json.loads(message.payload)
            except ValueError:
                return
            device = body.get("device")
            if message.topic.endswith("/status") and body.get("status") in ("online", "offline"):
                state = {"dev": device, "connected": body["status"] == "online"}
                client.publish("acme/state", json.dumps(state), qos=1)
                shared = {"kind": "status", "connected": body["status"] == "online"}
                client.publish("acme/devices/%s/events" % device, json.dumps(shared), qos=1)
                if device == "smoke-2":
                    client.publish("acme/state", json.dumps({"dev": device, "connected": "MAYBE"}), qos=1)
            name = NAMES.get((body.get("kind"), body.get("name")))
            if name:
                alarm = {"dev": device, "type": name, "ref": body.get("msg_id")}
                client.publish("acme/alarms", json.dumps(alarm), qos=1)
                shared = {"kind": "alarm", "type": name, "ref": body.get("msg_id")}
                client.publish("acme/devices/%s/events" % device, json.dumps(shared), qos=1)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect("127.0.0.1", port)
        client.loop_forever()
        """

    static func profile(vocabulary: String) -> String {
        """
        platform: acme
        broker: {url: "mqtt://127.0.0.1:1883"}
        observe:
          mqtt:
            - {topic: acme/alarms, as: alarm, fields: {device: $.dev, event: $.type, msg_id: $.ref}}
            - {topic: acme/state, as: status, fields: {device: $.dev, status: $.connected}}
        \(vocabulary)
        """
    }

    static let vocabulary = """
        vocabulary:
          events: {smoke-alarm: SMOKE}
          events_by_kind:
            emergency-button: {alarm: PANIC}
          status:
            online: [true]
            offline: [false]
        """

    static let suite = """
        suite: acme
        checks:
          - id: smoke-latency
            title: smoke alarm within 2 s
            type: latency
            source: 004_5e9061d643d5fb41.txt L2714
            devices: {kind: smoke-detector}
            stimulus: {stimulus: smoke, arguments: {density: 0.45}}
            observe: {event: smoke-alarm}
            after: [{stimulus: smoke-clear}]
            timeout: 2500ms
            expect: ["latency.p99 < 2s", "missing == 0"]
          - id: panic-latency
            title: panic alarm within 2 s
            type: latency
            source: 004_5e9061d643d5fb41.txt L2714
            devices: {kind: emergency-button}
            stimulus: {stimulus: press}
            observe: {event: alarm}
            after: [{command: reset}]
            timeout: 2500ms
            expect: ["latency.p99 < 2s", "missing == 0"]
          - id: offline
            title: offline and back
            type: status
            source: 004_5e9061d643d5fb41.txt L725
            devices: {ids: [smoke-2]}
            timeout: 2500ms
            expect: ["offline_within 2s", "online_within 2s"]
        """

    func startPlatform(on broker: MosquittoBroker) async throws -> ChildProcess {
        let script = broker.directory.path("acme_platform.py")
        try Self.platform.write(toFile: script, atomically: true, encoding: .utf8)
        let ready = broker.directory.path("acme-ready")
        let process = try ChildProcess(try executablePath("python3"), [script, String(broker.port), ready], output: broker.directory.path("acme.log"))
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: ready), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(FileManager.default.fileExists(atPath: ready), "the acme platform did not subscribe")
        return process
    }

    @Test func aPlatformWithItsOwnWordsPassesWhenItsProfileSaysThem() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let platform = try await startPlatform(on: broker)
        defer { platform.stop(grace: .seconds(1)) }
        let capture = try PacketCapture(filter: "tcp port \(broker.port)", file: broker.directory.path("run.pcap"))
        capture.start()
        let profile = Self.profile(vocabulary: Self.vocabulary)
        let report = try await HarnessRuns.run(Self.suite, broker: broker, platform: profile)
        capture.stop()
        for check in report.checks {
            #expect(check.verdict == .pass, "\(check.id): \(check.summary) \(check.findings)")
        }
        let smoke = try #require(report.checks.first { $0.id == "smoke-latency" })
        #expect(smoke.latency?.samples.count == 4)
        #expect(smoke.latency?.samples.allSatisfy { $0.matchedBy == "msg_id" } == true, "msg_id correlation keeps working")
        #expect(report.notes.contains { $0.contains("status value 'MAYBE' at $.connected matched nothing in vocabulary.status") },
                "\(report.notes)")
        // The wire check reads the platform's id where its profile says ($.ref), not a fixed msg_id.
        let evidence = try #require(smoke.latency)
        let pairs = WireTiming.pairs(
            evidence, packets: capture.mqttPackets, brokerPort: broker.port, streams: try PlatformProfile.parse(profile, file: "p.yaml").mqtt)
        #expect(pairs.count == evidence.samples.count, "every sample re-timed from the capture")
    }

    /// Ids only in the topic (`acme/devices/{device}/events`) and one topic for two streams,
    /// told apart by `when:`.
    @Test func idsFromTheTopicAndStreamsSharingATopic() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let platform = try await startPlatform(on: broker)
        defer { platform.stop(grace: .seconds(1)) }
        let profile = """
            platform: acme-shared
            broker: {url: "mqtt://127.0.0.1:1883"}
            observe:
              mqtt:
                - {topic: "acme/devices/{device}/events", as: alarm, when: {$.kind: alarm}, fields: {event: $.type, msg_id: $.ref}}
                - {topic: "acme/devices/{device}/events", as: status, when: {$.kind: status}, fields: {status: $.connected}}
            \(Self.vocabulary)
            """
        let report = try await HarnessRuns.run(Self.suite, broker: broker, platform: profile)
        for check in report.checks {
            #expect(check.verdict == .pass, "\(check.id): \(check.summary) \(check.findings)")
        }
        let smoke = try #require(report.checks.first { $0.id == "smoke-latency" })
        #expect(smoke.latency?.samples.allSatisfy { $0.matchedBy == "msg_id" } == true)
    }

    @Test func theSamePlatformWithoutTheVocabularyFailsSayingWhatItWaitedFor() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let platform = try await startPlatform(on: broker)
        defer { platform.stop(grace: .seconds(1)) }
        let report = try await HarnessRuns.run(Self.suite, broker: broker, platform: Self.profile(vocabulary: ""))
        let verdicts = Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0.verdict) })
        #expect(verdicts == ["smoke-latency": .fail, "panic-latency": .fail, "offline": .fail])
        let smoke = try #require(report.checks.first { $0.id == "smoke-latency" })
        #expect(smoke.findings.contains { $0.contains("no smoke-alarm at the platform") }, "\(smoke.findings)")
    }
}

/// `vocabulary:`, topic captures and `when:` are read strictly: statuses are
/// online/offline/abnormal, a value means one of them, names are not empty, and two streams
/// that could read the same message must say which is whose.
@Suite struct PlatformVocabularyParsingTests {
    @Test func topicLevelsGiveFieldsAndOverlappingStreamsNeedConditions() throws {
        let profile = try PlatformProfile.parse(PlatformVocabularyTests.profile(vocabulary: """
            vocabulary: {}
            """).replacingOccurrences(of: "acme/state, as: status, fields: {device: $.dev, status: $.connected}",
                                      with: "\"acme/{device}/{status}\", as: status, fields: {}"), file: "p.yaml")
        let stream = try #require(profile.mqtt.last)
        #expect(stream.topic == "acme/+/+")
        let seen = Observation.mapped([String: Any](), fields: stream.fields, kind: .status, source: "t", arrived: 1, topic: "acme/smoke-1/Online")
        #expect(try seen.get().device == "smoke-1" && (try seen.get().status) == "online")

        #expect(MQTTTopicFilter.overlaps("a/+/c", "a/b/c") && MQTTTopicFilter.overlaps("a/b/#", "a/+/c/d"))
        #expect(!MQTTTopicFilter.overlaps("a/+/c", "a/b/d") && !MQTTTopicFilter.overlaps("a/b", "a/b/c"))

        let shared = """
            platform: p
            broker: {url: "mqtt://127.0.0.1:1883"}
            observe:
              mqtt:
                - {topic: "acme/+/events", as: alarm, fields: {device: $.dev, event: $.type}}
                - {topic: "acme/{device}/events", as: status, fields: {status: $.connected}}
                - {topic: "acme/{device}/{colour}", as: status, fields: {status: $.s}}
            """
        #expect {
            try PlatformProfile.parse(shared, file: "p.yaml")
        } throws: { error in
            let message = "\(error)"
            return message.contains("observe.mqtt[0] and observe.mqtt[1] read the same messages")
                && message.contains("'{colour}' in topic 'acme/{device}/{colour}': a topic level can give device, event, msg_id, seq, status")
        }
    }

    @Test func readsNamesPerKindAndStatusValues() throws {
        let profile = try PlatformProfile.parse(PlatformVocabularyTests.profile(vocabulary: PlatformVocabularyTests.vocabulary), file: "p.yaml")
        let vocabulary = profile.vocabulary
        #expect(vocabulary.platformEvent(for: "smoke-alarm", kind: "smoke-detector") == "SMOKE")
        #expect(vocabulary.platformEvent(for: "alarm", kind: "emergency-button") == "PANIC")
        #expect(vocabulary.platformEvent(for: "alarm", kind: "water-leak") == "alarm", "unnamed events keep the park's name")
        #expect(vocabulary.parkStatus(for: "true") == "online" && vocabulary.parkStatus(for: "1") == "online")
        #expect(vocabulary.parkStatus(for: "0") == "offline" && vocabulary.parkStatus(for: "UNKNOWN") == nil)
        #expect(profile.mqtt.allSatisfy { $0.fields.vocabulary == vocabulary }, "every stream reads through it")
        #expect(PlatformVocabulary().parkStatus(for: "Offline") == "offline", "without status: values are read as they are")
    }

    @Test func refusesUnknownStatusesAValueWithTwoMeaningsAndEmptyNames() {
        let text = PlatformVocabularyTests.profile(vocabulary: """
            vocabulary:
              events: {smoke-alarm: ""}
              status:
                online: [ONLINE, 1]
                offline: [OFFLINE, true]
                sleeping: [ZZZ]
              colours: {}
            """)
        #expect {
            try PlatformProfile.parse(text, file: "p.yaml")
        } throws: { error in
            let message = "\(error)"
            return message.contains("vocabulary.events.smoke-alarm: the platform's name for 'smoke-alarm' is empty")
                && message.contains("vocabulary.status.offline[1]: 'true' already means online")
                && message.contains("unknown key 'sleeping'")
                && message.contains("unknown key 'colours'")
        }
    }
}
