import ArgumentParser
import CLinuxEvents
import Foundation
import ParkBindings
import ParkCore
import ParkMQTT
import ParkProfiles
import ParkWire
import Synchronization

/// `parkbench simulate`: runs a park's devices and shows what they do.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the devices of a park for a while and print what they emit.",
        discussion: """
            Devices run on their own timers, and the park's scripted stimuli are applied at \
            their times. Every emission, stimulus and command is recorded in the ground-truth \
            ledger; --ledger writes it as JSON Lines.

            With --broker the devices are also on MQTT: one client per device, JSON messages on \
            park/{zone}/{kind}/{id}/{telemetry|event|status}, commands taken from …/cmd and \
            answered on …/cmd/ack, a retained online status and an offline last will.

            Large parks run as several worker processes of this same binary (--workers N, or \
            automatically above 6,000 MQTT devices or with more than one --broker): each worker \
            runs one contiguous slice of the park (--shard i/N) on one broker, from a 127.0.0.x \
            source address of its own when the broker is on loopback. This process starts them, \
            prints combined progress, passes their errors through as "[worker i/N] …", merges \
            their ledgers and summaries, and reports a worker that dies (its shard, devices and \
            signal) while the others run on. Ctrl-C stops every worker cleanly; no worker \
            outlives this process, even if it is killed.

            By default the run is in real time. --virtual runs on a virtual clock instead: the \
            whole duration passes as fast as the CPU allows, and the same --seed gives the \
            same ledger byte for byte.

            Examples:
              parkbench simulate --park conformance/parks/demo.yaml --duration 20s
              parkbench simulate --park conformance/parks/demo.yaml \\
                  --duration 30d --virtual --show alarms
              parkbench simulate --park conformance/parks/demo.yaml \\
                  --duration 1h --virtual --ledger run.jsonl --json
              parkbench simulate --park conformance/parks/demo.yaml \\
                  --duration 1m --broker mqtt://127.0.0.1:1883
              parkbench simulate --park big.yaml --duration 2m --workers 12 \\
                  --broker mqtt://127.0.0.1:1883 --broker mqtt://127.0.0.1:1884 \\
                  --broker mqtt://127.0.0.1:1885 --ledger run.jsonl

            Exit codes: 0 success, 2 usage or configuration error, 3 the broker could not be \
            reached by any device, 4 a worker process failed (the summary still covers what it \
            reported), 130 interrupted by Ctrl-C or SIGTERM (the summary covers the run so far).
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The park file to run.", valueName: "file"))
    var park: String

    @Option(help: ArgumentHelp("How long to run, e.g. 30s, 10m, 2h, 7d.", valueName: "duration"))
    var duration: DeviceDuration

    @Option(help: "Run seed; overrides the park's seed. One seed gives one run.")
    var seed: UInt64?

    @Flag(help: "Run on a virtual clock, as fast as possible, instead of in real time.")
    var virtual = false

    @Option(help: ArgumentHelp("Write the ledger (every emission, stimulus and command) to this JSON Lines file.", valueName: "file"))
    var ledger: String?

    @Option(help: "Which emissions to print as they happen (alarms: warning severity and up).")
    var show: ShowFilter = .events

    @Option(name: .customLong("broker"), help: ArgumentHelp(
        "Also put the devices on this MQTT broker (real time only). Repeat for several brokers: the devices are split between them, one worker process per slice.",
        valueName: "mqtt://host:port"))
    var brokers: [BrokerAddress] = []

    @Option(help: ArgumentHelp(
        "Run the park as this many worker processes (shards), started, watched and merged by this one. Default: one process, or as many as the park needs (≤ 6,000 MQTT devices each, a whole number per broker).",
        valueName: "n"))
    var workers: Int?

    @Option(help: ArgumentHelp(
        "MQTT connects in flight at once, per broker. mosquitto listens with a backlog of 100; beyond ~64 half-open connects the kernel drops SYNs and connects stall for a second. Workers on one broker share it.",
        valueName: "n"))
    var connectWindow: Int = 64

    /// Set by the coordinator on the workers it starts: report as JSON lines, die with the coordinator.
    @Option(help: .hidden)
    var workerOf: Int32?

    /// The first (in a single-process run, the only) broker.
    var broker: BrokerAddress? { brokers.first }

    @Option(help: ArgumentHelp("MQTT topic template.", valueName: "template"))
    var topics: String = DeviceTopicTemplate.standard.pattern

    @Option(help: ArgumentHelp(
        "How devices log in: none, password (user = device id), token (user = the device's token) or aliyun-hmac (signed with the device's secret; needs --product-key).",
        valueName: "scheme"))
    var auth: MQTTAuthArgument?

    @Option(help: ArgumentHelp("Product key for --auth aliyun-hmac.", valueName: "key"))
    var productKey: String?

    @Option(help: ArgumentHelp(
        "Run only shard i of N: the i-th of N contiguous slices of the park's devices (in park order), with their scripted stimuli. Shards of one park never overlap, on one machine or many.",
        valueName: "i/N"))
    var shard: ShardSpec?

    @Option(help: ArgumentHelp("Connect the MQTT clients from this local address (e.g. 127.0.0.7 for a shard of its own).", valueName: "address"))
    var bindAddress: String?

    @Option(help: ArgumentHelp(
        "File of per-device secrets, one 'device-id=secret' per line (one secret per device).",
        valueName: "file"))
    var secretsFile: String?

    @Option(help: ArgumentHelp(
        "Environment variable holding one password shared by every device (for brokers without per-device secrets).",
        valueName: "name"))
    var passwordEnv: String?

    @Option(help: ArgumentHelp(
        "Also serve the park's meters over Modbus TCP: endpoints from this port on (0: free ports), up to --modbus-units devices each as unit ids 1…n, every device of a model with a register map (modbus: in its profile).",
        valueName: "port"))
    var modbusPort: Int?

    @Option(help: ArgumentHelp("Devices behind one Modbus endpoint (1–247), as on one RS-485 bus behind a gateway.", valueName: "n"))
    var modbusUnits: Int = 247

    @Flag(help: ArgumentHelp(
        "Serve the meters over Modbus RTU instead: one pseudo-terminal per bus of --modbus-units slaves, its path printed (open it 8N1). With --modbus-port omitted."))
    var modbusRTU = false

    @Option(help: ArgumentHelp(
        "Also put the park's meters whose model profile has a dlt645: section on DL/T 645-2007: TCP endpoints from this port on (0: free ports), each one RS-485 bus of up to --dlt645-meters meters addressed 000000000001, 000000000002, … in park order.",
        valueName: "port"))
    var dlt645Port: Int?

    @Option(help: ArgumentHelp("Meters on one DL/T 645 bus.", valueName: "n"))
    var dlt645Meters: Int = 32

    func validate() throws {
        if duration == .zero { throw ValidationError("--duration must be longer than 0s, e.g. --duration 30s") }
        if connectWindow < 1 { throw ValidationError("--connect-window must be at least 1") }
        if let modbusPort {
            if virtual { throw ValidationError("--modbus-port needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--modbus-port runs in one process; it does not combine with --workers or several --broker yet") }
            if !(0 ... 65_535).contains(modbusPort) { throw ValidationError("--modbus-port must be 0 (free ports) or a port number") }
        }
        if !(1 ... 247).contains(modbusUnits) { throw ValidationError("--modbus-units must be 1…247 (Modbus unit ids)") }
        if modbusRTU {
            if modbusPort != nil { throw ValidationError("--modbus-rtu serves the meters on pty buses; drop --modbus-port (or --modbus-rtu)") }
            if virtual { throw ValidationError("--modbus-rtu needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--modbus-rtu runs in one process; it does not combine with --workers or several --broker yet") }
        }
        if let dlt645Port {
            if virtual { throw ValidationError("--dlt645-port needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--dlt645-port runs in one process; it does not combine with --workers or several --broker yet") }
            if !(0 ... 65_535).contains(dlt645Port) { throw ValidationError("--dlt645-port must be 0 (free ports) or a port number") }
        }
        if dlt645Meters < 1 { throw ValidationError("--dlt645-meters must be at least 1") }
        if let workers, !(1 ... 200).contains(workers) {
            throw ValidationError("--workers must be between 1 and 200 (each worker gets a 127.0.0.x source address of its own)")
        }
        if workers != nil || brokers.count > 1 {
            if shard != nil { throw ValidationError("--shard runs one slice in this process; it does not combine with --workers or several --broker") }
            if bindAddress != nil { throw ValidationError("with --workers or several --broker each worker gets its own source address; drop --bind-address") }
        }
        if let workers, brokers.count > workers {
            throw ValidationError("\(brokers.count) brokers need at least \(brokers.count) workers (one broker per worker); raise --workers")
        }
        if broker != nil, virtual {
            throw ValidationError("--broker needs real time; drop --virtual (a broker cannot run on a virtual clock)")
        }
        if broker == nil, passwordEnv != nil || secretsFile != nil || auth != nil {
            throw ValidationError("--auth, --secrets-file and --password-env only apply with --broker")
        }
        if passwordEnv != nil, secretsFile != nil {
            throw ValidationError("give either --secrets-file (one secret per device) or --password-env (shared), not both")
        }
        if auth == .aliyunHMAC, productKey == nil {
            throw ValidationError("--auth aliyun-hmac needs --product-key <key>")
        }
        if let auth, auth != .none, passwordEnv == nil, secretsFile == nil {
            throw ValidationError("--auth \(auth.rawValue) needs secrets: --secrets-file <file> or --password-env <name>")
        }
        if let passwordEnv, ProcessInfo.processInfo.environment[passwordEnv] == nil {
            throw ValidationError("--password-env \(passwordEnv): no such environment variable is set")
        }
        do { _ = try DeviceTopicTemplate(topics) } catch { throw ValidationError(error.message) }
    }

    func run() async throws {
        // First thing: a Ctrl-C that arrives while the park loads must stop the run, not kill it.
        _ = Interrupt.received
        let workspace = Workspace.load(options)
        try workspace.failOnProblems()
        var parkFile: ParkFile
        var plan: [PlannedDevice]
        do {
            parkFile = try ParkFile.load(file: park, catalog: workspace.catalog, kinds: workspace.kinds)
            if let shard {
                // Only this shard's devices are planned: a worker of a 50,000-device park builds
                // its own few thousand, not the whole park. Each device keeps the random stream of
                // its id and the run seed, so it behaves the same whichever shard runs it.
                let range = shard.range(of: parkFile.devices.count)
                parkFile.devices = Array(parkFile.devices[range])
                let owned = Set(parkFile.devices.map(\.id))
                parkFile.stimuli = parkFile.stimuli.filter { owned.contains($0.deviceID) }
            }
            plan = try parkFile.plan(kinds: workspace.kinds, seed: seed)
            // Loading expands every population; hand the parser's garbage back before the run.
            parkbench_release_free_memory()
        } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        if let workerOf { WorkerLifeline.tie(to: workerOf) }
        if workerOf == nil, shard == nil, let count = try workerProcessCount(devices: plan.count) {
            // The coordinator planned the park only to validate it once; the workers plan their own slices.
            let devices = plan.count
            plan = []
            parkFile.devices = []
            parkbench_release_free_memory()
            return try await runWorkers(count, park: parkFile, devices: devices, runSeed: seed ?? parkFile.seed)
        }
        if broker != nil { ProcessCapacity.raiseOpenFileLimit() }
        let reporting = workerOf != nil

        if let ledger, !FileManager.default.createFile(atPath: ledger, contents: nil) {
            return try fail("cannot write the ledger file '\(ledger)'; check the directory exists and is writable")
        }
        let runSeed = seed ?? parkFile.seed
        let printer = EmissionPrinter(filter: options.json || reporting ? .none : show, kinds: workspace.kinds)
        let tally = EmissionTally()
        let binding = try broker.map { try makeBinding($0, park: parkFile, catalog: workspace.catalog) }
        let observers = MulticastEmissionObserver([printer, tally] + (binding.map { [$0] } ?? []))
        // With --ledger the spill file is the user's file: records stream to it as the run goes,
        // and nothing is read back at the end, however long the run.
        let ledgerStore = Ledger(spillURL: ledger.map { URL(fileURLWithPath: $0) })
        var stimuliApplied = 0
        if !options.json, !reporting {
            let kinds = Dictionary(grouping: plan, by: { $0.kind.descriptor.name }).map { "\($1.count) \($0)" }.sorted()
            print("park \(parkFile.name): \(plan.count) devices (\(kinds.joined(separator: ", "))), seed \(runSeed), "
                  + "\(duration) \(virtual ? "of virtual time" : "in real time")")
        }

        let started = SystemClock.monotonicNow()
        var timerFigures: TimerLateness?
        var modbusAddresses: [ModbusDeviceBinding.Address]?
        var dlt645Addresses: [DLT645DeviceBinding.Address]?
        if virtual {
            let engine = VirtualTimeEngine(ledger: ledgerStore, observer: observers)
            for device in plan {
                do { try engine.add(device) } catch { return try fail(error.description) }
            }
            engine.start()
            let progress = ProgressReporter(enabled: !options.json, ledger: ledgerStore, workerReport: reporting ? { WorkerProgress() } : nil)
            let end = MonotonicInstant.zero.advanced(by: duration)
            var pending = parkFile.stimuli.filter { $0.at <= duration }[...]
            // Advance in slices so a long virtual run can say how far it has got.
            let slice = DeviceDuration(nanoseconds: max(duration.nanoseconds / 200, 1))
            while engine.now < end, !Interrupt.received {
                let sliceEnd = min(engine.now.advanced(by: slice), end)
                while let next = pending.first, MonotonicInstant.zero.advanced(by: next.at) <= sliceEnd {
                    pending = pending.dropFirst()
                    engine.advance(to: MonotonicInstant.zero.advanced(by: next.at))
                    do {
                        try engine.apply(next.stimulus, to: next.deviceID)
                        stimuliApplied += 1
                    } catch { Output.error("warning: \(error)") }
                }
                engine.advance(to: sliceEnd)
                progress.tick(deviceTime: engine.now.duration(since: .zero), total: duration)
            }
        } else {
            // Polled devices (meters) put their live state here for the protocol endpoints to read.
            let registry = modbusPort != nil || modbusRTU || dlt645Port != nil ? PolledStateRegistry() : nil
            if let registry { for index in plan.indices { plan[index].setup.polled = registry } }
            let modbusTransport: ModbusDeviceBinding.Transport? = modbusRTU ? .rtu(baudRate: 9600, parity: "N")
                : modbusPort.map { .tcp(host: "127.0.0.1", firstPort: $0) }
            let modbus = try modbusTransport.map { transport in
                try makeModbusBinding(transport, registry: registry!, park: parkFile, catalog: workspace.catalog)
            }
            let dlt645 = try dlt645Port.map { port in try makeDLT645Binding(port: port, registry: registry!, park: parkFile, catalog: workspace.catalog) }
            let engine: RealTimeEngine
            do { engine = try await RealTimeEngine(plan: plan, ledger: ledgerStore, observer: observers) } catch {
                return try fail(error.description)
            }
            if let modbus {
                modbus.routeCommands(to: engine)
                let addresses: [ModbusDeviceBinding.Address]
                do { addresses = try modbus.start() } catch { return try fail(error.message) }
                modbusAddresses = addresses
                if !options.json, !reporting {
                    for (index, endpoint) in modbus.endpoints.enumerated() {
                        let behind = Array(addresses[(index * modbusUnits) ..< min(addresses.count, (index + 1) * modbusUnits)])
                        print("modbus\(modbusRTU ? " rtu" : ""): \(endpoint.location) units 1–\(behind.count): \(behind.first?.device ?? "") … \(behind.last?.device ?? "")")
                    }
                    fflush(nil)
                }
            }
            defer { modbus?.stop() }
            if let dlt645 {
                dlt645.routeCommands(to: engine)
                let addresses: [DLT645DeviceBinding.Address]
                do { addresses = try dlt645.start() } catch { return try fail(error.message) }
                dlt645Addresses = addresses
                if !options.json, !reporting {
                    for bus in dlt645.buses {
                        let behind = addresses.filter { $0.port == bus.port }
                        print("dl/t 645: 127.0.0.1:\(bus.port) meters \(behind.first?.meter ?? "")–\(behind.last?.meter ?? ""): \(behind.first?.device ?? "") … \(behind.last?.device ?? "")")
                    }
                    // A script waiting for the endpoint lines reads them now, not at exit, when stdout is a file or pipe.
                    fflush(nil)
                }
            }
            defer { dlt645?.stop() }
            if let binding {
                binding.routeCommands(to: engine)
                do { try binding.connect() } catch { return try fail(error.message) }
            }
            printer.setOrigin(engine.clock.now().monotonic)
            await engine.start()
            let progress = ProgressReporter(
                enabled: !options.json, ledger: ledgerStore,
                workerReport: reporting ? { [binding] in binding.map { WorkerProgress(binding: $0, devices: plan.count) } ?? WorkerProgress() } : nil)
            stimuliApplied = await runScript(parkFile.stimuli, on: engine, for: duration, ledger: ledgerStore, progress: progress)
            timerFigures = await engine.statistics().lateness
            await engine.stop()
        }
        let mqtt = binding?.statistics
        binding?.shutdown()
        let wallSeconds = SystemClock.monotonicNow().duration(since: started).seconds

        if ledger != nil {
            do { try ledgerStore.flush() } catch { return try fail(error.description) }
        }
        let summary = RunSummary(
            park: parkFile.name, shard: shard?.description, devices: plan.count, seed: runSeed, mode: virtual ? "virtual" : "real-time",
            deviceTime: duration.description, wallSeconds: (wallSeconds * 1000).rounded() / 1000,
            ledgerRecords: Int(ledgerStore.count), ledgerFile: ledger, emissions: tally.snapshot,
            stimuli: stimuliApplied,
            timerLatenessP99Milliseconds: timerFigures.map { Double($0.p99) / 1e6 },
            timerLatenessMaxMilliseconds: timerFigures.map { Double($0.max) / 1e6 },
            mqtt: mqtt.map { MQTTSummary($0, devices: plan.count) },
            interrupted: Interrupt.received ? true : nil,
            modbus: modbusAddresses, dlt645: dlt645Addresses)
        if reporting {
            print(WorkerReportLine(summary: summary).encoded())
        } else if options.json {
            Output.json(summary)
        } else {
            summary.printText()
        }
        if let mqtt, let broker, mqtt.pool.connectsSucceeded == 0 {
            Output.error("error: no device could connect to the broker at \(broker); is it running and reachable?")
            throw ExitCode(ExitStatus.unreachable)
        }
        if Interrupt.received { throw ExitCode(ExitStatus.interrupted) }
    }

    private func makeBinding(_ broker: BrokerAddress, park: ParkFile, catalog: ModelCatalog) throws -> MQTTDeviceBinding {
        let devices = boundDevices(park)
        do {
            // Models whose profile has an `mqtt:` section follow it; the command line sets the rest.
            var conventions: [String: MQTTModelConventions] = [:]
            for model in Set(devices.map(\.model)).sorted() {
                guard let profile = catalog.model(named: model), let settings = profile.mqtt else { continue }
                let modelConventions = try MQTTModelConventions(settings, profile: profile.file)
                if let scheme = modelConventions.auth, scheme != .none, secretsFile == nil, passwordEnv == nil {
                    throw BindingError("model \(model) logs in with \(scheme.rawValue) (\(profile.file)); "
                                       + "give the devices their secrets with --secrets-file <file> or --password-env <name>")
                }
                conventions[model] = modelConventions
            }
            let runScheme = (auth ?? (secretsFile != nil || passwordEnv != nil ? .password : .none)).scheme
            let secrets: DeviceSecrets?
            if let secretsFile {
                secrets = try DeviceSecrets.load(file: secretsFile)
                let missing = secrets?.missing(among: devices.map(\.id)) ?? []
                if !missing.isEmpty {
                    throw BindingError("\(secretsFile) has no secret for \(missing.count) device(s): "
                        + missing.prefix(10).joined(separator: ", ") + (missing.count > 10 ? ", …" : ""))
                }
            } else {
                secrets = nil
            }
            let shared = passwordEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
            // One timestamp for the run: the signature is computed once per device, like a device that
            // signs at boot.
            let signedAt = SystemClock.wallNow().nanosecondsSinceEpoch / 1_000_000
            let runProductKey = self.productKey ?? ""
            let modelConventions = conventions
            let login = { @Sendable (device: BoundDevice) in
                let model = modelConventions[device.model]
                return (model?.auth ?? runScheme).login(
                    for: device, secret: secrets?.secret(for: device.id) ?? shared,
                    productKey: model?.productKey ?? runProductKey, timestampMilliseconds: signedAt)
            }
            var configuration = MQTTDeviceBinding.Configuration(
                host: broker.host, port: broker.port, topics: try DeviceTopicTemplate(topics),
                credentials: { login($0).credentials })
            configuration.bindAddress = bindAddress
            configuration.connectWindow = connectWindow
            configuration.clientID = { login($0).clientID }
            configuration.conventions = conventions
            return try MQTTDeviceBinding(devices: devices, configuration: configuration)
        } catch let error as BindingError {
            Output.error("error: \(error.message)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }

    /// The Modbus endpoints for the park's devices whose models have a register map.
    private func makeModbusBinding(_ transport: ModbusDeviceBinding.Transport, registry: PolledStateRegistry, park: ParkFile,
                                   catalog: ModelCatalog) throws -> ModbusDeviceBinding {
        var maps: [String: ModelModbusMap] = [:]
        for device in park.devices where maps[device.model] == nil {
            if let map = catalog.model(named: device.model)?.modbus { maps[device.model] = map }
        }
        guard !maps.isEmpty else {
            Output.error("error: --modbus-port: no model in this park has a register map (a modbus: section in its profile)")
            throw ExitCode(ExitStatus.configurationError)
        }
        let devices = boundDevices(park)
        do {
            return try ModbusDeviceBinding(devices: devices, maps: maps, registry: registry, transport: transport, unitsPerEndpoint: modbusUnits)
        } catch {
            Output.error("error: \(error.message)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }

    /// The DL/T 645 buses for the park's electricity meters.
    private func makeDLT645Binding(port: Int, registry: PolledStateRegistry, park: ParkFile, catalog: ModelCatalog) throws -> DLT645DeviceBinding {
        let devices = boundDevices(park).filter { catalog.speaksDLT645($0.model) }
        guard !devices.isEmpty else {
            Output.error("error: --dlt645-port: no device in this park has a model whose profile has a dlt645: section")
            throw ExitCode(ExitStatus.configurationError)
        }
        do {
            return try DLT645DeviceBinding(devices: devices, registry: registry, firstPort: port, metersPerBus: dlt645Meters)
        } catch {
            Output.error("error: \(error.message)")
            throw ExitCode(ExitStatus.configurationError)
        }
    }

    /// The park's devices as the protocol bindings see them.
    private func boundDevices(_ park: ParkFile) -> [BoundDevice] {
        park.devices.map { BoundDevice(id: $0.id, kind: $0.kind, model: $0.model, zone: $0.placement.zone, floor: $0.placement.floor) }
    }

    private func fail(_ message: String) throws {
        Output.error("error: \(message)")
        throw ExitCode(ExitStatus.configurationError)
    }
}

/// Which emissions `simulate` prints while running.
enum ShowFilter: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Every emission, telemetry and local ones included.
    case all
    /// Events (alarms, clears, heartbeats, faults) and status changes.
    case events
    /// Only events of severity warning, alarm or critical.
    case alarms
    case none
}

extension DeviceDuration: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// Prints emissions as they happen; called from the device event loops, so writes are locked.
final class EmissionPrinter: EmissionObserver {
    private let filter: ShowFilter
    private let severities: [String: EventSeverity]
    private let lock = Mutex(())
    /// Device time zero of the run: emissions print as seconds since then.
    private let origin = Atomic<UInt64>(0)

    /// Sets the instant that prints as `0.000s` (the start of a real-time run).
    func setOrigin(_ instant: MonotonicInstant) { origin.store(instant.nanoseconds, ordering: .relaxed) }

    init(filter: ShowFilter, kinds: DeviceKindRegistry) {
        self.filter = filter
        var severities: [String: EventSeverity] = [:]
        for kind in kinds.all {
            for event in kind.descriptor.events { severities["\(kind.descriptor.name)/\(event.name)"] = event.severity }
        }
        self.severities = severities
    }

    func deviceEmitted(_ record: LedgerRecord) {
        switch filter {
        case .none: return
        case .all: break
        case .events: guard record.channel == .event || record.channel == .status else { return }
        case .alarms:
            guard record.channel == .event,
                  let severity = severities["\(record.kind)/\(record.name)"],
                  severity != .info else { return }
        }
        let readings = record.readings.map { "\($0.point)=\($0.value)" }.joined(separator: " ")
        let elapsed = record.time.monotonic.duration(since: MonotonicInstant(nanoseconds: origin.load(ordering: .relaxed)))
        let seconds = String(format: "%10.3fs", elapsed.seconds)
        var line = "\(seconds)  \(record.deviceID)  \(record.channel?.rawValue ?? "")  \(record.name)"
        if !readings.isEmpty { line += "  \(readings)" }
        // print() shares stdout's buffer with the header and summary, so lines stay in order.
        lock.withLock { _ in print(line) }
    }
}

/// A progress line on standard error every ten seconds of wall time, for long runs; in a worker
/// process, a `WorkerReportLine` on standard output every second for the coordinator instead.
final class ProgressReporter {
    private let enabled: Bool
    private let ledger: Ledger
    private let workerReport: (() -> WorkerProgress)?
    private let started = SystemClock.monotonicNow()
    private var lastReport: MonotonicInstant
    private var lastCount: UInt64 = 0

    /// - Parameter workerReport: set in worker processes; gives the MQTT counters to report.
    init(enabled: Bool, ledger: Ledger, workerReport: (() -> WorkerProgress)? = nil) {
        self.enabled = enabled
        self.ledger = ledger
        self.workerReport = workerReport
        self.lastReport = started
    }

    func tick(deviceTime: DeviceDuration, total: DeviceDuration) {
        let now = SystemClock.monotonicNow()
        if let workerReport {
            guard now.duration(since: lastReport) >= .seconds(1) else { return }
            lastReport = now
            var progress = workerReport()
            progress.deviceSeconds = deviceTime.seconds
            progress.ledgerRecords = Int(ledger.count)
            print(WorkerReportLine(progress: progress).encoded())
            fflush(nil)
            return
        }
        guard enabled, now.duration(since: lastReport) >= .seconds(10) else { return }
        let count = ledger.count
        let rate = Double(count - lastCount) / now.duration(since: lastReport).seconds
        let percent = Double(deviceTime.nanoseconds) / Double(max(total.nanoseconds, 1)) * 100
        // Whole seconds: `10s` reads better than `10s468us157ns` on a progress line.
        let shown = DeviceDuration(nanoseconds: deviceTime.nanoseconds / 1_000_000_000 * 1_000_000_000)
        Output.error(String(
            format: "[%.0f%%] device time %@ of %@, %llu ledger records (%.0f/s)",
            percent, shown.description, total.description, count, rate))
        lastReport = now
        lastCount = count
    }
}

/// What `simulate` prints at the end (text or JSON).
struct RunSummary: Codable {
    var park: String
    /// `i/N` when this run is one shard of the park.
    var shard: String?
    var devices: Int
    var seed: UInt64
    var mode: String
    var deviceTime: String
    var wallSeconds: Double
    var ledgerRecords: Int
    var ledgerFile: String?
    /// Emission counts by `kind/name`.
    var emissions: [String: Int]
    var stimuli: Int
    var timerLatenessP99Milliseconds: Double?
    var timerLatenessMaxMilliseconds: Double?
    var mqtt: MQTTSummary?
    /// True when Ctrl-C or SIGTERM ended the run before its duration.
    var interrupted: Bool?
    /// How each worker process ended, for a run split over workers.
    var workers: [WorkerOutcome]?
    /// Seconds from the first worker's start until every device was connected (sharded MQTT runs).
    var allConnectedSeconds: Double?
    /// Where each meter answered over Modbus (`--modbus-port`).
    var modbus: [ModbusDeviceBinding.Address]?
    /// Where each electricity meter answered over DL/T 645 (`--dlt645-port`).
    var dlt645: [DLT645DeviceBinding.Address]?

    func printText() {
        if interrupted == true { print("\ninterrupted: the figures below cover the run up to the interruption") }
        print("\nran \(deviceTime) of device time in \(String(format: "%.3f", wallSeconds)) s; \(ledgerRecords) ledger records, \(stimuli) stimuli applied")
        Output.table(["EMISSION", "COUNT"], emissions.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] })
        if let p99 = timerLatenessP99Milliseconds, let max = timerLatenessMaxMilliseconds {
            print(String(format: "timer lateness: p99 %.3f ms, max %.3f ms", p99, max))
        }
        if let mqtt {
            print("mqtt: \(mqtt.connected) of \(mqtt.devices) devices connected, \(mqtt.published) messages published, "
                  + "\(mqtt.acknowledged) acknowledged, \(mqtt.dropped) dropped, \(mqtt.failed) failed, \(mqtt.commands) commands")
        }
        if let ledgerFile { print("ledger written to \(ledgerFile)") }
    }
}

/// The MQTT part of a run's summary.
struct MQTTSummary: Codable {
    var devices: Int
    var connected: Int
    var connectsFailed: Int
    var published: Int
    var acknowledged: Int
    var failed: Int
    var dropped: Int
    var commands: Int

    init(devices: Int, connected: Int, connectsFailed: Int, published: Int, acknowledged: Int, failed: Int, dropped: Int, commands: Int) {
        self.devices = devices
        self.connected = connected
        self.connectsFailed = connectsFailed
        self.published = published
        self.acknowledged = acknowledged
        self.failed = failed
        self.dropped = dropped
        self.commands = commands
    }

    init(_ statistics: MQTTDeviceBinding.Statistics, devices: Int) {
        self.devices = devices
        connected = statistics.pool.connectedClients
        connectsFailed = statistics.pool.connectsFailed
        published = statistics.pool.messagesPublished
        acknowledged = statistics.pool.messagesAcknowledged
        failed = statistics.pool.publishesFailed
        dropped = statistics.dropped
        commands = statistics.commandsReceived
    }
}

/// Runs `engine` in real time for `duration`, applying each scripted stimulus at its time and
/// handing the ledger's records to its writer every second; returns how many were applied.
func runScript(
    _ script: [ParkFile.ScriptedStimulus], on engine: RealTimeEngine, for duration: DeviceDuration,
    ledger: Ledger, progress: ProgressReporter?
) async -> Int {
    let start = engine.clock.now().monotonic
    var lastSpill = start
    let end = start.advanced(by: duration)
    var pending = script.filter { $0.at <= duration }[...]
    var applied = 0
    while true {
        let now = engine.clock.now().monotonic
        while let next = pending.first, start.advanced(by: next.at) <= now {
            pending = pending.dropFirst()
            do {
                try await engine.apply(next.stimulus, to: next.deviceID)
                applied += 1
            } catch { Output.error("warning: \(error)") }
        }
        if now >= end || Interrupt.received { break }
        progress?.tick(deviceTime: now.duration(since: start), total: duration)
        if now >= lastSpill.advanced(by: .seconds(1)) {
            ledger.spillHeldRecords()
            lastSpill = now
        }
        // Short naps so Ctrl-C ends the run within a quarter of a second.
        let wake = [end, pending.first.map { start.advanced(by: $0.at) }, now.advanced(by: .milliseconds(250))]
            .compactMap { $0 }.min() ?? end
        try? await Task.sleep(nanoseconds: wake.duration(since: now).nanoseconds)
    }
    return applied
}

/// `--auth` choices.
enum MQTTAuthArgument: String, ExpressibleByArgument, CaseIterable {
    case none, password, token
    case aliyunHMAC = "aliyun-hmac"
    var scheme: MQTTAuthScheme { MQTTAuthScheme(rawValue: rawValue) ?? .none }
}

/// `--shard i/N`: the i-th (0-based) of N contiguous slices of a park's devices.
struct ShardSpec: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var index: Int
    var count: Int

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    init?(argument: String) {
        let parts = argument.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0 ..< count).contains(index) else {
            return nil
        }
        self.index = index
        self.count = count
    }

    /// The slice of `total` devices this shard runs: sizes differ by at most one.
    func range(of total: Int) -> Range<Int> {
        (index * total / count) ..< ((index + 1) * total / count)
    }

    var description: String { "\(index)/\(count)" }
}

/// `mqtt://host:port` from the command line.
struct BrokerAddress: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        var rest = Substring(argument)
        if rest.hasPrefix("mqtt://") { rest = rest.dropFirst(7) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        self.host = String(host)
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65_535).contains(port) else { return nil }
            self.port = port
        } else {
            self.port = 1883
        }
    }

    var description: String { "mqtt://\(host):\(port)" }
}
