import Foundation
import ParkBindings
import ParkCapture
import ParkCore
import ParkDevices
@testable import ParkHarness
import ParkMQTT
import ParkPlatform
import ParkReport
import ParkTestSupport
import Testing

/// Runs suites for real: virtual devices → mosquitto → a platform → northbound → verdicts.
enum HarnessRuns {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A small park: four smoke detectors and a panic button in zone A, two air-quality stations.
    static let park = """
        park: harness-test
        seed: 7
        zones: [{id: A, floors: 1}, {id: B, floors: 1}]
        populations:
          - {model: acme-sl1, zone: A, floor: 1, count: 1, id: "sounder-A{n}", parameters: {heartbeat_interval: 1m}}
          - {model: acme-sl1, zone: B, floor: 1, count: 1, id: "sounder-B{n}", parameters: {heartbeat_interval: 1m}}
          - {model: acme-sd100, zone: A, floor: 1, count: 4, id: "smoke-{n}", parameters: {heartbeat_interval: 1m, report_interval: 1s}}
          - {model: acme-pb10, zone: A, floor: 1, count: 1, id: "panic-{n}", parameters: {heartbeat_interval: 1m}}
          - {model: skyline-ems7, zone: A, floor: 1, count: 2, id: "env-{n}", parameters: {report_interval: 1s, heartbeat_interval: 1m}}
        """

    static func kinds() throws -> (DeviceKindRegistry, ModelCatalog) {
        var registry = DeviceKindRegistry()
        for kind in BuiltInKinds.all { try registry.register(kind) }
        // The plugin kinds (the demo park's plate cameras and barriers) as `parkbench` finds them:
        // SwiftPM builds the libraries next to the test binary.
        let plugins = PluginLoader.discover()
        if let failure = plugins.failures.first { throw failure }
        for kind in plugins.kinds { try registry.register(kind) }
        let catalog = try ModelCatalog.load(directory: packageRoot.appendingPathComponent("devices").path, kinds: registry)
        return (registry, catalog)
    }

    static func profile(port: Int) throws -> PlatformProfile {
        var profile = try PlatformProfile.load(file: packageRoot.appendingPathComponent("conformance/platforms/reference.yaml").path)
        profile.broker.port = port
        return profile
    }

    /// Runs `suite` (YAML text) against whatever platform listens on `broker` (mosquitto, RabbitMQ,
    /// …), described by `platform` (a profile's text; the reference profile when nil), its REST
    /// API on `apiPort`; `only` picks checks by id.
    static func run(
        _ suiteText: String, broker: any LoopbackBroker, park parkText: String = park, apiPort: Int? = nil, platform: String? = nil,
        only: [String] = [], platformFaults: PlatformProcessFaults? = nil, brokerFaults: BrokerProcessFaults? = nil
    ) async throws -> RunReport {
        let (registry, catalog) = try kinds()
        let suite = try Suite.parse(suiteText, file: "suite.yaml")
        let park = try ParkFile.parse(parkText, file: "park.yaml", catalog: catalog, kinds: registry)
        var profile = try platform.map { try PlatformProfile.parse($0, file: "platform.yaml") } ?? profile(port: broker.port)
        profile.broker.port = broker.port
        if let apiPort { profile.commands?.url = "http://127.0.0.1:\(apiPort)/devices/{device}/commands" }
        var configuration = HarnessRunner.Configuration(
            suite: suite, profile: profile, park: park, parkFile: "park.yaml",
            plan: try park.plan(kinds: registry), kinds: registry, seed: park.seed, parkbenchVersion: "test", only: only,
            settle: .milliseconds(500))
        // As the CLI does: the reference profile's `meters:` reads the models' register maps.
        configuration.catalog = catalog
        configuration.platformFaults = platformFaults
        configuration.brokerFaults = brokerFaults
        return try await HarnessRunner(configuration: configuration).run()
    }

    /// Runs `suite` against the reference platform with `faults` on, both connected to `broker`
    /// (a fresh mosquitto when nil); `only` picks checks by id.
    static func runAgainstReference(
        _ suiteText: String, faults: PlatformFaults = PlatformFaults(), linkage: [LinkageRule] = [],
        broker given: (any LoopbackBroker)? = nil, park parkText: String = park, platform profileText: String? = nil,
        only: [String] = []
    ) async throws -> RunReport {
        let broker: any LoopbackBroker = try given ?? MosquittoBroker()
        defer { if given == nil { broker.stop() } }
        let (registry, _) = try kinds()
        let alarmEvents = Set(registry.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port), configuration: PlatformConfiguration(alarmEvents: alarmEvents, linkageRules: linkage),
            faults: faults)
        try platform.start()
        defer { platform.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !platform.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(platform.isConnected, "the reference platform did not subscribe to \(broker.brokerName)")
        return try await run(suiteText, broker: broker, park: parkText, apiPort: try platform.startHTTP(), platform: profileText, only: only)
    }

