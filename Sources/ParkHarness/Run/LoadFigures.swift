import Foundation
import Synchronization

/// What a running load check shows while it runs: the stage, the traffic, the probes' latency so
/// far. The check posts them to a ``LoadFiguresBoard`` every second; the terminal's progress line
/// and the Prometheus endpoint read the same figures.
public struct LoadFigures: Sendable, Codable, Hashable {
    public var stage: String
    /// 1-based; the stage count is nil while a capacity search adds stages.
    public var stageNumber: Int
    public var stageCount: Int?
    public var pace: Double
    public var elapsedSeconds: Double
    public var stageSecondsLeft: Double
    public var devices: Int
    /// Messages a second over the last second: recorded by the park's devices, shown by the platform.
    public var sentPerSecond: Double
    public var shownPerSecond: Double
    public var probesSent: Int
    public var probesMissing: Int
    public var probesPending: Int
    /// This stage's probe latency so far, in milliseconds.
    public var latencyP50: Double?
    public var latencyP99: Double?
    public var offlineFalseAlarms: Int
    /// Thresholds that failed in a stage already judged.
    public var failing: [String]

    public init(stage: String, stageNumber: Int, stageCount: Int?, pace: Double, elapsedSeconds: Double, stageSecondsLeft: Double,
                devices: Int, sentPerSecond: Double, shownPerSecond: Double, probesSent: Int, probesMissing: Int, probesPending: Int,
                latencyP50: Double?, latencyP99: Double?, offlineFalseAlarms: Int, failing: [String]) {
        self.stage = stage
        self.stageNumber = stageNumber
        self.stageCount = stageCount
        self.pace = pace
        self.elapsedSeconds = elapsedSeconds
        self.stageSecondsLeft = stageSecondsLeft
        self.devices = devices
        self.sentPerSecond = sentPerSecond
        self.shownPerSecond = shownPerSecond
        self.probesSent = probesSent
        self.probesMissing = probesMissing
        self.probesPending = probesPending
        self.latencyP50 = latencyP50
        self.latencyP99 = latencyP99
        self.offlineFalseAlarms = offlineFalseAlarms
        self.failing = failing
    }

    /// One terminal line: `stage 2/4 ×2 (12 s left) · 2,000 devices · 1,340 msg/s sent, 1,338 shown · probes 41 (0 missing) p50 14 ms p99 31 ms`.
    public var line: String {
        let stages = stageCount.map { "\(stageNumber)/\($0)" } ?? "\(stageNumber)"
        var text = "stage \(stages) \(stage) ×\(Self.short(pace)) (\(Int(stageSecondsLeft.rounded())) s left) · \(devices) devices · "
            + "\(Int(sentPerSecond.rounded())) msg/s sent, \(Int(shownPerSecond.rounded())) shown · probes \(probesSent) (\(probesMissing) missing)"
        if let latencyP50, let latencyP99 { text += " p50 \(Self.short(latencyP50)) ms p99 \(Self.short(latencyP99)) ms" }
        if offlineFalseAlarms > 0 { text += " · \(offlineFalseAlarms) false offline" }
        if !failing.isEmpty { text += " · FAILING " + failing.joined(separator: ", ") }
        return text
    }

    /// The same figures in the Prometheus text exposition format (version 0.0.4).
    public var prometheusText: String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ value: Double?) {
            guard let value, value.isFinite else { return }
            lines.append("# HELP parkbench_load_\(name) \(help)")
            lines.append("# TYPE parkbench_load_\(name) gauge")
            lines.append("parkbench_load_\(name) \(value)")
        }
        func counter(_ name: String, _ help: String, _ value: Int) {
            lines.append("# HELP parkbench_load_\(name)_total \(help)")
            lines.append("# TYPE parkbench_load_\(name)_total counter")
            lines.append("parkbench_load_\(name)_total \(value)")
        }
        gauge("stage", "The stage running (1-based).", Double(stageNumber))
        gauge("pace", "How many times as fast the devices' timers run.", pace)
        gauge("devices", "Devices in the park.", Double(devices))
        gauge("sent_messages_per_second", "Messages the devices sent over the last second.", sentPerSecond)
        gauge("shown_messages_per_second", "Messages the platform showed over the last second.", shownPerSecond)
        gauge("probe_latency_p50_seconds", "This stage's alarm probe latency, median.", latencyP50.map { $0 / 1000 })
        gauge("probe_latency_p99_seconds", "This stage's alarm probe latency, 99th percentile.", latencyP99.map { $0 / 1000 })
        gauge("probes_pending", "Probes waiting for the platform.", Double(probesPending))
        counter("probes", "Alarm probes raised.", probesSent)
        counter("probes_missing", "Alarm probes the platform never showed within the timeout.", probesMissing)
        counter("offline_false_alarms", "Devices the platform showed offline while they were connected.", offlineFalseAlarms)
        gauge("thresholds_failing", "Thresholds failed in a stage already judged.", Double(failing.count))
        return lines.joined(separator: "\n") + "\n"
    }

    static func short(_ value: Double) -> String {
        value >= 100 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }
}

/// Where a load check posts its live figures and where the terminal and `/metrics` read them.
public final class LoadFiguresBoard: Sendable {
    private let latestFigures = Mutex<LoadFigures?>(nil)

    public init() {}

    public func post(_ figures: LoadFigures) { latestFigures.withLock { $0 = figures } }

    /// The last figures posted; nil before the load check starts.
    public var latest: LoadFigures? { latestFigures.withLock { $0 } }
}
