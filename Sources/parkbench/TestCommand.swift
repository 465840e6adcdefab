import ArgumentParser
import Foundation
import ParkRuntime
import ParkBindings
import ParkHarness

/// `parkbench test`: a conformance suite against a system under test.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a conformance suite against a platform and report verdicts with evidence.",
        discussion: """
            Starts the suite's park of virtual devices on the platform's broker, watches the \
            platform's northbound streams as the platform profile describes them, runs each \
            check in order (stimuli, device faults, waits), and writes a run folder with \
            report.json. Progress is printed as checks run; a verdict table at the end.

            Exit codes: 0 every check passed, 1 a check failed (or could not run), 2 a file \
            or argument is wrong, 3 the broker or platform could not be reached (the run folder \
            still records every check, each an error saying why).

            Example:
              parkbench test --suite conformance/suites/park-core.yaml \\
                --platform conformance/platforms/reference.yaml --broker mqtt://127.0.0.1:1883
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var history: HistoryOption

    @Option(help: ArgumentHelp("The suite of checks.", valueName: "file"))
    var suite: String

    @Option(help: ArgumentHelp("How to reach and observe the system under test.", valueName: "file"))
    var platform: String

    @Option(help: ArgumentHelp("The park of virtual devices (default: the suite's `park:`).", valueName: "file"))
    var park: String?

    @Option(help: ArgumentHelp("Use this broker instead of the profile's.", valueName: "mqtt://host:port"))
    var broker: BrokerAddress?

    @Option(help: ArgumentHelp(
        "Serve the park's meters that have a register map on Modbus TCP here, for the gateway under test (over the profile's meters.modbus; port 0: a free port, printed and written to meters.csv in the run folder).",
        valueName: "host:port"))
    var metersModbus: PlatformProfile.MeterEndpoints.Endpoint?

    @Option(help: ArgumentHelp(
        "Serve the park's other electricity meters on DL/T 645 buses here (over the profile's meters.dlt645).", valueName: "host:port"))
    var metersDlt645: PlatformProfile.MeterEndpoints.Endpoint?

    @Option(help: ArgumentHelp(
        "At least this many samples per latency check: each repeats its rounds until its devices have given that many (a p99 needs 100).",
        valueName: "n"))
    var samples: Int?

    @Option(help: ArgumentHelp("Run only these checks (by id; repeatable).", valueName: "id"))
    var check: [String] = []

    @Option(help: ArgumentHelp("The run folder (default: reports/<run id>).", valueName: "dir"))
    var out: String?

    @Flag(help: "Capture the broker's traffic with libpcap into run.pcap, with a slice per failed check (needs root or CAP_NET_RAW).")
    var capture = false

    @Option(help: "Seed for the devices' random streams (default: the park's).")
    var seed: UInt64?

    @Option(help: ArgumentHelp(
        "Each device's secret, one 'device-id=secret' per line: devices log in with their id and secret, and the auth check uses them.",
        valueName: "file"))
    var secretsFile: String?

    @Option(help: ArgumentHelp(
        "With a profile's video: section, the H.264 clip (Annex B) the park's cameras stream when the platform INVITEs them.",
        valueName: "file"))
    var videoClip: String = DemoCommand.videoClip

    func run() async throws {
        let workspace = Workspace.load(options)
        var run = ConformanceRun(
            suiteFile: suite, platformFile: platform, parkFile: park, brokerOverride: broker, outputDirectory: out, seed: seed,
            only: check, faults: [], json: options.json, historyPath: history.history, capture: capture)
        run.metersModbus = metersModbus
        run.metersDLT645 = metersDlt645
        var configuration = try run.load(workspace)
        if let samples {
            guard samples > 0 else {
                Output.error("error: --samples takes a whole number above 0, got \(samples)")
                throw ExitCode(ExitStatus.configurationError)
            }
            configuration.minimumSamples = samples
        }
        if let secretsFile {
            do { configuration.deviceSecrets = try DeviceSecrets.load(file: secretsFile) } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
        }
        if configuration.profile.video != nil {
            guard FileManager.default.fileExists(atPath: videoClip) else {
                Output.error("error: --video-clip \(videoClip): no such file (the park's cameras need it to answer the platform's INVITEs)")
                throw ExitCode(ExitStatus.configurationError)
            }
            configuration.videoClip = videoClip
        }
        let status = try await run.run(configuration)
        if status != 0 { throw ExitCode(status) }
    }
}

extension PlatformProfile.MeterEndpoints.Endpoint: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