    static let smokeLatency = """
        suite: t
        checks:
          - id: smoke-latency
            title: smoke alarm within 2 s
            type: latency
            source: 004_5e9061d643d5fb41.txt L2714
            devices: {kind: smoke-detector}
            stimulus: {stimulus: smoke, arguments: {density: 0.45}}
            observe: {event: smoke-alarm}
            after: [{stimulus: smoke-clear}]
            timeout: 4s
            expect: ["latency.p99 < 2s", "missing == 0"]
        """

    static let offline = """
        suite: t
        checks:
          - id: offline
            title: offline and back
            type: status
            source: 004_5e9061d643d5fb41.txt L725
            devices: {ids: [smoke-2]}
            timeout: 4s
            expect: ["offline_within 2s", "online_within 2s"]
        """
}

extension HarnessRuns {
    static let deliveryAndAccuracy = """
        suite: t
        checks:
          - id: delivery
            title: telemetry arrives once, in order
            type: delivery
            source: 004_5e9061d643d5fb41.txt L725
            devices: {kind: environment-sensor}
            duration: 4s
            timeout: 2s
            expect: ["loss == 0", "duplicates == 0", "reordered == 0"]
          - id: accuracy
            title: particulates within 10 %
            type: accuracy
            source: 004_5e9061d643d5fb41.txt L3910
            devices: {kind: environment-sensor}
            points: [pm25, pm10]
            duration: 3s
            expect: ["abs_error <= 10%", "samples >= 4"]
        """
}

extension HarnessRuns {
    static let linkage = """
        suite: t
        checks:
          - id: panic-sounds-zone
            title: panic → the zone's sounder
            type: linkage
            source: 004_5e9061d643d5fb41.txt L2892
            trigger: {device: panic-1, stimulus: press}
            command: sound
            targets: {kind: sounder, zone: A}
            untouched: {kind: sounder}
            after: [{device: panic-1, command: reset}]
            timeout: 2s
            expect: ["latency.max < 2s", "missing == 0", "unexpected == 0"]
        """

    static let panicRule = LinkageRule(
        id: "panic", event: "alarm", kind: "emergency-button", command: "sound", arguments: ["duration": "30s"], targetKind: "sounder")
}

@Suite(.serialized) struct HarnessRunTests {
    /// The command check through the reference platform's REST API. (With commands-dropped it
    /// fails: `VirtualCheckFaultTests`.)
    @Test func commandCheckThroughTheReferencePlatform() async throws {
        let suite = CommandCheckTests.suite
        let good = try await HarnessRuns.runAgainstReference(suite)
        let check = try #require(good.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        #expect(check.latency?.samples.allSatisfy { $0.messageID?.hasPrefix("api-") == true } == true)
    }

    /// The linkage check sees the command land at the zone's sounder (and nowhere else). (Dropped
    /// and overbroad rules fail it: `VirtualCheckFaultTests`.)
    @Test func linkageCheckPasses() async throws {
        let good = try await HarnessRuns.runAgainstReference(HarnessRuns.linkage, linkage: [HarnessRuns.panicRule])
        let check = try #require(good.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        #expect(check.latency?.samples.map(\.device) == ["sounder-A1"])
        #expect(check.latency?.samples.first?.messageID?.hasPrefix("lk-panic-") == true, "the platform's command id reached the device")
    }

    /// Delivery and accuracy pass against a correct platform. (Wrong scaling and a crash fail
    /// them: `VirtualCheckFaultTests`.)
    @Test func deliveryAndAccuracyPass() async throws {
        let good = try await HarnessRuns.runAgainstReference(HarnessRuns.deliveryAndAccuracy)
        #expect(good.checks.map(\.verdict) == [.pass, .pass], "\(good.checks.map(\.summary))")
        let delivery = try #require(good.checks.first)
        #expect((delivery.metrics["sent"]?.value ?? 0) >= 6, "two stations, 1 s reports, 4 s window")
        #expect(delivery.metrics["received"]?.value == delivery.metrics["sent"]?.value)
    }

