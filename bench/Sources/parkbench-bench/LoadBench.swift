// parkbench-bench load [--devices N] [--seconds S] [--probes R] [--rate X]
//
// The load test as a user runs it: `parkbench load` puts the load park scaled to N devices
// (default 6,000: one process holds ~6,600 MQTT devices under the 20,000-descriptor limit) on a
// private mosquitto and `parkbench platform serve` (processes of their own, so the harness's
// figures are its own) for S seconds (default 120) at X times its rate,
// raising R alarm probes a second (default 10), with `--capture` re-timing the probes from the
// wire. Prints: the harness's peak RSS and PSS per device and its CPU; messages a second sent
// and shown; probes, missing, latency p50/p99; the harness-vs-wire |Δ| p50/p99 — the cost of
// keeping the checks on, and proof the harness is not what the latency measures.
import Foundation
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct LoadBenchArguments {
    var devices = 6_000
    var seconds = 120
    var probes = 10
    var rate = 1

    init(_ arguments: [String]) {
        forEachWholeNumberOption(arguments, usage: "parkbench-bench load [--devices N] [--seconds S] [--probes R] [--rate X]") {
            switch $0 {
            case "--devices": devices = $1
            case "--seconds": seconds = $1
            case "--probes": probes = $1
            case "--rate": rate = $1
            default: return false
            }
            return true
        }
    }
}

func runLoadBench(_ arguments: LoadBenchArguments) {
    raiseOpenFileLimit()
    let directory: TemporaryDirectory
    do { directory = try TemporaryDirectory() } catch { fail("\(error)") }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let profile = directory.path("load.yaml"), folder = directory.path("run")
    let text = """
        suite: load-bench
        park: \(root.appendingPathComponent("conformance/parks/load.yaml").path)
        checks:
          - id: load-bench
            title: alarms under load (benchmark)
            type: load
            source: 004_5e9061d643d5fb41.txt L2714
            scale_to: \(arguments.devices)
            timeout: 10s
            stages:
              - {name: hold, duration: \(arguments.seconds)s, rate: \(arguments.rate)}
            probes:
              devices: {kind: smoke-detector}
              stimulus: {stimulus: smoke, arguments: {density: 0.45}}
              observe: {event: smoke-alarm}
              after: [{stimulus: smoke-clear}]
              rate: \(arguments.probes)
            expect: ["alarm_latency.p99 < 2s", "probe_missing == 0", "offline_false_alarms == 0"]

        """
    do { try text.write(toFile: profile, atomically: true, encoding: .utf8) } catch { fail("cannot write \(profile): \(error)") }
    let parkbench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parkbench").path
    let broker: MosquittoBroker
    do { broker = try MosquittoBroker(options: ["max_connections -1"]) } catch { fail("cannot start mosquitto: \(error)") }
    defer { broker.stop() }
    let httpPort: Int
    do { httpPort = try freeLoopbackPort() } catch { fail("\(error)") }
    let platform: ChildProcess
    do {
        platform = try ChildProcess(parkbench, ["platform", "serve", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--http-port", String(httpPort)],
                                    output: directory.path("platform.log"))
    } catch { fail("cannot start the reference platform: \(error)") }
    defer { platform.stop() }
    let deadline = Date().addingTimeInterval(30)
    while !loopbackPortAccepts(httpPort) {
        if !platform.isRunning || Date() > deadline { fail("the reference platform did not start: \((try? String(contentsOfFile: directory.path("platform.log"), encoding: .utf8)) ?? "")") }
        usleep(50_000)
    }
    print("bench load: the load park at \(arguments.devices) devices ×\(arguments.rate) for \(arguments.seconds) s, \(arguments.probes) probes/s, "
          + "via `parkbench load --capture` against mosquitto and `parkbench platform serve`; load before \(loadAverage())")
    let brokerCPUBefore = broker.pid.map(processCPUSeconds) ?? 0, platformCPUBefore = processCPUSeconds(platform.pid)
    let started = SystemClockNow()
    let run: ChildProcess
    do {
        run = try ChildProcess(
            parkbench, ["load", profile, "--devices", root.appendingPathComponent("devices").path, "--platform",
                        root.appendingPathComponent("conformance/platforms/reference.yaml").path, "--broker", "mqtt://127.0.0.1:\(broker.port)",
                        "--capture", "--out", folder, "--history", directory.path("history.sqlite")], pipingOutput: true)
    } catch { fail("cannot start parkbench: \(error)") }
    var peakResident = 0, peakProportional = 0, harnessCPU = 0.0
    let (output, _) = drainOutput(of: run) {
        // The harness itself: the `parkbench load` process (devices, observers, probes, capture).
        peakResident = max(peakResident, residentBytes(of: run.pid))
        peakProportional = max(peakProportional, proportionalBytes(of: run.pid))
        harnessCPU = max(harnessCPU, processCPUSeconds(run.pid))
    }
    run.waitForExit(timeout: .seconds(60))
    let wall = SystemClockNow() - started
    let brokerCPU = (broker.pid.map(processCPUSeconds) ?? 0) - brokerCPUBefore, platformCPU = processCPUSeconds(platform.pid) - platformCPUBefore
    guard let data = FileManager.default.contents(atPath: folder + "/report.json"),
          let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
          let check = (report["checks"] as? [[String: Any]])?.first else {
        fail("parkbench load wrote no report: \(String(decoding: output.suffix(2_000), as: UTF8.self))")
    }
    let metrics = check["metrics"] as? [String: [String: Any]] ?? [:]
    let value = { (name: String) in metrics[name]?["value"] as? Double ?? .nan }
    let findings = check["findings"] as? [String] ?? []
    print(String(format: "load: exit %d, verdict %@, wall %.1f s", ((run.status ?? 0) >> 8) & 0xff, check["verdict"] as? String ?? "?", wall))
    print(String(format: "traffic: %.0f msg/s sent, %.0f shown", value("sent_rate"), value("shown_rate")))
    print(String(format: "probes: %.0f, %.0f missing; alarm latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                 value("probes"), value("probe_missing"), value("alarm_latency.p50"), value("alarm_latency.p99"), value("alarm_latency.max")))
    for line in findings where line.hasPrefix("wire check") { print(line) }
    print(String(format: "harness (the `parkbench load` process: devices, observers, probes, capture): peak RSS %.1f MiB = %.2f KiB per device, PSS %.2f KiB per device",
                 Double(peakResident) / 1_048_576, Double(peakResident) / 1024 / Double(arguments.devices),
                 Double(peakProportional) / 1024 / Double(arguments.devices)))
    print(String(format: "CPU over %.1f s: harness %.1f s (%.0f %% of a core), platform %.1f s, mosquitto %.1f s",
                 wall, harnessCPU, 100 * harnessCPU / max(wall, 0.001), platformCPU, brokerCPU))
}
