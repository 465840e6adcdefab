import Foundation
import ParkBindings
import ParkCore
import ParkProfiles
import ParkTestSupport
import ParkWire
import Testing

/// HTTP push (issue 18) against a receiver nobody here wrote — Python's `http.server`: a plate
/// camera whose model pushes its reads POSTs each as JSON (its envelope with its zone, the plate
/// as text), and the receiver's answer carries the decision — open barrier-1 for a known plate —
/// which reaches the barrier like any command; a stranger's read gets an empty answer and the
/// barrier stays down. A receiver that is not there is counted, not fatal.
@Suite(.serialized) struct HTTPPushInteropTests {
    static let receiver = """
        import json, sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        port_file, log = sys.argv[1], sys.argv[2]
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = json.loads(body)
                with open(log, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                          "device": self.headers.get("X-Device-Id"), "body": event}, ensure_ascii=False) + "\\n")
                known = event.get("values", {}).get("plate") == "京A12345"
                answer = json.dumps({"commands": [{"device": "barrier-1", "command": "open"}]} if known else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file, "w") as out:
            out.write(str(server.server_address[1]))
        server.serve_forever()
        """

    @Test func aPushedReadIsAnsweredWithTheDecision() async throws {
        let directory = try TemporaryDirectory()
        try Self.receiver.write(toFile: directory.path("receiver.py"), atomically: true, encoding: .utf8)
        let portFile = directory.path("port"), log = directory.path("pushes.jsonl")
        let server = try ChildProcess(try executablePath("python3"), [directory.path("receiver.py"), portFile, log], output: directory.path("receiver.log"))
        defer { server.stop() }
        try waitFor("the receiver to listen", seconds: 30) { (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) } != nil }
        let port = try #require((try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) })

