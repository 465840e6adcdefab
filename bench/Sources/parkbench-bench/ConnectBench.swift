// parkbench-bench connect [--clients N] [--per-process N] [--window W] [--threads T]
//
// Connect rate and memory per connected device against one private mosquitto. libmosquitto takes
// about 3 fds per client and a process may hold 20,000, so the clients are spread over shard
// processes (this binary, `connect-shard`), each with its own 127.0.0.x source address. The
// connect window is split between them so that no more than W connects are in flight in total:
// mosquitto listens with a backlog of 100, and beyond ~64 half-open connects the kernel drops SYNs.
// Prints conn/s, the kernel's listen-queue overflow counters (the broker pushing back), retries,
// RSS of every ParkBench process per connected device, and the load average of the shared machine.
import Foundation
import ParkMQTT
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct ConnectBenchArguments {
    var clients = 19_500
    var perProcess = 5_000
    var window = 64
    var threads = 1

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next(), let number = Int(value), number > 0 else {
                fail("\(argument) needs a positive whole number")
            }
            switch argument {
            case "--clients": clients = number
            case "--per-process": perProcess = min(number, 6_000)
            case "--window": window = number
            case "--threads": threads = number
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

/// What one shard process reports on its single output line once all its clients are connected.
struct ShardReport {
    var connected = 0, failed = 0, refused = 0, reconnects = 0
    var doneAt = 0.0, residentBefore = 0, residentAfter = 0

    init?(_ line: Substring) {
        var values: [String: Double] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        guard let connected = values["connected"], let doneAt = values["done_at"] else { return nil }
        self.connected = Int(connected)
        self.doneAt = doneAt
        failed = Int(values["failed"] ?? 0)
        refused = Int(values["refused"] ?? 0)
        reconnects = Int(values["reconnects"] ?? 0)
        residentBefore = Int(values["rss_before"] ?? 0)
        residentAfter = Int(values["rss_after"] ?? 0)
    }
}

/// The kernel's TCP listen-queue overflow and drop counters (TcpExt in /proc/net/netstat): they
/// grow when mosquitto does not accept fast enough and SYNs are dropped.
func listenQueueCounters() -> (overflows: Int, drops: Int) {
    guard let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8) else { return (0, 0) }
    let lines = text.split(separator: "\n")
    for index in stride(from: 0, to: lines.count - 1, by: 2) where lines[index].hasPrefix("TcpExt:") {
        let names = lines[index].split(separator: " "), values = lines[index + 1].split(separator: " ")
        func value(_ name: String) -> Int {
            names.firstIndex(of: Substring(name)).flatMap { $0 < values.count ? Int(values[$0]) : nil } ?? 0
        }
        return (value("ListenOverflows"), value("ListenDrops"))
    }
    return (0, 0)
}

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

func residentBytes(of pid: pid_t) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func openFileLimit(of pid: pid_t) -> String {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map {
        $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2).joined(separator: "/")
    } ?? "?"
}

/// Raises the soft open-file limit to the hard one; mosquitto inherits it.
func raiseOpenFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

