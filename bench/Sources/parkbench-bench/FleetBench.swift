// parkbench-bench fleet [--devices N] [--brokers B] [--seconds S] [--interval S] [--workers W]
//
// The whole product at scale, as a user runs it: `parkbench simulate --workers` puts N smoke
// detectors (telemetry every --interval seconds, default 10) on B private mosquitto brokers for S
// seconds (defaults 50,000 / 3 / 120), while paho-mqtt (bench/peers/fleet_counter.py) subscribes
// to every broker and counts each (device, seq). At the end the counter compares what arrived with
// the ledger the run wrote. Prints: time until every device was connected, messages published,
// received by paho, lost and duplicated; memory of all ParkBench processes per device (peak summed
// RSS and peak summed PSS, sampled every second); CPU of ParkBench against the brokers'.
// Targets (issue 3): all connected, zero loss; RSS ≤ 8 KiB per connected device.
import Foundation
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct FleetBenchArguments {
    var devices = 50_000
    var brokers = 3
    var seconds = 120
    var interval = 10
    var workers: Int?

    init(_ arguments: [String]) {
        forEachWholeNumberOption(arguments, usage: "parkbench-bench fleet [--devices N] [--brokers B] [--seconds S] [--interval S] [--workers W]") {
            switch $0 {
            case "--devices": devices = $1
            case "--brokers": brokers = $1
            case "--seconds": seconds = $1
            case "--interval": interval = $1
            case "--workers": workers = $1
            default: return false
            }
            return true
        }
    }
}

/// Reads `--name N` pairs (N a positive whole number), handing each to `apply`, which says
/// whether it knows the name; fails with `usage` on anything else.
func forEachWholeNumberOption(_ arguments: [String], usage: String, _ apply: (String, Int) -> Bool) {
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        guard let value = iterator.next(), let number = Int(value), number > 0 else {
            fail("\(argument) needs a positive whole number; usage: \(usage)")
        }
        if !apply(argument, number) { fail("unknown argument \(argument); usage: \(usage)") }
    }
}

/// Reads a child's standard output and error until both close, passing the error through to
/// ours as it comes, and calls `sample` about once a second meanwhile (memory, CPU).
func drainOutput(of child: ChildProcess, sample: () -> Void) -> (output: Data, errors: Data) {
    var output = Data(), errors = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var open = [child.standardOutput!, child.standardError!]
    var lastSample = 0.0
    while !open.isEmpty {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), 500)
        for entry in fds where entry.revents != 0 {
            let count = read(entry.fd, &buffer, buffer.count)
            if count > 0 {
                if entry.fd == child.standardOutput { output.append(contentsOf: buffer[0 ..< count]) } else {
                    errors.append(contentsOf: buffer[0 ..< count])
                    FileHandle.standardError.write(Data(buffer[0 ..< count]))
                }
            } else {
                close(entry.fd)
                open.removeAll { $0 == entry.fd }
            }
        }
        let now = SystemClockNow()
        if now - lastSample >= 1 {
            lastSample = now
            sample()
        }
    }
    return (output, errors)
}

/// Processes whose command line says they are workers of `coordinator`, plus the coordinator.
func parkbenchProcesses(coordinator: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return [coordinator] + entries.compactMap { pid_t($0) }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let flag = words.firstIndex(of: "--worker-of"), flag + 1 < words.count else { return false }
        return words[flag + 1] == String(coordinator)
    }
}

/// Proportional set size in bytes (/proc/<pid>/smaps_rollup): shared pages — the parkbench binary
/// and libraries every worker maps — divided among the processes sharing them, so a sum over
/// processes counts each page once. Summed RSS counts the shared binary once per worker.
func proportionalBytes(of pid: pid_t) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
    return kilobytes * 1024
}

func childrenCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func runFleetBench(_ arguments: FleetBenchArguments) {
    raiseOpenFileLimit()
    let directory: TemporaryDirectory
    do { directory = try TemporaryDirectory() } catch { fail("\(error)") }
    let park = directory.path("fleet.yaml")
    let perZone = (arguments.devices + 9) / 10
    var parkText = "park: fleet-bench\nseed: 7\nzones:\n"
    for zone in 0 ..< 10 { parkText += "  - id: Z\(zone)\n" }
    parkText += "populations:\n"
    var remaining = arguments.devices
    for zone in 0 ..< 10 where remaining > 0 {
        let count = min(perZone, remaining)
        remaining -= count
        parkText += """
              - model: acme-sd100
                zone: Z\(zone)
                count: \(count)
                id: "sd-\(zone)-{n:05}"
                parameters:
                  report_interval: \(arguments.interval)s
                  heartbeat_interval: 1h

            """
    }
    do { try parkText.write(toFile: park, atomically: true, encoding: .utf8) } catch { fail("cannot write \(park): \(error)") }

    var brokers: [MosquittoBroker] = []
    for _ in 0 ..< arguments.brokers {
        do { brokers.append(try MosquittoBroker(options: ["max_connections -1", "max_queued_messages 0"])) } catch {
            fail("cannot start mosquitto: \(error)")
        }
    }
    let brokerPIDs = brokers.compactMap(\.pid)
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let ledger = directory.path("run.jsonl")
    let counterLog = directory.path("counter.log"), counts = directory.path("counts.json")
    let counter: ChildProcess
    do {
        counter = try ChildProcess(
            try executablePath("python3"),
            [root.appendingPathComponent("bench/peers/fleet_counter.py").path, "--out", counts, "--ledger", ledger, "--idle", "3"]
                + brokers.flatMap { ["--broker", "127.0.0.1:\($0.port)"] }, output: counterLog)
    } catch { fail("cannot start the paho counter: \(error)") }
    let subscribeDeadline = Date().addingTimeInterval(30)
    while !((try? String(contentsOfFile: counterLog, encoding: .utf8)) ?? "").contains("subscribed") {
        if !counter.isRunning || Date() > subscribeDeadline {
            fail("the paho counter did not subscribe: \((try? String(contentsOfFile: counterLog, encoding: .utf8)) ?? "")")
        }
        usleep(50_000)
    }

    let parkbench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parkbench").path
    var simulateArguments = ["simulate", "--devices", root.appendingPathComponent("devices").path, "--park", park,
                             "--duration", "\(arguments.seconds)s", "--ledger", ledger, "--json"]
    simulateArguments += brokers.flatMap { ["--broker", "mqtt://127.0.0.1:\($0.port)"] }
    if let workers = arguments.workers { simulateArguments += ["--workers", String(workers)] }
    print("bench fleet: \(arguments.devices) smoke detectors, telemetry every \(arguments.interval) s, on \(arguments.brokers) mosquitto "
          + "for \(arguments.seconds) s via `parkbench simulate`; paho-mqtt counts every message; load before \(loadAverage())")
    let cpuBefore = childrenCPUSeconds()
    let brokerCPUBefore = brokerPIDs.reduce(0.0) { $0 + processCPUSeconds($1) }
    let started = SystemClockNow()
    let simulate: ChildProcess
    do { simulate = try ChildProcess(parkbench, simulateArguments, pipingOutput: true) } catch { fail("cannot start parkbench: \(error)") }

    // Read the summary (stdout) and progress (stderr) as they come, sampling RSS every second.
    var peakResident = 0, peakProportional = 0, peakProcesses = 0, steadyProportional = 0
    let (outputText, errorText) = drainOutput(of: simulate) {
        let now = SystemClockNow()
        let processes = parkbenchProcesses(coordinator: simulate.pid)
        let resident = processes.reduce(0) { $0 + residentBytes(of: $1) }
        if resident > peakResident { peakResident = resident; peakProcesses = processes.count }
        let proportional = processes.reduce(0) { $0 + proportionalBytes(of: $1) }
        peakProportional = max(peakProportional, proportional)
        // Running: past the connect phase (a fifth of the run) and before the end.
        if now - started > Double(arguments.seconds) / 5, now - started < Double(arguments.seconds) {
            steadyProportional = max(steadyProportional, proportional)
        }
    }
    simulate.waitForExit(timeout: .seconds(30))
    let wall = SystemClockNow() - started
    let parkbenchCPU = childrenCPUSeconds() - cpuBefore
    let brokerCPU = brokerPIDs.reduce(0.0) { $0 + processCPUSeconds($1) } - brokerCPUBefore
    let brokerResident = brokerPIDs.reduce(0) { $0 + residentBytes(of: $1) }
    counter.signal(SIGTERM)
    if !counter.waitForExit(timeout: .seconds(120)) { counter.stop() }

    let exitCode = ((simulate.status ?? 0) >> 8) & 0xff
    guard let summary = (try? JSONSerialization.jsonObject(with: outputText)) as? [String: Any],
          let mqtt = summary["mqtt"] as? [String: Any] else {
        fail("parkbench simulate exited \(exitCode) without a summary: \(String(decoding: errorText.suffix(2_000), as: UTF8.self))")
    }
    guard let countData = FileManager.default.contents(atPath: counts),
          let witness = (try? JSONSerialization.jsonObject(with: countData)) as? [String: Any] else {
        fail("the paho counter wrote no result: \((try? String(contentsOfFile: counterLog, encoding: .utf8)) ?? "")")
    }
    let int = { (dictionary: [String: Any], key: String) in dictionary[key] as? Int ?? -1 }
    let workers = (summary["workers"] as? [[String: Any]]) ?? []
    let connected = int(mqtt, "connected")
    let expected = int(witness, "expected"), lost = int(witness, "lost")
    let allConnected = summary["all_connected_seconds"] as? Double
    print(String(format: "simulate: exit %d, %d workers, wall %.1f s", exitCode, workers.count, wall))
    print("connected: \(connected)/\(arguments.devices)"
          + (allConnected.map { String(format: ", all within %.2f s of the workers starting (%.0f conn/s incl. process start)", $0, Double(arguments.devices) / $0) } ?? ", NOT all connected"))
    print("published: \(int(mqtt, "published")) (acknowledged \(int(mqtt, "acknowledged")), dropped \(int(mqtt, "dropped")), failed \(int(mqtt, "failed")))")
    print("paho received: \(int(witness, "received")) of \(expected) MQTT emissions in the ledger; lost \(lost), "
          + "unexpected \(int(witness, "unexpected")), duplicates \(int(witness, "duplicates"))")
    if lost > 0 { print("  lost examples: \(witness["lost_examples"] ?? [])") }
    let perDevice = { (bytes: Int) in Double(bytes) / 1024 / Double(max(connected, 1)) }
    print(String(format: "memory, all %d ParkBench processes: PSS (shared pages counted once) while running %.1f MiB = %.2f KiB per device "
                 + "(target ≤ 8 KiB), peak %.1f MiB = %.2f KiB; summed RSS (the binary counted once per process) peak %.1f MiB = %.2f KiB",
                 peakProcesses, Double(steadyProportional) / 1_048_576, perDevice(steadyProportional),
                 Double(peakProportional) / 1_048_576, perDevice(peakProportional),
                 Double(peakResident) / 1_048_576, perDevice(peakResident)))
    print(String(format: "mosquitto: RSS %.1f MiB over %d brokers", Double(brokerResident) / 1_048_576, brokers.count))
    print(String(format: "CPU: ParkBench %.1f s (%.0f%% of a core), mosquitto %.1f s (%.0f%%); load after %@",
                 parkbenchCPU, parkbenchCPU / wall * 100, brokerCPU, brokerCPU / wall * 100, loadAverage()))
    let verdict = connected == arguments.devices && lost == 0 && expected > 0 && exitCode == 0
    print(verdict ? "RESULT: all connected, zero loss" : "RESULT: FAILED (see above)")
    for broker in brokers { broker.stop() }
    exit(verdict ? 0 : 1)
}
