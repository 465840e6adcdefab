// parkbench-bench: benchmarks that print figures. Speed targets live here, not in unit tests.
//
//   parkbench-bench timers [--devices N] [--duration SECONDS] [--warmup SECONDS] [--threads N]
//                          [--resolution-us N] [--json]
//
// `timers`: N smoke detectors, each with a 1 s heartbeat timer, in a ParkSession (the real-time engine) for the
// given duration (wake-ups aligned to --resolution-us, default 1000). Prints timer lateness (jitter) p50/p99/p99.9/max, CPU %, and RSS per device
// (idle: after the devices exist, before they run; running: at the end, ledger included).
// Targets from issue 2: p99 jitter < 5 ms, idle RSS < 2 KiB per device.
//
// `mqtt`: see MQTTBench.swift; `sip`: see SIPBench.swift; `video`: see VideoBench.swift; `ocpp`: see OCPPBench.swift;
// `plugins`: see PluginBench.swift; `rush`: see RushBench.swift.
import Foundation
import NIOCore
import ParkCore
import ParkDevices
import ParkRuntime

#if canImport(Glibc)
import Glibc
#endif

struct Arguments {
    var devices = 100_000
    var duration = 60.0
    var warmup = 5.0
    var threads = System.coreCount
    var resolutionMicroseconds: UInt64 = 1_000
    var json = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() -> String {
                guard let value = iterator.next() else { fail("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--devices": devices = Int(value()) ?? { fail("--devices takes a whole number") }()
            case "--duration": duration = Double(value()) ?? { fail("--duration takes seconds") }()
            case "--warmup": warmup = Double(value()) ?? { fail("--warmup takes seconds") }()
            case "--threads": threads = Int(value()) ?? { fail("--threads takes a whole number") }()
            case "--resolution-us": resolutionMicroseconds = UInt64(value()) ?? { fail("--resolution-us takes a whole number") }()
            case "--json": json = true
            case "-h", "--help":
                print("usage: parkbench-bench timers [--devices N] [--duration S] [--warmup S] [--threads N] [--resolution-us N] [--json]")
                exit(0)
            default: fail("unknown argument \(argument); see --help")
            }
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("parkbench-bench: \(message)\n".utf8))
    exit(2)
}

/// Resident set size in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// User + system CPU seconds used by this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func runTimers(_ arguments: Arguments) async {
    let kind = SmokeDetectorKind()
    let parameters: DeviceParameters
    do {
        parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [
            "heartbeat_interval": "1s", "report_interval": "1d", "start_spread": "1s",
        ])
    } catch { fail(error.message) }

    let before = residentBytes()
    let plan = (0..<arguments.devices).map { index -> PlannedDevice in
        let id = String(format: "smoke-%06d", index)
        return PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 1)))
    }
    // The same session `simulate` runs, with no binding: what is measured is the engine's timers.
    let session: ParkSession
    do { session = try await ParkSession(
        plan: plan, bindings: ParkSession.Bindings(), threads: arguments.threads,
        timerResolution: .microseconds(arguments.resolutionMicroseconds)) } catch {
        fail(error.description)
    }
    let engine = session.engine
    let idle = residentBytes()
    // The plan array holds a copy of every setup; the engine does not need it once devices exist.
    let idlePerDevice = Double(idle - before) / Double(arguments.devices)

    await session.start()
    if !arguments.json { print("bench timers: \(arguments.devices) devices, 1 s heartbeat, \(arguments.threads) event loops, timer resolution \(arguments.resolutionMicroseconds) µs; warm-up \(arguments.warmup) s, measuring \(arguments.duration) s") }
    try? await Task.sleep(nanoseconds: UInt64(arguments.warmup * 1e9))
    await engine.resetLateness()
    let firedBefore = await engine.statistics().firedTimers
    let cpuStart = cpuSeconds()
    let wallStart = SystemClock.monotonicNow()
    var nextProgress = 10.0
    while true {
        let elapsed = SystemClock.monotonicNow().duration(since: wallStart).seconds
        if elapsed >= arguments.duration { break }
        if !arguments.json, elapsed >= nextProgress {
            let partial = await engine.statistics()
            FileHandle.standardError.write(Data(String(
                format: "  %3.0f s: %llu timers fired, lateness p99 %.3f ms\n", elapsed, partial.firedTimers - firedBefore,
                Double(partial.lateness.p99) / 1e6).utf8))
            nextProgress += 10
        }
        try? await Task.sleep(nanoseconds: 250_000_000)
    }
    let wall = SystemClock.monotonicNow().duration(since: wallStart).seconds
    let cpu = cpuSeconds() - cpuStart
    let statistics = await engine.statistics()
    let running = residentBytes()
    await session.stop()

    let fired = statistics.firedTimers - firedBefore
    let expected = Double(arguments.devices) * wall
    let result: [String: Double] = [
        "devices": Double(arguments.devices),
        "seconds": wall,
        "timers_fired": Double(fired),
        "timers_fired_per_second": Double(fired) / wall,
        "timers_expected": expected,
        "lateness_p50_ms": Double(statistics.lateness.p50) / 1e6,
        "lateness_p99_ms": Double(statistics.lateness.p99) / 1e6,
        "lateness_p999_ms": Double(statistics.lateness.p999) / 1e6,
        "lateness_max_ms": Double(statistics.lateness.max) / 1e6,
        "cpu_percent_of_one_core": cpu / wall * 100,
        "rss_idle_bytes_per_device": idlePerDevice,
        "rss_running_bytes_per_device": Double(running - before) / Double(arguments.devices),
        "ledger_records": Double(engine.ledger.count),
        "timer_resolution_us": Double(arguments.resolutionMicroseconds),
    ]
    if arguments.json {
        let data = try! JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    print(String(format: "timers fired        %.0f of %.0f expected (%.0f/s)", Double(fired), expected, Double(fired) / wall))
    print(String(format: "timer lateness      p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
                 result["lateness_p50_ms"]!, result["lateness_p99_ms"]!, result["lateness_p999_ms"]!, result["lateness_max_ms"]!))
    print(String(format: "CPU                 %.1f %% of one core (%.2f CPU-s over %.1f s)", cpu / wall * 100, cpu, wall))
    print(String(format: "RSS per device      %.0f B idle, %.0f B running (ledger in memory included)",
                 idlePerDevice, result["rss_running_bytes_per_device"]!))
    print(String(format: "ledger              %llu records", engine.ledger.count))
    let p99Target = result["lateness_p99_ms"]! < 5
    let rssTarget = idlePerDevice < 2_048
    print("targets             p99 jitter < 5 ms: \(p99Target ? "met" : "MISSED"); idle RSS < 2 KiB/device: \(rssTarget ? "met" : "MISSED")")
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "timers":
    await runTimers(Arguments(Array(arguments.dropFirst())))
case "mqtt":
    runMQTTPublish(MQTTBenchArguments(Array(arguments.dropFirst())))
case "pool":
    do { try await PoolBench.run(Array(arguments.dropFirst())) } catch { fail("pool: \(error)") }
case "connect":
    runConnectBench(ConnectBenchArguments(Array(arguments.dropFirst())))
case "connect-shard":
    runConnectShard(Array(arguments.dropFirst()))
case "store":
    runStoreBench(Array(arguments.dropFirst()))
case "fleet":
    runFleetBench(FleetBenchArguments(Array(arguments.dropFirst())))
case "modbus":
    runModbusBench(ModbusBenchArguments(Array(arguments.dropFirst())))
case "sip":
    runSIPBench(SIPBenchArguments(Array(arguments.dropFirst())))
case "video":
    runVideoBench(VideoBenchArguments(Array(arguments.dropFirst())))
case "load":
    runLoadBench(LoadBenchArguments(Array(arguments.dropFirst())))
case "ocpp":
    await runOCPPBench(OCPPBenchArguments(Array(arguments.dropFirst())))
case "plugins":
    runPluginBench(PluginBenchArguments(Array(arguments.dropFirst())))
case "rush":
    await runRushBench(RushBenchArguments(Array(arguments.dropFirst())))
case "robots":
    await runRobotsBench(RobotsBenchArguments(Array(arguments.dropFirst())))
default:
    fail("""
        usage: parkbench-bench timers [--devices N] [--duration S] [--warmup S] [--threads N] [--resolution-us N] [--json]
               parkbench-bench mqtt [--clients N] [--seconds S]
               parkbench-bench pool [--clients N] [--threads T]
               parkbench-bench connect [--clients N] [--per-process N] [--window W] [--threads T]
               parkbench-bench store [--messages N] [--batch-ms M]
               parkbench-bench fleet [--devices N] [--brokers B] [--seconds S] [--interval S] [--workers W]
               parkbench-bench modbus [--meters N] [--seconds S] [--connections C]
               parkbench-bench sip [--cameras N] [--per-socket N] [--rate CAMERAS/S] [--keepalive S] [--idle S]
               parkbench-bench video [--streams N] [--seconds S] [--sinks K] [--clip PATH]
               parkbench-bench load [--devices N] [--seconds S] [--probes R] [--rate X]
               parkbench-bench plugins [--devices N] [--vehicles N] [--json]
               parkbench-bench rush [--terminals N] [--lanes N] [--rate EVENTS/S] [--seconds S] [--json]
               parkbench-bench robots [--robots N] [--seconds S] [--order-every S] [--json]
               parkbench-bench ocpp [--chargers N] [--seconds S] [--heartbeat S] [--python M] [--threads T] [--connect-rate R] [--busy S] [--ledger-memory N] [--json]
        """)
}
