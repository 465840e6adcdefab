import Histogram
import ParkReport

/// Judges a load run's stages — one process's, or the merge of several shards' — against the
/// check's expectations: each stage's figures, which it failed, the check's figures (each its
/// worst stage's), the capacity found, and a line per stage. A load check and `parkbench merge`
/// report through this one piece of code, so a merged run reads exactly as a single one would.
package enum LoadJudgement {
    /// HDR settings every stage histogram uses, so any two merge bucket for bucket.
    static let latencyCeilingMicroseconds: UInt64 = 3_600_000_000

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: latencyCeilingMicroseconds, numberOfSignificantValueDigits: .three)
    }

    /// The histogram's buckets as `[value, count]` pairs (what ``LoadEvidence`` stores).
    static func buckets(of histogram: Histogram<UInt64>) -> [[UInt64]] {
        histogram.recordedValues().map { [$0.value, $0.count] }
    }

    /// A histogram holding `buckets` (from ``buckets(of:)``, of one or several stages).
    static func histogram(_ buckets: [[UInt64]]...) -> Histogram<UInt64> {
        var histogram = emptyHistogram()
        for pairs in buckets {
            for pair in pairs where pair.count == 2 { _ = histogram.record(min(pair[0], latencyCeilingMicroseconds), count: pair[1]) }
        }
        return histogram
    }

    /// The figures the expectations read, for one stage.
    package static func metrics(of stage: LoadEvidence.Stage) -> [String: Metric] {
        let seconds = max(stage.seconds, 0.001)
        var metrics: [String: Metric] = [
            "probes": .count(stage.probes),
            "probe_missing": .count(stage.missing, percent: stage.probes == 0 ? nil : 100 * Double(stage.missing) / Double(stage.probes)),
            "offline_false_alarms": .count(stage.offline), "sent_rate": .number(Double(stage.sent) / seconds),
            "shown_rate": .number(Double(stage.shown) / seconds),
        ]
        let latency = histogram(stage.latencyMicroseconds)
        if latency.totalCount > 0 {
            for (name, percentile) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)] {
                metrics["alarm_latency.\(name)"] = .milliseconds(Double(latency.valueAtPercentile(percentile)) / 1000)
            }
            metrics["alarm_latency.max"] = .milliseconds(Double(latency.max) / 1000)
        }
        return metrics
    }

    /// The expectations `stage` fails.
    package static func failures(of stage: LoadEvidence.Stage, against expectations: [Expectation]) -> [Expectation] {
        let metrics = metrics(of: stage)
        return expectations.filter { !$0.holds(metrics[$0.metric].flatMap($0.comparable)) }
    }

    /// The check's figures and findings for `evidence`.
    package static func measurement(_ evidence: LoadEvidence, expectations: [Expectation], capacityUpTo: Double?) -> CheckMeasurement {
        var measurement = CheckMeasurement()
        measurement.load = evidence
        let perStage = evidence.stages.map { (stage: $0, metrics: metrics(of: $0), failed: failures(of: $0, against: expectations)) }
        for name in LoadCheck.metrics.keys where !name.hasPrefix("capacity.") && name != "stages_held" {
            let values = perStage.compactMap { $0.metrics[name] }
            // The worst: the lowest for a figure an expectation wants high, the highest for the rest.
            let wantsHigh = expectations.contains { $0.metric == name && ($0.comparison == .greater || $0.comparison == .greaterOrEqual) }
            if let worst = wantsHigh ? values.min(by: { $0.value < $1.value }) : values.max(by: { $0.value < $1.value }) {
                measurement.set(name, worst)
            }
        }
        measurement.set("probes", .count(evidence.stages.map(\.probes).reduce(0, +)))
        measurement.set("stages_held", .count(perStage.prefix { $0.failed.isEmpty }.count))
        var lines = perStage.map { entry -> String in
            let stage = entry.stage, metrics = entry.metrics
            // A stage running when the run stopped (abort_on) is judged on what it ran.
            let cut = stage.seconds < stage.plannedSeconds - 0.5 ? " (cut short)" : ""
            let devices = stage.devices.map { ", \($0) devices" } ?? ""
            var line = "stage \(stage.name) ×\(LoadFigures.short(stage.pace))\(devices), \(LoadFigures.short(stage.seconds)) s\(cut): "
                + "\(Int((metrics["sent_rate"]?.value ?? 0).rounded())) msg/s sent, \(Int((metrics["shown_rate"]?.value ?? 0).rounded())) shown; "
                + "\(stage.probes) probes, \(stage.missing) missing"
            if let p50 = metrics["alarm_latency.p50"]?.value, let p99 = metrics["alarm_latency.p99"]?.value {
                line += "; alarm p50 \(LoadFigures.short(p50)) ms, p99 \(LoadFigures.short(p99)) ms"
            }
            line += "; \(stage.offline) shown offline — "
            line += entry.failed.isEmpty ? "held" : "FAILED " + entry.failed.map(\.expression).joined(separator: ", ")
            return line
        }
        if evidence.capacitySearch {
            let levels = perStage.dropFirst(evidence.listedStages)
            let held = levels.prefix { $0.failed.isEmpty }.last
            measurement.set("capacity.pace", .number(held?.stage.pace ?? 0))
            measurement.set("capacity.rate", .number(held?.metrics["sent_rate"]?.value ?? 0))
            if let knee = levels.first(where: { !$0.failed.isEmpty }) {
                lines.append("capacity: the knee is between ×\(LoadFigures.short(held?.stage.pace ?? 0)) and ×\(LoadFigures.short(knee.stage.pace)) (stage \(knee.stage.name) failed)")
            } else {
                lines.append("capacity: every level up to ×\(LoadFigures.short(capacityUpTo ?? levels.last?.stage.pace ?? 0)) held; raise capacity.up_to to find the knee")
            }
        }
        if evidence.shards.count > 1 { lines.append("merged from \(evidence.shards.count) shards: \(evidence.shards.joined(separator: ", "))") }
        measurement.findings = lines
        return measurement
    }
}

