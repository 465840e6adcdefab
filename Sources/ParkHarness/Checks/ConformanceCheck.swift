import ParkCore
import ParkProfiles
import ParkReport

/// What every check has, whatever its type: identity, the requirement it proves, and its
/// expectations.
public struct CheckCommon: Sendable, Hashable {
    public var id: String
    public var title: String
    public var type: String
    /// `<seed file> L<line>` (or `L<first>-<last>`).
    public var source: String
    public var severity: Severity
    public var expectations: [Expectation]
    /// Longest the check waits for the system under test.
    public var timeout: DeviceDuration
    /// Where the check is in its suite file, for messages.
    public var location: String

    /// How much a failure matters.
    public enum Severity: String, Sendable, Hashable, CaseIterable {
        case critical, major, minor
    }
}

/// What a check measured: named figures with their units (the expectations read them), the
/// latency samples behind them, and what it noticed.
public struct CheckMeasurement: Sendable {
    /// Figures by metric name.
    public var metrics: [String: Metric] = [:]
    public var latency: LatencyEvidence?
    /// Rates and devices online around a fault the check caused.
    public var timeline: TimelineEvidence?
    /// A load check's stages, for merging shards.
    public var load: LoadEvidence?
    public var findings: [String] = []
    /// Set when the check could not run at all (the verdict is then `error`).
    public var error: String?

    public init(metrics: [String: Metric] = [:], latency: LatencyEvidence? = nil, findings: [String] = [], error: String? = nil) {
        self.metrics = metrics
        self.latency = latency
        self.findings = findings
        self.error = error
    }

    /// Records `metric` under `name`, replacing what was there.
    public mutating func set(_ name: String, _ metric: Metric) { metrics[name] = metric }

    /// Adds `latency.p50/p95/p99/max/mean` and `samples` from the evidence.
    mutating func addLatencyMetrics(_ evidence: LatencyEvidence, prefix: String = "latency") {
        latency = evidence
        set("samples", .count(evidence.samples.count))
        if let p50 = evidence.p50 { set("\(prefix).p50", .milliseconds(p50)) }
        if let p95 = evidence.p95 { set("\(prefix).p95", .milliseconds(p95)) }
        if let p99 = evidence.p99 { set("\(prefix).p99", .milliseconds(p99)) }
        if let max = evidence.max { set("\(prefix).max", .milliseconds(max)) }
        if !evidence.samples.isEmpty {
            set("\(prefix).mean", .milliseconds(evidence.samples.map(\.latencyMilliseconds).reduce(0, +) / Double(evidence.samples.count)))
        }
    }
}

/// One kind of conformance check. A new kind is a new type conforming to this and one line in
/// ``CheckTypes/all``; nothing else changes.
///
/// A check drives its own procedure through the ``HarnessContext`` (stimuli, device faults,
/// platform commands), waits for the system under test, and reports what it measured; the
/// runner turns measurements and expectations into the verdict.
package protocol ConformanceCheck: Sendable {
    /// The `type:` value in a suite.
    static var type: String { get }
    /// Keys this type reads besides the common ones.
    static var settingKeys: [String] { get }
    /// Metrics it measures, and in which unit, so a suite's expectations are checked at load.
    static var metrics: [String: MeasuredUnit] { get }

    var common: CheckCommon { get }

    /// Reads the type's own settings, logging problems through the reader.
    init?(common: CheckCommon, settings: inout MappingReader)

    /// Runs the procedure against the system under test.
    func run(in context: HarnessContext) async -> CheckMeasurement
}

/// The check types a suite may use.
package enum CheckTypes {
    package static let all: [any ConformanceCheck.Type] = [
        LatencyCheck.self, DeliveryCheck.self, AccuracyCheck.self, StatusCheck.self, CommandCheck.self, LinkageCheck.self,
        AuthCheck.self, MeterReadingCheck.self, SIPAuthCheck.self, CatalogCheck.self, VideoStartCheck.self, VideoStreamCheck.self,
        FailoverCheck.self, LoadCheck.self, ChargingSessionCheck.self, ChainCheck.self, RecognitionCheck.self, RushCheck.self, RobotTaskCheck.self, RobotViewCheck.self,
    ]

    package static func named(_ type: String) -> (any ConformanceCheck.Type)? { all.first { $0.type == type } }
}

/// The unit a check type measures a metric in, as ``ConformanceCheck/metrics`` declares it: what
/// a suite's expectations on that metric are checked against when the suite is loaded.
public struct MeasuredUnit: Sendable, Hashable, CustomStringConvertible {
    public var unit: MetricUnit
    /// Whether the check also gives the figure as a percentage of its whole (``Metric/percent``).
    public var alsoAsPercent: Bool

    public init(_ unit: MetricUnit, alsoAsPercent: Bool = false) {
        self.unit = unit
        self.alsoAsPercent = alsoAsPercent
    }

    public static let milliseconds = MeasuredUnit(.milliseconds)
    public static let percent = MeasuredUnit(.percent)
    public static let count = MeasuredUnit(.count)

    /// Whether an expectation whose threshold is in `unit` can be judged against this metric.
    public func accepts(_ unit: Expectation.Unit) -> Bool {
        unit.accepts(self.unit) || (unit == .percent && alsoAsPercent)
    }

    public var description: String { unit.rawValue + (alsoAsPercent ? " and %" : "") }
}

/// The usual latency metrics, for ``ConformanceCheck/metrics``.
let latencyMetrics: [String: MeasuredUnit] = [
    "latency.p50": .milliseconds, "latency.p95": .milliseconds, "latency.p99": .milliseconds,
    "latency.max": .milliseconds, "latency.mean": .milliseconds, "samples": .count,
]

extension MappingReader {
    /// A list of point names under `key` (`points: [pm25, pm10]`), each problem logged with its index.
    mutating func pointNames(_ key: String, required: Bool) -> [String] {
        var names: [String] = []
        for (index, node) in (sequence(key, required: required) ?? []).enumerated() {
            if let name = MappingReader.scalarText(node, path: child("\(key)[\(index)]"), log: log, expected: "a point name") {
                names.append(name)
            }
        }
        return names
    }
}
