import ArgumentParser
import Foundation
import ParkCore
import ParkHarness
import ParkReport

/// `parkbench certify`: checks a real Modbus device against its model profile.
struct CertifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Certify a Modbus device against its model profile's register map.",
        discussion: """
            ParkBench plays the master: it reads every register the profile declares and checks \
            that each is readable and physically plausible (a wrong byte order, type or scale \
            lands far outside), that energy and volume do not decrease between two reads \
            --interval apart, that active power agrees with Σ voltage × current × power factor \
            (±5 %), that an address past the map, an unknown function and a 126-register read get \
            exceptions 02, 01 and 03, and how fast it answers (--samples reads; p99 above \
            --response-limit fails). Every finding names the register: point, table, address and \
            format. The verdict goes to a run folder like `parkbench test`'s (report.json, \
            junit.xml, report.html) and into the run history.

            Examples:
              parkbench certify --profile devices/electric-meter/acme-em3.yaml \\
                  --target tcp://192.168.1.40:502 --unit 1
              parkbench certify --profile devices/water-meter/aqua-wm20.yaml \\
                  --target tcp://127.0.0.1:1502 --unit 7 --samples 1000 --json
              parkbench certify --profile devices/electric-meter/volt-dts666.yaml \\
                  --target rtu:///dev/ttyUSB0 --baud 9600 --parity E --unit 12

            Exit codes: 0 certified, 1 a check failed, 2 usage or configuration error, 3 the \
            target could not be reached.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The device's model profile (with a modbus: register map).", valueName: "file"))
    var profile: String

    @Option(help: ArgumentHelp("The device: tcp://host:port (port 502 if left out) or rtu:///dev/ttyUSB0 (a serial line or pty).",
                               valueName: "tcp://host:port|rtu://device"))
    var target: String

    @Option(help: ArgumentHelp("Baud rate of an rtu:// target.", valueName: "n"))
    var baud: Int = 9600

    @Option(help: ArgumentHelp("Parity of an rtu:// target: N, E or O (a pty accepts only N).", valueName: "N|E|O"))
    var parity: String = "N"

    @Option(help: ArgumentHelp("Modbus unit id (slave address) of the device.", valueName: "n"))
    var unit: Int = 1

    @Option(help: ArgumentHelp("Reads timed for the response-time check.", valueName: "n"))
    var samples: Int = 200

    @Option(help: ArgumentHelp("Time between the two reads the consistency checks compare, e.g. 2s.", valueName: "duration"))
    var interval: DeviceDuration = .seconds(2)

    @Option(help: ArgumentHelp("p99 response time above this fails, e.g. 1s or 200ms.", valueName: "duration"))
    var responseLimit: DeviceDuration = .seconds(1)

    @Option(name: .customLong("waive"), help: ArgumentHelp(
        "A check whose failure is an accepted deviation of this device: it still runs and is reported, as skipped. Repeat for more.",
        valueName: "check-id"))
    var waived: [String] = []

    @Option(help: ArgumentHelp("Run folder (default reports/<run id>).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Run history database (default $PARKBENCH_HISTORY or reports/history.sqlite).", valueName: "file"))
    var history: String?

    func validate() throws {
        guard (0 ... 255).contains(unit) else { throw ValidationError("--unit must be 0…255") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard ["N", "E", "O"].contains(parity) else { throw ValidationError("--parity must be N, E or O") }
        guard parsedTarget != nil else {
            throw ValidationError("--target must be tcp://host:port (e.g. tcp://127.0.0.1:502) or rtu://<serial device> (e.g. rtu:///dev/ttyUSB0)")
        }
    }

    private var parsedTarget: ModbusCertification.Target? {
        if target.hasPrefix("rtu://") {
            let device = String(target.dropFirst(6))
            return device.hasPrefix("/") ? .rtu(device: device, baudRate: baud, parity: Character(parity)) : nil
        }
        var rest = Substring(target)
        if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        guard parts.count == 2 else { return .tcp(host: String(host), port: 502) }
        guard let port = Int(parts[1]), (1 ... 65_535).contains(port) else { return nil }
        return .tcp(host: String(host), port: port)
    }

    func run() throws {
        let workspace = Workspace.load(options)
        let model: ModelProfile
        do { model = try ModelProfile.load(file: profile, kinds: workspace.kinds) } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        guard let target = parsedTarget else { throw ExitCode(ExitStatus.configurationError) }
        var configuration = ModbusCertification.Configuration(target: target, unit: UInt8(unit), profile: model)
        configuration.samples = samples
        configuration.interval = .nanoseconds(Int64(interval.nanoseconds))
        configuration.responseLimitMilliseconds = Double(responseLimit.nanoseconds) / 1e6
        configuration.waived = Set(waived)
        let started = Date()
        if !options.json { print("certifying unit \(unit) at \(target) against \(model.model) (\(profile)) …") }
        let checks: [CheckResult]
        do { checks = try ModbusCertification(configuration).run() } catch {
            Output.error("error: \(error.description)")
            let unreachable = model.modbus?.registers.isEmpty == false
            throw ExitCode(unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
        }
        let verdict = checks.map(\.verdict).max() ?? .pass
        let runID = "certify-" + HarnessRunner.runID(started)
        let stamp = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        let report = RunReport(
            runID: runID, startedAt: stamp(started), finishedAt: stamp(Date()), verdict: verdict,
            suite: RunReport.SuiteInfo(name: "certify-modbus", title: "Modbus device certification", file: profile),
            platform: RunReport.PlatformInfo(name: "\(model.vendor) \(model.model)".trimmingCharacters(in: .whitespaces), file: profile,
                                             endpoint: "\(target) unit \(unit)"),
            park: RunReport.ParkInfo(name: model.model, file: profile, devices: 1), seed: 0,
            parkbenchVersion: ParkBenchVersion.current, checks: checks)
        let folder = out ?? "reports/\(runID)"
        var written = true
        do throws(RunFolderError) { try RunFolder(folder).write(report) } catch {
            Output.error("error: \(error)")
            written = false
        }
        do { try RunHistory(path: history ?? RunHistory.defaultPath).record(report, folder: folder) } catch {
            Output.error("warning: \(error)")
        }
        if options.json {
            if let data = try? RunReport.makeEncoder().encode(report) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            Output.table(["CHECK", "VERDICT", "MEASURED"], checks.map { [$0.id, $0.verdict.rawValue.uppercased(), $0.summary] })
            for check in checks where check.verdict != .pass || (waived.contains(check.id) && !check.findings.isEmpty) {
                for finding in check.findings.prefix(10) { print("  \(check.id): \(finding)") }
            }
            let failed = checks.filter { $0.verdict == .fail || $0.verdict == .error }
            print(failed.isEmpty ? "\nCERTIFIED: \(checks.filter { $0.verdict == .pass }.count) checks passed"
                                 : "\nFAIL: \(failed.map(\.id).joined(separator: ", "))")
            if written { print("report: \(folder)/report.html (also report.json, junit.xml)") }
        }
        if checks.contains(where: { $0.verdict == .fail || $0.verdict == .error }) { throw ExitCode(ExitStatus.checkFailed) }
    }
}
