import CLinuxEvents
import Foundation
import ParkBroker

#if canImport(Glibc)
import Glibc
#endif

/// Runs a park as several worker processes of this same binary (`simulate --shard i/N`), one per
/// `ShardAssignment`, and brings their results together.
///
/// The coordinator starts the workers, reads their JSON progress lines, prints one combined
/// progress line, passes their standard error through with a `[worker i/N]` prefix, and at the
/// end merges their summaries and ledger parts. It never leaves a worker behind: Ctrl-C or
/// SIGTERM is forwarded (workers stop early and still report), a worker that does not stop within
/// `stopGrace` is killed, and workers set a parent-death signal so they also end if the
/// coordinator itself is killed. A worker that dies is reported with its shard, devices and how it
/// ended; the others run on.
///
/// Everything happens on one thread with `poll(2)`: a handful of pipes, no thread per worker.
/// (`@unchecked Sendable`: its state is immutable after init and `run()` keeps its own state on
/// the one thread that calls it.)
public final class FleetCoordinator: @unchecked Sendable {
    struct Worker {
        var assignment: ShardAssignment
        var process: ChildProcess
        var ledgerPart: String?
        var output = LineBuffer()
        var errors = LineBuffer()
        var outputOpen = true
        var errorsOpen = true
        var progress = WorkerProgress()
        var summary: RunSummary?
        var exitStatus: Int32?
        var startedAt: Double
        var endedAt: Double?
    }

    /// What the run produced once every worker has ended.
    public struct Outcome {
        public var workers: [WorkerOutcome]
        public var summaries: [RunSummary]
        /// Last progress of workers that ended without a summary, with their device counts.
        public var partial: [(progress: WorkerProgress, devices: Int)]
        public var interrupted: Bool
        public var allConnectedAfter: Double?
        public var wallSeconds: Double
        public var ledgerNotes: [String]
    }

    private let executable: String
    private let assignments: [ShardAssignment]
    private let arguments: (ShardAssignment, String?) -> [String]
    private let ledger: String?
    private let progressInterval: Double
    private let showProgress: Bool
    private let totalDeviceSeconds: Double
    private let stopGrace = 10.0
    private let diagnostic: (String) -> Void

    /// - Parameters:
    ///   - arguments: the command line (after the executable) for one worker, given its ledger part.
    ///   - ledger: the merged ledger file, or nil when no ledger is kept.
    ///   - diagnostic: where progress, worker errors and their standard error go (standard error by default).
    public init(executable: String, assignments: [ShardAssignment], ledger: String?, showProgress: Bool,
                progressInterval: Double = 5, totalDeviceSeconds: Double,
                diagnostic: @escaping (String) -> Void = StandardError.writeLine,
                arguments: @escaping (ShardAssignment, String?) -> [String]) {
        self.diagnostic = diagnostic
        self.executable = executable
        self.assignments = assignments
        self.ledger = ledger
        self.showProgress = showProgress
        self.progressInterval = progressInterval
        self.totalDeviceSeconds = totalDeviceSeconds
        self.arguments = arguments
    }

