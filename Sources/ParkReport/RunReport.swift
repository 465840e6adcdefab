import Foundation

/// Everything one conformance run found, as written to `report.json` and read back by the
/// report writers (JUnit, HTML) and the run history.
///
/// The JSON schema is versioned by ``schema``; fields are snake_case. A consumer must ignore
/// fields it does not know, and a change that removes or re-types a field bumps the version.
public struct RunReport: Codable, Sendable, Hashable {
    /// The schema this report follows.
    /// Version 2 gives each metric its unit (``Metric``); version 1 reports still decode.
    public static let currentSchema = "parkbench.report/2"

    public var schema: String
    /// Unique and sortable: `20261125T023000Z-<6 hex>`.
    public var runID: String
    /// RFC 3339 UTC times, for people; ``startedAtNanoseconds`` and ``finishedAtNanoseconds``
    /// are the same instants for programs.
    public var startedAt: String
    public var finishedAt: String
    /// Wall-clock nanoseconds since the epoch, as in ``LatencySample``; nil in reports written
    /// before they were recorded.
    public var startedAtNanoseconds: Int64?
    public var finishedAtNanoseconds: Int64?
    public var verdict: Verdict
    public var suite: SuiteInfo
    public var platform: PlatformInfo
    public var park: ParkInfo
    public var seed: UInt64
    public var parkbenchVersion: String
    /// Fault switches turned on for this run (reference platform), e.g. `alarm-delay=3s`.
    public var faults: [String]
    public var checks: [CheckResult]
    /// Run-level problems that are not a check's (a peer that vanished, a capture that failed).
    public var notes: [String]

    // `runId` so that both snake-case key strategies map it to `run_id` and back.
    enum CodingKeys: String, CodingKey {
        case schema, runID = "runId", startedAt, finishedAt, startedAtNanoseconds, finishedAtNanoseconds, verdict, suite, platform, park, seed, parkbenchVersion
        case faults, checks, notes
    }

    public init(
        runID: String, startedAt: String, finishedAt: String, verdict: Verdict, suite: SuiteInfo,
        platform: PlatformInfo, park: ParkInfo, seed: UInt64, parkbenchVersion: String, faults: [String] = [],
        checks: [CheckResult], notes: [String] = [], startedAtNanoseconds: Int64? = nil, finishedAtNanoseconds: Int64? = nil
    ) {
        self.schema = Self.currentSchema
        self.runID = runID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.startedAtNanoseconds = startedAtNanoseconds
        self.finishedAtNanoseconds = finishedAtNanoseconds
        self.verdict = verdict
        self.suite = suite
        self.platform = platform
        self.park = park
        self.seed = seed
        self.parkbenchVersion = parkbenchVersion
        self.faults = faults
        self.checks = checks
        self.notes = notes
    }

    /// Outcome of a check, and of a whole run (the worst of its checks).
    public enum Verdict: String, Codable, Sendable, Hashable, Comparable {
        case pass, skipped, fail, error

        private var rank: Int {
            switch self {
            case .pass: 0
            case .skipped: 1
            case .fail: 2
            case .error: 3
            }
        }

        public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.rank < rhs.rank }
    }

    /// Which suite ran.
    public struct SuiteInfo: Codable, Sendable, Hashable {
        public var name: String
        public var title: String
        public var file: String
        public init(name: String, title: String, file: String) {
            self.name = name
            self.title = title
            self.file = file
        }
    }

    /// Which system under test, through which platform profile.
    public struct PlatformInfo: Codable, Sendable, Hashable {
        public var name: String
        public var file: String
        /// Where it was reached, e.g. `mqtt://127.0.0.1:40213`; never credentials.
        public var endpoint: String
        public init(name: String, file: String, endpoint: String) {
            self.name = name
            self.file = file
            self.endpoint = endpoint
        }
    }

    /// Which park of virtual devices drove it.
    public struct ParkInfo: Codable, Sendable, Hashable {
        public var name: String
        public var file: String
        public var devices: Int
        public init(name: String, file: String, devices: Int) {
            self.name = name
            self.file = file
            self.devices = devices
        }
    }
}

