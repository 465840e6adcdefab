import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import ParkHarness
import ParkPlatform
import ParkProfiles
import ParkReport
import Testing

/// The load check on virtual time: the load park (100 devices) against the in-process reference
/// platform, whose `slow-under-load` switch there is a one-worker queue charging each message
/// what the live platform blocks for. Minutes of load run in seconds, the same every time.
@Suite struct LoadCheckTests {
    static let probes = """
            probes:
              devices: {kind: smoke-detector}
              stimulus: {stimulus: smoke, arguments: {density: 0.45}}
              observe: {event: smoke-alarm}
              after: [{stimulus: smoke-clear}]
              rate: 2
        """

    static func suite(stages: String, extra: String = "") -> String {
        """
        suite: load-test
        park: park.yaml
        checks:
          - id: load
            title: alarms under load
            type: load
            source: 004_5e9061d643d5fb41.txt L2714
            timeout: 10s
        \(stages)
        \(probes)
        \(extra)
            expect: ["alarm_latency.p99 < 2s", "probe_missing == 0", "offline_false_alarms == 0"]
        """
    }

    static let threeStages = """
            stages:
              - {name: steady, duration: 10s}
              - {name: double, duration: 10s, rate: 2}
              - {name: spike, duration: 10s, rate: 8}
        """

    static func run(_ suite: String, slowUnderLoad: Duration? = nil) async throws -> CheckResult {
        var faults = PlatformFaults()
        faults.slowUnderLoad = slowUnderLoad
        let park = try String(contentsOfFile: HarnessRuns.path("conformance/parks/load.yaml"), encoding: .utf8)
        let results = try await HarnessRuns.runVirtual(suite, park: park, faults: faults)
        return try #require(results.first)
    }

    @Test func everyStageHoldsOnAHealthyPlatform() async throws {
        let result = try await Self.run(Self.suite(stages: Self.threeStages))
        #expect(result.verdict == .pass, "\(result.summary) \(result.findings)")
        #expect(result.metrics["stages_held"]?.value == 3)
        // 2 probes a second for 30 s, each shown: the stages' probes add up.
        #expect((result.metrics["probes"]?.value ?? 0) >= 55)
        #expect((result.metrics["alarm_latency.p99"]?.value ?? .infinity) < 100)
        // The rate multiplies the traffic (the heartbeats too, and each device takes up to one old period to switch): the spike sends several times what the steady stage does.
        let steady = try #require(Self.rate(in: result, stage: "steady")), spike = try #require(Self.rate(in: result, stage: "spike"))
        #expect(spike > steady * 3, "steady \(steady) msg/s, spike \(spike)")
        let timeline = try #require(result.timeline)
        #expect(timeline.marks.map(\.label) == ["steady ×1", "double ×2", "spike ×8"])
        #expect(timeline.latency?.count == 2 && timeline.latencyThreshold == 2000)
    }

    /// Under slow-under-load the platform keeps up at ×1 and ×2 and saturates at ×8: the spike,
    /// and only the spike, fails the latency threshold.
    @Test func aPlatformSlowingUnderLoadFailsAtTheSpike() async throws {
        let result = try await Self.run(Self.suite(stages: Self.threeStages), slowUnderLoad: .milliseconds(60))
        #expect(result.verdict == .fail)
        #expect(result.metrics["stages_held"]?.value == 2, "\(result.findings)")
        let spike = try #require(result.findings.first { $0.hasPrefix("stage spike") })
        #expect(spike.contains("FAILED") && spike.contains("alarm_latency.p99 < 2s"), "\(spike)")
        #expect(result.findings.first { $0.hasPrefix("stage double") }?.hasSuffix("held") == true, "\(result.findings)")
        #expect((result.metrics["alarm_latency.p99"]?.value ?? 0) >= 2000)
    }

    /// abort_on stops the run at the first stage failing it: the stage after is cut short once
    /// the failing stage's probes are all in, and nothing after it runs.
    @Test func abortOnStopsAtTheFailingStage() async throws {
        let stages = """
                stages:
                  - {name: spike, duration: 10s, rate: 8}
                  - {name: after, duration: 10s}
                  - {name: last, duration: 10s}
                abort_on: ["alarm_latency.p99 < 2s"]
            """
        let result = try await Self.run(Self.suite(stages: stages), slowUnderLoad: .milliseconds(60))
        #expect(result.verdict == .fail)
        #expect(result.findings.contains { $0.contains("stopped after stage spike") }, "\(result.findings)")
        #expect(result.findings.contains { $0.hasPrefix("stage after") && $0.contains("(cut short)") }, "\(result.findings)")
        #expect(!result.findings.contains { $0.hasPrefix("stage last") }, "\(result.findings)")
    }

