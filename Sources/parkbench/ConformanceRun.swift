import ArgumentParser
import Foundation
import ParkRuntime
import ParkCapture
import ParkCore
import ParkHarness
import ParkReport

/// What `parkbench test` and `parkbench demo` share: load a suite, a platform profile and a
/// park; run the harness with progress on the console; write the run folder; print the verdict
/// table; and map the outcome to the documented exit code.
struct ConformanceRun {
    var suiteFile: String
    var platformFile: String
    var parkFile: String?
    var brokerOverride: BrokerAddress?
    /// Where the park's meters answer for a gateway under test, over the profile's `meters:`.
    var metersModbus: PlatformProfile.MeterEndpoints.Endpoint?
    var metersDLT645: PlatformProfile.MeterEndpoints.Endpoint?
    var outputDirectory: String?
    var seed: UInt64?
    var only: [String]
    var faults: [String]
    var json: Bool
    var historyPath: String?
    var capture: Bool = false
    /// Said in the report's notes: what the command set up that the figures depend on.
    var notes: [String] = []
    /// The park scaled to this many devices (`load --scale`); by default a load check's `scale_to`.
    var scaleTo: Int?
    /// Run only this slice of the (scaled) park, and each load check's share of its probes (`load --shard`).
    var shard: ShardSpec?

