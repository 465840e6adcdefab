import ArgumentParser
import Foundation
import ParkCore
import ParkCertify
import ParkHarness
import ParkReport

/// `parkbench certify`: checks a real meter (Modbus or DL/T 645-2007) against its model profile.
struct CertifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Certify a Modbus device or a DL/T 645-2007 electricity meter against its model profile.",
        discussion: """
            ParkBench plays the master. Over Modbus (tcp:// or rtu://) it reads every register the \
            profile declares and checks that each is readable and physically plausible (a wrong \
            byte order, type or scale lands far outside), that energy and volume do not decrease \
            between two reads --interval apart, that active power agrees with Σ voltage × current \
            × power factor (±5 %), that an address past the map, an unknown function and a \
            126-register read get exceptions 02, 01 and 03, and how fast it answers (--samples \
            reads; p99 above --response-limit fails). Every finding names the register: point, \
            table, address and format.

            Over DL/T 645-2007 (dlt645://host:port, a serial-to-Ethernet converter in front of \
            the meter) it asks the meter's number with read address (13) unless --meter gives it, \
            reads every standard data item a gateway polls (forward/reverse energy, phase \
            voltages and currents, active power, power factor, frequency; phases B and C left out \
            for a profile with phases: 1) with the same plausibility, monotonic-energy and power \
            checks, expects an error answer with bit 1 (no requested data) for an unknown data \
            item and no answer at all to a frame for another meter (it would collide on a shared \
            RS-485 bus), and times its answers. Relay control is not tried: it cuts the supply.

            Every request has one deadline (--timeout) for its whole answer, however slowly the \
            bytes come. A device that stops answering ends the run early: after --give-up-after \
            requests in a row without a valid answer (none in time, a lost connection, only broken \
            frames) nothing more is sent, and the report shows the check that was running as \
            unfinished and the rest as not run (verdict error); exit 3. A DL/T 645 meter's broken \
            frames (bad checksum, no end byte) fail frames-valid, counted by fault.

            The verdict goes to a run folder like `parkbench test`'s (report.json, junit.xml, \
            report.html) and into the run history.

            Examples:
              parkbench certify --profile devices/electric-meter/acme-em3.yaml \\
                  --target tcp://192.168.1.40:502 --unit 1
              parkbench certify --profile devices/water-meter/aqua-wm20.yaml \\
                  --target tcp://127.0.0.1:1502 --unit 7 --samples 1000 --json
              parkbench certify --profile devices/electric-meter/volt-dts666.yaml \\
                  --target rtu:///dev/ttyUSB0 --baud 9600 --parity E --unit 12
              parkbench certify --profile devices/electric-meter/grid-dtzy645.yaml \\
                  --target dlt645://192.168.1.41:8899 --meter 000000000001

            Exit codes: 0 certified, 1 a check failed, 2 usage or configuration error, 3 the \
            target could not be reached, did not answer, or stopped answering before every check ran.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The device's model profile (with a modbus: register map for a Modbus target).", valueName: "file"))
    var profile: String

    @Option(help: ArgumentHelp("""
        The device: tcp://host:port (Modbus TCP, port 502 if left out), rtu:///dev/ttyUSB0 (Modbus RTU on a serial line \
        or pty) or dlt645://host:port (DL/T 645-2007 through a serial-to-TCP converter).
        """, valueName: "tcp://host:port|rtu://device|dlt645://host:port"))
    var target: String

    @Option(help: ArgumentHelp("The DL/T 645 meter's 12-digit number (default: asked with read address, for a meter alone on its line).",
                               valueName: "number"))
    var meter: String?

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

    @Option(help: ArgumentHelp("Deadline for each request's whole answer, e.g. 1s or 500ms.", valueName: "duration"))
    var timeout: DeviceDuration = .seconds(1)

    @Option(help: ArgumentHelp("Stop probing after this many requests in a row without a valid answer (exit 3).", valueName: "n"))
    var giveUpAfter: Int = 3

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
        guard giveUpAfter >= 1 else { throw ValidationError("--give-up-after must be at least 1") }
        guard timeout.nanoseconds >= 1_000_000, timeout.nanoseconds <= 3_600_000_000_000 else {
            throw ValidationError("--timeout must be between 1ms and 1h (got \(timeout))")
        }
        guard ["N", "E", "O"].contains(parity) else { throw ValidationError("--parity must be N, E or O") }
        guard let target = parsedTarget else {
            throw ValidationError("""
                --target must be tcp://host:port (e.g. tcp://127.0.0.1:502), rtu://<serial device> (e.g. rtu:///dev/ttyUSB0) \
                or dlt645://host:port (e.g. dlt645://127.0.0.1:8899)
                """)
        }
        if let meter {
            guard case .dlt645 = target else { throw ValidationError("--meter names a DL/T 645 meter; use it with a dlt645:// target (Modbus takes --unit)") }
            guard meter.count == 12, meter.allSatisfy(\.isNumber) else {
                throw ValidationError("--meter must be the meter's 12-digit number, e.g. 000000000001 (got '\(meter)')")
            }
        }
    }

    /// What --target names: a Modbus device, or a DL/T 645 meter behind a TCP converter.
    private enum Target: CustomStringConvertible {
        case modbus(ModbusCertification.Target)
        case dlt645(host: String, port: Int)

        var description: String {
            switch self {
            case .modbus(let target): target.description
            case .dlt645(let host, let port): "dlt645://\(host):\(port)"
            }
        }

        func suite(file: String) -> RunReport.SuiteInfo {
            switch self {
            case .modbus: RunReport.SuiteInfo(name: "certify-modbus", title: "Modbus device certification", file: file)
            case .dlt645: RunReport.SuiteInfo(name: "certify-dlt645", title: "DL/T 645-2007 meter certification", file: file)
            }
        }
    }

    /// The probing options, the same for every protocol.
    private var settings: CertificationSettings {
        var settings = CertificationSettings()
        settings.samples = samples
        settings.interval = .nanoseconds(Int64(interval.nanoseconds))
        settings.responseLimitMilliseconds = Double(responseLimit.nanoseconds) / 1e6
        settings.timeoutMicroseconds = Int(timeout.nanoseconds / 1000)
        settings.giveUpAfter = giveUpAfter
        settings.waived = Set(waived)
        return settings
    }

    private var parsedTarget: Target? {
        if target.hasPrefix("rtu://") {
            let device = String(target.dropFirst(6))
            return device.hasPrefix("/") ? .modbus(.rtu(device: device, baudRate: baud, parity: Character(parity))) : nil
        }
        var rest = Substring(target)
        let dlt645 = rest.hasPrefix("dlt645://")
        if dlt645 { rest = rest.dropFirst(9) } else if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        // DL/T 645 converters have no standard port.
        guard parts.count == 2 else { return dlt645 ? nil : .modbus(.tcp(host: String(host), port: 502)) }
        guard let port = Int(parts[1]), (1 ... 65_535).contains(port) else { return nil }
        return dlt645 ? .dlt645(host: String(host), port: port) : .modbus(.tcp(host: String(host), port: port))
    }

    func run() throws {
        let workspace = Workspace.load(options)
        let model: ModelProfile
        do { model = try ModelProfile.load(file: profile, kinds: workspace.kinds) } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        guard let target = parsedTarget else { throw ExitCode(ExitStatus.configurationError) }
        let started = Date()
        var device: String
        let checks: [CheckResult]
        switch target {
        case .modbus(let modbusTarget):
            device = "unit \(unit)"
            var configuration = ModbusCertification.Configuration(target: modbusTarget, unit: UInt8(unit), profile: model)
            configuration.settings = settings
            if !options.json { print("certifying \(device) at \(target) against \(model.model) (\(profile)) …") }
            do { checks = try ModbusCertification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                let unreachable = model.modbus?.registers.isEmpty == false
                throw ExitCode(unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
        case .dlt645(let host, let port):
            device = meter.map { "meter \($0)" } ?? "the meter"
            var configuration = DLT645Certification.Configuration(host: host, port: port, meter: meter, profile: model)
            configuration.settings = settings
            if !options.json { print("certifying \(device) at \(target) (DL/T 645-2007) against \(model.model) (\(profile)) …") }
            do { checks = try DLT645Certification(configuration).run() } catch {
                Output.error("error: \(error.description)")
                throw ExitCode(error.unreachable ? ExitStatus.unreachable : ExitStatus.configurationError)
            }
            // Without --meter the meter said its number (the address check's summary).
            if meter == nil, let asked = checks.first(where: { $0.id == "address" })?.summary, asked.hasPrefix("meter ") { device = asked }
        }
        let verdict = checks.map(\.verdict).max() ?? .pass
        // In a certification, `error` marks a check the device's silence left unfinished or not run.
        let unfinished = checks.filter { $0.verdict == .error }
        let runID = "certify-" + HarnessRunner.runID(started)
        let stamp = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        let finished = Date()
        let report = RunReport(
            runID: runID, startedAt: stamp(started), finishedAt: stamp(finished), verdict: verdict,
            suite: target.suite(file: profile),
            platform: RunReport.PlatformInfo(name: "\(model.vendor) \(model.model)".trimmingCharacters(in: .whitespaces), file: profile,
                                             endpoint: "\(target) \(device)"),
            park: RunReport.ParkInfo(name: model.model, file: profile, devices: 1), seed: 0,
            parkbenchVersion: ParkBenchVersion.current, checks: checks,
            startedAtNanoseconds: RunReport.nanoseconds(started), finishedAtNanoseconds: RunReport.nanoseconds(finished))
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
            let failed = checks.filter { $0.verdict == .fail }
            if !failed.isEmpty || unfinished.isEmpty {
                print(failed.isEmpty ? "\nCERTIFIED: \(checks.filter { $0.verdict == .pass }.count) checks passed"
                                     : "\nFAIL: \(failed.map(\.id).joined(separator: ", "))")
            }
            if !unfinished.isEmpty { print("\nNOT FINISHED: \(unfinished.map(\.id).joined(separator: ", "))") }
            if written { print("report: \(folder)/report.html (also report.json, junit.xml)") }
        }
        // Checks the device's silence cut short: no verdict on it, so "did not answer", not "failed".
        if let first = unfinished.first {
            let reason = first.summary.replacingOccurrences(of: "unfinished: ", with: "").replacingOccurrences(of: "not run: ", with: "")
            Output.error("error: \(reason.split(separator: ";").first.map(String.init) ?? reason); not finished: \(unfinished.map(\.id).joined(separator: ", "))")
            throw ExitCode(ExitStatus.unreachable)
        }
        if checks.contains(where: { $0.verdict == .fail }) { throw ExitCode(ExitStatus.checkFailed) }
    }
}