    /// The capacity search finds a knee, and the knee moves down when each message costs more.
    @Test func capacitySearchFindsAKneeThatMovesWithTheCost() async throws {
        let search = """
                capacity: {from: 1, factor: 2, step: 10s, up_to: 64}
            """
        let suite = Self.suite(stages: "", extra: search)
        let cheap = try await Self.run(suite, slowUnderLoad: .milliseconds(60))
        let dear = try await Self.run(suite, slowUnderLoad: .milliseconds(240))
        let cheapPace = try #require(cheap.metrics["capacity.pace"]?.value), dearPace = try #require(dear.metrics["capacity.pace"]?.value)
        #expect(cheapPace >= 2 && cheapPace < 64, "\(cheap.findings)")
        #expect(dearPace < cheapPace, "60 ms: ×\(cheapPace), 240 ms: ×\(dearPace)")
        #expect(cheap.findings.contains { $0.hasPrefix("capacity: the knee is between") }, "\(cheap.findings)")
        #expect((cheap.metrics["capacity.rate"]?.value ?? 0) > (dear.metrics["capacity.rate"]?.value ?? .infinity))
    }

    /// A ramp: 20 devices connected at the start, 100 by the end of the first stage, 50 by the
    /// end of the second. The traffic follows the devices connected, and the platform showing
    /// the disconnected ones offline is no false alarm.
    @Test func devicesRampUpAndDown() async throws {
        let stages = """
                start_devices: 20
                stages:
                  - {name: up, duration: 10s, devices: 100}
                  - {name: hold, duration: 10s}
                  - {name: down, duration: 10s, devices: 50}
            """
        let result = try await Self.run(Self.suite(stages: stages))
        #expect(result.verdict == .pass, "\(result.summary) \(result.findings)")
        let lines = result.findings.filter { $0.hasPrefix("stage ") }
        #expect(lines.count == 3 && lines[0].hasPrefix("stage up ×1, 100 devices") && lines[1].hasPrefix("stage hold ×1, 100 devices")
                && lines[2].hasPrefix("stage down ×1, 50 devices"), "\(lines)")
        let up = try #require(Self.rate(in: result, stage: "up")), hold = try #require(Self.rate(in: result, stage: "hold"))
        #expect(hold > up * 1.3, "a park ramping from 20 to 100 devices sends less than the whole park: up \(up), hold \(hold) msg/s")
        #expect(result.metrics["offline_false_alarms"]?.value == 0)
        #expect((result.metrics["probes"]?.value ?? 0) >= 55, "probes go to connected devices only, and go on: \(result.findings)")
    }

    @Test func aLoadCheckWithoutStagesOrProbesIsRefusedAtLoad() throws {
        let text = """
            suite: s
            checks:
              - {id: l, title: t, type: load, source: "004_5e9061d643d5fb41.txt L2714", expect: ["probes >= 1"], abort_on: ["loss == 0"]}
            """
        #expect(throws: ProfileErrors.self) { try Suite.parse(text, file: "s.yaml") }
        do { _ = try Suite.parse(text, file: "s.yaml") } catch {
            let messages = error.issues.map(\.description).joined(separator: "\n")
            #expect(messages.contains("needs stages, a capacity search, or both"), "\(messages)")
            #expect(messages.contains("probes"), "\(messages)")
            #expect(messages.contains("'loss == 0' is not one of this check's expectations"), "\(messages)")
        }
    }

    /// The sent rate of the stage named `stage`, from its finding line.
    static func rate(in result: CheckResult, stage: String) -> Double? {
        guard let line = result.findings.first(where: { $0.hasPrefix("stage \(stage) ") }),
              let range = line.range(of: #": (\d+) msg/s sent"#, options: .regularExpression) else { return nil }
        return Double(line[range].dropFirst(2).split(separator: " ").first ?? "")
    }
}

/// `/metrics` serves the board's latest figures in the Prometheus text format.
@Suite struct MetricsEndpointTests {
    @Test func servesTheLatestFiguresAndNothingElse() async throws {
        let board = LoadFiguresBoard()
        let endpoint = try MetricsEndpoint(board: board, port: 0)
        defer { endpoint.stop() }
        let url = try #require(URL(string: "http://127.0.0.1:\(endpoint.port)/metrics"))
        let (empty, _) = try await URLSession.shared.data(from: url)
        #expect(empty.isEmpty, "nothing to say before the load check posts")
        board.post(LoadFigures(
            stage: "spike", stageNumber: 3, stageCount: 3, pace: 8, elapsedSeconds: 50, stageSecondsLeft: 10, devices: 1000,
            sentPerSecond: 1789, shownPerSecond: 1700, probesSent: 100, probesMissing: 1, probesPending: 2, latencyP50: 12.5, latencyP99: 2500,
            offlineFalseAlarms: 0, failing: ["alarm_latency.p99 < 2s"]))
        let (data, response) = try await URLSession.shared.data(from: url)
        let text = String(decoding: data, as: UTF8.self)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(text.contains("parkbench_load_sent_messages_per_second 1789.0\n"), "\(text)")
        #expect(text.contains("parkbench_load_probe_latency_p99_seconds 2.5\n"), "\(text)")
        #expect(text.contains("# TYPE parkbench_load_probes_missing_total counter\nparkbench_load_probes_missing_total 1\n"), "\(text)")
        #expect(text.contains("parkbench_load_thresholds_failing 1.0\n"), "\(text)")
        let (_, missing) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(endpoint.port)/other")))
        #expect((missing as? HTTPURLResponse)?.statusCode == 404)
    }
}
