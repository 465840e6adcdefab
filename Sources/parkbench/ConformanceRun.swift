import ArgumentParser
import Foundation
import ParkCore
import ParkHarness
import ParkReport

/// What `parkbench test` and `parkbench demo` share: load a suite, a platform profile and a
/// park; run the harness with progress on the console; write the run folder; print the verdict
/// table; and map the outcome to the documented exit code.
struct ConformanceRun {
    var suiteFile: String
    var platformFile: String
    var parkFile: String?
    var brokerOverride: BrokerAddress?
    var outputDirectory: String?
    var seed: UInt64?
    var only: [String]
    var faults: [String]
    var json: Bool
    var historyPath: String?

    /// Loads everything, printing every problem as `file:line:col: key.path: message`; exit 2 on any.
    func load(_ workspace: Workspace) throws -> HarnessRunner.Configuration {
        try workspace.failOnProblems()
        var problems: [String] = []
        var suite: Suite?
        var profile: PlatformProfile?
        do { suite = try Suite.load(file: suiteFile) } catch { problems += error.issues.map(\.description) }
        do { profile = try PlatformProfile.load(file: platformFile) } catch { problems += error.issues.map(\.description) }
        guard let suite, var profile else {
            problems.forEach { Output.error($0) }
            throw ExitCode(ExitStatus.configurationError)
        }
        guard let parkPath = parkFile ?? suite.park else {
            Output.error("error: \(suiteFile) names no park; pass --park <file>")
            throw ExitCode(ExitStatus.configurationError)
        }
        let park: ParkFile
        let plan: [PlannedDevice]
        do {
            park = try ParkFile.load(file: parkPath, catalog: workspace.catalog, kinds: workspace.kinds)
            plan = try park.plan(kinds: workspace.kinds, seed: seed)
        } catch {
            error.issues.forEach { Output.error($0.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        if let broker = brokerOverride {
            profile.broker.host = broker.host
            profile.broker.port = broker.port
        }
        let unknown = only.filter { id in !suite.checks.contains { $0.common.id == id } }
        if !unknown.isEmpty {
            Output.error("error: \(suiteFile) has no check \(unknown.joined(separator: ", ")); it has: "
                         + suite.checks.map(\.common.id).joined(separator: ", "))
            throw ExitCode(ExitStatus.configurationError)
        }
        return HarnessRunner.Configuration(
            suite: suite, profile: profile, park: park, parkFile: parkPath, plan: plan, kinds: workspace.kinds,
            seed: seed ?? park.seed, parkbenchVersion: ParkBenchVersion.current, faults: faults, only: only)
    }

    /// Runs the suite and reports; returns the exit status (0 pass, 1 a check failed).
    func run(_ configuration: HarnessRunner.Configuration) async throws -> Int32 {
        let quiet = json
        let runner = HarnessRunner(configuration: configuration) { progress in
            guard !quiet else { return }
            switch progress {
            case .step(let line): print(line)
            case .checkStarted(let index, let count, let common):
                print("[\(index)/\(count)] \(common.id) (\(common.type), \(common.source)) …")
            case .checkFinished(let result):
                print("      \(result.verdict.rawValue.uppercased())  \(result.summary)")
            }
        }
        let report: RunReport
        do { report = try await runner.run() } catch {
            switch error {
            case .unreachable(let message):
                Output.error("error: \(message)")
                throw ExitCode(ExitStatus.unreachable)
            case .configuration(let message):
                Output.error("error: \(message)")
                throw ExitCode(ExitStatus.configurationError)
            }
        }
        let folder = outputDirectory ?? "reports/\(report.runID)"
        let written = write(report, to: folder)
        // The folder is the record; a history that cannot be written costs a warning, not the run.
        do { try RunHistory(path: historyPath ?? RunHistory.defaultPath).record(report, folder: folder) } catch {
            Output.error("warning: \(error)")
        }
        if json {
            if let data = try? RunReport.makeEncoder().encode(report) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print("")
            Output.table(
                ["CHECK", "TYPE", "SOURCE", "VERDICT", "MEASURED"],
                report.checks.map { [$0.id, $0.type, $0.source, $0.verdict.rawValue.uppercased(), $0.summary] })
            for check in report.checks where check.verdict != .pass {
                for finding in check.findings.prefix(5) { print("  \(check.id): \(finding)") }
            }
            for note in report.notes { print("note: \(note)") }
            let failed = report.checks.filter { $0.verdict == .fail || $0.verdict == .error }
            print("")
            print(failed.isEmpty
                ? "PASS: \(report.checks.count) of \(report.checks.count) checks passed"
                : "FAIL: \(failed.map(\.id).joined(separator: ", "))")
            if written { print("report: \(folder)/report.html (also report.json, junit.xml)") }
        }
        return report.checks.contains { $0.verdict == .fail || $0.verdict == .error } ? 1 : 0
    }

    private func write(_ report: RunReport, to folder: String) -> Bool {
        do throws(RunFolderError) {
            try RunFolder(folder).write(report)
            return true
        } catch {
            Output.error("error: \(error)")
            return false
        }
    }
}