    /// Starts the workers and runs until all have ended. Blocking; call it from a thread of its own
    /// (the parent-death signal is tied to the thread that spawned the worker).
    public func run() throws -> Outcome {
        let started = Self.now()
        var workers: [Worker] = []
        do {
            for assignment in assignments {
                let part = ledger.map { "\($0).part-\(assignment.shard.index)-of-\(assignment.shard.count)" }
                let process = try ChildProcess(executable, arguments(assignment, part), pipingOutput: true)
                for fd in [process.standardOutput, process.standardError].compactMap({ $0 }) {
                    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                }
                workers.append(Worker(assignment: assignment, process: process, ledgerPart: part, startedAt: Self.now()))
            }
        } catch {
            for worker in workers { worker.process.stop(grace: .seconds(stopGrace)) }
            throw error
        }

        let totalDevices = assignments.reduce(0) { $0 + $1.devices.count }
        var interrupted = false
        var stopSentAt: Double?
        var killed = false
        var lastProgress = started
        var allConnectedAfter: Double?
        var buffer = [UInt8](repeating: 0, count: 65_536)

        while workers.contains(where: { $0.exitStatus == nil || $0.outputOpen || $0.errorsOpen }) {
            var pollSet: [pollfd] = []
            var owners: [(worker: Int, isOutput: Bool)] = []
            for (index, worker) in workers.enumerated() {
                if worker.outputOpen, let fd = worker.process.standardOutput {
                    pollSet.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                    owners.append((index, true))
                }
                if worker.errorsOpen, let fd = worker.process.standardError {
                    pollSet.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                    owners.append((index, false))
                }
            }
            _ = poll(&pollSet, nfds_t(pollSet.count), 200)
            for (slot, entry) in pollSet.enumerated() where entry.revents != 0 {
                let (index, isOutput) = owners[slot]
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    let lines = isOutput ? workers[index].output.append(buffer[0 ..< count])
                                         : workers[index].errors.append(buffer[0 ..< count])
                    for line in lines { handle(line, isOutput: isOutput, worker: &workers[index]) }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    close(entry.fd)
                    let rest = isOutput ? workers[index].output.finish() : workers[index].errors.finish()
                    if let rest { handle(rest, isOutput: isOutput, worker: &workers[index]) }
                    if isOutput { workers[index].outputOpen = false } else { workers[index].errorsOpen = false }
                }
            }

            let now = Self.now()
            for index in workers.indices where workers[index].exitStatus == nil {
                guard let status = workers[index].process.status else { continue }
                workers[index].exitStatus = status
                workers[index].endedAt = now
                let ending = Self.ending(of: status, interrupted: interrupted)
                if !ending.completed {
                    let worker = workers[index]
                    diagnostic("error: worker \(describe(worker.assignment)) \(ending.text) after "
                                 + String(format: "%.1f s", now - worker.startedAt)
                                 + "; its last report: \(worker.progress.connected) connected, \(worker.progress.published) published, "
                                 + "\(worker.progress.ledgerRecords) ledger records. The other workers run on.")
                }
            }

            if RunInterruption.received, !interrupted {
                interrupted = true
                stopSentAt = now
                if showProgress { diagnostic("interrupted: stopping \(workers.count) workers (they flush their ledgers and report)") }
                for worker in workers where worker.exitStatus == nil { worker.process.signal(SIGTERM) }
            }
            if let stopSentAt, !killed, now - stopSentAt > stopGrace {
                killed = true
                for worker in workers where worker.exitStatus == nil {
                    diagnostic("error: worker \(describe(worker.assignment)) did not stop within \(Int(stopGrace)) s; killing it")
                    worker.process.signal(SIGKILL)
                }
            }
            // A worker that has exited but whose pipe stays open (inherited by something it
            // started) must not hold the run forever.
            for index in workers.indices {
                if let endedAt = workers[index].endedAt, now - endedAt > 5 {
                    for fd in [workers[index].outputOpen ? workers[index].process.standardOutput : nil,
                               workers[index].errorsOpen ? workers[index].process.standardError : nil].compactMap({ $0 }) {
                        close(fd)
                    }
                    workers[index].outputOpen = false
                    workers[index].errorsOpen = false
                }
            }

            let connectedTimes = workers.compactMap(\.progress.allConnectedAt)
            if allConnectedAfter == nil, totalDevices > 0, connectedTimes.count == workers.count, let last = connectedTimes.max() {
                allConnectedAfter = last - started
                if showProgress {
                    diagnostic(String(format: "all %d devices connected after %.2f s (%.0f conn/s)",
                                        totalDevices, last - started, Double(totalDevices) / max(last - started, 1e-9)))
                }
            }
            if showProgress, now - lastProgress >= progressInterval {
                lastProgress = now
                diagnostic(progressLine(workers, elapsed: now - started))
            }
        }

