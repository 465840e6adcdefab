import Foundation

/// Writes a run as JUnit XML for CI systems: one `<testsuite>` for the run, one `<testcase>`
/// per check (the requirement citation, severity, type and metrics as properties), failures
/// that say what was expected and what was measured, and the check's findings as its output.
public enum JUnitWriter {
    public static func xml(_ report: RunReport) -> String {
        let failures = report.checks.filter { $0.verdict == .fail }.count
        let errors = report.checks.filter { $0.verdict == .error }.count
        let skipped = report.checks.filter { $0.verdict == .skipped }.count
        let seconds = report.checks.map(\.durationMilliseconds).reduce(0, +) / 1000
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuites name="parkbench" tests="\#(report.checks.count)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(format(seconds))">"# + "\n"
        xml += #"  <testsuite name="\#(e(report.suite.name))" tests="\#(report.checks.count)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(format(seconds))" timestamp="\#(e(report.startedAt))" hostname="\#(e(report.platform.endpoint))">"# + "\n"
        xml += "    <properties>\n"
        for (name, value) in [
            ("run_id", report.runID), ("platform", report.platform.name), ("park", report.park.name), ("seed", String(report.seed)),
            ("parkbench_version", report.parkbenchVersion), ("faults", report.faults.joined(separator: ",")),
        ] {
            xml += #"      <property name="\#(name)" value="\#(e(value))"/>"# + "\n"
        }
        xml += "    </properties>\n"
        for check in report.checks {
            xml += #"    <testcase classname="\#(e(report.suite.name)).\#(e(check.type))" name="\#(e(check.id)): \#(e(check.title))" time="\#(format(check.durationMilliseconds / 1000))">"# + "\n"
            xml += "      <properties>\n"
            var properties = [("source", check.source), ("severity", check.severity), ("type", check.type)]
            for (name, metric) in check.metrics.sorted(by: { $0.key < $1.key }) {
                properties.append(("metric.\(name)", shown(metric.value, metric.unit)))
                if let percent = metric.percent { properties.append(("metric.\(name).percent", shown(percent, .percent))) }
            }
            for (name, value) in properties {
                xml += #"        <property name="\#(e(name))" value="\#(e(value))"/>"# + "\n"
            }
            xml += "      </properties>\n"
            switch check.verdict {
            case .pass: break
            case .skipped: xml += #"      <skipped message="\#(e(check.summary))"/>"# + "\n"
            case .fail, .error:
                let tag = check.verdict == .fail ? "failure" : "error"
                var detail = check.expectations.map { expectation -> String in
                    let measured = expectation.measured.map { "\(format($0)) \(expectation.unit)" } ?? "nothing"
                    return "\(expectation.passed ? "ok  " : "FAIL") \(expectation.expression): measured \(measured)"
                }.joined(separator: "\n")
                if check.verdict == .error { detail = check.summary }
                detail += "\nrequirement: \(check.source)"
                xml += #"      <\#(tag) message="\#(e(check.summary))" type="\#(check.verdict.rawValue)">\#(e(detail))</\#(tag)>"# + "\n"
            }
            if !check.findings.isEmpty {
                xml += "      <system-out>\(e(check.findings.joined(separator: "\n")))</system-out>\n"
            }
            xml += "    </testcase>\n"
        }
        if !report.notes.isEmpty { xml += "    <system-err>\(e(report.notes.joined(separator: "\n")))</system-err>\n" }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    private static func e(_ text: String) -> String { MarkupText.escaped(text) }

    /// A count or a plain number bare, as JUnit consumers read numbers; anything else with its unit.
    static func shown(_ value: Double, _ unit: MetricUnit) -> String {
        switch unit {
        case .count, .number: format(value)
        case .milliseconds, .percent, .kilowatts: "\(format(value)) \(unit.rawValue)"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value)
    }
}
