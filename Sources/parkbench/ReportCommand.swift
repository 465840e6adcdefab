import ArgumentParser
import Foundation
import ParkReport

/// Where the run history lives, for every command that reads or writes it.
struct HistoryOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The run history (default $PARKBENCH_HISTORY, else ~/.local/share/parkbench/history.sqlite).", valueName: "file"))
    var history: String?

    func open() throws -> RunHistory {
        do { return try RunHistory(path: history ?? RunHistory.defaultPath) } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }
}

/// `parkbench report`: the run history — list runs, show one, compare two, re-render a folder.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "List, show and compare past conformance runs.",
        discussion: """
            Every `parkbench test` and `parkbench demo` run is a row in the run history \
            (SQLite) and a folder with report.json, junit.xml and report.html.

            Examples:
              parkbench report list
              parkbench report show 20261125T0243          # a unique prefix of a run id
              parkbench report compare <run a> <run b>     # verdict changes, latency deltas
              parkbench report render reports/<run id>     # junit.xml + report.html from report.json
            """,
        subcommands: [List.self, Show.self, Compare.self, Render.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest runs, newest first.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var history: HistoryOption
        @Option(help: "How many runs to list.") var limit = 20

        func run() async throws {
            options.bootstrapLogging()
            let runs: [RunHistory.Run]
            let store = try history.open()
            do throws(RunHistoryError) { runs = try store.runs(limit: limit) } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
            if options.json { return Output.json(runs) }
            if runs.isEmpty { return print("no runs yet; `parkbench demo` or `parkbench test` records one") }
            Output.table(
                ["RUN", "STARTED", "SUITE", "PLATFORM", "VERDICT", "PASSED", "FAULTS"],
                runs.map { [$0.id, $0.startedAt, $0.suite, $0.platform, $0.verdict.uppercased(), "\($0.passed)/\($0.checks)", $0.faults.isEmpty ? "-" : $0.faults] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One run's verdicts and findings, from its folder or the history.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var history: HistoryOption
        @Argument(help: ArgumentHelp("A run id (or a unique prefix), or a run folder.", valueName: "run")) var run: String

        func run() async throws {
            options.bootstrapLogging()
            let report = try loadReport(run, history: history)
            if options.json { return Output.json(report) }
            print("run \(report.runID): \(report.verdict.rawValue.uppercased()) — suite \(report.suite.name) against \(report.platform.name), "
                  + "park \(report.park.name) (\(report.park.devices) devices), started \(report.startedAt)"
                  + (report.faults.isEmpty ? "" : ", faults \(report.faults.joined(separator: ", "))"))
            Output.table(["CHECK", "TYPE", "SOURCE", "VERDICT", "MEASURED"],
                         report.checks.map { [$0.id, $0.type, $0.source, $0.verdict.rawValue.uppercased(), $0.summary] })
            for check in report.checks where !check.findings.isEmpty {
                for finding in check.findings.prefix(10) { print("  \(check.id): \(finding)") }
            }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which checks changed between two runs, and how their latencies moved.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var history: HistoryOption
        @Argument(help: ArgumentHelp("The earlier run (id or prefix).", valueName: "a")) var before: String
        @Argument(help: ArgumentHelp("The later run (id or prefix).", valueName: "b")) var after: String

        func run() async throws {
            options.bootstrapLogging()
            let store = try history.open()
            let comparison: RunComparison
            do throws(RunHistoryError) { comparison = try Self.compare(before, after, in: store) } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
            print("\(comparison.before.id) (\(comparison.before.verdict.uppercased())) → \(comparison.after.id) (\(comparison.after.verdict.uppercased()))")
            Output.table(
                ["CHECK", "BEFORE", "AFTER", "P50 Δ", "P99 Δ", ""],
                comparison.rows.map { row in
                    [row.checkID, row.before?.verdict.uppercased() ?? "(none)", row.after?.verdict.uppercased() ?? "(none)",
                     RunComparison.delta(row.before?.p50, row.after?.p50) ?? "-", RunComparison.delta(row.before?.p99, row.after?.p99) ?? "-",
                     row.before == nil ? "new" : row.after == nil ? "removed" : row.verdictChanged ? "changed" : ""]
                })
            let changed = comparison.rows.filter(\.verdictChanged).count
            print("\n\(changed) of \(comparison.rows.count) checks changed verdict")
        }

        static func compare(_ before: String, _ after: String, in store: RunHistory) throws(RunHistoryError) -> RunComparison {
            let a = try store.run(before), b = try store.run(after)
            return RunComparison(before: a, beforeChecks: try store.checks(of: a.id), after: b, afterChecks: try store.checks(of: b.id))
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write junit.xml and report.html again from a folder's report.json.")
        @Argument(help: ArgumentHelp("The run folder.", valueName: "dir")) var folder: String

        func run() async throws {
            let runFolder = RunFolder(folder)
            do {
                let report = try runFolder.read()
                try runFolder.write(report)
                print("wrote \(runFolder.junitXML) and \(runFolder.reportHTML)")
            } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
        }
    }
}

/// A report from a folder path, or from the folder the history names for a run id.
private func loadReport(_ run: String, history: HistoryOption) throws -> RunReport {
    var isDirectory: ObjCBool = false
    var folder = run
    if !(FileManager.default.fileExists(atPath: run, isDirectory: &isDirectory) && isDirectory.boolValue) {
        let store = try history.open()
        do throws(RunHistoryError) { folder = try store.run(run).folder } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }
    do { return try RunFolder(folder).read() } catch {
        Output.error("error: \(error)")
        throw ExitCode(ExitStatus.configurationError)
    }
}