func runConnectBench(_ arguments: ConnectBenchArguments) {
    raiseOpenFileLimit()
    let broker: MosquittoBroker
    do { broker = try MosquittoBroker(options: ["max_connections -1"]) } catch { fail("cannot start mosquitto: \(error)") }
    guard let brokerPID = broker.pid else { fail("mosquitto is not running") }
    let shards = (arguments.clients + arguments.perProcess - 1) / arguments.perProcess
    let shardWindow = max(1, arguments.window / shards)
    print("""
        bench connect: \(arguments.clients) clients to one mosquitto (127.0.0.1:\(broker.port), open files \(openFileLimit(of: brokerPID))) \
        from \(shards) processes, window \(shardWindow) each (\(shardWindow * shards) in flight at most); load before \(loadAverage())
        """)
    let executable = CommandLine.arguments[0]
    let stopFile = broker.directory.path("stop")
    let before = listenQueueCounters()
    let start = SystemClockNow()
    var processes: [(ChildProcess, String)] = []
    // fail() exits without running deinits: stop the shards and mosquitto first, leaving no orphans.
    func stopAll() {
        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        for (process, _) in processes where !process.waitForExit(timeout: .seconds(30)) { process.stop() }
        broker.stop()
    }
    func stopAndFail(_ message: String) -> Never {
        stopAll()
        fail(message)
    }
    for shard in 0..<shards {
        let first = shard * arguments.perProcess
        let count = min(arguments.perProcess, arguments.clients - first)
        let output = broker.directory.path("shard-\(shard).out")
        do {
            let process = try ChildProcess(executable, [
                "connect-shard", String(broker.port), String(first), String(count), "127.0.0.\(shard + 2)",
                String(shardWindow), String(arguments.threads), stopFile,
            ], output: output)
            processes.append((process, output))
        } catch {
            stopAndFail("cannot start shard \(shard): \(error)")
        }
    }
    defer { stopAll() }
    var reports: [ShardReport?] = Array(repeating: nil, count: shards)
    while reports.contains(where: { $0 == nil }) {
        for (index, (process, output)) in processes.enumerated() where reports[index] == nil {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("connected=") }) {
                reports[index] = ShardReport(line)
            } else if !process.isRunning {
                stopAndFail("shard \(index) (pid \(process.pid)) exited with wait status \(process.status ?? -1): \(text)")
            }
        }
        if SystemClockNow() - start > 300 { stopAndFail("not all shards connected within 300 s") }
        usleep(20_000)
    }
    let done = reports.compactMap { $0 }
    let seconds = (done.map(\.doneAt).max() ?? start) - start
    let after = listenQueueCounters()
    let connected = done.reduce(0) { $0 + $1.connected }
    let retries = done.reduce(0) { $0 + $1.failed + $1.refused + $1.reconnects }
    let parkbenchRSS = processes.reduce(residentBytes()) { $0 + residentBytes(of: $1.0.pid) }
    let parkbenchPSS = processes.reduce(proportionalBytes(of: getpid())) { $0 + proportionalBytes(of: $1.0.pid) }
    let idleRSS = done.reduce(0) { $0 + $1.residentBefore }
    let growth = done.reduce(0) { $0 + $1.residentAfter - $1.residentBefore }
    print(String(format: "connect    %d/%d connected in %.2f s: %.0f conn/s (target ≥ 15,000)",
                 connected, arguments.clients, seconds, Double(connected) / seconds))
    let overflows = after.overflows - before.overflows, drops = after.drops - before.drops
    print("""
        pushback   listen-queue overflows \(overflows), SYNs dropped \(drops), failed/refused/retried connects \(retries)\
        \(overflows + drops + retries > 0 ? " — the broker pushed back" : " — none")
        """)
    print(String(format: "memory     all ParkBench processes: PSS (shared pages counted once) %.1f MiB = %.2f KiB per connected device "
                 + "(target ≤ 8 KiB); summed RSS %.1f MiB = %.2f KiB; "
                 + "pool growth only %.2f KiB/device; idle process baseline %.1f MiB RSS total; mosquitto %.2f KiB/connection",
                 Double(parkbenchPSS) / 1_048_576, Double(parkbenchPSS) / 1024 / Double(max(connected, 1)),
                 Double(parkbenchRSS) / 1_048_576, Double(parkbenchRSS) / 1024 / Double(max(connected, 1)),
                 Double(growth) / 1024 / Double(max(connected, 1)), Double(idleRSS) / 1_048_576,
                 Double(residentBytes(of: brokerPID)) / 1024 / Double(max(connected, 1))))
    print("load       after \(loadAverage()) (shared machine; \(ProcessInfo.processInfo.activeProcessorCount) cores)")
}

/// One shard of `connect`: connects its clients from its own source address, reports one line,
/// then holds the connections until the coordinator creates the stop file (or dies).
func runConnectShard(_ arguments: [String]) {
    guard arguments.count == 7, let port = Int(arguments[0]), let first = Int(arguments[1]), let count = Int(arguments[2]),
          let window = Int(arguments[4]), let threads = Int(arguments[5])
    else { fail("connect-shard: usage: connect-shard PORT FIRST COUNT SOURCE WINDOW THREADS STOPFILE") }
    // The coordinator may be killed; do not outlive it holding thousands of connections. prctl is
    // variadic (not callable from Swift without a C shim), so watch for being reparented instead.
    let coordinator = getppid()
    func orphaned() -> Bool { getppid() != coordinator }
    raiseOpenFileLimit()
    let residentBefore = residentBytes()
    let pool: MQTTClientPool
    do {
        pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: threads, connectWindow: window), delegate: nil)
    } catch { fail("cannot start the pool: \(error)") }
    for index in first..<(first + count) {
        do {
            _ = try pool.addClient(MQTTClientConfiguration(clientID: "pb-connect-\(index)", port: port, bindAddress: arguments[3]))
        } catch { fail("cannot add client \(index): \(error)") }
    }
    while pool.statistics.connectedClients < count {
        if orphaned() { exit(1) }
        usleep(1_000)
    }
    let doneAt = SystemClockNow()
    let statistics = pool.statistics
    // Unbuffered: the coordinator reads this line from the file while the shard keeps running.
    FileHandle.standardOutput.write(Data(("connected=\(statistics.connectedClients) done_at=\(doneAt) failed=\(statistics.connectsFailed) "
          + "refused=\(statistics.connectsRefused) reconnects=\(statistics.reconnects) "
          + "rss_before=\(residentBefore) rss_after=\(residentBytes())\n").utf8))
    while !FileManager.default.fileExists(atPath: arguments[6]) && !orphaned() { usleep(50_000) }
    pool.shutdown()
}
