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
            metrics: ["latency.p99_ms": 99], latency: latency, startedAt: "2026-11-25T02:30:00Z", durationMilliseconds: 5)
        return RunReport(
            runID: "20261125T023000Z-abcdef", startedAt: "2026-11-25T02:30:00Z", finishedAt: "2026-11-25T02:30:10Z",
            verdict: .pass, suite: .init(name: "park-core", title: "Core", file: "conformance/suites/park-core.yaml"),
            platform: .init(name: "reference", file: "conformance/platforms/reference.yaml", endpoint: "mqtt://127.0.0.1:1883"),
            park: .init(name: "demo", file: "conformance/parks/demo.yaml", devices: 17), seed: 42,
            parkbenchVersion: "0.1.0", checks: [check])
    }

    @Test func roundTripsThroughSnakeCaseJSON() throws {
        let report = Self.sample()
        let data = try RunReport.makeEncoder().encode(report)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"run_id\" : \"20261125T023000Z-abcdef\""))
        #expect(text.contains("\"message_id\" : \"m1\""))
        #expect(text.contains("\"schema\" : \"parkbench.report/1\""))
        #expect(try RunReport.makeDecoder().decode(RunReport.self, from: data) == report)
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
