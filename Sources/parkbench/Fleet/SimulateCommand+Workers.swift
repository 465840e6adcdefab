import ArgumentParser
import Foundation
import ParkCore
import ParkRuntime

#if canImport(Glibc)
import Glibc
#endif

extension SimulateCommand {
    /// Runs the park as `count` worker processes and prints the merged summary.
    func runWorkers(_ count: Int, park: ParkFile, devices: Int, runSeed: UInt64) async throws {
        _ = RunInterruption.received
        let assignments = ShardAssignment.plan(deviceCount: devices, workers: count, brokers: brokers)
        if let ledger, !FileManager.default.createFile(atPath: ledger, contents: nil) {
            Output.error("error: cannot write the ledger file '\(ledger)'; check the directory exists and is writable")
            throw ExitCode(ExitStatus.configurationError)
        }
        if !options.json {
            var line = "park \(park.name): \(devices) devices, seed \(runSeed), \(duration) "
                + "\(virtual ? "of virtual time" : "in real time") as \(count) worker processes"
            if !brokers.isEmpty { line += " on \(brokers.count) broker\(brokers.count == 1 ? "" : "s")" }
            print(line)
            for assignment in assignments {
                var detail = "  worker \(assignment.shard): devices \(assignment.devices.lowerBound + 1)–\(assignment.devices.upperBound)"
                if let broker = assignment.broker { detail += " → \(broker)" }
                if let address = assignment.bindAddress { detail += " from \(address)" }
                print(detail)
            }
            fflush(nil)
        }

        let coordinator = FleetCoordinator(
            executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
            assignments: assignments, ledger: ledger, showProgress: !options.json,
            totalDeviceSeconds: duration.seconds,
            arguments: { assignment, ledgerPart in
                // The window is per broker: the workers sharing one split it between them.
                let sharing = assignments.filter { $0.broker?.description == assignment.broker?.description }.count
                return workerArguments(assignment, ledgerPart: ledgerPart, runSeed: runSeed,
                                       connectWindow: max(1, connectWindow / max(sharing, 1)))
            })
        let outcome: FleetCoordinator.Outcome
        do {
            outcome = try await withCheckedThrowingContinuation { continuation in
                // A thread of its own: it blocks in poll(2), and the workers' parent-death signal
                // follows the thread that spawned them, which must outlive them.
                let thread = Thread {
                    do { continuation.resume(returning: try coordinator.run()) } catch { continuation.resume(throwing: error) }
                }
                thread.start()
            }
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
        for note in outcome.ledgerNotes { Output.error("warning: \(note)") }

        let failed = outcome.workers.filter(\.failed)
        let summary = outcome.mergedSummary(
            park: park.name, devices: devices, seed: runSeed, mode: virtual ? "virtual" : "real-time",
            deviceTime: duration.description, ledgerFile: ledger, withMQTT: !brokers.isEmpty)
        if options.json {
            Output.json(summary)
        } else {
            summary.printText()
            Output.table(["WORKER", "DEVICES", "BROKER", "FROM", "PID", "ENDING", "SECONDS"], outcome.workers.map {
                [$0.shard, String($0.devices), $0.broker ?? "-", $0.bindAddress ?? "-", String($0.pid), $0.ending,
                 String(format: "%.1f", $0.seconds)]
            })
            if let after = outcome.allConnectedAfter {
                print(String(format: "all devices connected %.2f s after the workers started", after))
            }
        }
        if !failed.isEmpty {
            Output.error("error: \(failed.count) of \(outcome.workers.count) workers failed: "
                         + failed.map { "\($0.shard) \($0.ending)" }.joined(separator: "; ")
                         + "; the figures above include what they reported before failing")
            throw ExitCode(ExitStatus.workerFailed)
        }
        if !brokers.isEmpty, !outcome.summaries.isEmpty, (summary.mqtt?.connected ?? 0) == 0, (summary.mqtt?.published ?? 0) == 0 {
            Output.error("error: no device could connect to \(brokers.map(\.description).joined(separator: ", ")); are the brokers running and reachable?")
            throw ExitCode(ExitStatus.unreachable)
        }
        if outcome.interrupted { throw ExitCode(ExitStatus.interrupted) }
    }

    /// The command line of one worker: this run's options, its shard, broker and source address.
    private func workerArguments(_ assignment: ShardAssignment, ledgerPart: String?, runSeed: UInt64, connectWindow: Int) -> [String] {
        var arguments = ["simulate", "--devices", options.devicesDirectory, "--log-level", options.logLevel.rawValue]
        for plugin in options.plugins { arguments += ["--plugin", plugin] }
        arguments += ["--park", park, "--duration", duration.description, "--seed", String(runSeed),
                      "--shard", assignment.shard.description, "--show", "none", "--worker-of", String(getpid())]
        if virtual { arguments.append("--virtual") }
        if let ledgerPart { arguments += ["--ledger", ledgerPart] }
        if let broker = assignment.broker {
            arguments += ["--broker", broker.description, "--topics", topics, "--connect-window", String(connectWindow)]
            if let address = assignment.bindAddress { arguments += ["--bind-address", address] }
            if let auth { arguments += ["--auth", auth.rawValue] }
            if let productKey { arguments += ["--product-key", productKey] }
            if let secretsFile { arguments += ["--secrets-file", secretsFile] }
            // The variable's name only: the secret itself reaches the worker through the environment.
            if let passwordEnv { arguments += ["--password-env", passwordEnv] }
        }
        return arguments
    }
}
