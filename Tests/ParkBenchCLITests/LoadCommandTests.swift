import Foundation
import Testing

/// `parkbench load` end to end against the embedded mosquitto and reference platform: the wiring
/// (scaling, stages, probes over real MQTT, the report) with the platform saturating under
/// `slow-under-load`. Which stage fails and why is proven on virtual time (LoadCheckTests); here a
/// short run shows the same verdict through the real stack.
@Suite(.serialized) struct LoadCommandTests {
    static let profile = """
        suite: load-cli
        park: conformance/parks/load.yaml
        checks:
          - id: load-cli
            title: alarms under load
            type: load
            source: 004_5e9061d643d5fb41.txt L2714
            scale_to: 200
            timeout: 4s
            stages:
              - {name: calm, duration: 3s}
              - {name: flood, duration: 5s, rate: 8}
            probes:
              devices: {kind: smoke-detector}
              stimulus: {stimulus: smoke, arguments: {density: 0.45}}
              observe: {event: smoke-alarm}
              after: [{stimulus: smoke-clear}]
              rate: 4
            expect: ["alarm_latency.p99 < 1s", "probe_missing == 0"]
        """

    @Test func aPlatformSaturatingUnderTheFloodFailsIt() throws {
        let cli = CLITests()
        let file = try cli.temporaryFile("load.yaml", Self.profile)
        let folder = file.deletingLastPathComponent().appendingPathComponent("run").path
        let run = try cli.parkbench("load", file.path, "--fault", "slow-under-load=30ms", "--out", folder)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("park load: 200 devices connected"), "\(run.stdout)")
        let calm = run.stdout.split(separator: "\n").first { $0.contains("stage calm ×1") } ?? ""
        let flood = run.stdout.split(separator: "\n").first { $0.contains("stage flood ×8") } ?? ""
        // The calm stage's own figures are printed and judged (whether it holds depends on how
        // fast the 200 connects' burst drains on this machine; the virtual tests prove that only
        // the saturated stage fails).
        #expect(calm.contains("12 probes") || calm.contains("probes,"), "\(run.stdout)")
        #expect(flood.contains("FAILED"), "\(run.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))) as? [String: Any]
        let check = (report?["checks"] as? [[String: Any]])?.first
        #expect(check?["verdict"] as? String == "fail")
        let timeline = check?["timeline"] as? [String: Any]
        #expect((timeline?["latency"] as? [Any])?.count == 2, "the report plots the probes' latency over time")
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        #expect(html.contains("Alarm probe latency"))
    }

    @Test func badArgumentsAreRefusedWithExitTwo() throws {
        let cli = CLITests()
        let notLoad = try cli.parkbench("load", "conformance/suites/park-core.yaml")
        #expect(notLoad.status == 2 && notLoad.stderr.contains("has no check of type load"), "\(notLoad.stderr)")
        let both = try cli.parkbench("load", "conformance/load/reference.yaml", "--platform", "conformance/platforms/reference.yaml", "--fault", "drop-alarms")
        #expect(both.status == 2 && both.stderr.contains("cannot be used with --platform"), "\(both.stderr)")
    }
}