    /// The latency check passes against a correct platform, matching by msg_id. (It fails for
    /// held or swallowed alarms: `VirtualCheckFaultTests`; held ones end to end: `CLITests`.)
    @Test func latencyCheckPassesMatchingByMessageID() async throws {
        let good = try await HarnessRuns.runAgainstReference(HarnessRuns.smokeLatency)
        let check = try #require(good.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        let samples = try #require(check.latency?.samples)
        #expect(samples.count == 4)
        #expect(samples.allSatisfy { $0.matchedBy == "msg_id" && $0.latencyMilliseconds > 0 && $0.latencyMilliseconds < 2000 })
        #expect(good.verdict == .pass)
    }

    /// `repeat:` runs rounds until the percentile rests on enough samples, each a stimulus of
    /// its own (its own msg_id); the verdict says how many samples the p99 rests on and warns
    /// while that is too few to be more than the maximum.
    @Test func latencyRepeatsItsRoundsAndSaysWhatItsPercentileRestsOn() async throws {
        let suite = HarnessRuns.smokeLatency.replacingOccurrences(of: "    timeout: 4s\n", with: "    timeout: 4s\n    repeat: 3\n    spacing: 200ms\n")
        #expect(suite != HarnessRuns.smokeLatency)
        let report = try await HarnessRuns.runAgainstReference(suite)
        let check = try #require(report.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        let samples = try #require(check.latency?.samples)
        #expect(samples.count == 12 && check.metrics["rounds"]?.value == 3)
        #expect(Set(samples.compactMap(\.messageID)).count == 12 && samples.allSatisfy { $0.matchedBy == "msg_id" }, "one alarm per device per round")
        #expect(check.summary.contains("latency.p99") && check.summary.contains(" over 12 samples"), "\(check.summary)")
        #expect(check.findings.contains { $0.contains("latency.p99 is judged on 12 samples: below 100 it is the maximum") }, "\(check.findings)")
    }

