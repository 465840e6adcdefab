import Foundation
@testable import ParkHarness
import ParkReport
import Testing

/// Merging shards' load reports: exact figures from histograms, thresholds judged again, and
/// folders that are not one run's shards refused with what is wrong.
@Suite struct LoadReportMergeTests {
    /// One shard's report: one load check with one stage whose probes took `latencies` ms.
    static func shard(_ index: Int, of count: Int, latencies: [UInt64], missing: Int = 0, stage: String = "hold", suite: String = "load") -> RunReport {
        var histogram = LoadJudgement.emptyHistogram()
        for latency in latencies { _ = histogram.record(latency * 1000) }
        let evidence = LoadEvidence(
            stages: [.init(name: stage, pace: 2, plannedSeconds: 10, seconds: 10, sent: 1000, shown: 990, probes: latencies.count + missing,
                           missing: missing, offline: 0, latencyMicroseconds: LoadJudgement.buckets(of: histogram))],
            listedStages: 1, capacitySearch: false, shards: ["\(index)/\(count)"])
        let expectation = ExpectationResult(
            expression: "alarm_latency.p99 < 2s", metric: "alarm_latency.p99", measured: nil, threshold: 2000, comparison: "<", unit: "ms", passed: true)
        let check = CheckResult(
            id: "load", title: "alarms under load", type: "load", source: "004_5e9061d643d5fb41.txt L2714", severity: "critical", verdict: .pass,
            summary: "", expectations: [expectation], startedAt: "2026-12-07T02:00:0\(index)Z", startedAtNanoseconds: 1_000_000_000 * Int64(index),
            durationMilliseconds: 10_000, load: evidence)
        return RunReport(
            runID: "shard-\(index)", startedAt: "2026-12-07T02:00:0\(index)Z", finishedAt: "2026-12-07T02:00:1\(index)Z", verdict: .pass,
            suite: .init(name: suite, title: "", file: "load.yaml"), platform: .init(name: "reference", file: "", endpoint: ""),
            park: .init(name: "load", file: "", devices: 100), seed: 1, parkbenchVersion: "test", checks: [check])
    }

    /// Two shards each under 2 s at p99 on their own, whose union is not: 98 fast probes on one,
    /// and on the other 98 fast and 4 slow — its own p99 is slow, yet only the merge knows the
    /// run's p99 exactly (the mean of the shards' p99s would be wrong either way).
    @Test func percentilesComeFromTheMergedHistogramNotFromTheShards() throws {
        let fast = Self.shard(0, of: 2, latencies: Array(repeating: 10, count: 98))
        let mixed = Self.shard(1, of: 2, latencies: Array(repeating: 10, count: 98) + [3000, 3000, 3000, 3000])
        let merged = try LoadReportMerge.merge([("a", fast), ("b", mixed)], runID: "merged")
        let check = try #require(merged.checks.first)
        #expect(check.metrics["probes"]?.value == 200)
        // 4 of 200 probes at 3 s: the 99th percentile is 3 s (4 % of probes are above 10 ms).
        #expect((check.metrics["alarm_latency.p99"]?.value ?? 0) >= 2990)
        #expect(check.metrics["alarm_latency.p50"].map { abs($0.value - 10) < 0.1 } == true)
        #expect(check.verdict == .fail && merged.verdict == .fail)
        #expect(merged.park.devices == 200)
        #expect(check.findings.contains("merged from 2 shards: 0/2, 1/2"), "\(check.findings)")
        #expect(check.load?.stages.first?.sent == 2000)
    }

    @Test func shardsThatHoldTogetherPass() throws {
        let merged = try LoadReportMerge.merge(
            [("a", Self.shard(0, of: 2, latencies: [5, 6, 7])), ("b", Self.shard(1, of: 2, latencies: [8, 9]))], runID: "merged")
        #expect(merged.verdict == .pass)
        #expect(merged.checks.first?.metrics["alarm_latency.max"].map { abs($0.value - 9) < 0.1 } == true)
    }

    @Test func foldersThatAreNotOneRunsShardsAreRefused() throws {
        let one = Self.shard(0, of: 2, latencies: [5])
        #expect(throws: HarnessError.self) { try LoadReportMerge.merge([("a", one), ("b", one)], runID: "m") }
        do { _ = try LoadReportMerge.merge([("a", one), ("b", one)], runID: "m") } catch {
            #expect(error.description.contains("shard 0/2 of load is in more than one folder"), "\(error)")
        }
        do { _ = try LoadReportMerge.merge([("a", one), ("b", Self.shard(1, of: 2, latencies: [5], suite: "other"))], runID: "m") } catch {
            #expect(error.description.contains("not shards of one run"), "\(error)")
        }
        do { _ = try LoadReportMerge.merge([("a", one), ("b", Self.shard(1, of: 2, latencies: [5], stage: "spike"))], runID: "m") } catch {
            #expect(error.description.contains("stages of load differ"), "\(error)")
        }
        var notLoad = Self.shard(1, of: 2, latencies: [5])
        notLoad.checks[0].load = nil
        do { _ = try LoadReportMerge.merge([("a", one), ("b", notLoad)], runID: "m") } catch {
            #expect(error.description.contains("b: check load has no load figures"), "\(error)")
        }
    }

    /// A stage's figures survive the report's JSON: what one machine writes, another merges.
    @Test func evidenceSurvivesTheReportsJSON() throws {
        let report = Self.shard(0, of: 1, latencies: [1, 2, 3, 1500])
        let decoded = try RunReport.makeDecoder().decode(RunReport.self, from: RunReport.makeEncoder().encode(report))
        #expect(decoded.checks.first?.load == report.checks.first?.load)
        let stage = try #require(decoded.checks.first?.load?.stages.first)
        #expect(LoadJudgement.metrics(of: stage)["alarm_latency.max"].map { abs($0.value - 1500) < 2.5 } == true)
    }
}