extension LoadEvidence {
    /// The shards of one run as one: stage by stage (by position), counts added, histograms
    /// merged bucket for bucket, the longest duration taken. Nil when they are not the same run's
    /// stages (names or paces differ).
    package static func merging(_ shards: [LoadEvidence]) -> LoadEvidence? {
        guard let first = shards.first else { return nil }
        let count = shards.map(\.stages.count).max() ?? 0
        var stages: [LoadEvidence.Stage] = []
        for index in 0 ..< count {
            let parts = shards.compactMap { $0.stages.indices.contains(index) ? $0.stages[index] : nil }
            guard let head = parts.first, parts.allSatisfy({ $0.name == head.name && $0.pace == head.pace }) else { return nil }
            var merged = head
            merged.seconds = parts.map(\.seconds).max() ?? head.seconds
            merged.plannedSeconds = parts.map(\.plannedSeconds).max() ?? head.plannedSeconds
            merged.sent = parts.map(\.sent).reduce(0, +)
            merged.shown = parts.map(\.shown).reduce(0, +)
            merged.probes = parts.map(\.probes).reduce(0, +)
            merged.missing = parts.map(\.missing).reduce(0, +)
            merged.offline = parts.map(\.offline).reduce(0, +)
            merged.devices = parts.allSatisfy { $0.devices != nil } ? parts.compactMap(\.devices).reduce(0, +) : nil
            var histogram = LoadJudgement.emptyHistogram()
            for part in parts { histogram.add(LoadJudgement.histogram(part.latencyMicroseconds)) }
            merged.latencyMicroseconds = LoadJudgement.buckets(of: histogram)
            stages.append(merged)
        }
        return LoadEvidence(stages: stages, listedStages: first.listedStages, capacitySearch: first.capacitySearch,
                            shards: shards.flatMap(\.shards))
    }
}
