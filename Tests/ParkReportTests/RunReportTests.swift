import Foundation
import ParkReport
import Testing

@Suite struct RunReportTests {
    static func sample() -> RunReport {
        let latency = LatencyEvidence(samples: (1...100).map { index in
            LatencySample(
                device: "smoke-\(index)", label: "smoke → smoke-alarm", startNanoseconds: 1_000_000_000,
                endNanoseconds: 1_000_000_000 + Int64(index) * 1_000_000, matchedBy: "msg_id", messageID: "m\(index)")
        })
        let check = CheckResult(
            id: "alarm-latency", title: "Alarm response", type: "latency", source: "004_5e9061d643d5fb41.txt L2714",
            severity: "critical", verdict: .pass, summary: "p99 99.0 ms < 2000 ms",
            expectations: [ExpectationResult(
                expression: "latency.p99 < 2s", metric: "latency.p99", measured: 99, threshold: 2000, comparison: "<",
                unit: "ms", passed: true)],
            metrics: ["latency.p99": .milliseconds(99), "loss": .count(1, percent: 0.5)], latency: latency, startedAt: "2026-11-25T02:30:00Z",
            startedAtNanoseconds: 1_795_573_800_000_000_000, durationMilliseconds: 5)
        return RunReport(
            runID: "20261125T023000Z-abcdef", startedAt: "2026-11-25T02:30:00Z", finishedAt: "2026-11-25T02:30:10Z",
            verdict: .pass, suite: .init(name: "park-core", title: "Core", file: "conformance/suites/park-core.yaml"),
            platform: .init(name: "reference", file: "conformance/platforms/reference.yaml", endpoint: "mqtt://127.0.0.1:1883"),
            park: .init(name: "demo", file: "conformance/parks/demo.yaml", devices: 17), seed: 42,
            parkbenchVersion: "0.1.0", checks: [check], startedAtNanoseconds: 1_795_573_800_000_000_000,
            finishedAtNanoseconds: 1_795_573_810_000_000_000)
    }

    @Test func roundTripsThroughSnakeCaseJSON() throws {
        let report = Self.sample()
        let data = try RunReport.makeEncoder().encode(report)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"run_id\" : \"20261125T023000Z-abcdef\""))
        #expect(text.contains("\"message_id\" : \"m1\""))
        #expect(text.contains("\"schema\" : \"parkbench.report/2\""))
        #expect(try RunReport.makeDecoder().decode(RunReport.self, from: data) == report)
    }

    /// Each metric is written as value and unit, and comes back with both.
    @Test func metricsRoundTripWithTheirUnits() throws {
        let data = try RunReport.makeEncoder().encode(Self.sample())
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let check = try #require((json["checks"] as? [[String: Any]])?.first)
        let metrics = try #require(check["metrics"] as? [String: [String: Any]])
        #expect(metrics["latency.p99"]?["value"] as? Double == 99)
        #expect(metrics["latency.p99"]?["unit"] as? String == "ms")
        #expect(metrics["latency.p99"]?["percent"] == nil, "no percentage where the check gave none")
        #expect(metrics["loss"]?["unit"] as? String == "count")
        #expect(metrics["loss"]?["percent"] as? Double == 0.5)
        #expect(check["started_at_nanoseconds"] as? Int64 == 1_795_573_800_000_000_000)
        #expect(json["started_at_nanoseconds"] as? Int64 == 1_795_573_800_000_000_000)

        let decoded = try RunReport.makeDecoder().decode(RunReport.self, from: data).checks[0]
        #expect(decoded.metrics["latency.p99"] == Metric(value: 99, unit: .milliseconds))
        #expect(decoded.metrics["loss"] == Metric(value: 1, unit: .count, percent: 0.5))
        #expect(decoded.startedAtNanoseconds == 1_795_573_800_000_000_000)
    }

    /// A `parkbench.report/1` file — bare numbers, percentages under `<name>%`, no typed
    /// times — as users' run folders hold them, still reads.
    @Test func versionOneReportsStillDecode() throws {
        let old = """
            {"schema": "parkbench.report/1", "run_id": "20261125T023000Z-abcdef", "started_at": "2026-11-25T02:30:00.000Z",
             "finished_at": "2026-11-25T02:30:10.000Z", "verdict": "fail", "seed": 42, "parkbench_version": "0.1.0",
             "faults": [], "notes": [],
             "suite": {"name": "park-core", "title": "Core", "file": "s.yaml"},
             "platform": {"name": "reference", "file": "p.yaml", "endpoint": "mqtt://127.0.0.1:1883"},
             "park": {"name": "demo", "file": "d.yaml", "devices": 17},
             "checks": [{"id": "delivery", "title": "D", "type": "delivery", "source": "004_5e9061d643d5fb41.txt L725",
                         "severity": "major", "verdict": "fail", "summary": "expected loss == 0, measured 2",
                         "expectations": [], "findings": [], "started_at": "2026-11-25T02:30:01.250Z",
                         "duration_milliseconds": 4000,
                         "metrics": {"sent": 40, "loss": 2, "loss%": 5, "mean_error%": 1.25, "latency.p99": 12.5}}]}
            """
        let report = try RunReport.makeDecoder().decode(RunReport.self, from: Data(old.utf8))
        #expect(report.schema == "parkbench.report/1")
        #expect(report.startedAtNanoseconds == nil)
        let check = try #require(report.checks.first)
        #expect(check.startedAtNanoseconds == nil)
        #expect(check.metrics["sent"] == Metric(value: 40, unit: .number))
        #expect(check.metrics["loss"] == Metric(value: 2, unit: .number, percent: 5), "`loss%` is loss's percentage")
        #expect(check.metrics["mean_error"] == Metric(value: 1.25, unit: .percent), "`mean_error%` alone is a percent metric")
        #expect(check.metrics["latency.p99"]?.value == 12.5)
        #expect(check.metrics.keys.sorted() == ["latency.p99", "loss", "mean_error", "sent"], "no `%` key survives")
    }

    @Test func nearestRankPercentiles() {
        let evidence = Self.sample().checks[0].latency!
        #expect(evidence.p50 == 50)
        #expect(evidence.p95 == 95)
        #expect(evidence.p99 == 99)
        #expect(evidence.max == 100)
        #expect(LatencyEvidence.percentile(0.99, of: []) == nil)
        #expect(LatencyEvidence.percentile(0.5, of: [7]) == 7)
    }

    @Test func verdictOrderPutsErrorsWorst() {
        #expect([RunReport.Verdict.pass, .fail, .skipped].max() == .fail)
        #expect([RunReport.Verdict.pass, .error, .fail].max() == .error)
    }
}
