import Foundation
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `simulate --workers`: one coordinator, worker processes of the same binary, real brokers, and
/// paho-mqtt (bench/peers/fleet_counter.py) as the independent witness of what reached them.
@Suite struct SimulateWorkersTests {
    let cli = CLITests()

    /// A `parkbench` started in the background, its output going to files the test can read while
    /// it runs.
    final class BackgroundRun {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String

        init(_ arguments: [String], in directory: TemporaryDirectory) throws {
            stdoutPath = directory.path("stdout.txt")
            stderrPath = directory.path("stderr.txt")
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = CLITests.binary
            process.arguments = arguments
            process.currentDirectoryURL = CLITests.packageRoot
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            try process.run()
        }

        var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// Waits for the exit; false if it still runs after `seconds`.
        func waitForExit(seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            return !process.isRunning
        }

        /// Waits (30 s at most) until the run's `port` accepts connections; fails if the run ends first.
        func waitForPort(_ port: Int, _ what: String) throws {
            let deadline = Date().addingTimeInterval(30)
            while !loopbackPortAccepts(port) {
                try #require(process.isRunning && Date() < deadline, "simulate did not open its \(what) port: \(stderr)")
                usleep(50_000)
            }
        }

        /// The serial device of the first RTU bus the run announces (`modbus rtu: /dev/pts/N …`).
        func announcedRTUBus() throws -> String {
            let deadline = Date().addingTimeInterval(30)
            while true {
                if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("modbus rtu: /dev/") }) {
                    return String(line.dropFirst("modbus rtu: ".count).prefix { $0 != " " })
                }
                try #require(process.isRunning && Date() < deadline, "no RTU bus announced: \(stdout) \(stderr)")
                usleep(50_000)
            }
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// The counter script, started against `brokers`; returns once it has subscribed on all.
    func startCounter(_ brokers: [MosquittoBroker], ledger: String, in directory: TemporaryDirectory) throws
        -> (process: ChildProcess, log: String, out: String)
    {
        let log = directory.path("counter.log"), out = directory.path("counts.json")
        let script = CLITests.packageRoot.appendingPathComponent("bench/peers/fleet_counter.py").path
        let process = try ChildProcess(
            try executablePath("python3"),
            [script, "--out", out, "--ledger", ledger] + brokers.flatMap { ["--broker", "127.0.0.1:\($0.port)"] }, output: log)
        try wait("the paho counter to subscribe", seconds: 30) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if !process.isRunning { throw BrokerError("fleet_counter.py exited: \(text)") }
            return text.contains("subscribed")
        }
        return (process, log, out)
    }

    /// Processes whose command line says they are workers of `coordinator`.
    static func workers(of coordinator: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let flag = words.firstIndex(of: "--worker-of"), flag + 1 < words.count else { return false }
            return words[flag + 1] == String(coordinator)
        }
    }

    /// Whether process `pid` has taken SIGINT over yet (ignored or caught, its /proc status's
    /// SigIgn or SigCgt mask: `RunInterruption` ignores it and hears it on a dispatch source). A
    /// worker interrupted before then dies of the signal instead of stopping.
    static func takesInterrupt(_ pid: Int32) -> Bool {
        guard let status = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return false }
        let bit = UInt64(1) << (UInt64(SIGINT) - 1)
        return String(decoding: status, as: UTF8.self).split(separator: "\n").contains { line in
            guard line.hasPrefix("SigIgn:") || line.hasPrefix("SigCgt:"),
                  let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
            return mask & bit != 0
        }
    }

    func wait(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { throw BrokerError("timed out after \(seconds) s waiting for \(what)") }
            usleep(20_000)
        }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// MQTT devices that each report every second: every slice of it has traffic to count.
    static let fleetPark = "fixtures/parks/mqtt-fleet.yaml"

    /// Four workers over two brokers: the slices alternate between the brokers, every worker
    /// completes, and paho sees every MQTT emission of the merged ledger exactly once.
    @Test func workersSplitTheParkOverBrokersAndNothingIsLost() throws {
        let directory = try TemporaryDirectory()
        let brokers = [try MosquittoBroker(), try MosquittoBroker()]
        let ledger = directory.path("run.jsonl")
        let counter = try startCounter(brokers, ledger: ledger, in: directory)

        let run = try cli.parkbench(arguments: [
            "simulate", "--park", Self.fleetPark, "--duration", "4s", "--workers", "4", "--json",
            "--ledger", ledger] + brokers.flatMap { ["--broker", "mqtt://127.0.0.1:\($0.port)"] })
        #expect(run.status == 0, "\(run.stderr)")
        counter.process.signal(SIGTERM)
        #expect(counter.process.waitForExit(timeout: .seconds(30)))

        let summary = try json(run.stdout)
        let devices = try cli.parkDeviceCount(Self.fleetPark)
        let workers = try #require(summary["workers"] as? [[String: Any]])
        #expect(workers.map { $0["ending"] as? String } == Array(repeating: "completed", count: 4))
        #expect(workers.map { $0["broker"] as? String } == [0, 1, 0, 1].map { "mqtt://127.0.0.1:\(brokers[$0].port)" })
        #expect(Set(workers.compactMap { $0["bind_address"] as? String }).count == 4, "each worker has its own source address")
        #expect(workers.reduce(0) { $0 + ($1["devices"] as? Int ?? 0) } == devices)
        let mqtt = try #require(summary["mqtt"] as? [String: Any])
        #expect(mqtt["connected"] as? Int == devices)
        #expect(mqtt["dropped"] as? Int == 0)
        #expect(!FileManager.default.fileExists(atPath: ledger + ".part-0-of-4"), "ledger parts are merged and removed")

        let counts = try json(String(contentsOfFile: counter.out, encoding: .utf8))
        let expected = try #require(counts["expected"] as? Int)
        #expect(expected > devices, "every device emitted something on MQTT: \(counts)")
        #expect(counts["lost"] as? Int == 0, "paho saw every emission in the ledger: \(counts)")
        #expect(counts["unexpected"] as? Int == 0, "and nothing the ledger does not have: \(counts)")
        #expect(counts["duplicates"] as? Int == 0)
        #expect(counts["received"] as? Int == expected)
        #expect(summary["ledger_records"] as? Int ?? 0 >= expected)
    }

    /// A worker killed mid-run is reported by shard, devices and signal; the others finish, their
    /// records stay in the ledger, and the run exits 4.
    @Test func aKilledWorkerIsReportedAndTheOthersFinish() throws {
        let directory = try TemporaryDirectory()
        let broker = try MosquittoBroker()
        let ledger = directory.path("run.jsonl")
        let run = try BackgroundRun([
            "simulate", "--park", "conformance/parks/demo.yaml", "--duration", "6s", "--workers", "3", "--json",
            "--ledger", ledger, "--broker", "mqtt://127.0.0.1:\(broker.port)"], in: directory)
        let coordinator = run.process.processIdentifier
        try wait("three workers", seconds: 30) { Self.workers(of: coordinator).count == 3 }
        let victim = try #require(Self.workers(of: coordinator).first { pid in
            let words = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).split(separator: 0)
            return words.contains { String(decoding: $0, as: UTF8.self) == "1/3" }
        })
        kill(victim, SIGKILL)
        #expect(run.waitForExit(seconds: 60))
        #expect(run.process.terminationStatus == 4, "\(run.stderr)")
        #expect(run.stderr.contains("worker 1/3 (devices"), "\(run.stderr)")
        #expect(run.stderr.contains("was killed by SIGKILL (signal 9)"))
        let summary = try json(run.stdout)
        let workers = try #require(summary["workers"] as? [[String: Any]])
        #expect(workers.map { $0["failed"] as? Bool } == [false, true, false])
        #expect(workers.map { $0["ending"] as? String }[0] == "completed")
        let lines = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, "only whole records")
        #expect(!lines.isEmpty, "the records of every worker, the killed one's up to its death, are kept")
        #expect(Self.workers(of: coordinator).isEmpty)
    }

    /// Ctrl-C (SIGINT to the coordinator's process group) stops every worker promptly; they flush
    /// and report, the summary says the run was interrupted, the exit status is 130, and no worker
    /// is left behind. A coordinator killed outright takes its workers with it (parent-death signal).
    @Test func interruptStopsEveryWorkerAndNoneOutlivesTheCoordinator() throws {
        let directory = try TemporaryDirectory()
        let broker = try MosquittoBroker()
        let arguments = ["simulate", "--park", "conformance/parks/demo.yaml", "--duration", "2m", "--workers", "3", "--json",
                         "--broker", "mqtt://127.0.0.1:\(broker.port)"]
        let run = try BackgroundRun(arguments, in: directory)
        let coordinator = run.process.processIdentifier
        try wait("three workers", seconds: 30) { Self.workers(of: coordinator).count == 3 }
        // CI47 once sent it a few milliseconds before the workers could take it.
        try wait("three workers taking SIGINT", seconds: 30) { Self.workers(of: coordinator).allSatisfy(Self.takesInterrupt) }
        kill(coordinator, SIGINT)
        for worker in Self.workers(of: coordinator) { kill(worker, SIGINT) }
        #expect(run.waitForExit(seconds: 30), "the run stops well before its 2 minutes")
        #expect(run.process.terminationStatus == 130, "\(run.stderr)")
        let summary = try json(run.stdout)
        #expect(summary["interrupted"] as? Bool == true)
        #expect((summary["workers"] as? [[String: Any]])?.map { $0["ending"] as? String }
                == Array(repeating: "stopped on request", count: 3))
        #expect(Self.workers(of: coordinator).isEmpty)

        let killed = try BackgroundRun(arguments, in: try TemporaryDirectory())
        let second = killed.process.processIdentifier
        try wait("three workers", seconds: 30) { Self.workers(of: second).count == 3 }
        kill(second, SIGKILL)
        try wait("the workers of a killed coordinator to end", seconds: 15) { Self.workers(of: second).isEmpty }
    }

    /// Options that cannot work together are refused before anything starts.
    @Test func workerOptionsAreValidated() throws {
        let tooMany = try cli.parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s",
                                        "--workers", "2", "--broker", "mqtt://127.0.0.1:1", "--broker", "mqtt://127.0.0.1:2",
                                        "--broker", "mqtt://127.0.0.1:3")
        #expect(tooMany.status == 2)
        #expect(tooMany.stderr.contains("3 brokers need at least 3 workers"))
        let shard = try cli.parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s",
                                      "--workers", "2", "--shard", "0/2")
        #expect(shard.status == 2)
        #expect(shard.stderr.contains("--shard runs one slice"))
        let excessive = try cli.parkbench("simulate", "--park", Self.fleetPark, "--duration", "1s",
                                          "--workers", "40", "--virtual")
        #expect(excessive.status == 2)
        #expect(excessive.stderr.contains("is more than the park's"))
    }
}
