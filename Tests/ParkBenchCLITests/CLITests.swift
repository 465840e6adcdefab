import Foundation
import ParkTestSupport
import Testing

/// The `parkbench` binary as a user runs it: help text, exit codes, and messages.
///
/// Runs the executable that `swift build` put beside this test bundle, from the package root,
/// so the default `devices/` directory and the example plugin are found as they are for a user.
@Suite struct CLITests {
    struct Run: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // …/.build/<triple>/debug/ParkBenchPackageTests.xctest → …/debug/parkbench
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("parkbench").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("parkbench")
    }

    func parkbench(_ arguments: String..., environment: [String: String] = [:]) throws -> Run {
        try parkbench(arguments: arguments, environment: environment)
    }

    func parkbench(arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let binary = Self.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path),
                     "no parkbench binary beside the tests; run `swift build` before `swift test` (make test does)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = Self.packageRoot
        var env = ProcessInfo.processInfo.environment
        env["PARKBENCH_PLUGIN_PATH"] = nil
        // Runs made by tests go to a history of their own, never the user's.
        env["PARKBENCH_HISTORY"] = Self.history
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes drain at once: a child that fills one while we wait on the other would hang.
        let errors = ErrorPipeReader(err.fileHandleForReading)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static let history = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-cli-history-\(UUID())/history.sqlite").path

    func temporaryFile(_ name: String, _ text: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The top-level help lists every command and the exit codes.
    @Test func helpTeaches() throws {
        let run = try parkbench("--help")
        #expect(run.status == 0)
        for word in ["devices", "validate", "simulate", "version", "Exit codes: 0 success, 1 a conformance check failed, 2 usage or configuration"] {
            #expect(run.stdout.contains(word), "help should mention \(word)")
        }
    }

    /// `devices list` shows the built-in smoke detector, the example plugin's kind and the product
    /// families' plugin kinds.
    @Test func devicesListShowsBuiltInAndPluginKinds() throws {
        let run = try parkbench("devices", "list")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("KIND") == true)
        #expect(lines.contains { $0.hasPrefix("smoke-detector") && $0.contains("built-in") && $0.contains("acme-sd100") })
        #expect(lines.contains { $0.hasPrefix("people-counter") && $0.contains("plugin") })
        // The product families shipped as plugins (issue 18), each kind with its two models.
        for (kind, model) in [("lpr-camera", "hik-ids-tcg405"), ("barrier", "acme-br12"), ("parking-space-detector", "hik-ds-tcp3"),
                              ("guidance-screen", "acme-gs3"), ("access-terminal", "hik-ds-k1t671"), ("door", "acme-ml280"),
                              ("intercom", "hik-ds-kh6320"), ("elevator", "otis-gen2"), ("elevator-access-controller", "acme-eac16")] {
            #expect(lines.contains { $0.hasPrefix(kind + " ") && $0.contains(" plugin ") && $0.contains(model) }, "\(kind) as a plugin with \(model)")
        }
        #expect(lines.contains { $0.hasPrefix("camera") && $0.contains("built-in") && $0.contains("hik-ds2cd") && $0.contains("dahua-ipc-hfw") })
        #expect(lines.contains { $0.hasPrefix("nvr") && $0.contains("built-in") && $0.contains("hik-ds7616") })
    }

    /// `devices show` of an NVR model lists its channels parameter and the camera events.
    @Test func devicesShowDescribesAnNVR() throws {
        let run = try parkbench("devices", "show", "hik-ds7616")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("kind:    nvr"))
        #expect(run.stdout.contains("channels"))
        #expect(run.stdout.contains("video-loss"))
    }

    @Test func devicesShowDescribesAModel() throws {
        let run = try parkbench("devices", "show", "lumen-hs3")
        #expect(run.status == 0)
        #expect(run.stdout.contains("kind:    smoke-detector"))
        #expect(run.stdout.contains("chirp_interval"))
        let missing = try parkbench("devices", "show", "no-such-thing")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no device model or kind named 'no-such-thing'"))
    }

    /// A broken file is reported as file:line:column and the command exits 2.
    @Test func validateReportsFileLineColumnAndExitsTwo() throws {
        let broken = try temporaryFile("broken.yaml", """
            kind: smoke-detector
            model: broken-1
            parameters:
              smoke_threshold: lots
              heartbeat_interval: 10 minutes
            """)
        let run = try parkbench("validate", broken.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(broken.path):4:20: parameters.smoke_threshold: parameter 'smoke_threshold' expects a number, got 'lots'"))
        #expect(run.stderr.contains("\(broken.path):5:23: parameters.heartbeat_interval: parameter 'heartbeat_interval' expects a duration such as 40s, 500ms or 1h30m, got '10 minutes'"))
        #expect(run.stderr.contains("1 of 1 file invalid"))
    }

    /// What only a device can judge — here a meter's time-of-use schedule — is reported by
    /// `validate`, not first when a run starts.
    @Test func validateBuildsTheParksDevices() throws {
        let park = try temporaryFile("tou.yaml", """
            park: tou
            seed: 1
            zones: [{id: M}]
            populations:
              - {model: grid-dtzy645, zone: M, count: 2, id: "dl-{n}", parameters: {tariff_schedule: "00:00=valley, 07:30=cheap"}}
            """)
        let run = try parkbench("validate", park.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(park.path):1:1: populations: device 'dl-1' (model grid-dtzy645): tariff_schedule: '07:30=cheap' names no tariff; use sharp, peak, flat, valley"),
                "\(run.stderr)")
        #expect(!run.stderr.contains("dl-2"), "one device of each parameter set is built, so the problem is said once")
    }

    /// The shipped broken fixtures give exactly these messages.
    @Test func validateBrokenFixtures() throws {
        let syntax = try parkbench("validate", "fixtures/profiles/broken-syntax.yaml")
        #expect(syntax.status == 2)
        #expect(syntax.stderr.hasPrefix("fixtures/profiles/broken-syntax.yaml:7:1: YAML syntax error: did not find expected ',' or '}'"))
        let park = try parkbench("validate", "fixtures/profiles/broken-park.yaml")
        #expect(park.status == 2)
        #expect(park.stderr == """
            fixtures/profiles/broken-park.yaml:6:12: populations[0].model: no device model 'acme-sd10'; did you mean 'acme-sd100'?
            fixtures/profiles/broken-park.yaml:8:13: populations[0]: zone 'A' has floors 1 to 2; floor 3 is outside
            fixtures/profiles/broken-park.yaml:12:22: stimuli[0].device: no device 's-1-1' in this park
            1 of 1 file invalid

            """)
    }

    /// How many devices a park (the demo park by default) expands to, as `validate` counts them,
    /// so tests follow the park file instead of repeating its size.
    func parkDeviceCount(_ park: String = "conformance/parks/demo.yaml") throws -> Int {
        let run = try parkbench("validate", park)
        let words = run.stdout.split(separator: " ")
        let index = try #require(words.firstIndex(of: "devices,"))
        return try #require(Int(words[index - 1]))
    }

    @Test func validateAcceptsTheShippedFiles() throws {
        let run = try parkbench(
            "validate", "devices/smoke-detector/acme-sd100.yaml", "devices/camera/hik-ds2cd.yaml", "devices/camera/dahua-ipc-hfw.yaml",
            "devices/nvr/hik-ds7616.yaml", "conformance/parks/demo.yaml", "conformance/suites/park-core.yaml",
            "conformance/platforms/reference.yaml")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("ok     conformance/suites/park-core.yaml: suite park-core:"))
        #expect(run.stdout.contains("ok     conformance/platforms/reference.yaml: platform reference at mqtt://127.0.0.1:1883"))
        #expect(run.stdout.contains("ok     conformance/parks/demo.yaml: park demo: \(try parkDeviceCount()) devices"))
    }

    @Test func usageErrorsExitTwo() throws {
        let run = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "forever")
        #expect(run.status == 2)
        #expect(run.stderr.contains("forever"))
        #expect(try parkbench("validate").status == 2)
        #expect(try parkbench("frobnicate").status == 2)
    }

    /// --sip-video needs a platform to answer INVITEs from, and a clip it can read.
    @Test func sipVideoIsValidated() throws {
        let alone = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--sip-video", "fixtures/media/clip.h264")
        #expect(alone.status == 2)
        #expect(alone.stderr.contains("--sip-video only applies with --sip-platform"), "\(alone.stderr)")
        let missing = try parkbench(
            "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--sip-platform", "127.0.0.1:9", "--password-env", "PB_VIDEO_PW",
            "--sip-video", "fixtures/media/no-such-clip.h264", environment: ["PB_VIDEO_PW": "x"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("--sip-video fixtures/media/no-such-clip.h264: cannot read"), "\(missing.stderr)")
    }

    /// A virtual-time simulation is reproducible: the same seed writes the same ledger.
    @Test func simulateVirtualIsReproducible() throws {
        let first = try temporaryFile("a.jsonl", "")
        let second = try temporaryFile("b.jsonl", "")
        for ledger in [first, second] {
            let run = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "2h", "--virtual",
                                    "--ledger", ledger.path, "--show", "none", "--json")
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(summary?["devices"] as? Int == (try parkDeviceCount()))
            #expect(summary?["ledger_records"] as? Int ?? 0 > 1_000)
        }
        let a = try Data(contentsOf: first), b = try Data(contentsOf: second)
        #expect(a == b)
        #expect(String(decoding: a, as: UTF8.self).contains("\"name\":\"smoke-alarm\""))
    }

    @Test func unwritableLedgerIsRefusedBeforeTheRun() throws {
        let run = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--virtual",
                                "--ledger", "/nonexistent-dir/run.jsonl")
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot write the ledger file '/nonexistent-dir/run.jsonl'"))
    }

    /// A real-time run prints the scripted alarms as they happen.
    @Test func simulateRealTimePrintsEvents() throws {
        let run = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "3s", "--show", "alarms")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("smoke-A2-03  event  smoke-alarm"))
        #expect(run.stdout.contains("timer lateness: p99"))
    }

    /// With a broker nobody listens on, the run says so and exits 3 (could not reach the system
    /// under test); with a real mosquitto every device connects.
    @Test func simulateWithBroker() throws {
        let closed = try freeLoopbackPort()
        let unreachable = try parkbench(
            "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--broker", "mqtt://127.0.0.1:\(closed)",
            "--show", "none")
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.contains("no device could connect to the broker at mqtt://127.0.0.1:\(closed)"))

        let broker = try MosquittoBroker()
        let run = try parkbench(
            "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "2s", "--broker", "mqtt://127.0.0.1:\(broker.port)",
            "--show", "none", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let mqtt = try #require(summary?["mqtt"] as? [String: Any])
        // The robots are on VDA 5050 (their own clients, the standard's topics); the rest on MQTT.
        let robots = try #require(summary?["vda5050"] as? [String: Any])
        let robotCount = try #require(robots["robots"] as? Int)
        #expect(robotCount == 2 && robots["connected"] as? Int == robotCount && (robots["states"] as? Int ?? 0) >= robotCount)
        #expect(mqtt["connected"] as? Int == (try parkDeviceCount()) - robotCount)
        #expect(mqtt["dropped"] as? Int == 0)
        #expect(mqtt["published"] as? Int ?? 0 > 0)

        let secrets = try temporaryFile("partial.secrets", "smoke-A1-01=only-one\n")
        let partial = try parkbench(
            "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--broker", "mqtt://127.0.0.1:\(broker.port)",
            "--secrets-file", secrets.path)
        #expect(partial.status == 2)
        #expect(partial.stderr.contains("has no secret for \(try parkDeviceCount() - robotCount - 1) device(s): smoke-A1-02"))
        #expect(!partial.stderr.contains("only-one"), "secrets never reach the output")

        let virtual = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--virtual",
                                    "--broker", "mqtt://127.0.0.1:1883")
        #expect(virtual.status == 2)
        #expect(virtual.stderr.contains("--broker needs real time"))

        // --http-push is checked before anything starts.
        let notHTTP = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--http-push", "ftp://127.0.0.1/push")
        #expect(notHTTP.status == 2 && notHTTP.stderr.contains("--http-push must be an http://host:port/path URL"), "\(notHTTP.stderr)")
        let virtualPush = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--virtual", "--http-push", "http://127.0.0.1:9/push")
        #expect(virtualPush.status == 2 && virtualPush.stderr.contains("--http-push needs real time"))
    }

    /// A run that cannot reach its broker exits 3 and still leaves its record: report.json and
    /// junit.xml with every check an error saying why, so a CI job shows what happened.
    @Test func anUnreachableBrokerStillLeavesARunFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-unreachable-\(UUID())").path
        let closed = try freeLoopbackPort()
        let run = try parkbench(
            "test", "--suite", "conformance/suites/park-core.yaml", "--platform", "conformance/platforms/reference.yaml",
            "--broker", "mqtt://127.0.0.1:\(closed)", "--check", "smoke-alarm-latency", "--check", "offline-detection", "--out", folder)
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["id"] as? String } == ["smoke-alarm-latency", "offline-detection"])
        #expect(checks.allSatisfy { $0["verdict"] as? String == "error" && ($0["summary"] as? String)?.hasPrefix("not run: ") == true })
        let junit = try String(contentsOfFile: folder + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("<error"), Comment(rawValue: junit))
    }

    /// The demo runs the core suite through an embedded mosquitto and the reference platform,
    /// writes report.json, and a fault switch fails exactly the check it should, with exit 1.
    @Test func demoPassesAndAFaultSwitchFailsTheMatchingCheck() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-demo-\(UUID())").path
        let run = try parkbench("demo", "--check", "smoke-alarm-latency", "--check", "offline-detection", "--out", folder)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS: 2 of 2 checks passed"))
        let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["schema"] as? String == "parkbench.report/2")
        #expect((report["notes"] as? [String])?.contains { $0.contains("runs with set_tcp_nodelay true") } == true, "the demo says how its broker is tuned")
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.map { $0["verdict"] as? String } == ["pass", "pass"])
        let latency = try #require(checks.first?["latency"] as? [String: Any])
        #expect((latency["samples"] as? [Any])?.count == 4, "one sample per smoke detector in zone A's first four")

        let slow = try parkbench("demo", "--check", "smoke-alarm-latency", "--check", "offline-detection", "--fault", "alarm-delay=2500ms",
                                 "--capture", "--out", folder + "-slow")
        #expect(slow.status == 1, "\(slow.stdout)\n\(slow.stderr)")
        #expect(slow.stdout.contains("FAIL: smoke-alarm-latency\n"), "only the latency check fails: \(slow.stdout)")
        #expect(slow.stdout.contains("expected latency.p99 < 2000.0 ms, measured 25"))
        // --capture: the whole run in run.pcap, the failed check's slice beside it, the wire witness.
        #expect(FileManager.default.fileExists(atPath: folder + "-slow/run.pcap"))
        #expect(FileManager.default.fileExists(atPath: folder + "-slow/smoke-alarm-latency.pcap"))
        #expect(!FileManager.default.fileExists(atPath: folder + "-slow/offline-detection.pcap"), "only failed checks get a slice")
        let slowReport = try String(contentsOfFile: folder + "-slow/report.json", encoding: .utf8)
        #expect(slowReport.contains("\"capture_slice\" : \"smoke-alarm-latency.pcap\""))
        #expect(slowReport.contains("wire check: 4 of 4 samples re-timed from the capture"))

        for file in ["junit.xml", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "the run folder has \(file)")
        }
        let list = try parkbench("report", "list", "--json")
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        let ids = runs.compactMap { $0["id"] as? String }
        #expect(ids.count >= 2)
        let compare = try parkbench("report", "compare", ids[1], ids[0])
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.contains("smoke-alarm-latency  PASS    FAIL"))
        #expect(compare.stdout.contains("1 of 2 checks changed verdict"))
        let show = try parkbench("report", "show", folder)
        #expect(show.stdout.contains("offline-detection") && show.status == 0)
        let unknown = try parkbench("report", "show", "no-such-run")
        #expect(unknown.status == 2 && unknown.stderr.contains("no run 'no-such-run'"))

        let bad = try parkbench("demo", "--fault", "alarm-delay=soon")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("alarm-delay=soon"))
    }

    /// `make demo FAULT=<switch>`: each fault switch fails exactly the checks that watch what it
    /// breaks — no more, no fewer — and the run exits 1 naming them.
    ///
    /// End to end, through the real broker, gateway and sockets, for the switches only a real
    /// demo can show: the gateway's (it polls the meters over Modbus and DL/T 645) and
    /// `auth-disabled` (mosquitto enforces the logins). The platform's own switches are proven
    /// on every other check by `VirtualFaultMatrixTests` (virtual time, milliseconds a row), on
    /// the meter checks by `MeterCheckTests`, and `alarm-delay` end to end above.
    ///
    /// Each demo runs the checks these switches can reach: device-auth and the eight meter
    /// checks. The MQTT devices' checks are left out here — a gateway switch changes only the
    /// gateway process, `auth-disabled` only the broker's logins — and run against every platform
    /// switch on virtual time, and with none in `demoPassesAndAFaultSwitchFailsTheMatchingCheck`.
    ///
    /// The five demos run side by side. A demo spends ~25 s waiting on its checks' windows and a
    /// few seconds of CPU (platform, gateway, broker and devices together), so five keep the two
    /// cores well under full: the 1.5 s polling threshold keeps its margin of hundreds of
    /// milliseconds, while the matrix takes one demo's time.
    @Test func eachFaultSwitchFailsExactlyItsChecks() throws {
        let checks = ["device-auth", "meter-accuracy", "meter-capacity", "meter-polling-period", "meter-offline", "meter-relay-open",
                      "meter-relay-close", "water-valve-close", "water-valve-open"]
        let matrix: [(fault: String, failing: [String])] = [
            ("auth-disabled", ["device-auth"]),
            ("gateway-word-swap", ["meter-accuracy"]),
            // Three missed 3 s polls take ≥ 6 s: a slow gateway also reports a silent meter late.
            ("gateway-slow-poll", ["meter-polling-period", "meter-offline"]),
            // Only the 16 acme-em3 meters are read: the meters the offline check silences are beyond
            // them, and the platform never hears of the others, so it has nowhere to send their commands.
            ("gateway-meter-limit", ["meter-capacity", "meter-polling-period", "meter-offline", "meter-relay-open", "meter-relay-close",
                                     "water-valve-close", "water-valve-open"]),
            ("gateway-no-offline", ["meter-offline"]),
        ]
        let folders = matrix.map { FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-fault-\($0.fault)-\(UUID())").path }
        let runs = try parkbenchConcurrently(
            matrix.indices.map { ["demo", "--fault", matrix[$0].fault, "--out", folders[$0]] + checks.flatMap { ["--check", $0] } }, width: 5)
        for (index, (fault, failing)) in matrix.enumerated() {
            let run = runs[index]
            #expect(run.status == 1, "\(fault): \(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("FAIL: \(failing.joined(separator: ", "))\n"), "\(fault) should fail exactly \(failing): \(run.stdout.split(separator: "\n").filter { $0.contains("FAIL") || $0.contains(": ") }.joined(separator: "\n"))")
            guard let data = FileManager.default.contents(atPath: folders[index] + "/report.json"),
                  let report = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                Issue.record("\(fault): no readable report.json in \(folders[index])")
                continue
            }
            #expect((report["faults"] as? [String])?.first?.hasPrefix(fault) == true)
            let results = try #require(report["checks"] as? [[String: Any]])
            #expect(results.map { $0["id"] as? String } == checks, "\(fault)")
            #expect(Set(results.filter { $0["verdict"] as? String != "pass" }.compactMap { $0["id"] as? String }) == Set(failing), "\(fault)")
            if fault == "gateway-slow-poll" {
                // Failed on a measurement, not on "measured nothing": the 3 s period itself.
                let polling = results.first { $0["id"] as? String == "meter-polling-period" }
                let period = ((polling?["metrics"] as? [String: Any])?["period.max"] as? [String: Any])?["value"] as? Double ?? 0
                #expect(period >= 2_900 && period < 4_500, "the slow gateway's period, seen at the meters: \(period) ms")
            }
        }
    }

    /// The video, charging and robots suites end to end (issues 14, 17 and 19): the demo park's
    /// cameras and NVRs on GB/T 28181 to the reference platform's SIP server, its EV chargers on
    /// OCPP 1.6J to its central system, and its robots on VDA 5050 to its fleet manager, pass
    /// every check, and each of the platform's fault switches fails exactly the checks that watch
    /// what it breaks. Real sockets and real time: registration, keepalive timeouts, SIP
    /// transactions, OCPP calls and VDA 5050 states are what is being judged. Thirty demos at
    /// once, each with only its suite's devices: a video demo waits 13–37 s on its checks' windows
    /// and uses little CPU (eight cameras, one stream at a time), and a charging or robots demo
    /// takes a few seconds beside them, so the matrix takes the slowest demo's time.
    @Test func eachCameraAndChargerFaultSwitchFailsExactlyItsChecks() throws {
        let video: [(fault: String?, failing: [String])] = [
            (nil, []),
            ("auth-disabled", ["camera-registration-auth"]),
            ("catalog-truncated", ["nvr-catalog-complete"]),
            ("alarm-delay=3s", ["camera-motion-alarm", "nvr-video-loss-alarm"]),
            ("drop-alarms", ["camera-motion-alarm", "nvr-video-loss-alarm"]),
            ("keepalives-ignored", ["camera-offline-detection"]),
            ("commands-dropped", ["camera-ptz-command"]),
            ("video-delay=3s", ["camera-live-video-start"]),
            ("rtp-loss=50", ["camera-stream-continuity"]),
        ]
        let chargerAlarms = ["charger-fault-alarm", "charger-overheat-alarm"]
        // A switch that fails checks only by their timeouts runs just the check it is shown on
        // (with rejected boots every check times out; the others prove their own switches).
        let charging: [(fault: String?, failing: [String], only: [String])] = [
            (nil, [], []),
            ("value-scaling", ["charger-session-billing"], []),
            ("alarm-delay=3s", chargerAlarms, []),
            ("drop-alarms", chargerAlarms, []),
            ("ocpp-slow-responses=3s", chargerAlarms, chargerAlarms),
            ("ocpp-boots-rejected", ["charger-remote-start"], ["charger-remote-start"]),
            ("commands-dropped", ["charger-session-billing", "charger-remote-start"], []),
            ("no-offline-detection", ["charger-offline-detection"], ["charger-offline-detection"]),
        ]
        let robotAlarms = ["robot-fault-alarm", "robot-low-battery-alarm"], robotTask = ["robot-task-completion", "robot-door-chain"]
        // Healthy, the whole suite in three demos at once (the courier's ways on the ground floor,
        // its ride up the lift, the rest); under a switch, the checks it breaks (they wait out their
        // timeouts) and one it must leave passing — the task, or for the task's own switches an alarm.
        let robots: [(fault: String?, failing: [String], passing: [String])] = [
            (nil, [], robotTask + ["robot-position-view"]), (nil, [], ["robot-lift-chain"]), (nil, [], ["robot-returns-to-charge"] + robotAlarms),
            ("alarm-delay=3s", robotAlarms, ["robot-task-completion"]), ("drop-alarms", robotAlarms, ["robot-task-completion"]),
            ("robot-errors-ignored", ["robot-returns-to-charge"] + robotAlarms, ["robot-task-completion"]),
            ("stale-order-updates", robotTask, ["robot-fault-alarm"]), ("horizon-never-released", robotTask, ["robot-fault-alarm"]),
            ("linkage-dropped", ["robot-door-chain"], ["robot-task-completion"]), ("linkage-delay=2s", ["robot-door-chain"], ["robot-task-completion"]),
            ("linkage-dropped", ["robot-lift-chain"], ["robot-fault-alarm"]), ("linkage-delay=2s", ["robot-lift-chain"], ["robot-fault-alarm"]),
            ("robot-view-sampled=5s", ["robot-position-view"], ["robot-task-completion", "robot-door-chain"]),
        ]
        let robotSuite = try String(contentsOf: Self.packageRoot.appendingPathComponent("conformance/suites/robots.yaml"), encoding: .utf8)
        let robotChecks = robotSuite.components(separatedBy: "\n  - id: ").dropFirst().map { String($0.prefix { !$0.isNewline }) }
        #expect(robots.filter { $0.fault == nil }.flatMap(\.passing).sorted() == robotChecks.sorted(), "the healthy demos run the whole robots suite")
        // Each demo runs only its suite's devices, cut from demo.yaml so they stay the demo's: the
        // rest of the park (meters behind the gateway, the MQTT devices) is the other matrices' to
        // prove, and twenty copies of it at once would only make the machine time itself.
        let demoPark = try String(contentsOf: Self.packageRoot.appendingPathComponent("conformance/parks/demo.yaml"), encoding: .utf8)
        struct MissingMark: Error { var mark: String }
        func cut(_ first: String, _ end: String) throws -> String {
            guard let start = demoPark.range(of: first) else { throw MissingMark(mark: first) }
            guard let stop = demoPark.range(of: end, range: start.upperBound..<demoPark.endIndex) else { throw MissingMark(mark: end) }
            return String(demoPark[start.lowerBound..<stop.lowerBound])
        }
        let parkDirectory = try TemporaryDirectory()
        let parks = (video: parkDirectory.path("video.yaml"), charging: parkDirectory.path("chargers.yaml"), robots: parkDirectory.path("robots.yaml"))
        let header = "seed: 42\nzones: [{id: A, floors: 3}, {id: B, floors: 1}]\npopulations:\n"
        try ("park: video\n" + header + cut("  # GB/T 28181 video:", "  # EV chargers")).write(toFile: parks.video, atomically: true, encoding: .utf8)
        try ("park: chargers\n" + header + cut("  # EV chargers", "  # Robots (issue 19")).write(toFile: parks.charging, atomically: true, encoding: .utf8)
        // The robots, the lobby's access door and the lift their ways pass (robot-door-chain, robot-lift-chain).
        try ("park: robots\n" + header + cut("  # Robots (issue 19", "  # Car park entrance lanes") + cut("  - model: acme-ml280", "  - model: otis-gen2")
             + cut("  - model: kone-monospace", "  - model: acme-eac16"))
            .write(toFile: parks.robots, atomically: true, encoding: .utf8)
        let matrix = video.map { (suite: "video", park: parks.video, checks: 8, fault: $0.fault, failing: $0.failing, only: [String]()) }
            + charging.map { (suite: "charging", park: parks.charging, checks: $0.only.isEmpty ? 5 : $0.only.count, fault: $0.fault, failing: $0.failing, only: $0.only) }
            + robots.map { (suite: "robots", park: parks.robots, checks: $0.failing.count + $0.passing.count, fault: $0.fault,
                            failing: $0.failing, only: $0.failing + $0.passing) }
        let folders = matrix.map { FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-\($0.suite)-\($0.fault ?? "healthy")-\(UUID())").path }
        let runs = try parkbenchConcurrently(matrix.indices.map { index in
            ["demo", "--suite", "conformance/suites/\(matrix[index].suite).yaml", "--park", matrix[index].park, "--out", folders[index]]
                + (matrix[index].fault.map { ["--fault", $0] } ?? []) + matrix[index].only.flatMap { ["--check", $0] }
        }, width: matrix.count)
        for (index, (suite, _, count, fault, failing, _)) in matrix.enumerated() {
            let run = runs[index], name = "\(suite): \(fault ?? "no fault")"
            #expect(run.status == (failing.isEmpty ? 0 : 1), "\(name): \(run.stdout)\n\(run.stderr)")
            guard let data = FileManager.default.contents(atPath: folders[index] + "/report.json"),
                  let report = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                Issue.record("\(name): no readable report.json in \(folders[index])")
                continue
            }
            let checks = try #require(report["checks"] as? [[String: Any]])
            #expect(checks.count == count, "\(name)")
            #expect(Set(checks.filter { $0["verdict"] as? String != "pass" }.compactMap { $0["id"] as? String }) == Set(failing),
                    "\(name) should fail exactly \(failing): \(run.stdout.split(separator: "\n").filter { $0.contains("FAIL") || $0.contains(": ") }.joined(separator: "\n"))")
        }
    }

    /// Runs `parkbench` once per argument list, `width` at a time, each on a thread of its own
    /// (not the cooperative pool: the runs block on their pipes, and the pool has one thread per core).
    func parkbenchConcurrently(_ runs: [[String]], width: Int) throws -> [Run] {
        let results = ConcurrentResults<Run>(count: runs.count)
        let slots = DispatchSemaphore(value: width)
        let finished = DispatchGroup()
        let cli = self
        for (index, arguments) in runs.enumerated() {
            slots.wait()
            finished.enter()
            Thread.detachNewThread {
                defer { slots.signal(); finished.leave() }
                results.set(index, Result { try cli.parkbench(arguments: arguments) })
            }
        }
        finished.wait()
        return try results.values.map { try $0!.get() }
    }

    /// `--shard i/N` splits a park into disjoint slices that together are the whole park, each
    /// device behaving as it would unsharded (same seed, same random stream).
    @Test func shardsPartitionTheParkAndKeepEachDevicesBehaviour() throws {
        let total = try parkDeviceCount()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-shards-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        /// Each device's ledger lines, and how many devices the run's summary says it ran.
        func ledger(_ name: String, _ extra: [String]) throws -> (byDevice: [String: [String]], devices: Int) {
            let path = directory.appendingPathComponent(name).path
            let run = try parkbench(arguments: [
                "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "30m", "--virtual", "--json", "--ledger", path,
            ] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            var byDevice: [String: [String]] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let device = try #require(record["device"] as? String)
                // The ledger's own serialization is deterministic from "readings" on; "order" and
                // the wall clock legitimately differ between runs.
                let readings = line.range(of: "\"readings\"").map { String(line[$0.lowerBound...]) } ?? ""
                byDevice[device, default: []].append("\(record["mono_ns"] ?? "") \(record["name"] ?? "") \(readings)")
            }
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return (byDevice, try #require(summary["devices"] as? Int))
        }
        let (whole, wholeDevices) = try ledger("whole.jsonl", [])
        #expect(wholeDevices == total)
        var union: [String: [String]] = [:]
        var shardDevices = 0
        for index in 0 ..< 3 {
            let (shard, devices) = try ledger("shard-\(index).jsonl", ["--shard", "\(index)/3"])
            #expect(Set(shard.keys).isDisjoint(with: Set(union.keys)), "shard \(index) overlaps another")
            union.merge(shard) { first, _ in first }
            shardDevices += devices
        }
        // Every device is in exactly one shard (meters that stay silent for the 30 minutes
        // leave no ledger record, so the count comes from each shard's summary).
        #expect(shardDevices == total)
        #expect(Set(union.keys) == Set(whole.keys), "the shards' ledgers hold the devices of the whole park's")
        let differing = whole.keys.filter { union[$0] != whole[$0] }.sorted()
        #expect(differing.isEmpty, "every device does in its shard exactly what it does in the whole park; differ: \(differing)")
        let bad = try parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--shard", "3/3")
        #expect(bad.status == 2)
    }

    @Test func versionNamesTheLinkedLibraries() throws {
        let run = try parkbench("version", "--json")
        #expect(run.status == 0)
        let info = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect((info?["libmodbus"] as? String)?.hasPrefix("3.1") == true)
        #expect((info?["libmosquitto"] as? String)?.hasPrefix("2.0") == true)
        #expect(info?["plugin_abi"] as? Int == 1)
    }
}

/// Results filled in by several threads, each at its own index.
final class ConcurrentResults<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, any Error>) { lock.withLock { slots[index] = result } }

    var values: [Result<Value, any Error>?] { lock.withLock { slots } }
}

/// Reads a pipe to its end on its own thread.
final class ErrorPipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