        let plugins = PluginLoader.discover()
        let camera = try #require(plugins.kinds.first { $0.descriptor.name == "lpr-camera" })
        let barrier = try #require(plugins.kinds.first { $0.descriptor.name == "barrier" })
        var pushing = ModelProfile(kind: "lpr-camera", model: "pusher-1", vendor: "", title: "", parameters: [:], file: "pusher-1.yaml")
        pushing.httpPush = ModelHTTPPushSettings(events: ["plate"])
        let catalog = ModelCatalog([pushing, ModelProfile(kind: "barrier", model: "arm-1", vendor: "", title: "", parameters: [:], file: "arm-1.yaml")])
        func planned(_ kind: PluginDeviceKind, _ id: String, _ overrides: [String: String]) throws -> PlannedDevice {
            PlannedDevice(kind: kind, setup: DeviceSetup(
                id: id, parameters: try DeviceParameters(descriptor: kind.descriptor, overrides: overrides),
                random: .forDevice(id, runSeed: 9), placement: Placement(zone: "G1", floor: 1)))
        }
        let plan = [
            try planned(camera, "lpr-1", ["recognition_time": "50ms", "recognition_jitter": "10ms", "error_rate": "0", "miss_rate": "0"]),
            try planned(barrier, "barrier-1", ["rise_time": "500ms", "auto_close": "0s"]),
        ]
        let binding = HTTPPushDeviceBinding(
            devices: [BoundDevice(id: "lpr-1", kind: "lpr-camera", model: "pusher-1", zone: "G1"), BoundDevice(id: "barrier-1", kind: "barrier", model: "arm-1", zone: "G1")],
            catalog: catalog, configuration: .init(url: try #require(URL(string: "http://127.0.0.1:\(port)/push"))))
        #expect(binding.deviceIDs == ["lpr-1"], "only the model with http_push pushes")
        #expect(binding.pushes("lpr-1", event: "plate") && !binding.pushes("lpr-1", event: "heartbeat"))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        binding.routeCommands(to: engine)
        await engine.start()
        defer { binding.stop() }

        try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string("京A12345")]), to: "lpr-1")
        try waitFor("the barrier up on the receiver's say", seconds: 30) {
            try engine.ledger.records().contains { $0.deviceID == "barrier-1" && $0.name == "raised" }
        }
        try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string("晋Z99999")]), to: "lpr-1")
        try waitFor("both reads answered", seconds: 30) { binding.figures.answered == 2 }
        let pushes = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(pushes.count == 2)
        let first = try #require(pushes.first)
        #expect(first["path"] as? String == "/push" && first["content_type"] as? String == "application/json" && first["device"] as? String == "lpr-1")
        let body = try #require(first["body"] as? [String: Any])
        #expect(body["device"] as? String == "lpr-1" && body["zone"] as? String == "G1" && body["name"] as? String == "plate")
        #expect((body["values"] as? [String: Any])?["plate"] as? String == "京A12345", "\(body)")
        #expect(body["msg_id"] as? String == "lpr-1#" + String((body["seq"] as? Int) ?? 0))
        let opens = try engine.ledger.records().filter { $0.deviceID == "barrier-1" && $0.entry == .command }
        #expect(opens.map(\.name) == ["open"], "one open, for the known plate only: \(opens.map(\.name))")
        #expect(binding.figures.commands == 1 && binding.figures.commandsRefused == 0 && binding.figures.failed == 0)

        // The receiver gone: the push fails, is counted, and the run goes on.
        server.stop()
        try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string("京A12345")]), to: "lpr-1")
        try waitFor("the failed push counted", seconds: 30) { binding.figures.failed == 1 }
        await engine.stop()
    }

    /// A receiver with troubles, Python's again: 503 twice for one plate before it takes it, 400
    /// for another (refused: not sent again), 503 always for a third. With the model's
    /// `retries: 2` the first is answered on its third try, the refused one fails at once, the
    /// third after two retries — each retry marked `X-Retry`, after the interval and then twice it.
    @Test func failedPushesAreRetriedAsTheModelSays() async throws {
        let directory = try TemporaryDirectory()
        try Self.flakyReceiver.write(toFile: directory.path("receiver.py"), atomically: true, encoding: .utf8)
        let portFile = directory.path("port"), log = directory.path("pushes.jsonl")
        let server = try ChildProcess(try executablePath("python3"), [directory.path("receiver.py"), portFile, log], output: directory.path("receiver.log"))
        defer { server.stop() }
        try waitFor("the receiver to listen", seconds: 30) { (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) } != nil }
        let port = try #require((try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) })

        let camera = try #require(PluginLoader.discover().kinds.first { $0.descriptor.name == "lpr-camera" })
        var pushing = ModelProfile(kind: "lpr-camera", model: "pusher-2", vendor: "", title: "", parameters: [:], file: "pusher-2.yaml")
        pushing.httpPush = ModelHTTPPushSettings(events: ["plate"], retries: 2, retryInterval: .milliseconds(200))
        let plan = [PlannedDevice(kind: camera, setup: DeviceSetup(
            id: "lpr-1", parameters: try DeviceParameters(descriptor: camera.descriptor, overrides: [
                "recognition_time": "20ms", "recognition_jitter": "0s", "error_rate": "0", "miss_rate": "0",
            ]), random: .forDevice("lpr-1", runSeed: 9), placement: Placement(zone: "G1", floor: 1)))]
        let binding = HTTPPushDeviceBinding(
            devices: [BoundDevice(id: "lpr-1", kind: "lpr-camera", model: "pusher-2", zone: "G1")],
            catalog: ModelCatalog([pushing]), configuration: .init(url: try #require(URL(string: "http://127.0.0.1:\(port)/push"))))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        await engine.start()
        defer { binding.stop() }
        for plate in ["京A12345", "晋Z99999", "京B67890"] {
            try await engine.apply(Stimulus("vehicle", arguments: ["plate": .string(plate)]), to: "lpr-1")
        }
        try waitFor("every push settled", seconds: 30) { binding.figures.answered + binding.figures.failed == 3 }
        await engine.stop()
        let figures = binding.figures
        #expect(figures.pushed == 3 && figures.answered == 1 && figures.failed == 2 && figures.retried == 4, "\(figures)")

        let attempts = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        func tries(_ plate: String) -> [(retry: String, at: Double)] {
            attempts.filter { $0["plate"] as? String == plate }.map { (($0["retry"] as? String) ?? "", ($0["at"] as? Double) ?? 0) }
        }
        #expect(tries("京A12345").map(\.retry) == ["", "1", "2"])
        #expect(tries("晋Z99999").map(\.retry) == [""], "a refused push is not sent again")
        let hopeless = tries("京B67890")
        #expect(hopeless.map(\.retry) == ["", "1", "2"])
        if hopeless.count == 3 {
            // 200 ms, then 400 ms: the wait doubles (a loaded machine only makes it longer).
            #expect(hopeless[1].at - hopeless[0].at >= 0.19 && hopeless[2].at - hopeless[1].at >= 0.39, "\(hopeless)")
        }
    }

    static let flakyReceiver = """
        import json, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        port_file, log = sys.argv[1], sys.argv[2]
        seen = {}
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                plate = body.get("values", {}).get("plate")
                with open(log, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"plate": plate, "retry": self.headers.get("X-Retry"), "at": time.monotonic()}, ensure_ascii=False) + "\\n")
                seen[plate] = seen.get(plate, 0) + 1
                if plate == "晋Z99999":
                    status = 400
                elif plate == "京A12345" and seen[plate] > 2:
                    status = 200
                else:
                    status = 503
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file, "w") as out:
            out.write(str(server.server_address[1]))
        server.serve_forever()
        """
}
