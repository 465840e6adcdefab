import Foundation

/// Writes a run as one self-contained HTML page: inline CSS and SVG, no scripts, nothing
/// fetched from the network, so it opens the same from a CI artifact store or an auditor's
/// laptop. A verdict banner and table first; then, per check, its expectations, findings and —
/// for checks that time things — a latency histogram and a timeline.
public enum HTMLReportWriter {
    /// Colour-blind-safe (Okabe–Ito) pass / fail colours; verdicts are also spelt out.
    static let passColour = "#0072B2", failColour = "#D55E00", errorColour = "#CC79A7", mutedColour = "#6b7280"

    public static func html(_ report: RunReport) -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>ParkBench \(e(report.suite.name)) — \(report.verdict.rawValue.uppercased())</title>
            <style>\(css)</style></head><body>

            """
        let failed = report.checks.filter { $0.verdict == .fail || $0.verdict == .error }
        page += #"<header class="banner \#(report.verdict.rawValue)"><h1>\#(verdictMark(report.verdict)) \#(e(report.suite.title))</h1>"#
        page += "<p>\(report.checks.count - failed.count) of \(report.checks.count) checks passed"
        if !failed.isEmpty { page += " — failed: " + failed.map { e($0.id) }.joined(separator: ", ") }
        page += "</p></header>\n<main>\n"

        page += "<section><h2>Run</h2><table class=\"meta\">"
        let meta: [(String, String)] = [
            ("Run", report.runID), ("Started", report.startedAt), ("Finished", report.finishedAt),
            ("Suite", "\(report.suite.name) (\(report.suite.file))"),
            ("Platform", "\(report.platform.name) at \(report.platform.endpoint) (\(report.platform.file))"),
            ("Park", "\(report.park.name): \(report.park.devices) devices (\(report.park.file))"), ("Seed", String(report.seed)),
            ("Fault switches", report.faults.isEmpty ? "none" : report.faults.joined(separator: ", ")),
            ("ParkBench", report.parkbenchVersion),
        ]
        for (name, value) in meta { page += "<tr><th>\(e(name))</th><td>\(e(value))</td></tr>" }
        page += "</table>"
        if !report.notes.isEmpty {
            page += "<ul class=\"notes\">" + report.notes.map { "<li>\(e($0))</li>" }.joined() + "</ul>"
        }
        page += "</section>\n"

        page += "<section><h2>Verdicts</h2><table class=\"verdicts\"><thead><tr><th>Check</th><th>Title</th><th>Type</th>"
        page += "<th>Requirement</th><th>Severity</th><th>Verdict</th><th>Measured</th></tr></thead><tbody>"
        for check in report.checks {
            page += "<tr><td><a href=\"#check-\(anchor(check.id))\">\(e(check.id))</a></td><td>\(e(check.title))</td><td>\(e(check.type))</td>"
            page += "<td>\(e(check.source))</td><td>\(e(check.severity))</td>"
            page += "<td class=\"verdict \(check.verdict.rawValue)\">\(verdictMark(check.verdict)) \(check.verdict.rawValue.uppercased())</td>"
            page += "<td>\(e(check.summary))</td></tr>"
        }
        page += "</tbody></table></section>\n"

        let origin = report.checks.compactMap { $0.latency?.samples.map(\.startNanoseconds).min() }.min()
        for check in report.checks { page += section(check, runOrigin: origin) }
        page += "</main><footer>ParkBench report schema \(e(report.schema)) · generated from report.json</footer></body></html>\n"
        return page
    }

    static func section(_ check: CheckResult, runOrigin: Int64?) -> String {
        var html = "<section class=\"check\" id=\"check-\(anchor(check.id))\"><h2><span class=\"verdict \(check.verdict.rawValue)\">"
        html += "\(verdictMark(check.verdict)) \(check.verdict.rawValue.uppercased())</span> \(e(check.id)) — \(e(check.title))</h2>"
        html += "<p class=\"sub\">\(e(check.type)) check · \(e(check.source)) · severity \(e(check.severity)) · "
        html += String(format: "%.1f s", check.durationMilliseconds / 1000) + "</p>"
        html += "<p>\(e(check.summary))</p>"
        if !check.expectations.isEmpty {
            html += "<table class=\"expect\"><thead><tr><th>Expectation</th><th>Measured</th><th></th></tr></thead><tbody>"
            for expectation in check.expectations {
                let measured = expectation.measured.map { "\(number($0))\(expectation.unit == "count" ? "" : " " + expectation.unit)" } ?? "nothing"
                html += "<tr><td><code>\(e(expectation.expression))</code></td><td>\(e(measured))</td>"
                html += "<td class=\"verdict \(expectation.passed ? "pass" : "fail")\">\(expectation.passed ? "✔ met" : "✘ not met")</td></tr>"
            }
            html += "</tbody></table>"
        }
        if let latency = check.latency, !latency.samples.isEmpty {
            let threshold = check.expectations.first { $0.unit == "ms" && $0.metric.hasPrefix("latency") }?.threshold
            html += "<div class=\"plots\">"
            html += LatencyPlots.histogram(latency, threshold: threshold)
            html += LatencyPlots.timeline(latency, threshold: threshold, origin: runOrigin ?? latency.samples.map(\.startNanoseconds).min() ?? 0)
            html += "</div>"
            html += "<p class=\"sub\">\(latency.samples.count) samples; p50 \(latency.p50.map(number) ?? "–") ms, p95 \(latency.p95.map(number) ?? "–") ms, "
            html += "p99 \(latency.p99.map(number) ?? "–") ms, max \(latency.max.map(number) ?? "–") ms; matched by "
            html += Dictionary(grouping: latency.samples, by: \.matchedBy).sorted { $0.key < $1.key }.map { "\(e($0.key)) ×\($0.value.count)" }.joined(separator: ", ")
            html += "</p>"
        }
        if let timeline = check.timeline {
            html += "<div class=\"plots\">" + TimelinePlots.plots(timeline) + "</div>"
        }
        if !check.findings.isEmpty {
            html += "<h3>Findings</h3><ul>" + check.findings.prefix(200).map { "<li>\(e($0))</li>" }.joined() + "</ul>"
            if check.findings.count > 200 { html += "<p class=\"sub\">… and \(check.findings.count - 200) more in report.json</p>" }
        }
        if !check.metrics.isEmpty {
            html += "<details><summary>All metrics</summary><table class=\"meta\">"
            html += check.metrics.sorted { $0.key < $1.key }.map { "<tr><th>\(e($0.key))</th><td>\(e(shown($0.value)))</td></tr>" }.joined()
            html += "</table></details>"
        }
        if let slice = check.captureSlice { html += "<p>Packet capture of this check: <code>\(e(slice))</code></p>" }
        return html + "</section>\n"
    }

    static func verdictMark(_ verdict: RunReport.Verdict) -> String {
        switch verdict {
        case .pass: "✔"
        case .fail: "✘"
        case .error: "⚠"
        case .skipped: "–"
        }
    }

    static func e(_ text: String) -> String { MarkupText.escaped(text) }

    static func anchor(_ id: String) -> String {
        String(id.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" ? Character($0) : "_" })
    }

    /// `12.5 ms`, `3 (1.5 %)`: the value with its unit, a count or plain number bare.
    static func shown(_ metric: Metric) -> String {
        var text = number(metric.value)
        switch metric.unit {
        case .count, .number: break
        case .percent: text += " %"
        case .milliseconds, .kilowatts: text += " " + metric.unit.rawValue
        }
        if let percent = metric.percent { text += " (\(number(percent)) %)" }
        return text
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e12 { return String(Int64(value)) }
        return abs(value) >= 100 ? String(format: "%.1f", value) : String(format: "%.3g", value)
    }

    static let css = """
        :root{--pass:\(passColour);--fail:\(failColour);--error:\(errorColour);--muted:\(mutedColour)}
        body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;color:#111827;background:#f9fafb}
        main{max-width:1100px;margin:0 auto;padding:0 24px 48px}
        .banner{padding:20px 24px;color:#fff}.banner h1{margin:0;font-size:24px}.banner p{margin:4px 0 0}
        .banner.pass{background:var(--pass)}.banner.fail{background:var(--fail)}.banner.error{background:var(--error)}.banner.skipped{background:var(--muted)}
        section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin:20px 0}
        h2{font-size:18px;margin:0 0 8px}h3{font-size:15px;margin:12px 0 4px}
        table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #f1f5f9;vertical-align:top}
        thead th{background:#f3f4f6}table.meta th{width:160px;color:#374151;font-weight:600}
        .verdict{font-weight:700;white-space:nowrap}.verdict.pass{color:var(--pass)}.verdict.fail{color:var(--fail)}.verdict.error{color:var(--error)}.verdict.skipped{color:var(--muted)}
        .sub{color:var(--muted);font-size:13px;margin:2px 0 8px}code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
        .plots{display:flex;flex-wrap:wrap;gap:16px;margin:12px 0}.plots svg{background:#fff;border:1px solid #e5e7eb;border-radius:6px}
        .notes li{color:var(--fail)}footer{text-align:center;color:var(--muted);font-size:12px;padding:16px}
        a{color:var(--pass)}
        """
}

/// The inline SVG plots of a check's latency samples.
enum LatencyPlots {
    static let width = 500.0, height = 240.0
    static let left = 52.0, right = 16.0, top = 28.0, bottom = 40.0

    /// Bars over equal-width bins from 0 to a little past the largest sample, with p50/p95/p99
    /// drawn as vertical lines and the threshold as one more when it is near the data. Samples
    /// far below the threshold (12 ms against 2 s) are not squeezed into one bar of a 0–2 s
    /// axis: the axis zooms to them and the limit is named at its edge.
    static func histogram(_ latency: LatencyEvidence, threshold: Double?) -> String {
        let values = latency.samples.map(\.latencyMilliseconds)
        let largest = values.max() ?? 1
        let offAxis = threshold.map { largest * 4 < $0 } ?? false
        let span = niceCeiling(Swift.max(largest, offAxis ? 0 : threshold ?? 0) * 1.05)
        let binCount = Swift.min(40, Swift.max(8, Int(Double(values.count).squareRoot().rounded())))
        var bins = Array(repeating: 0, count: binCount)
        for value in values { bins[Swift.min(binCount - 1, Swift.max(0, Int(value / span * Double(binCount))))] += 1 }
        let highest = Double(bins.max() ?? 1)
        let plotWidth = width - left - right, plotHeight = height - self.top - bottom
        func x(_ ms: Double) -> Double { left + ms / span * plotWidth }
        var svg = svgOpen(title: "Latency histogram (\(values.count) samples)")
        svg += axes(xLabel: "latency (ms)", xMax: span, yLabel: "samples", yMax: highest, integerY: true)
        let barWidth = plotWidth / Double(binCount)
        for (index, count) in bins.enumerated() where count > 0 {
            let barHeight = Double(count) / highest * plotHeight
            let lower = Double(index) / Double(binCount) * span
            let colour = threshold.map { lower >= $0 ? HTMLReportWriter.failColour : HTMLReportWriter.passColour } ?? HTMLReportWriter.passColour
            svg += #"<rect x="\#(f(left + Double(index) * barWidth + 1))" y="\#(f(self.top + plotHeight - barHeight))" width="\#(f(Swift.max(1, barWidth - 2)))" height="\#(f(barHeight))" fill="\#(colour)" opacity="0.85"><title>\#(count) samples from \#(f(lower)) ms</title></rect>"#
        }
        for (label, value) in [("p50", latency.p50), ("p95", latency.p95), ("p99", latency.p99)] {
            guard let value else { continue }
            svg += #"<line x1="\#(f(x(value)))" x2="\#(f(x(value)))" y1="\#(f(self.top))" y2="\#(f(self.top + plotHeight))" stroke="rgb(55,65,81)" stroke-dasharray="2 3"/>"#
            svg += #"<text x="\#(f(x(value) + 3))" y="\#(f(self.top + 10 + (label == "p50" ? 0 : label == "p95" ? 12 : 24)))" font-size="10" fill="rgb(55,65,81)">\#(label)</text>"#
        }
        if let threshold, offAxis {
            svg += #"<text x="\#(f(left + plotWidth))" y="\#(f(self.top + 10))" font-size="10" text-anchor="end" fill="\#(HTMLReportWriter.failColour)">limit \#(HTMLReportWriter.number(threshold)) ms →</text>"#
        } else if let threshold {
            svg += thresholdLine(x1: x(threshold), x2: x(threshold), y1: self.top, y2: self.top + plotHeight, label: "limit \(HTMLReportWriter.number(threshold)) ms", vertical: true)
        }
        return svg + "</svg>"
    }

    /// One dot per sample: x the time since the run's first timed stimulus, y the latency;
    /// colour by whether it met the threshold. Large runs are thinned evenly, keeping the
    /// slowest samples so no outlier disappears from the picture.
    static func timeline(_ latency: LatencyEvidence, threshold: Double?, origin: Int64) -> String {
        var samples = latency.samples.sorted { $0.startNanoseconds < $1.startNanoseconds }
        let limit = 2_000
        if samples.count > limit {
            let slowest = Set(samples.indices.sorted { samples[$0].latencyMilliseconds > samples[$1].latencyMilliseconds }.prefix(limit / 10))
            let stride = Double(samples.count) / Double(limit - slowest.count)
            var keep = slowest
            var position = 0.0
            while Int(position) < samples.count { keep.insert(Int(position)); position += stride }
            samples = keep.sorted().map { samples[$0] }
        }
        let times = samples.map { Double($0.startNanoseconds - origin) / 1e9 }
        let xMax = niceCeiling(Swift.max(times.max() ?? 1, 1) * 1.05)
        let yMax = niceCeiling(Swift.max(samples.map(\.latencyMilliseconds).max() ?? 1, threshold ?? 0) * 1.1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var svg = svgOpen(title: "Latency over the run (\(latency.samples.count) samples)")
        svg += axes(xLabel: "time since first stimulus (s)", xMax: xMax, yLabel: "ms", yMax: yMax)
        for (sample, time) in zip(samples, times) {
            let late = threshold.map { sample.latencyMilliseconds >= $0 } ?? false
            svg += #"<circle cx="\#(f(left + time / xMax * plotWidth))" cy="\#(f(top + plotHeight - sample.latencyMilliseconds / yMax * plotHeight))" r="3" fill="\#(late ? HTMLReportWriter.failColour : HTMLReportWriter.passColour)" opacity="0.8"><title>\#(MarkupText.escaped(sample.device)) \#(MarkupText.escaped(sample.label)): \#(f(sample.latencyMilliseconds)) ms</title></circle>"#
        }
        if let threshold {
            let y = top + plotHeight - threshold / yMax * plotHeight
            svg += thresholdLine(x1: left, x2: left + plotWidth, y1: y, y2: y, label: "limit \(HTMLReportWriter.number(threshold)) ms", vertical: false)
        }
        return svg + "</svg>"
    }

    static func svgOpen(title: String) -> String {
        #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))" role="img" aria-label="\#(MarkupText.escaped(title))"><text x="\#(Int(left))" y="18" font-size="13" font-weight="600" fill="rgb(17,24,39)">\#(MarkupText.escaped(title))</text>"#
    }

    /// The smallest 1, 2 or 5 × 10ⁿ multiple of a quarter of `value` that reaches it, so the
    /// four ticks fall on round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let rough = value / 4
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        return step * 4
    }

    static func axes(xLabel: String, xMax: Double, yLabel: String, yMax: Double, integerY: Bool = false) -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var svg = #"<line x1="\#(f(left))" y1="\#(f(top + plotHeight))" x2="\#(f(left + plotWidth))" y2="\#(f(top + plotHeight))" stroke="rgb(156,163,175)"/>"#
        svg += #"<line x1="\#(f(left))" y1="\#(f(top))" x2="\#(f(left))" y2="\#(f(top + plotHeight))" stroke="rgb(156,163,175)"/>"#
        for step in 0 ... 4 {
            let fraction = Double(step) / 4
            let x = left + fraction * plotWidth, y = top + plotHeight - fraction * plotHeight
            svg += #"<text x="\#(f(x))" y="\#(f(top + plotHeight + 14))" font-size="10" text-anchor="middle" fill="rgb(107,114,128)">\#(HTMLReportWriter.number(xMax * fraction))</text>"#
            if !integerY || (yMax * fraction).rounded() == yMax * fraction || yMax >= 4 {
                let label = integerY ? String(Int((yMax * fraction).rounded())) : HTMLReportWriter.number(yMax * fraction)
                svg += #"<text x="\#(f(left - 4))" y="\#(f(y + 3))" font-size="10" text-anchor="end" fill="rgb(107,114,128)">\#(label)</text>"#
            }
            if step > 0 { svg += #"<line x1="\#(f(left))" y1="\#(f(y))" x2="\#(f(left + plotWidth))" y2="\#(f(y))" stroke="rgb(243,244,246)"/>"# }
        }
        svg += #"<text x="\#(f(left + plotWidth / 2))" y="\#(f(height - 8))" font-size="11" text-anchor="middle" fill="rgb(55,65,81)">\#(MarkupText.escaped(xLabel))</text>"#
        svg += #"<text x="12" y="\#(f(top + plotHeight / 2))" font-size="11" text-anchor="middle" fill="rgb(55,65,81)" transform="rotate(-90 12 \#(f(top + plotHeight / 2)))">\#(MarkupText.escaped(yLabel))</text>"#
        return svg
    }

    static func thresholdLine(x1: Double, x2: Double, y1: Double, y2: Double, label: String, vertical: Bool) -> String {
        var svg = #"<line x1="\#(f(x1))" y1="\#(f(y1))" x2="\#(f(x2))" y2="\#(f(y2))" stroke="\#(HTMLReportWriter.failColour)" stroke-width="2" stroke-dasharray="6 4"/>"#
        let (x, y) = vertical ? (Swift.min(x1 + 4, width - 90), y1 + 10) : (x2 - 90, y1 - 4)
        svg += #"<text x="\#(f(x))" y="\#(f(y))" font-size="10" fill="\#(HTMLReportWriter.failColour)">\#(MarkupText.escaped(label))</text>"#
        return svg
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
