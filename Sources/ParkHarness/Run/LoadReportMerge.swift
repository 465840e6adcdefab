import Foundation
import ParkReport

/// The shards of one load run as one report (`parkbench merge`): each shard ran its slice of the
/// park, on this machine or another (`parkbench load --shard i/N`), and wrote its own run folder.
/// Counts add up, each stage's latency histograms merge bucket for bucket, and the thresholds
/// are judged again on the merged figures by the same code a single run is judged by
/// (``LoadJudgement``) — never an average of the shards' percentiles.
package enum LoadReportMerge {
    /// - Throws: ``HarnessError/configuration(_:)`` naming the folder that does not fit: another
    ///   suite, other checks, a check without load figures, stages that differ, a shard twice.
    package static func merge(_ reports: [(folder: String, report: RunReport)], runID: String) throws(HarnessError) -> RunReport {
        guard let (firstFolder, first) = reports.first else { throw .configuration("nothing to merge: name the shards' run folders") }
        for (folder, report) in reports.dropFirst() {
            guard report.suite.name == first.suite.name, report.checks.map(\.id) == first.checks.map(\.id) else {
                throw .configuration("\(folder) is a run of \(report.suite.name) (\(report.checks.map(\.id).joined(separator: ", "))), "
                                     + "\(firstFolder) of \(first.suite.name) (\(first.checks.map(\.id).joined(separator: ", "))): not shards of one run")
            }
        }
        var checks: [CheckResult] = []
        for (index, check) in first.checks.enumerated() {
            var evidence: [LoadEvidence] = []
            for (folder, report) in reports {
                guard let load = report.checks[index].load else {
                    throw .configuration("\(folder): check \(check.id) has no load figures to merge (only load checks merge)")
                }
                evidence.append(load)
            }
            let shards = evidence.flatMap(\.shards)
            if let twice = Dictionary(grouping: shards, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw .configuration("shard \(twice) of \(check.id) is in more than one folder")
            }
            guard let merged = LoadEvidence.merging(evidence) else {
                throw .configuration("the shards' stages of \(check.id) differ (names or rates): not one load profile")
            }
            var expectations: [Expectation] = []
            for result in check.expectations {
                do { expectations.append(try Expectation(parsing: result.expression)) } catch {
                    throw .configuration("\(firstFolder): \(check.id): \(error)")
                }
            }
            var measurement = LoadJudgement.measurement(merged, expectations: expectations, capacityUpTo: nil)
            measurement.timeline = mergedTimeline(reports.compactMap { $0.report.checks[index].timeline })
            let common = CheckCommon(
                id: check.id, title: check.title, type: check.type, source: check.source,
                severity: CheckCommon.Severity(rawValue: check.severity) ?? .major, expectations: expectations, timeout: .seconds(10),
                location: firstFolder)
            let starts = reports.compactMap { $0.report.checks[index].startedAtNanoseconds }
            var result = HarnessRunner.verdict(common, measurement, started: starts.min().map { Date(timeIntervalSince1970: Double($0) / 1e9) } ?? Date())
            result.durationMilliseconds = reports.map { $0.report.checks[index].durationMilliseconds }.max() ?? result.durationMilliseconds
            checks.append(result)
        }
        var report = first
        report.runID = runID
        report.checks = checks
        report.verdict = checks.map(\.verdict).max() ?? .skipped
        report.park.devices = reports.map(\.report.park.devices).reduce(0, +)
        if let started = reports.map(\.report).min(by: { $0.startedAt < $1.startedAt }) {
            report.startedAt = started.startedAt
            report.startedAtNanoseconds = started.startedAtNanoseconds
        }
        if let finished = reports.map(\.report).max(by: { $0.finishedAt < $1.finishedAt }) {
            report.finishedAt = finished.finishedAt
            report.finishedAtNanoseconds = finished.finishedAtNanoseconds
        }
        report.notes = ["merged from \(reports.count) shards' run folders (\(reports.map(\.folder).joined(separator: ", "))): "
                        + "counts added, latency histograms merged bucket for bucket, thresholds judged on the merged figures"]
            + Array(Set(reports.flatMap(\.report.notes))).sorted()
        return report
    }

    /// The shards' timelines on one time axis: message rates added, the latency lines the worst
    /// shard's per second (a percentile per second cannot be merged; the stage figures are exact).
    static func mergedTimeline(_ timelines: [TimelineEvidence]) -> TimelineEvidence? {
        guard let first = timelines.first, let start = timelines.map(\.startNanoseconds).min() else { return nil }
        let bucket = Int64(first.bucketMilliseconds) * 1_000_000
        func combine(_ series: [[TimelineEvidence.Series]], _ fold: (Double, Double) -> Double) -> [TimelineEvidence.Series] {
            guard let names = series.first?.map(\.name) else { return [] }
            return names.enumerated().map { position, name in
                var values: [Double] = []
                for (timeline, lines) in zip(timelines, series) where lines.indices.contains(position) {
                    let offset = Int((timeline.startNanoseconds - start) / max(bucket, 1))
                    for (index, value) in lines[position].values.enumerated() {
                        let at = offset + index
                        if values.count <= at { values += Array(repeating: 0, count: at - values.count + 1) }
                        values[at] = fold(values[at], value)
                    }
                }
                return TimelineEvidence.Series(name: name, values: values)
            }
        }
        let latency = timelines.allSatisfy { $0.latency != nil } ? combine(timelines.map { $0.latency ?? [] }, max) : nil
        return TimelineEvidence(
            startNanoseconds: start, bucketMilliseconds: first.bucketMilliseconds, rates: combine(timelines.map(\.rates), +), online: nil,
            marks: first.marks, latency: latency, latencyThreshold: first.latencyThreshold)
    }
}