        let ledgerNotes = try mergeLedgers(workers)
        return Outcome(
            workers: workers.map { worker in
                let ending = Self.ending(of: worker.exitStatus ?? 0, interrupted: interrupted)
                return WorkerOutcome(
                    shard: worker.assignment.shard.description, devices: worker.assignment.devices.count,
                    broker: worker.assignment.broker?.description, bindAddress: worker.assignment.bindAddress,
                    pid: worker.process.pid, ending: ending.text,
                    failed: !ending.completed || (worker.summary == nil && !interrupted),
                    seconds: ((worker.endedAt ?? Self.now()) - worker.startedAt).rounded(toPlaces: 3))
            },
            summaries: workers.compactMap(\.summary),
            partial: workers.filter { $0.summary == nil }.map { ($0.progress, $0.assignment.devices.count) },
            interrupted: interrupted, allConnectedAfter: allConnectedAfter, wallSeconds: Self.now() - started,
            ledgerNotes: ledgerNotes)
    }

    private func handle(_ line: Substring, isOutput: Bool, worker: inout Worker) {
        guard isOutput else {
            diagnostic("[worker \(worker.assignment.shard)] \(line)")
            return
        }
        guard let report = WorkerReportLine.decode(line) else {
            diagnostic("[worker \(worker.assignment.shard)] (not a report line) \(line.prefix(200))")
            return
        }
        if let progress = report.progress { worker.progress = progress }
        if let summary = report.summary { worker.summary = summary }
    }

    private func describe(_ assignment: ShardAssignment) -> String {
        var text = "\(assignment.shard) (devices \(assignment.devices.lowerBound + 1)–\(assignment.devices.upperBound)"
        if let broker = assignment.broker { text += " on \(broker)" }
        return text + ")"
    }

    private func progressLine(_ workers: [Worker], elapsed: Double) -> String {
        let running = workers.filter { $0.exitStatus == nil }
        let sum = { (value: (WorkerProgress) -> Int) in workers.reduce(0) { $0 + value($1.progress) } }
        // A dead worker's devices are no longer connected, whatever it last said.
        let connected = running.reduce(0) { $0 + $1.progress.connected }
        let deviceSeconds = running.map(\.progress.deviceSeconds).min() ?? totalDeviceSeconds
        let percent = totalDeviceSeconds > 0 ? min(100, deviceSeconds / totalDeviceSeconds * 100) : 0
        return String(format: "[%3.0f%%] %.0f s: %d of %d workers running; %d devices connected, %d published, %d acknowledged, %d ledger records",
                      percent, elapsed, running.count, workers.count, connected, sum(\.published), sum(\.acknowledged),
                      sum(\.ledgerRecords))
    }

    /// Joins the workers' ledger parts into the ledger file, shard by shard (each part in time
    /// order), and removes the parts. A part cut off mid-record (its worker was killed while
    /// writing) loses only that incomplete last line, and the notes say so.
    private func mergeLedgers(_ workers: [Worker]) throws -> [String] {
        guard let ledger else { return [] }
        guard let output = FileHandle(forWritingAtPath: ledger) ?? {
            FileManager.default.createFile(atPath: ledger, contents: nil) ? FileHandle(forWritingAtPath: ledger) : nil
        }() else { throw FleetError("cannot write the ledger file '\(ledger)'") }
        defer { try? output.close() }
        try output.truncate(atOffset: 0)
        var notes: [String] = []
        for worker in workers {
            guard let part = worker.ledgerPart, let input = FileHandle(forReadingAtPath: part) else {
                notes.append("worker \(worker.assignment.shard) left no ledger part")
                continue
            }
            var pending = Data()
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                pending.append(chunk)
                // Write whole lines only, so a cut-off tail can be dropped at the end.
                if let cut = pending.lastIndex(of: UInt8(ascii: "\n")) {
                    try output.write(contentsOf: pending[pending.startIndex ... cut])
                    pending = Data(pending[(cut + 1)...])
                }
            }
            try input.close()
            if !pending.isEmpty {
                notes.append("worker \(worker.assignment.shard)'s ledger ended in the middle of a record; that incomplete line (\(pending.count) bytes) was dropped")
            }
            try? FileManager.default.removeItem(atPath: part)
        }
        return notes
    }

    /// How a wait status reads, and whether it is a normal end: exit 0, or after an interrupt,
    /// stopped by it (workers turn SIGINT/SIGTERM into exit 130; one hit before it could install
    /// its handler dies of the signal, which is still the stop that was asked for).
    static func ending(of status: Int32, interrupted: Bool) -> (text: String, completed: Bool) {
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            switch code {
            case 0: return ("completed", true)
            case 130: return ("stopped on request", true)
            default: return ("exited with status \(code)", false)
            }
        }
        if interrupted, signal == SIGINT || signal == SIGTERM { return ("stopped on request", true) }
        let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGSEGV: "SIGSEGV",
                                      SIGABRT: "SIGABRT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGBUS: "SIGBUS"]
        return ("was killed by \(names[signal] ?? "signal") (signal \(signal))", false)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Splits bytes read from a pipe into lines, keeping a partial last line for the next read.
struct LineBuffer {
    private var pending: [UInt8] = []

    mutating func append(_ bytes: ArraySlice<UInt8>) -> [Substring] {
        pending.append(contentsOf: bytes)
        guard let cut = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let text = String(decoding: pending[...cut], as: UTF8.self)
        pending.removeSubrange(...cut)
        return text.split(separator: "\n", omittingEmptySubsequences: true)
    }

    /// The unterminated rest, once the pipe has closed.
    mutating func finish() -> Substring? {
        defer { pending = [] }
        return pending.isEmpty ? nil : Substring(String(decoding: pending, as: UTF8.self))
    }
}

/// A sharded run could not be started or finished, or was asked for more than a process holds.
public struct FleetError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Double {
    /// Rounded to `places` decimal places, for summaries people read.
    public func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

/// Worker-side half of the coordinator's no-orphans promise.
public enum WorkerLifeline {
    /// Ends this worker with SIGTERM (a clean stop that still flushes the ledger) when the
    /// coordinator `parent` dies. - Returns: false when the coordinator is already gone (the
    /// worker should exit at once).
    public static func tie(to parent: Int32) -> Bool {
        _ = parkbench_set_parent_death_signal(SIGTERM)
        // The coordinator may have died between spawning us and the prctl above.
        return getppid() == parent
    }
}