/// One check's verdict and its evidence.
public struct CheckResult: Codable, Sendable, Hashable {
    public var id: String
    public var title: String
    /// The check type: latency, delivery, accuracy, status, command, linkage, auth.
    public var type: String
    /// Where the requirement comes from: `<seed file> L<line>`.
    public var source: String
    /// critical, major or minor.
    public var severity: String
    public var verdict: RunReport.Verdict
    /// One line a person reads first: what was expected and what was measured.
    public var summary: String
    public var expectations: [ExpectationResult]
    /// Named figures the check measured, each with its unit (e.g. `latency.p99` in ms, `loss`
    /// as a count and a percentage).
    public var metrics: [String: Metric]
    /// Latency samples, for checks that time something (latency, status, command, linkage).
    public var latency: LatencyEvidence?
    /// Things the check noticed and reports rather than guesses at: ambiguous or unmatched
    /// observations, devices that never answered.
    public var findings: [String]
    /// RFC 3339 UTC, for people; ``startedAtNanoseconds`` is the same instant for programs.
    public var startedAt: String
    /// Wall-clock nanoseconds since the epoch, as in ``LatencySample`` (what a packet capture is
    /// cut by); nil in reports written before it was recorded.
    public var startedAtNanoseconds: Int64?
    public var durationMilliseconds: Double
    /// Path (relative to the run folder) of the pcap slice for this check, when captured.
    public var captureSlice: String?
    /// Rates and devices online second by second, for checks that break something on purpose.
    public var timeline: TimelineEvidence?
    /// A load check's stages as measured, for merging the shards of a run.
    public var load: LoadEvidence?

    public init(
        id: String, title: String, type: String, source: String, severity: String, verdict: RunReport.Verdict,
        summary: String, expectations: [ExpectationResult] = [], metrics: [String: Metric] = [:],
        latency: LatencyEvidence? = nil, findings: [String] = [], startedAt: String, startedAtNanoseconds: Int64? = nil,
        durationMilliseconds: Double, captureSlice: String? = nil, timeline: TimelineEvidence? = nil, load: LoadEvidence? = nil
    ) {
        self.load = load
        self.timeline = timeline
        self.id = id
        self.title = title
        self.type = type
        self.source = source
        self.severity = severity
        self.verdict = verdict
        self.summary = summary
        self.expectations = expectations
        self.metrics = metrics
        self.latency = latency
        self.findings = findings
        self.startedAt = startedAt
        self.startedAtNanoseconds = startedAtNanoseconds
        self.durationMilliseconds = durationMilliseconds
        self.captureSlice = captureSlice
    }

    enum CodingKeys: String, CodingKey {
        case id, title, type, source, severity, verdict, summary, expectations, metrics, latency, findings
        case startedAt, startedAtNanoseconds, durationMilliseconds, captureSlice, timeline, load
    }

    // Written out only to read version 1 metrics (bare numbers, `<name>%` keys) as typed ones.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        title = try container.decode(String.self, forKey: .title)
        type = try container.decode(String.self, forKey: .type)
        source = try container.decode(String.self, forKey: .source)
        severity = try container.decode(String.self, forKey: .severity)
        verdict = try container.decode(RunReport.Verdict.self, forKey: .verdict)
        summary = try container.decode(String.self, forKey: .summary)
        expectations = try container.decode([ExpectationResult].self, forKey: .expectations)
        metrics = Metric.foldingLegacyPercentages(try container.decode([String: Metric].self, forKey: .metrics))
        latency = try container.decodeIfPresent(LatencyEvidence.self, forKey: .latency)
        findings = try container.decode([String].self, forKey: .findings)
        startedAt = try container.decode(String.self, forKey: .startedAt)
        startedAtNanoseconds = try container.decodeIfPresent(Int64.self, forKey: .startedAtNanoseconds)
        durationMilliseconds = try container.decode(Double.self, forKey: .durationMilliseconds)
        captureSlice = try container.decodeIfPresent(String.self, forKey: .captureSlice)
        timeline = try container.decodeIfPresent(TimelineEvidence.self, forKey: .timeline)
        load = try container.decodeIfPresent(LoadEvidence.self, forKey: .load)
    }
}

