import ArgumentParser
import Foundation
import ParkHarness
import ParkReport

/// `parkbench merge`: the shards of one load run, from one machine or several, as one report.
struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the run folders of a load run's shards into one report, thresholds judged on the merged figures.",
        discussion: """
            A load run spread over machines runs one shard on each (`parkbench load PROFILE \
            --shard i/N`, every machine the same profile, N the same) and each writes its own run \
            folder. Gather the folders (scp, a shared volume, the Kubernetes manifests in \
            deploy/k8s/) and merge them: message and probe counts are added, each stage's latency \
            histograms are merged bucket for bucket (HDR), and every threshold is judged again on \
            the merged figures — a p99 of the whole run, never an average of the shards' p99s. The \
            merged run folder joins the history like any run.

            Exit codes: 0 every threshold held, 1 one failed, 2 the folders are not shards of one \
            load run (another suite, other stages, a shard twice) or cannot be read.

            Example:
              parkbench merge runs/shard-0 runs/shard-1 runs/shard-2 --out runs/merged
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var history: HistoryOption

    @Argument(help: ArgumentHelp("The shards' run folders.", valueName: "dir"))
    var folders: [String]

    @Option(help: ArgumentHelp("The merged run folder (default: reports/<run id>).", valueName: "dir"))
    var out: String?

    func validate() throws {
        if folders.isEmpty { throw ValidationError("name the shards' run folders") }
    }

    func run() async throws {
        var reports: [(folder: String, report: RunReport)] = []
        for folder in folders {
            do { reports.append((folder, try RunFolder(folder).read())) } catch {
                Output.error("error: \(folder): \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
        }
        let runID = HarnessRunner.runID(Date())
        let merged: RunReport
        do { merged = try LoadReportMerge.merge(reports, runID: runID) } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
        let folder = out ?? "reports/\(runID)"
        var written = true
        do { try RunFolder(folder).write(merged) } catch {
            Output.error("error: \(error)")
            written = false
        }
        do { try RunHistory(path: history.history ?? RunHistory.defaultPath).record(merged, folder: folder) } catch {
            Output.error("warning: \(error)")
        }
        ConformanceRun.printOutcome(merged, folder: folder, written: written, json: options.json)
        if merged.checks.contains(where: { $0.verdict == .fail || $0.verdict == .error }) { throw ExitCode(1) }
    }
}
