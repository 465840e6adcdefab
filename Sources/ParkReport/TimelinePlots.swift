/// The inline SVG plots of a check's timeline: message rates and devices online against time,
/// with the fault and the heal drawn across them.
enum TimelinePlots {
    static let colours = ["rgb(37,99,235)", HTMLReportWriter.passColour, "rgb(217,119,6)", "rgb(220,38,38)"]

    static func plots(_ timeline: TimelineEvidence) -> String {
        var html = chart(title: "Messages per second", yLabel: "messages/s", series: timeline.rates, timeline: timeline)
        if let latency = timeline.latency, !latency.isEmpty {
            var lines = latency
            // The threshold as a flat line: where the percentiles cross it is the knee.
            if let threshold = timeline.latencyThreshold {
                lines.append(.init(name: "threshold", values: Array(repeating: threshold, count: latency.map(\.values.count).max() ?? 0)))
            }
            html += chart(title: "Alarm probe latency", yLabel: "ms", series: lines, timeline: timeline)
        }
        if let online = timeline.online { html += chart(title: "Devices online (as the platform shows them)", yLabel: "devices", series: [online], timeline: timeline) }
        return html
    }

    private static func chart(title: String, yLabel: String, series: [TimelineEvidence.Series], timeline: TimelineEvidence) -> String {
        typealias P = LatencyPlots
        let buckets = series.map(\.values.count).max() ?? 0
        let seconds = Double(buckets * timeline.bucketMilliseconds) / 1000
        let xMax = P.niceCeiling(Swift.max(seconds, 1))
        let yMax = P.niceCeiling(Swift.max(series.flatMap(\.values).max() ?? 1, 1) * 1.1)
        let plotWidth = P.width - P.left - P.right, plotHeight = P.height - P.top - P.bottom
        func x(_ second: Double) -> Double { P.left + second / xMax * plotWidth }
        func y(_ value: Double) -> Double { P.top + plotHeight - value / yMax * plotHeight }
        var svg = P.svgOpen(title: title)
        svg += P.axes(xLabel: "time (s)", xMax: xMax, yLabel: yLabel, yMax: yMax)
        for mark in timeline.marks {
            let at = x(Double(mark.atNanoseconds - timeline.startNanoseconds) / 1e9)
            svg += #"<line x1="\#(P.f(at))" x2="\#(P.f(at))" y1="\#(P.f(P.top))" y2="\#(P.f(P.top + plotHeight))" stroke="rgb(107,114,128)" stroke-dasharray="4 3"/>"#
            svg += #"<text x="\#(P.f(at + 3))" y="\#(P.f(P.top + 10))" font-size="10" fill="rgb(55,65,81)">\#(MarkupText.escaped(mark.label))</text>"#
        }
        let step = Double(timeline.bucketMilliseconds) / 1000
        for (index, line) in series.enumerated() {
            let colour = colours[index % colours.count]
            let points = line.values.enumerated().map { "\(P.f(x((Double($0.offset) + 0.5) * step))),\(P.f(y($0.element)))" }.joined(separator: " ")
            svg += #"<polyline points="\#(points)" fill="none" stroke="\#(colour)" stroke-width="2"/>"#
            if series.count > 1 {
                svg += #"<text x="\#(P.f(P.width - P.right - 150))" y="\#(P.f(P.top + 24 + Double(index) * 12))" font-size="10" fill="\#(colour)">— \#(MarkupText.escaped(line.name))</text>"#
            }
        }
        return svg + "</svg>"
    }
}
