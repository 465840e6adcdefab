import Foundation
@testable import ParkReport
import Testing

/// JUnit and HTML writers, read back by an independent parser (Python's xml.etree), with the
/// hostile strings a misbehaving platform or a creative device id can bring.
@Suite struct ReportWriterTests {
    static let hostile = "smoke<&>\"'\u{01}\u{1B}[31m-</testcase>]]>"

    static func report(samples: Int, verdict: RunReport.Verdict = .fail) -> RunReport {
        var report = RunReportTests.sample()
        var check = report.checks[0]
        check.id = "id-\(hostile)"
        check.title = "title \(hostile)"
        check.verdict = verdict
        check.summary = "expected latency.p99 < 2000.0 ms, measured 3012.4 ms \(hostile)"
        check.findings = ["finding \(hostile)"]
        check.expectations[0].passed = verdict == .pass
        var made: [LatencySample] = []
        for index in 0..<samples {
            let start: Int64 = 1_000_000_000 + Int64(index) * 10_000_000
            let latency: Int64 = 500_000 + Int64((index * 7919) % 3_000_000_000)
            made.append(LatencySample(
                device: "dev-\(index % 7)" + hostile, label: "smoke → smoke-alarm", startNanoseconds: start,
                endNanoseconds: start + latency, matchedBy: index % 3 == 0 ? "window" : "msg_id"))
        }
        check.latency = LatencyEvidence(samples: made)
        report.checks = [check, RunReportTests.sample().checks[0]]
        report.notes = ["note \(hostile)"]
        report.verdict = verdict
        return report
    }

    /// Parses XML with Python's xml.etree and prints what a CI system would read.
    func parseWithPython(_ xml: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-junit-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("junit.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            suite = root.find("testsuite")
            print(root.get("tests"), root.get("failures"), suite.get("name"))
            for case in suite.iter("testcase"):
                props = {p.get("name"): p.get("value") for p in case.find("properties")}
                failure = case.find("failure")
                print(case.get("name"), "|", props["source"], "|", failure.get("message") if failure is not None else "-")
            """, file.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "xml.etree could not parse junit.xml: \(String(decoding: data, as: UTF8.self))")
        return String(decoding: data, as: UTF8.self)
    }

    @Test func junitParsesAndSaysWhatWasExpectedAndMeasured() throws {
        let xml = JUnitWriter.xml(Self.report(samples: 20))
        let parsed = try parseWithPython(xml)
        let lines = parsed.split(separator: "\n").map(String.init)
        #expect(lines.first == "2 1 park-core")
        #expect(lines[1].hasPrefix("id-smoke<&>\"'\u{FFFD}\u{FFFD}[31m-</testcase>]]>: title smoke"))
        #expect(lines[1].contains("| 004_5e9061d643d5fb41.txt L2714 | expected latency.p99 < 2000.0 ms, measured 3012.4 ms"))
        #expect(lines[2].hasSuffix("| -"), "the passing check has no failure element")
        #expect(xml.contains("FAIL latency.p99 &lt; 2s: measured 99 ms"))
        #expect(xml.contains(#"<property name="metric.latency.p99" value="99 ms"/>"#), "a metric shows its unit")
        #expect(xml.contains(#"<property name="metric.loss" value="1"/>"#), "a count stays a bare number")
        #expect(xml.contains(#"<property name="metric.loss.percent" value="0.500 %"/>"#))
        #expect(!xml.contains("\u{1B}"), "control characters never reach the XML")
    }

    /// Millisecond samples against a 2 s limit are not one bar at the left of a 0–2 s axis: the
    /// histogram zooms to them and names the limit at its edge; near the limit it draws the line.
    @Test func histogramZoomsToTheSamplesAndMarksAFarLimit() {
        func samples(_ values: [Double]) -> LatencyEvidence {
            LatencyEvidence(samples: values.enumerated().map { index, ms in
                LatencySample(device: "d\(index)", label: "x", startNanoseconds: 0, endNanoseconds: Int64(ms * 1e6), matchedBy: "msg_id")
            })
        }
        let fast = LatencyPlots.histogram(samples([8, 9, 10, 11, 12, 14, 15, 20]), threshold: 2000)
        #expect(fast.contains("limit 2000 ms →"), "the far limit is named at the edge")
        #expect(!fast.contains(">2000<"), "the axis does not run to the limit")
        let bars = fast.components(separatedBy: "<rect").count - 1
        #expect(bars >= 4, "the samples spread over several bars, not one: \(bars)")
        let close = LatencyPlots.histogram(samples([900, 1200, 1500, 1900]), threshold: 2000)
        #expect(!close.contains("→") && close.contains("limit 2000 ms"), "near the data the limit is a line on the axis")
    }

    @Test func htmlIsSelfContainedAndDrawsTheSamples() throws {
        for count in [0, 1, 10_000] {
            let html = HTMLReportWriter.html(Self.report(samples: count))
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(!html.contains("<script"), "no scripts")
            #expect(!html.contains("src="), "nothing loaded from elsewhere")
            let external = html.components(separatedBy: "http").dropFirst().filter { !$0.hasPrefix("://www.w3.org/2000/svg") }
            #expect(external.isEmpty, "no network references with \(count) samples")
            #expect(!html.contains("<testcase>]]>"), "hostile text is escaped")
            #expect(html.contains("smoke&lt;&amp;&gt;&quot;&#39;"))
            #expect(html.utf8.count < 1_200_000, "\(count) samples: \(html.utf8.count) bytes")
            if count > 0 {
                #expect(html.contains("Latency histogram (\(count) samples)"))
                #expect(html.contains("Latency over the run (\(count) samples)"))
                #expect(html.contains("limit 2000 ms"))
            } else {
                #expect(!html.contains("Latency histogram (0 samples)"), "a check with no samples draws no empty plot")
            }
        }
        let html = HTMLReportWriter.html(Self.report(samples: 1))
        #expect(html.contains("<tr><th>latency.p99</th><td>99 ms</td></tr>"), "a metric shows its unit")
        #expect(html.contains("<tr><th>loss</th><td>1 (0.5 %)</td></tr>"))
        let circles = HTMLReportWriter.html(Self.report(samples: 10_000)).components(separatedBy: "<circle").count - 1
        #expect(circles <= 2_000 + 200 && circles >= 1_500, "the timeline is thinned, not dropped: \(circles) dots")
    }

    @Test func runFolderWritesAllThreeAndReadsBack() throws {
        let folder = RunFolder(FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-run-\(UUID())").path)
        let report = Self.report(samples: 5)
        try folder.write(report)
        #expect(try folder.read() == report)
        for file in [folder.junitXML, folder.reportHTML] { #expect(FileManager.default.fileExists(atPath: file)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["junit.xml", "report.html", "report.json"])

        try "{\"schema\": \"parkbench.report/1\"}".write(toFile: folder.reportJSON, atomically: true, encoding: .utf8)
        #expect { try folder.read() } throws: { error in
            "\(error)".contains("report.json is not a ParkBench report: missing") && "\(error)".contains(folder.reportJSON)
        }
        let missing = RunFolder("/nonexistent/run")
        #expect { try missing.read() } throws: { "\($0)".hasPrefix("cannot read /nonexistent/run/report.json") }
    }
}