    /// The rule behind the warning: a pNN needs 1/(1−q) samples before it differs from the maximum.
    @Test func percentilesSayHowManySamplesTheyNeed() throws {
        let suite = try Suite.parse(HarnessRuns.smokeLatency.replacingOccurrences(
            of: #"expect: ["latency.p99 < 2s", "missing == 0"]"#, with: #"expect: ["latency.p99 < 2s", "latency.p50 < 1s", "missing == 0"]"#), file: "s.yaml")
        let common = try #require(suite.checks.first?.common)
        let few = HarnessRunner.percentileSampleNotes(common, CheckMeasurement(metrics: ["samples": .count(4)]))
        #expect(few.counts == ["latency.p99": " over 4 samples", "latency.p50": " over 4 samples"])
        #expect(few.warnings.count == 1 && few.warnings[0].hasPrefix("latency.p99 is judged on 4 samples: below 100"))
        #expect(HarnessRunner.percentileSampleNotes(common, CheckMeasurement(metrics: ["samples": .count(100)])).warnings.isEmpty)
    }

    /// The status check sees a device leave and come back. (A blind platform fails it:
    /// `VirtualCheckFaultTests`.)
    @Test func statusCheckPasses() async throws {
        let good = try await HarnessRuns.runAgainstReference(HarnessRuns.offline)
        let check = try #require(good.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        #expect(check.latency?.samples.map(\.label) == ["disconnect → offline", "reconnect → online"])
    }

    /// A platform that does not echo msg_id, says everything twice and mixes in garbage (an
    /// independent paho-mqtt script): the check still times each alarm, says how it matched, and
    /// reports the ambiguity and the garbage instead of hiding them.
    @Test func windowMatchingReportsAmbiguityAndGarbage() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let script = broker.directory.path("sloppy_platform.py")
        try """
            import json, sys
            import paho.mqtt.client as mqtt
            port, ready = int(sys.argv[1]), sys.argv[2]
            def on_connect(client, userdata, flags, reason, properties):
                client.subscribe("park/#", qos=1)
            def on_subscribe(client, userdata, mid, reasons, properties):
                client.publish("platform/alarms", "<html>502 Bad Gateway</html>", qos=1)
                open(ready, "w").close()
            def on_message(client, userdata, message):
                try:
                    event = json.loads(message.payload)
                except ValueError:
                    return
                if event.get("name") == "smoke-alarm":
                    alarm = json.dumps({"device": event["device"], "event": "smoke-alarm"})
                    client.publish("platform/alarms", alarm, qos=1)
                    client.publish("platform/alarms", alarm, qos=1)
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
            client.connect("127.0.0.1", port)
            client.loop_forever()
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let ready = broker.directory.path("ready")
        let platform = try ChildProcess(try executablePath("python3"), [script, String(broker.port), ready], output: broker.directory.path("sloppy.log"))
        defer { platform.stop(grace: .seconds(1)) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: ready), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }

        let report = try await HarnessRuns.run(HarnessRuns.smokeLatency, broker: broker)
        let check = try #require(report.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        #expect(check.latency?.samples.allSatisfy { $0.matchedBy == "window" } == true)
        #expect(check.metrics["ambiguous"]?.value == 4)
        #expect(check.findings.contains { $0.contains("smoke-1: 2 smoke-alarm observations within the window; took the earliest") })
        // The garbage was published before the run; what arrives during it is counted if any.
        #expect(report.notes.allSatisfy { $0.contains("could not be read") })
    }

    @Test func unreachableBrokerIsReportedAsSuch() async throws {
        let (registry, catalog) = try HarnessRuns.kinds()
        let suite = try Suite.parse(HarnessRuns.smokeLatency, file: "suite.yaml")
        let park = try ParkFile.parse(HarnessRuns.park, file: "park.yaml", catalog: catalog, kinds: registry)
        let closed = try freeLoopbackPort()
        let configuration = HarnessRunner.Configuration(
            suite: suite, profile: try HarnessRuns.profile(port: closed), park: park, parkFile: "park.yaml",
            plan: try park.plan(kinds: registry), kinds: registry, seed: 1, parkbenchVersion: "test",
            connectTimeout: .seconds(2))
        do {
            _ = try await HarnessRunner(configuration: configuration).run()
            Issue.record("a run against a closed port must not produce verdicts")
        } catch {
            guard case .unreachable(let message) = error else { Issue.record("expected unreachable, got \(error)"); return }
            #expect(message.contains("mqtt://127.0.0.1:\(closed)"))
        }
    }
}

/// The command check against a small platform written in Python (http.server + paho-mqtt): it
/// takes `POST /devices/<id>/commands` and publishes the command on the device's `cmd` topic,
/// or, when told to misbehave, answers 200 and forwards nothing.
@Suite(.serialized) struct CommandCheckTests {
    static let platform = """
        import json, sys, threading, itertools
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import paho.mqtt.client as mqtt
        broker_port, http_port, mode, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
        prefixes, ids = {}, itertools.count(1)
        def on_message(client, userdata, message):
            try:
                device = json.loads(message.payload)["device"]
            except (ValueError, KeyError, TypeError):
                return
            prefixes[device] = message.topic.rsplit("/", 1)[0]
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = on_message
        client.connect("127.0.0.1", broker_port)
        client.subscribe("park/#", qos=1)
        client.loop_start()
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                device = self.path.split("/")[2]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if device not in prefixes:
                    self.send_response(404); self.end_headers(); return
                command_id = "c-%d" % next(ids)
                if mode != "drop":
                    client.publish(prefixes[device] + "/cmd", json.dumps(
                        {"id": command_id, "command": body["command"], "args": body.get("arguments", {})}), qos=1)
                self.send_response(202); self.send_header("Content-Type", "application/json"); self.end_headers()
                self.wfile.write(json.dumps({"id": command_id}).encode())
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
        open(ready, "w").close()
        server.serve_forever()
        """

    static let suite = """
        suite: t
        checks:
          - id: read-command
            title: a platform command reaches the device
            type: command
            source: 004_5e9061d643d5fb41.txt L723
            devices: {kind: smoke-detector, count: 2}
            command: {command: self-test}
            timeout: 3s
            expect: ["latency.p99 < 2s", "missing == 0", "rejected == 0"]
        """

    func run(mode: String) async throws -> CheckResult {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let script = broker.directory.path("command_platform.py")
        try Self.platform.write(toFile: script, atomically: true, encoding: .utf8)
        let httpPort = try freeLoopbackPort()
        let ready = broker.directory.path("ready")
        let process = try ChildProcess(try executablePath("python3"), [script, String(broker.port), String(httpPort), mode, ready],
                                       output: broker.directory.path("platform.log"))
        defer { process.stop(grace: .seconds(1)) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: ready), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }

        try #require(FileManager.default.fileExists(atPath: ready),
                     "the Python platform did not start: \((try? String(contentsOfFile: broker.directory.path("platform.log"), encoding: .utf8)) ?? "")")

        let (registry, catalog) = try HarnessRuns.kinds()
        var profile = try HarnessRuns.profile(port: broker.port)
        profile.commands = PlatformProfile.CommandEndpoint(
            method: "POST", url: "http://127.0.0.1:\(httpPort)/devices/{device}/commands",
            body: #"{"command": "{command}", "arguments": {arguments}}"#)
        let park = try ParkFile.parse(HarnessRuns.park, file: "park.yaml", catalog: catalog, kinds: registry)
        var configuration = HarnessRunner.Configuration(
            suite: try Suite.parse(Self.suite, file: "suite.yaml"), profile: profile, park: park, parkFile: "park.yaml",
            plan: try park.plan(kinds: registry), kinds: registry, seed: 1, parkbenchVersion: "test", settle: .milliseconds(1500))
        configuration.catalog = catalog
        return try #require(try await HarnessRunner(configuration: configuration).run().checks.first)
    }

    @Test func commandCheckPassesAndFailsWhenThePlatformForwardsNothing() async throws {
        let good = try await run(mode: "forward")
        #expect(good.verdict == .pass, "\(good.summary) \(good.findings)")
        #expect(good.latency?.samples.count == 2)
        #expect(good.latency?.samples.allSatisfy { $0.matchedBy == "command id" && $0.messageID?.hasPrefix("c-") == true } == true)

        let lazy = try await run(mode: "drop")
        #expect(lazy.verdict == .fail)
        #expect(lazy.metrics["missing"]?.value == 2)
        #expect(lazy.findings.contains { $0.contains("self-test never reached the device within 3s of the request") })
    }
}

/// The harness's latency figures against libpcap's wire timestamps of the same messages.
@Suite(.serialized) struct WireTimingTests {
    @Test func harnessLatencyAgreesWithTheWireWithin5Milliseconds() async throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port),
            configuration: PlatformConfiguration(alarmEvents: ["smoke-alarm", "alarm"]),
            faults: PlatformFaults(alarmDelay: .milliseconds(150)))
        try platform.start()
        defer { platform.stop() }
        while !platform.isConnected { try await Task.sleep(for: .milliseconds(20)) }
        let capture = try PacketCapture(filter: "tcp port \(broker.port)", file: broker.directory.path("run.pcap"))
        capture.start()
        // Timed from the device's own alarm, as the wire can only see what the device sends.
        let suite = HarnessRuns.smokeLatency
            .replacingOccurrences(of: "observe: {event: smoke-alarm}", with: "observe: {event: smoke-alarm}\n    from: emission")
        let report = try await HarnessRuns.run(suite, broker: broker)
        capture.stop()

        let evidence = try #require(report.checks.first?.latency)
        let pairs = WireTiming.pairs(
            evidence, packets: capture.mqttPackets, brokerPort: broker.port, streams: try HarnessRuns.profile(port: broker.port).mqtt)
        #expect(pairs.count == evidence.samples.count, "every sample has both packets in the capture")
        let differences = pairs.map { abs($0.differenceMilliseconds) }.sorted()
        let p99 = try #require(LatencyEvidence.percentile(0.99, of: differences))
        #expect(p99 < 5, "harness vs wire |Δ| p99 = \(p99) ms over \(pairs.count) samples")
        #expect(pairs.allSatisfy { $0.wireMilliseconds >= 150 }, "the wire shows the platform's 150 ms hold too")
        print("wire agreement: \(pairs.count) samples, |Δ| p50 \(LatencyEvidence.percentile(0.5, of: differences) ?? 0) ms, p99 \(p99) ms")
    }
}

/// Device authentication through mosquitto's own password file and ACL (004 L754).
@Suite(.serialized) struct AuthTests {
    static let suite = """
        suite: t
        checks:
          - id: auth
            title: one secret per device
            type: auth
            source: 004_5e9061d643d5fb41.txt L754
            devices: {kind: smoke-detector, count: 2}
            expect: ["wrong_secret_accepted == 0", "other_secret_accepted == 0", "own_secret_refused == 0", "unanswered == 0"]
        """

    /// Runs the auth suite against a broker that checks secrets (or, `enforced: false`, lets anyone in).
    func run(enforced: Bool) async throws -> CheckResult {
        let (registry, catalog) = try HarnessRuns.kinds()
        let park = try ParkFile.parse(HarnessRuns.park, file: "park.yaml", catalog: catalog, kinds: registry)
        var secrets: [String: String] = [:]
        for device in park.devices { secrets[device.id] = MosquittoAuth.randomSecret() }
        let harness = MQTTCredentials(username: "harness", password: MosquittoAuth.randomSecret())
        let directory = try TemporaryDirectory()
        var users = secrets
        users["harness"] = harness.password
        let options = enforced ? try MosquittoAuth(users: users, platformUsers: ["harness"]).write(into: directory) : []
        let broker = try MosquittoBroker(options: options, directory: directory)
        defer { broker.stop() }
        if enforced {
            let stored = try String(contentsOfFile: directory.path("passwd"), encoding: .utf8)
            #expect(stored.contains("harness:$7$"), "mosquitto_passwd hashed the file")
            #expect(!secrets.values.contains { stored.contains($0) }, "no plaintext secret stays on disk")
        }
        var configuration = HarnessRunner.Configuration(
            suite: try Suite.parse(Self.suite, file: "suite.yaml"), profile: try HarnessRuns.profile(port: broker.port), park: park,
            parkFile: "park.yaml", plan: try park.plan(kinds: registry), kinds: registry, seed: 1, parkbenchVersion: "test",
            settle: .milliseconds(200))
        configuration.catalog = catalog
        configuration.deviceSecrets = DeviceSecrets(secrets, source: "test")
        configuration.harnessCredentials = harness
        return try #require(try await HarnessRunner(configuration: configuration).run().checks.first)
    }

    @Test func authCheckPassesWithPerDeviceSecretsAndFailsWhenAnyoneMayLogIn() async throws {
        let good = try await run(enforced: true)
        #expect(good.verdict == .pass, "\(good.summary) \(good.findings)")
        #expect(good.metrics["attempts"]?.value == 6)

        let open = try await run(enforced: false)
        #expect(open.verdict == .fail)
        #expect(open.metrics["wrong_secret_accepted"]?.value == 2 && open.metrics["other_secret_accepted"]?.value == 2)
        #expect(open.findings.contains("smoke-1: the broker accepted a wrong secret"))
    }

    /// The ACL keeps each device to its own topics: paho-mqtt logged in as smoke-1 publishes on its
    /// own topic and on smoke-2's; a paho subscriber with the platform account sees only the first.
    @Test func aclKeepsADeviceToItsOwnTopics() throws {
        let directory = try TemporaryDirectory()
        let auth = MosquittoAuth(users: ["smoke-1": "s1-secret", "smoke-2": "s2-secret", "platform": "p-secret"], platformUsers: ["platform"])
        let broker = try MosquittoBroker(options: try auth.write(into: directory), directory: directory)
        defer { broker.stop() }
        let script = directory.path("acl_peer.py")
        try """
            import sys, time, json
            import paho.mqtt.client as mqtt
            port, out = int(sys.argv[1]), sys.argv[2]
            seen, ready = [], []
            sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="platform-sub")
            sub.username_pw_set("platform", "p-secret")
            sub.on_subscribe = lambda c, u, mid, rc, p: ready.append(1)
            sub.on_message = lambda c, u, m: seen.append(m.topic)
            sub.connect("127.0.0.1", port)
            sub.subscribe("park/#", qos=1)
            sub.loop_start()
            while not ready: time.sleep(0.01)
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="smoke-1")
            pub.username_pw_set("smoke-1", "s1-secret")
            pub.connect("127.0.0.1", port)
            pub.loop_start()
            pub.publish("park/A/smoke-detector/smoke-2/event", "forged", qos=1).wait_for_publish(10)
            pub.publish("park/A/smoke-detector/smoke-1/event", "mine", qos=1).wait_for_publish(10)
            deadline = time.time() + 10
            while "park/A/smoke-detector/smoke-1/event" not in seen and time.time() < deadline: time.sleep(0.01)
            json.dump(seen, open(out, "w"))
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let out = directory.path("seen.json")
        let peer = try ChildProcess(try executablePath("python3"), [script, String(broker.port), out], output: directory.path("peer.log"))
        #expect(peer.waitForExit(timeout: .seconds(30)))
        let seen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String]
        #expect(seen == ["park/A/smoke-detector/smoke-1/event"], "the forged message on smoke-2's topic is dropped by the ACL")
    }
}
