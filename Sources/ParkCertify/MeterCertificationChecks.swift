import Foundation
import ParkCore
import ParkReport

/// How a certification probes a device and judges it, whatever the protocol.
///
/// A device that stops answering mid-run ends the run early: once ``giveUpAfter`` requests in a
/// row got no valid answer, nothing more is sent, the check that was running is reported as
/// unfinished and the rest as not run, both with the verdict `error` (never `fail`, which is a
/// finding about the device's values or answers).
public struct CertificationSettings: Sendable {
    /// Reads timed for the response-time check.
    public var samples = 200
    /// Time between the two reads the consistency checks compare.
    public var interval: Duration = .seconds(2)
    /// p99 response time above this fails (a master's usual timeout).
    public var responseLimitMilliseconds = 1000.0
    /// One deadline for each request's whole answer, however slowly its bytes arrive.
    public var timeoutMicroseconds = 1_000_000
    /// Requests in a row without a valid answer (none within the timeout, a lost connection,
    /// only broken frames) after which the device is taken to have stopped answering.
    public var giveUpAfter = 3
    /// Checks that run and are reported but do not count against the verdict (a known,
    /// accepted deviation of the device).
    public var waived: Set<String> = []

    public init() {}

    /// Waits `interval`, between the two reads the consistency checks compare.
    func pause() {
        Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
    }
}

/// Counts requests in a row that went unanswered: at the limit the device is taken to have
/// stopped answering, and the certification stops probing it rather than wait out a timeout
/// for every request left (a silent meter once cost 234 s, a dripping one 912 s).
final class AnswerWatch {
    let limit: Int
    /// Says who stopped answering, for the report: `unit 1 at tcp://…`, `meter 000000000001`.
    let device: String
    private(set) var inARow = 0
    private(set) var requests = 0
    private(set) var unanswered = 0

    init(limit: Int, device: String) {
        self.limit = max(1, limit)
        self.device = device
    }

    /// No more requests: the device stopped answering.
    var stopped: Bool { inARow >= limit }

    func record(answered: Bool) {
        requests += 1
        if answered {
            inARow = 0
        } else {
            inARow += 1
            unanswered += 1
        }
    }

    var reason: String { "\(device) stopped answering (\(limit) requests in a row got no valid answer)" }

    /// `check` as the report shows it: as it is while the device answers; once it has stopped,
    /// unfinished (verdict `error`, findings kept) if the stop came while the check ran, not run
    /// (`error`) if the check began after — it sent nothing, and judged nothing.
    func account(_ check: CheckResult, stoppedBefore: Bool) -> CheckResult {
        guard stopped else { return check }
        var marked = check
        marked.verdict = .error
        if stoppedBefore {
            marked.summary = "not run: \(reason)"
            marked.findings = []
            marked.metrics = [:]
            marked.latency = nil
        } else {
            marked.summary = "unfinished: \(reason); \(check.summary)"
        }
        return marked
    }
}

/// One value a certification read from a meter: the point it is, where it came from as a
/// finding names it (`voltage_a (input 0x0000, float32 ABCD)`, `voltage_a (02010100)`), and
/// whether it travelled as a float (a float read in the wrong word order turns tiny).
struct CertifiedReading: Sendable {
    var point: String
    var location: String
    var value: Double
    var wireFloat = false
}

/// The checks a meter's certification makes whatever protocol it speaks — values within
/// physical ranges, counters that never decrease, P ≈ Σ V·I·PF, response-time percentiles — and
/// the waivers, so that Modbus and DL/T 645 certification judge a meter alike.
struct MeterCertificationChecks: Sendable {
    /// The report's check type (`modbus-certify`, `dlt645-certify`).
    let type: String
    /// The requirement cited (`<seed file> L<line>`).
    let source: String
    /// What a finding calls one addressable value: "register", "data item".
    let noun: String

    /// Physical ranges by point name: a value read in the wrong byte order or scale lands far
    /// outside them.
    static func plausibleRange(of point: String) -> (ClosedRange<Double>, String)? {
        if point.hasPrefix("voltage") { return (0 ... 1000, "V") }
        if point.hasPrefix("current") { return (-10_000 ... 10_000, "A") }
        if point.hasPrefix("power_factor") { return (-1 ... 1, "") }
        if point.hasPrefix("frequency") { return (45 ... 65, "Hz") }
        if point.hasPrefix("active_power") || point.hasPrefix("reactive_power") { return (-100_000 ... 100_000, "kW") }
        if point.hasPrefix("energy") { return (0 ... 1e10, "kWh") }
        if point == "volume" { return (0 ... 1e9, "m³") }
        if point == "flow" { return (0 ... 100_000, "m³/h") }
        if point == "battery_voltage" { return (0 ... 60, "V") }
        return nil
    }

