import ArgumentParser
import Foundation
import ParkCore

#if canImport(Glibc)
import Glibc
#endif

extension SimulateCommand {
    /// How many worker processes this run needs, or nil to run in this process.
    ///
    /// Explicit `--workers` wins. Otherwise a real-time MQTT run is split when it has several
    /// brokers or more devices than one process should hold.
    func workerProcessCount(devices: Int) throws -> Int? {
        let count: Int
        if let workers {
            count = workers
        } else if !virtual, !brokers.isEmpty,
                  brokers.count > 1 || devices > ProcessCapacity.preferredDevicesPerWorker {
            count = ProcessCapacity.workers(forDevices: devices, brokers: brokers.count)
        } else {
            return nil
        }
        let perWorker = (devices + count - 1) / count
        if !brokers.isEmpty, perWorker > ProcessCapacity.maximumDevicesPerProcess {
            let needed = (devices + ProcessCapacity.maximumDevicesPerProcess - 1) / ProcessCapacity.maximumDevicesPerProcess
            Output.error("error: \(devices) devices over \(count) workers is \(perWorker) per worker, more than the "
                         + "\(ProcessCapacity.maximumDevicesPerProcess) MQTT clients a process can hold here "
                         + "(\(ProcessCapacity.hardOpenFileLimit) open files, \(ProcessCapacity.descriptorsPerClient) per client); "
                         + "use --workers \(needed) or more")
            throw ExitCode(ExitStatus.configurationError)
        }
        if count > devices {
            Output.error("error: --workers \(count) is more than the park's \(devices) devices")
            throw ExitCode(ExitStatus.configurationError)
        }
        return count
    }

    /// Runs the park as `count` worker processes and prints the merged summary.
    func runWorkers(_ count: Int, park: ParkFile, devices: Int, runSeed: UInt64) async throws {
        _ = Interrupt.received
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

        var emissions: [String: Int] = [:]
        var mqtt = MQTTSummary.zero
        var ledgerRecords = 0, stimuli = 0
        var timerP99: Double?, timerMax: Double?
        for summary in outcome.summaries {
            emissions.merge(summary.emissions, uniquingKeysWith: +)
            ledgerRecords += summary.ledgerRecords
            stimuli += summary.stimuli
            if let shard = summary.mqtt { mqtt += shard }
            // Percentiles do not add up across processes: the worst shard's p99 is an upper bound.
            if let p99 = summary.timerLatenessP99Milliseconds { timerP99 = max(timerP99 ?? 0, p99) }
            if let worst = summary.timerLatenessMaxMilliseconds { timerMax = max(timerMax ?? 0, worst) }
        }
        for partial in outcome.partial {
            ledgerRecords += partial.progress.ledgerRecords
            mqtt += MQTTSummary(progress: partial.progress, devices: partial.devices)
        }
        let failed = outcome.workers.filter(\.failed)
        let summary = RunSummary(
            park: park.name, shard: nil, devices: devices, seed: runSeed, mode: virtual ? "virtual" : "real-time",
            deviceTime: duration.description, wallSeconds: outcome.wallSeconds.rounded(toPlaces: 3),
            ledgerRecords: ledgerRecords, ledgerFile: ledger, emissions: emissions, stimuli: stimuli,
            timerLatenessP99Milliseconds: timerP99, timerLatenessMaxMilliseconds: timerMax,
            mqtt: brokers.isEmpty ? nil : mqtt, interrupted: outcome.interrupted ? true : nil,
            workers: outcome.workers, allConnectedSeconds: outcome.allConnectedAfter.map { $0.rounded(toPlaces: 3) })
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
        if !brokers.isEmpty, !outcome.summaries.isEmpty, mqtt.connected == 0, mqtt.published == 0 {
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