extension RunReport {
    /// `date` as the report's typed instants hold it: wall-clock nanoseconds since the epoch.
    public static func nanoseconds(_ date: Date) -> Int64 {
        // Whole seconds apart from the fraction: seconds × 1e9 as one Double is past 2^53 and
        // would be off by a few hundred nanoseconds.
        let seconds = date.timeIntervalSince1970.rounded(.down)
        return Int64(seconds) * 1_000_000_000 + Int64(((date.timeIntervalSince1970 - seconds) * 1e9).rounded())
    }
}

/// One expectation of a check (`latency.p99 < 2s`) and how the measurement fared against it.
public struct ExpectationResult: Codable, Sendable, Hashable {
    /// As written in the suite.
    public var expression: String
    /// The metric it reads, e.g. `latency.p99`.
    public var metric: String
    /// What was measured, in ``unit``; nil when nothing could be measured (counts as failed).
    public var measured: Double?
    /// The threshold, in ``unit``.
    public var threshold: Double
    /// `<`, `<=`, `==`, `>=`, `>`.
    public var comparison: String
    /// `ms`, `%`, `count`, …
    public var unit: String
    public var passed: Bool

    public init(
        expression: String, metric: String, measured: Double?, threshold: Double, comparison: String, unit: String,
        passed: Bool
    ) {
        self.expression = expression
        self.metric = metric
        self.measured = measured
        self.threshold = threshold
        self.comparison = comparison
        self.unit = unit
        self.passed = passed
    }
}

/// The timed samples behind a latency figure, kept whole so a report can draw them and an
/// auditor can recompute the percentiles.
public struct LatencyEvidence: Codable, Sendable, Hashable {
    public var samples: [LatencySample]
    /// Percentiles over ``samples`` in milliseconds (nearest-rank); nil when there are none.
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var max: Double?

    public init(samples: [LatencySample]) {
        self.samples = samples
        let sorted = samples.map(\.latencyMilliseconds).sorted()
        p50 = Self.percentile(0.50, of: sorted)
        p95 = Self.percentile(0.95, of: sorted)
        p99 = Self.percentile(0.99, of: sorted)
        max = sorted.last
    }

    /// Nearest-rank percentile of sorted values: the smallest value with at least `q` of the
    /// samples at or below it.
    public static func percentile(_ q: Double, of sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }
}

/// One cause → effect pair: a stimulus (or device message) and the observation it produced.
public struct LatencySample: Codable, Sendable, Hashable {
    public var device: String
    /// What was timed, e.g. `smoke → smoke-alarm`.
    public var label: String
    /// Wall-clock nanoseconds since the epoch.
    public var startNanoseconds: Int64
    public var endNanoseconds: Int64
    public var latencyMilliseconds: Double
    /// How the pair was matched: `msg_id`, `seq`, or `window` (device + event + time window).
    public var matchedBy: String
    public var messageID: String?

    enum CodingKeys: String, CodingKey {
        case device, label, startNanoseconds, endNanoseconds, latencyMilliseconds, matchedBy, messageID = "messageId"
    }

    public init(
        device: String, label: String, startNanoseconds: Int64, endNanoseconds: Int64, matchedBy: String,
        messageID: String? = nil
    ) {
        self.device = device
        self.label = label
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        self.latencyMilliseconds = Double(endNanoseconds - startNanoseconds) / 1e6
        self.matchedBy = matchedBy
        self.messageID = messageID
    }
}

extension RunReport {
    /// The encoder every writer uses, so `report.json` is stable byte for byte for equal reports.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
