import ArgumentParser
import Foundation

/// The `parkbench` command tree. Each subcommand is one type in its own file.
@main
struct ParkBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parkbench",
        abstract: "Simulate smart-park devices and check platforms against the park requirements.",
        discussion: """
            Virtual devices (smoke detectors, meters, gates, cameras…) are built-in kinds or \
            plugins, described by model profiles under devices/ and placed in parks under \
            conformance/parks/.

            Examples:
              parkbench devices list
              parkbench devices show acme-sd100
              parkbench validate devices/smoke-detector/*.yaml conformance/parks/demo.yaml
              parkbench simulate --park conformance/parks/demo.yaml --duration 30s
              parkbench demo --fault alarm-delay=3s
              parkbench certify --profile devices/electric-meter/acme-em3.yaml --target tcp://192.168.1.40:502 --unit 1
              parkbench test --suite conformance/suites/park-core.yaml \\
                --platform conformance/platforms/reference.yaml --broker mqtt://127.0.0.1:1883

            Exit codes: 0 success, 1 a conformance check failed, 2 usage or configuration \
            error, 3 the system under test (e.g. the MQTT broker) could not be reached.
            """,
        version: ParkBenchVersion.current,
        subcommands: [
            DemoCommand.self, TestCommand.self, CertifyCommand.self, ReportCommand.self, DevicesCommand.self, ValidateCommand.self,
            SimulateCommand.self, PlatformCommand.self, LoadCommand.self, MergeCommand.self,
            VersionCommand.self,
        ])

    /// Runs the command, mapping argument-parser usage errors to exit code 2 as documented.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            // ArgumentParser uses EX_USAGE (64) for bad arguments; ParkBench promises 2.
            Foundation.exit(code == .validationFailure ? ExitStatus.configurationError : code.rawValue)
        }
    }
}

/// Exit statuses shared by every command (documented in `parkbench --help` and the README).
enum ExitStatus {
    static let success: Int32 = 0
    static let checkFailed: Int32 = 1
    static let configurationError: Int32 = 2
    static let unreachable: Int32 = 3
    static let workerFailed: Int32 = 4
    /// The shell convention for a run ended by SIGINT (128 + 2); the summary is still printed.
    static let interrupted: Int32 = 130
}

/// ParkBench's own version.
enum ParkBenchVersion {
    static let current = "0.1.0"
}