    /// Loads everything, printing every problem as `file:line:col: key.path: message`; exit 2 on any.
    func load(_ workspace: Workspace) throws -> HarnessRunner.Configuration {
        try workspace.failOnProblems()
        var problems: [String] = []
        var suite: Suite?
        var profile: PlatformProfile?
        do { suite = try Suite.load(file: suiteFile) } catch { problems += error.issues.map(\.description) }
        do { profile = try PlatformProfile.load(file: platformFile) } catch { problems += error.issues.map(\.description) }
        guard let suite, var profile else {
            problems.forEach { Output.error($0) }
            throw ExitCode(ExitStatus.configurationError)
        }
        guard let parkPath = parkFile ?? suite.park else {
            Output.error("error: \(suiteFile) names no park; pass --park <file>")
            throw ExitCode(ExitStatus.configurationError)
        }
        var park: ParkFile
        let plan: [PlannedDevice]
        do { park = try ParkFile.load(file: parkPath, catalog: workspace.catalog, kinds: workspace.kinds) } catch {
            error.issues.forEach { Output.error($0.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        let scale = scaleTo ?? suite.checks.lazy.compactMap({ ($0 as? LoadCheck)?.scaleTo }).first
        // Each MQTT device holds three descriptors (its socket, a wake-up pair): a park beyond what
        // this process may open is refused here, before it is built or a connect fails with EMFILE.
        let total = scale ?? park.devices.count
        let here = shard.map { $0.range(of: total).count } ?? total
        ProcessCapacity.raiseOpenFileLimit()
        if here > ProcessCapacity.maximumDevicesPerProcess {
            Output.error("error: \(here) devices need about \(ProcessCapacity.descriptorsPerClient) open files each; this process may open "
                         + "\(ProcessCapacity.hardOpenFileLimit), enough for \(ProcessCapacity.maximumDevicesPerProcess). Split the run: "
                         + "`parkbench load PROFILE --shard i/N` in N processes or machines (each with --bind-address on one host), then `parkbench merge`")
            throw ExitCode(ExitStatus.configurationError)
        }
        if let scale { park = park.scaled(to: scale) }
        if let shard { park = park.slice(shard.range(of: park.devices.count)) }
        do { plan = try park.plan(kinds: workspace.kinds, seed: seed) } catch {
            error.issues.forEach { Output.error($0.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        if let broker = brokerOverride {
            profile.broker.host = broker.host
            profile.broker.port = broker.port
        }
        if metersModbus != nil || metersDLT645 != nil {
            var meters = profile.meters ?? PlatformProfile.MeterEndpoints()
            if let metersModbus { meters.modbus = metersModbus }
            if let metersDLT645 { meters.dlt645 = metersDLT645 }
            profile.meters = meters
        }
        let unknown = only.filter { id in !suite.checks.contains { $0.common.id == id } }
        if !unknown.isEmpty {
            Output.error("error: \(suiteFile) has no check \(unknown.joined(separator: ", ")); it has: "
                         + suite.checks.map(\.common.id).joined(separator: ", "))
            throw ExitCode(ExitStatus.configurationError)
        }
        var runSuite = suite
        if let shard { runSuite.checks = suite.checks.map { ($0 as? LoadCheck)?.sharded(shard.index, of: shard.count) ?? $0 } }
        var configuration = HarnessRunner.Configuration(
            suite: runSuite, profile: profile, park: park, parkFile: parkPath, plan: plan, kinds: workspace.kinds,
            seed: seed ?? park.seed, parkbenchVersion: ParkBenchVersion.current, faults: faults, only: only)
        configuration.catalog = workspace.catalog
        return configuration
    }

    /// Runs the suite and reports; returns the exit status (0 pass, 1 a check failed).
    func run(_ configuration: HarnessRunner.Configuration) async throws -> Int32 {
        let quiet = json
        let folder = outputDirectory ?? "reports/\(configuration.runID)"
        var configuration = configuration
        if configuration.profile.meters != nil {
            // The meter table goes in the run folder as soon as the meters answer, for a gateway under test.
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                Output.error("error: cannot create the run folder \(folder): \(error.localizedDescription)")
                throw ExitCode(ExitStatus.configurationError)
            }
            configuration.meterTableFile = (folder as NSString).appendingPathComponent("meters.csv")
        }
        let runner = HarnessRunner(configuration: configuration) { progress in
            guard !quiet else { return }
            switch progress {
            case .step(let line): print(line)
            case .checkStarted(let index, let count, let common):
                print("[\(index)/\(count)] \(common.id) (\(common.type), \(common.source)) …")
            case .checkFinished(let result):
                print("      \(result.verdict.rawValue.uppercased())  \(result.summary)")
            }
        }
        let recorder = capture ? try startCapture(configuration.profile, folder: folder) : nil
        var report: RunReport
        let started = Date()
        do { report = try await runner.run() } catch {
            recorder?.stop()
            switch error {
            case .unreachable(let message):
                Output.error("error: \(message)")
                // Exit 3 still leaves its record: every check with an error verdict saying why.
                let failed = runner.reportOfRunThatCouldNotStart(message, started: started)
                if write(failed, to: folder) {
                    Output.error("report: \(folder)/report.html (also report.json, junit.xml): every check is an error, not run")
                }
                throw ExitCode(ExitStatus.unreachable)
            case .configuration(let message):
                Output.error("error: \(message)")
                throw ExitCode(ExitStatus.configurationError)
            }
        }
        if let recorder { finishCapture(recorder, report: &report, folder: folder, brokerPort: configuration.profile.broker.port) }
        report.notes += notes
        let written = write(report, to: folder)
        // The folder is the record; a history that cannot be written costs a warning, not the run.
        do { try RunHistory(path: historyPath ?? RunHistory.defaultPath).record(report, folder: folder) } catch {
            Output.error("warning: \(error)")
        }
        Self.printOutcome(report, folder: folder, written: written, json: json)
        return report.checks.contains { $0.verdict == .fail || $0.verdict == .error } ? 1 : 0
    }

    /// The verdict table (or the report as JSON), the findings of what did not pass (and every
    /// load check's stage lines), the notes, and where the report is.
    static func printOutcome(_ report: RunReport, folder: String, written: Bool, json: Bool) {
        if json {
            if let data = try? RunReport.makeEncoder().encode(report) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print("")
            Output.table(
                ["CHECK", "TYPE", "SOURCE", "VERDICT", "MEASURED"],
                report.checks.map { [$0.id, $0.type, $0.source, $0.verdict.rawValue.uppercased(), $0.summary] })
            for check in report.checks where check.verdict != .pass || check.type == LoadCheck.type {
                for finding in check.findings.prefix(5) { print("  \(check.id): \(finding)") }
            }
            for note in report.notes { print("note: \(note)") }
            let failed = report.checks.filter { $0.verdict == .fail || $0.verdict == .error }
            print("")
            print(failed.isEmpty
                ? "PASS: \(report.checks.count) of \(report.checks.count) checks passed"
                : "FAIL: \(failed.map(\.id).joined(separator: ", "))")
            if written { print("report: \(folder)/report.html (also report.json, junit.xml)") }
        }
    }

    /// Starts capturing the broker's (and the webhook's) traffic into `<folder>/run.pcap`.
    private func startCapture(_ profile: PlatformProfile, folder: String) throws -> PacketCapture {
        let loopback = profile.broker.host.hasPrefix("127.") || profile.broker.host == "localhost"
        let ports = [profile.broker.port] + (profile.webhook.map { [$0.port] } ?? []).filter { $0 > 0 }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let capture = try PacketCapture(
                interface: loopback ? "lo" : "any", filter: ports.map { "tcp port \($0)" }.joined(separator: " or "),
                file: (folder as NSString).appendingPathComponent("run.pcap"))
            capture.start()
            if !json { print("capturing \(capture.filter) on \(capture.interface) into \(capture.file) (\(capture.precision.rawValue))") }
            return capture
        } catch {
            Output.error("error: --capture: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }

    /// Stops the capture, cuts a slice for each failed check, and re-times msg_id-matched latency
    /// samples from the wire as a witness of the harness's own figures.
    private func finishCapture(_ capture: PacketCapture, report: inout RunReport, folder: String, brokerPort: Int) {
        let summary = capture.stop()
        report.notes.append("capture: \(summary.packetsCaptured) packets, \(summary.mqttPackets) MQTT packets decoded, "
                            + "\(summary.malformedMQTT) malformed, \(capture.precision.rawValue) timestamps (run.pcap)")
        let packets = capture.mqttPackets
        let streams = (try? PlatformProfile.load(file: platformFile))?.mqtt ?? []
        for index in report.checks.indices {
            let check = report.checks[index]
            if let latency = check.latency {
                let pairs = WireTiming.pairs(latency, packets: packets, brokerPort: brokerPort, streams: streams)
                let matched = latency.samples.filter { $0.matchedBy == "msg_id" }.count
                if pairs.isEmpty, !latency.samples.isEmpty {
                    // Say it rather than print nothing: a wire check that re-timed nothing proves nothing.
                    report.checks[index].findings.append(matched == 0
                        ? "wire check: no sample was matched by msg_id (the profile maps none on this stream, or the platform sends none), so none could be re-timed from the capture"
                        : "wire check: none of the \(matched) msg_id-matched samples could be re-timed: their packets are not both in the capture")
                } else if !pairs.isEmpty {
                    let differences = pairs.map { abs($0.differenceMilliseconds) }.sorted()
                    report.checks[index].findings.append(String(
                        format: "wire check: %d of %d samples re-timed from the capture; harness vs wire |Δ| p50 %.2f ms, p99 %.2f ms",
                        pairs.count, latency.samples.count, LatencyEvidence.percentile(0.5, of: differences) ?? 0,
                        LatencyEvidence.percentile(0.99, of: differences) ?? 0))
                }
            }
            guard check.verdict == .fail || check.verdict == .error, let start = check.startedAtNanoseconds else { continue }
            let end = start + Int64(check.durationMilliseconds * 1e6)
            let name = check.id.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" } + ".pcap"
            do {
                try PcapSlice.write(
                    from: capture.file, to: (folder as NSString).appendingPathComponent(String(name)),
                    start: start - 500_000_000, end: end + 500_000_000)
                report.checks[index].captureSlice = String(name)
            } catch {
                report.notes.append("capture slice for \(check.id): \(error)")
            }
        }
    }

    private func write(_ report: RunReport, to folder: String) -> Bool {
        do throws(RunFolderError) {
            try RunFolder(folder).write(report)
            return true
        } catch {
            Output.error("error: \(error)")
            return false
        }
    }
}
