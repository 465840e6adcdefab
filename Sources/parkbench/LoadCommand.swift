import ArgumentParser
import Foundation
import ParkHarness
import ParkRuntime

/// `parkbench load`: a load profile against a platform, its thresholds judged stage by stage.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test a platform: the park at scale, stage after stage, with alarm probes and thresholds kept on.",
        discussion: """
            A load profile (conformance/load/*.yaml) is a suite whose check is of type load: the \
            park (scaled to --scale, or the check's scale_to), stages that multiply every \
            device's reporting rate or ramp the connected devices up and down, alarm probes raised at a steady rate through the load and \
            timed to the platform, and thresholds such as "alarm_latency.p99 < 2s" or \
            "probe_missing == 0" judged on each stage's own figures. abort_on stops the run at the \
            first stage failing those.

            Without --platform the run is against the embedded mosquitto and reference platform \
            (as `demo`), where --fault turns on its switches; slow-under-load[=100us] makes each \
            message cost more the more messages arrive, so latency breaks at a knee. With \
            --platform the run is against that system (as `test`).

            --find-capacity raises the rate after the profile's stages (×1, ×1.5, ×2.25, … each \
            for the profile's capacity.step, 20 s by default) until a threshold fails, and \
            reports the last level that held (capacity.pace, capacity.rate in messages a second): \
            the figure to ask a platform vendor for. The report's plot shows the knee.

            One run can be spread over processes or machines: each runs `--shard i/N` (its slice \
            of the scaled park, 1/N of the probes) against the same platform and writes its own run \
            folder; `parkbench merge` adds them up and judges the thresholds on the merged figures \
            (deploy/k8s/ runs the shards as a Kubernetes Indexed Job).

            Live figures go to the terminal every second (stage, devices, messages a second sent \
            and shown, probes, latency p50/p99) and, with --metrics-port, to \
            http://127.0.0.1:PORT/metrics for Prometheus. The run folder holds report.json, \
            report.html (rate, latency and thresholds over time) and junit.xml, and the run \
            joins the history, so `report compare` shows verdicts and probe latency moving between \
            releases (capacity.pace and capacity.rate are in report.json).

            Exit codes: 0 every threshold held, 1 a threshold failed, 2 a file or argument is \
            wrong, 3 the broker or platform could not be reached.

            Examples:
              parkbench load conformance/load/reference.yaml
              parkbench load conformance/load/reference.yaml --fault slow-under-load=1ms
              parkbench load conformance/load/reference.yaml --find-capacity --scale 5000
              parkbench load conformance/load/reference.yaml --platform my-platform.yaml --metrics-port 9464
              parkbench load conformance/load/reference.yaml --platform my-platform.yaml --shard 0/3 --out runs/shard-0
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var history: HistoryOption

    @Argument(help: ArgumentHelp("The load profile (a suite with a load check).", valueName: "profile"))
    var profile: String

    @Option(help: ArgumentHelp(
        "The system under test's platform profile; without it, the embedded reference platform runs.", valueName: "file"))
    var platform: String?

    @Option(help: ArgumentHelp("Use this broker instead of the profile's (with --platform).", valueName: "mqtt://host:port"))
    var broker: BrokerAddress?

    @Option(help: ArgumentHelp("Scale the park to this many devices (over the profile's scale_to).", valueName: "n"))
    var scale: Int?

    @Flag(help: "After the profile's stages, raise the rate step by step until a threshold fails; report the last level that held.")
    var findCapacity = false

    @Option(help: ArgumentHelp("A reference-platform fault switch (without --platform; see `parkbench demo --help`).", valueName: "switch"))
    var fault: [FaultSwitch] = []

    @Option(help: ArgumentHelp("Serve the live figures for Prometheus at http://127.0.0.1:PORT/metrics (0: a free port, printed).", valueName: "port"))
    var metricsPort: Int?

    @Option(help: ArgumentHelp(
        "Run only shard i of N: the i-th slice of the scaled park and 1/N of the probes; merge the shards' run folders with `parkbench merge`.",
        valueName: "i/N"))
    var shard: ShardSpec?

    @Option(help: ArgumentHelp("Connect the devices from this local address (e.g. 127.0.0.2 for a shard of its own).", valueName: "address"))
    var bindAddress: String?

    @Option(help: ArgumentHelp("The run folder (default: reports/<run id>).", valueName: "dir"))
    var out: String?

    @Flag(help: "Capture the broker's traffic with libpcap into run.pcap and re-time the probes from the wire: the harness's own latency figures against packet timestamps (needs root or CAP_NET_RAW).")
    var capture = false

    @Option(help: ArgumentHelp("The reference platform's linkage rules.", valueName: "file"))
    var linkage: String = "conformance/platform/linkage.yaml"

    func validate() throws {
        if let scale, scale < 1 { throw ValidationError("--scale takes a whole number above 0, got \(scale)") }
        if platform != nil, !fault.isEmpty { throw ValidationError("--fault switches the embedded reference platform's faults; it cannot be used with --platform") }
        if platform == nil, broker != nil { throw ValidationError("--broker goes with --platform; the embedded platform has its own broker") }
    }

    func run() async throws {
        let workspace = Workspace.load(options)
        var run = ConformanceRun(
            suiteFile: profile, platformFile: platform ?? "conformance/platforms/reference.yaml", parkFile: nil, brokerOverride: broker,
            outputDirectory: out, seed: nil, only: [], faults: fault.map(\.description), json: options.json, historyPath: history.history,
            capture: capture)
        run.scaleTo = scale
        run.shard = shard
        var configuration = try run.load(workspace)
        configuration.bindAddress = bindAddress
        guard configuration.suite.checks.contains(where: { $0 is LoadCheck }) else {
            Output.error("error: \(profile) has no check of type load; a load profile is a suite with one (see conformance/load/)")
            throw ExitCode(ExitStatus.configurationError)
        }
        if findCapacity {
            configuration.suite.checks = configuration.suite.checks.map { ($0 as? LoadCheck)?.searchingCapacity(nil) ?? $0 }
        }
        let board = configuration.liveFigures
        let endpoint: MetricsEndpoint?
        if let metricsPort {
            do { endpoint = try MetricsEndpoint(board: board, port: metricsPort) } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
            if !options.json {
                print("live figures for Prometheus: http://127.0.0.1:\(endpoint?.port ?? metricsPort)/metrics")
                // A script reading the chosen port (--metrics-port 0) through a pipe needs it now, not when the block buffer fills.
                fflush(nil)
            }
        } else {
            endpoint = nil
        }
        defer { endpoint?.stop() }
        let progress = options.json ? nil : LiveProgressLine(board: board)
        defer { progress?.stop() }
        if platform != nil {
            let status = try await run.run(configuration)
            if status != 0 { throw ExitCode(status) }
        } else {
            try await DemoCommand.runAgainstReferencePlatform(
                run, configuration: configuration, workspace: workspace, faultSwitches: fault, linkage: linkage, only: [], json: options.json)
        }
    }
}

/// Prints a load run's live figures on standard error once a second while it runs: one line
/// rewritten in place on a terminal, a new line every 5 s otherwise (a CI log stays readable).
final class LiveProgressLine: Sendable {
    private let task: Task<Void, Never>

    init(board: LoadFiguresBoard) {
        let terminal = isatty(2) == 1
        task = Task.detached {
            var printed: LoadFigures?
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                tick += 1
                guard let figures = board.latest, figures != printed else { continue }
                if terminal {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + figures.line).utf8))
                    printed = figures
                } else if tick % 5 == 0 {
                    FileHandle.standardError.write(Data((figures.line + "\n").utf8))
                    printed = figures
                }
            }
            if terminal, printed != nil { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }

    func stop() { task.cancel() }
}