    /// Whether a point counts up for ever (energy, volume).
    static func isCounter(_ point: String) -> Bool { point.hasPrefix("energy") || point == "volume" }

    func plausibility(_ readings: [CertifiedReading]) -> CheckResult {
        let started = Date()
        var findings: [String] = []
        var checked = 0
        for reading in readings {
            let value = reading.value
            guard value.isFinite else {
                findings.append("\(reading.location) read \(value): not a number (wrong type or byte order?)")
                continue
            }
            guard let (range, unit) = Self.plausibleRange(of: reading.point) else { continue }
            checked += 1
            // A float read in the wrong word order is usually a tiny denormal-like number.
            if reading.wireFloat, value != 0, abs(value) < 1e-6 {
                findings.append("\(reading.location) read \(value) \(unit): implausibly small (wrong byte order?)")
            } else if !range.contains(value) {
                findings.append("\(reading.location) read \(JSONText.number(value)) \(unit), outside \(JSONText.number(range.lowerBound))…\(JSONText.number(range.upperBound)) (wrong byte order, type or scale?)")
            }
        }
        if checked == 0, findings.isEmpty {
            return result(id: "values-plausible", title: "Values are within physical ranges", verdict: .skipped,
                          summary: "no value with a known range was read", started: started)
        }
        return result(id: "values-plausible", title: "Values are within physical ranges", passed: findings.isEmpty,
                      summary: findings.isEmpty ? "\(checked) values within range" : "\(findings.count) values out of range",
                      metrics: ["checked": .count(checked)], findings: findings, started: started)
    }

    /// Counters read twice, some time apart: none may have gone down. `declared` says whether
    /// the meter has any counter to read at all, for the skipped verdict's wording.
    func monotonic(_ first: [CertifiedReading], _ second: [CertifiedReading], declared: Bool) -> CheckResult {
        let started = Date()
        guard declared else {
            return result(id: "energy-monotonic", title: "Energy and volume never decrease", verdict: .skipped,
                          summary: "the map has no energy or volume \(noun)", started: started)
        }
        let later = Dictionary(second.map { ($0.location, $0.value) }, uniquingKeysWith: { first, _ in first })
        let compared = first.filter { Self.isCounter($0.point) && later[$0.location] != nil }
        guard !compared.isEmpty else {
            return result(id: "energy-monotonic", title: "Energy and volume never decrease", verdict: .skipped,
                          summary: "no energy or volume \(noun) could be read twice", started: started)
        }
        var findings: [String] = []
        for reading in compared {
            guard let b = later[reading.location] else { continue }
            if b < reading.value { findings.append("\(reading.location) went down from \(JSONText.number(reading.value)) to \(JSONText.number(b))") }
        }
        return result(id: "energy-monotonic", title: "Energy and volume never decrease", passed: findings.isEmpty,
                      summary: findings.isEmpty ? "\(compared.count) counters did not decrease" : "\(findings.count) counters decreased",
                      findings: findings, started: started)
    }

