import Foundation
@testable import ParkReport
import Testing

@Suite struct RunHistoryTests {
    func temporaryHistory() throws -> RunHistory {
        try RunHistory(path: FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-history-\(UUID())/h.sqlite").path)
    }

    @Test func recordsListsAndComparesRuns() throws {
        let history = try temporaryHistory()
        var before = RunReportTests.sample()
        before.runID = "20261125T010000Z-aaaaaa"
        before.startedAt = "2026-11-25T01:00:00Z"
        var after = ReportWriterTests.report(samples: 10)
        after.runID = "20261125T020000Z-bbbbbb"
        after.startedAt = "2026-11-25T02:00:00Z"
        after.faults = ["alarm-delay=3s"]
        try history.record(before, folder: "/tmp/a")
        try history.record(after, folder: "reports/b")
        try history.record(after, folder: "reports/b")  // recording twice replaces, never duplicates

        let runs = try history.runs()
        #expect(runs.map(\.id) == [after.runID, before.runID])
        #expect(runs[0].faults == "alarm-delay=3s" && runs[0].verdict == "fail" && runs[0].passed == 1 && runs[0].checks == 2)
        #expect(runs[0].folder.hasPrefix("/") && runs[0].folder.hasSuffix("reports/b"), "folders are kept absolute")
        #expect(try history.run("20261125T01").id == before.runID, "a unique prefix is enough")
        #expect { try history.run("20261125T0") } throws: { "\($0)".contains("matches several runs") }
        #expect { try history.run("nope") } throws: { "\($0)".contains("no run 'nope'") }

        let comparison = RunComparison(
            before: runs[1], beforeChecks: try history.checks(of: before.runID), after: runs[0], afterChecks: try history.checks(of: after.runID))
        #expect(comparison.rows.map(\.checkID) == ["alarm-latency", "id-\(ReportWriterTests.hostile)"])
        #expect(comparison.rows[0].verdictChanged == false)
        #expect(comparison.rows[1].before == nil, "a check only in the later run is new")
        #expect(comparison.rows[0].after?.loss == 1, "loss is the count of lost messages, not its percentage")
        #expect(RunComparison.delta(100, 150) == "+50.0 ms (+50%)")
        #expect(RunComparison.delta(nil, 150) == nil)
    }

    @Test func aBrokenHistoryFileIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-history-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("h.sqlite").path
        try "this is not a database".write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try RunHistory(path: file) } throws: { "\($0)".hasPrefix("cannot open the run history \(file)") }
    }
}