    /// `unread`: points that were asked for and could not be read; a missing phase or power
    /// factor would make P and Σ V·I·PF disagree for no fault of the values that were read.
    func powerConsistency(_ readings: [CertifiedReading], unread: Set<String> = []) -> CheckResult {
        let started = Date()
        let needed = ["active_power", "power_factor"] + ["a", "b", "c"].flatMap { ["voltage_\($0)", "current_\($0)"] }
        let missing = needed.filter(unread.contains)
        guard missing.isEmpty else {
            return result(id: "power-consistent", title: "P ≈ Σ V·I·PF", verdict: .skipped,
                          summary: "not compared: \(missing.joined(separator: ", ")) could not be read", started: started)
        }
        let values = Dictionary(readings.map { ($0.point, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let power = values["active_power"] else {
            return result(id: "power-consistent", title: "P ≈ Σ V·I·PF", verdict: .skipped, summary: "no active_power \(noun)", started: started)
        }
        let phases = ["a", "b", "c"].compactMap { phase -> Double? in
            guard let volts = values["voltage_\(phase)"], let amps = values["current_\(phase)"] else { return nil }
            return volts * amps
        }
        guard !phases.isEmpty else {
            return result(id: "power-consistent", title: "P ≈ Σ V·I·PF", verdict: .skipped, summary: "no voltage/current \(noun)s", started: started)
        }
        let factor = values["power_factor"] ?? 1
        let computed = phases.reduce(0, +) * abs(factor) / 1000
        let tolerance = abs(power) * 0.05 + 0.05
        let passed = abs(computed - power) <= tolerance
        return result(
            id: "power-consistent", title: "P ≈ Σ V·I·PF", passed: passed,
            summary: String(format: "active_power %.4f kW, Σ V·I·PF %.4f kW (tolerance %.4f)", power, computed, tolerance),
            metrics: ["active_power": .kilowatts(power), "computed_power": .kilowatts(computed)],
            findings: passed ? [] : [String(format: "active_power reads %.4f kW but voltage_x × current_x × power_factor give %.4f kW (one of those \(noun)s is read wrong, or the meter is inconsistent)", power, computed)],
            started: started)
    }

    /// Times `samples` calls of `read`; p99 above `limitMilliseconds`, or any failure, fails.
    func responseTime(samples count: Int, limitMilliseconds: Double, device: String, label: String, watch: AnswerWatch,
                      _ read: () throws -> Void) -> CheckResult {
        let started = Date()
        var samples: [LatencySample] = []
        var failures = 0
        for _ in 0 ..< count where !watch.stopped {
            let begin = Date()
            do {
                try read()
            } catch {
                failures += 1
                continue
            }
            let end = Date()
            samples.append(LatencySample(
                device: device, label: label,
                startNanoseconds: Int64(begin.timeIntervalSince1970 * 1e9), endNanoseconds: Int64(end.timeIntervalSince1970 * 1e9),
                matchedBy: "request"))
        }
        let evidence = LatencyEvidence(samples: samples)
        let p99 = evidence.p99 ?? .infinity
        let passed = failures == 0 && p99 <= limitMilliseconds
        var findings: [String] = []
        if failures > 0 { findings.append("\(failures) of \(count) reads failed") }
        if samples.isEmpty {
            findings.append("no read succeeded")
        } else if p99 > limitMilliseconds {
            findings.append(String(format: "p99 %.1f ms is above the limit of %.0f ms", p99, limitMilliseconds))
        }
        return result(
            id: "response-time", title: "Response time", passed: passed,
            summary: String(format: "p50 %.2f ms, p95 %.2f ms, p99 %.2f ms over %d reads", evidence.p50 ?? 0, evidence.p95 ?? 0, evidence.p99 ?? 0, samples.count),
            metrics: [
                // Named as the harness's latency checks name them; the unit travels in the metric.
                "latency.p50": .milliseconds(evidence.p50 ?? 0), "latency.p95": .milliseconds(evidence.p95 ?? 0),
                "latency.p99": .milliseconds(evidence.p99 ?? 0),
                "failures": .count(failures),
            ],
            latency: evidence, findings: findings, started: started)
    }


    func result(id: String, title: String, passed: Bool? = nil, verdict: RunReport.Verdict? = nil, summary: String,
                metrics: [String: Metric] = [:], latency: LatencyEvidence? = nil, findings: [String] = [], started: Date) -> CheckResult {
        CheckResult(
            id: id, title: title, type: type, source: source, severity: "major",
            verdict: verdict ?? (passed == true ? .pass : .fail), summary: summary, metrics: metrics, latency: latency, findings: findings,
            startedAt: ISO8601DateFormatter().string(from: started), startedAtNanoseconds: RunReport.nanoseconds(started),
            durationMilliseconds: Date().timeIntervalSince(started) * 1000)
    }

    static func hex(_ byte: UInt8) -> String { (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true) }
}

extension Array where Element == CheckResult {
    /// Every certification's last step: failed checks the user accepted as the device's known
    /// deviations (`--waive`) become skipped, their findings kept.
    func waiving(_ waived: Set<String>) -> [CheckResult] {
        map { check in
            guard waived.contains(check.id), check.verdict == .fail else { return check }
            var waivedCheck = check
            waivedCheck.verdict = .skipped
            waivedCheck.summary = "waived: " + check.summary
            return waivedCheck
        }
    }
}
