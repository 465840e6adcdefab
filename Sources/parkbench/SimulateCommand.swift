import ArgumentParser
import Foundation
import ParkBindings
import ParkGB28181
import ParkMedia
import ParkRuntime
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

            With --ocpp-csms the park's EV chargers (models with an ocpp: section) are on OCPP \
            1.6J instead of MQTT: a WebSocket each to <url>/<device id>, with basic auth when \
            --secrets-file or --password-env gives a password. The summary counts their boots, \
            calls and answers; chargers not connected at the end are a warning on stderr (a CSMS \
            that refuses a password answers 401, and the charger retries with backoff).

            With --http-push the events a model's http_push: section names (a plate camera's \
            reads) are POSTed as JSON to that URL instead of being published, the device staying \
            on MQTT for the rest; commands in the answers reach the devices. A push that gets no \
            answer, a 5xx, 408 or 429 is sent again as the model's retries: and retry_interval: \
            say (the wait doubling each time; none by default).

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
              parkbench simulate --park chargers.yaml --duration 10m \\
                  --ocpp-csms ws://127.0.0.1:9000/ocpp --secrets-file chargers.secrets
              parkbench simulate --park conformance/parks/demo.yaml --duration 5m \\
                  --broker mqtt://127.0.0.1:1883 --http-push http://127.0.0.1:8080/push

            Exit codes: 0 success, 2 usage or configuration error, 3 the broker (or the OCPP \
            CSMS) could not be reached by any device, 4 a worker process failed (the summary still covers what it \
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

    @Option(help: ArgumentHelp(
        "Also put the park's cameras and NVRs whose model profile has a gb28181: section on GB/T 28181: they register (MD5 digest, a password per device from --secrets-file or --password-env) to the SIP platform at this address, keep alive, send their alarms and answer Catalog, DeviceInfo, DeviceStatus and DeviceControl. Their 20-digit ids are printed.",
        valueName: "host:port"))
    var sipPlatform: String?

    @Option(help: ArgumentHelp("The SIP platform's 20-digit id.", valueName: "id"))
    var sipPlatformID: String = "34020000002000000001"

    @Option(help: ArgumentHelp(
        "The GB/T 28181 domain: 10 digits, the centre code and industry the devices' ids are numbered under.", valueName: "digits"))
    var sipDomain: String = "3402000000"

    @Option(help: ArgumentHelp(
        "With --sip-platform: the cameras answer INVITE (Play, Playback) with live video, this H.264 Annex-B clip looped as MPEG-PS over RTP (UDP or TCP, as offered), e.g. fixtures/media/clip.h264. Without it INVITEs are refused (488).",
        valueName: "file"))
    var sipVideo: String?

    @Option(help: ArgumentHelp(
        "Also put the park's EV chargers whose model profile has an ocpp: section on OCPP 1.6J: each opens a WebSocket (subprotocol ocpp1.6) to this central system at <path-prefix>/<device id>, boots, heartbeats, and sends its connector statuses, sessions and meter values; the CSMS's remote start/stop, charging profiles, resets and availability changes become the device's commands. Basic auth (security profile 1) with each charger's password from --secrets-file or --password-env; without them, no Authorization header. ws:// only: TLS (wss://, security profile 2) is not built yet.",
        valueName: "ws://host:port/path-prefix"))
    var ocppCSMS: String?

    @Option(help: ArgumentHelp("With --ocpp-csms: the event loops (threads) the chargers' connections share.", valueName: "n"))
    var ocppThreads: Int = 1

    @Option(help: ArgumentHelp(
        "Push the events a model's http_push: section names (a plate camera's reads, a face terminal's grants) to this URL as JSON POSTs — the device's envelope with its zone — instead of publishing them; an answer's {\"commands\": [{\"device\", \"command\", \"arguments\"}]} reaches those devices as commands. The devices stay on MQTT (--broker) for everything else.",
        valueName: "http://host:port/path"))
    var httpPush: String?

    @Option(help: ArgumentHelp(
        "With --broker: the VDA 5050 mapId the robots report their positions on — the map your fleet manager plans on (default: each robot's zone).",
        valueName: "id"))
    var robotMapId: String?

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
        if broker == nil, auth != nil { throw ValidationError("--auth only applies with --broker") }
        if broker == nil, sipPlatform == nil, ocppCSMS == nil, passwordEnv != nil || secretsFile != nil {
            throw ValidationError("--secrets-file and --password-env only apply with --broker, --sip-platform or --ocpp-csms")
        }
        if let sipPlatform {
            if virtual { throw ValidationError("--sip-platform needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--sip-platform runs in one process; it does not combine with --workers or several --broker yet") }
            if SIPAddress(hostAndPort: sipPlatform) == nil { throw ValidationError("--sip-platform must be an IPv4 host:port, e.g. 127.0.0.1:5060; got '\(sipPlatform)'") }
            if passwordEnv == nil, secretsFile == nil {
                throw ValidationError("--sip-platform needs the devices' SIP passwords: --secrets-file <file> (one per device) or --password-env <name>")
            }
            if (try? GB28181ID(sipPlatformID)) == nil { throw ValidationError("--sip-platform-id must be a 20-digit GB/T 28181 id; got '\(sipPlatformID)'") }
        }
        if sipVideo != nil, sipPlatform == nil { throw ValidationError("--sip-video only applies with --sip-platform") }
        if let ocppCSMS {
            if virtual { throw ValidationError("--ocpp-csms needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--ocpp-csms runs in one process; it does not combine with --workers or several --broker yet") }
            _ = try OCPPCSMSAddress(validating: ocppCSMS)
        }
        if let httpPush {
            if virtual { throw ValidationError("--http-push needs real time; drop --virtual") }
            if workers != nil || brokers.count > 1 { throw ValidationError("--http-push runs in one process; it does not combine with --workers or several --broker yet") }
            guard httpPush.hasPrefix("http://") || httpPush.hasPrefix("https://"), URL(string: httpPush)?.host != nil else {
                throw ValidationError("--http-push must be an http://host:port/path URL, e.g. http://127.0.0.1:8080/push; got '\(httpPush)'")
            }
        }
        if ocppThreads != 1 {
            if ocppCSMS == nil { throw ValidationError("--ocpp-threads only applies with --ocpp-csms") }
            if !(1 ... 256).contains(ocppThreads) { throw ValidationError("--ocpp-threads must be 1…256") }
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
        _ = RunInterruption.received
        let workspace = Workspace.load(options)
        try workspace.failOnProblems()
        var park: LoadedPark
        do {
            park = try LoadedPark(path: self.park, catalog: workspace.catalog, kinds: workspace.kinds, shard: shard, seed: seed)
        } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        if let workerOf, !WorkerLifeline.tie(to: workerOf) {
            Output.error("error: the coordinator (pid \(workerOf)) is gone; worker exiting")
            throw ExitCode(ExitStatus.configurationError)
        }
        let runSeed = seed ?? park.file.seed
        if workerOf == nil, shard == nil {
            let count: Int?
            do { count = try ProcessCapacity.workerCount(requested: workers, devices: park.plan.count, brokers: brokers.count, virtual: virtual) } catch {
                return try fail(error.description)
            }
            if let count, ocppCSMS != nil {
                return try fail("--ocpp-csms runs in one process, and this park's \(park.plan.count) devices on one broker need \(count) worker processes; "
                                + "run the chargers in a park of their own, or shard it yourself (--shard i/N, one process each)")
            }
            if let count, httpPush != nil {
                return try fail("--http-push runs in one process, and this park's \(park.plan.count) devices on one broker need \(count) worker processes; "
                                + "shard it yourself (--shard i/N, one process each)")
            }
            if let count {
                // The coordinator planned the park only to validate it once; the workers plan their own slices.
                let devices = park.plan.count
                park.plan = []
                park.file.devices = []
                ProcessMemory.releaseFree()
                return try await runWorkers(count, park: park.file, devices: devices, runSeed: runSeed)
            }
        }
        // One descriptor per MQTT client and per charger's WebSocket.
        if broker != nil || ocppCSMS != nil { ProcessCapacity.raiseOpenFileLimit() }
        let reporting = workerOf != nil

        if let ledger, !FileManager.default.createFile(atPath: ledger, contents: nil) {
            return try fail("cannot write the ledger file '\(ledger)'; check the directory exists and is writable")
        }
        let printer = EmissionPrinter(filter: options.json || reporting ? .none : show, kinds: workspace.kinds)
        let tally = EmissionTally()
        // With --ledger the spill file is the user's file: records stream to it as the run goes,
        // and nothing is read back at the end, however long the run.
        let ledgerStore = Ledger(spillURL: ledger.map { URL(fileURLWithPath: $0) })
        if !options.json, !reporting {
            let kinds = Dictionary(grouping: park.plan, by: { $0.kind.descriptor.name }).map { "\($1.count) \($0)" }.sorted()
            print("park \(park.file.name): \(park.plan.count) devices (\(kinds.joined(separator: ", "))), seed \(runSeed), "
                  + "\(duration) \(virtual ? "of virtual time" : "in real time")")
        }

        let started = SystemClock.monotonicNow()
        var timerFigures: TimerLateness?
        var addresses = ParkSession.EndpointAddresses()
        var mqtt: MQTTDeviceBinding.Statistics?
        var ocpp: OCPPSummary?
        var pushed: HTTPPushDeviceBinding.Figures?
        var robots: VDA5050Summary?
        let stimuliApplied: Int
        if virtual {
            let progress = RunProgress(enabled: !options.json, ledger: ledgerStore, workerReport: reporting ? { WorkerProgress() } : nil)
            do {
                stimuliApplied = try VirtualParkRun.run(
                    plan: park.plan, script: park.file.stimuli, for: duration, ledger: ledgerStore,
                    observer: MulticastEmissionObserver([printer, tally]),
                    progress: { progress.tick(deviceTime: $0, total: duration) })
            } catch { return try fail(error.description) }
        } else {
            let bindings = try makeBindings(park.file, catalog: workspace.catalog, kinds: workspace.kinds)
            let session: ParkSession
            do {
                session = try await ParkSession(plan: park.plan, bindings: bindings, ledger: ledgerStore, observers: [printer, tally])
            } catch { return try fail(error.description) }
            do {
                addresses = try session.openEndpoints()
                try session.connectMQTT()
            } catch {
                await session.stop()
                return try fail(error.message)
            }
            if !options.json, !reporting { printEndpoints(bindings, addresses) }
            printer.setOrigin(session.engine.clock.now().monotonic)
            await session.start()
            let devices = park.plan.count
            let progress = RunProgress(
                enabled: !options.json, ledger: ledgerStore,
                workerReport: reporting ? { [mqtt = bindings.mqtt] in mqtt.map { WorkerProgress(binding: $0, devices: devices) } ?? WorkerProgress() } : nil)
            stimuliApplied = await session.run(script: park.file.stimuli, for: duration, progress: { progress.tick(deviceTime: $0, total: duration) })
            timerFigures = await session.engine.statistics().lateness
            mqtt = bindings.mqtt?.statistics
            // Read before stop: stopping closes every charger's socket.
            ocpp = bindings.ocpp.map { OCPPSummary($0.figures, chargers: $0.deviceIDs.count) }
            pushed = bindings.httpPush?.figures
            robots = bindings.robots.map { VDA5050Summary($0.figures, robots: $0.deviceIDs.count) }
            await session.stop()
        }
        let wallSeconds = SystemClock.monotonicNow().duration(since: started).seconds

        if ledger != nil {
            do { try ledgerStore.flush() } catch { return try fail(error.description) }
        }
        let summary = RunSummary(
            park: park.file.name, shard: shard?.description, devices: park.plan.count, seed: runSeed, mode: virtual ? "virtual" : "real-time",
            deviceTime: duration.description, wallSeconds: (wallSeconds * 1000).rounded() / 1000,
            ledgerRecords: Int(ledgerStore.count), ledgerFile: ledger, emissions: tally.snapshot,
            stimuli: stimuliApplied,
            timerLatenessP99Milliseconds: timerFigures.map { Double($0.p99) / 1e6 },
            timerLatenessMaxMilliseconds: timerFigures.map { Double($0.max) / 1e6 },
            mqtt: mqtt.map { MQTTSummary($0, devices: park.plan.count) },
            interrupted: RunInterruption.received ? true : nil,
            modbus: modbusPort != nil || modbusRTU ? addresses.modbus : nil, dlt645: dlt645Port != nil ? addresses.dlt645 : nil,
            gb28181: sipPlatform != nil ? addresses.gb28181 : nil)
        if reporting {
            print(WorkerReportLine(summary: summary).encoded())
        } else if options.json {
            if ocpp != nil || robots != nil { Output.json(SummaryWithProtocols(summary: summary, ocpp: ocpp, vda5050: robots)) } else { Output.json(summary) }
        } else {
            summary.printText(ocpp: ocpp)
            if let robots { print(robots.text) }
            if let pushed {
                print("http push: \(pushed.pushed) pushed, \(pushed.answered) answered, \(pushed.retried) retries, \(pushed.failed) failed, \(pushed.dropped) dropped (too many in flight), "
                      + "\(pushed.commands) commands in the answers (\(pushed.commandsRefused) refused)")
            }
        }
        // Interrupted first: a run stopped before its devices had time to connect was stopped, not unreachable.
        if RunInterruption.received { throw ExitCode(ExitStatus.interrupted) }
        if let mqtt, let broker, mqtt.pool.connectsSucceeded == 0 {
            Output.error("error: no device could connect to the broker at \(broker); is it running and reachable?")
            throw ExitCode(ExitStatus.unreachable)
        }
        if let ocpp, let ocppCSMS, ocpp.connected < ocpp.chargers {
            try reportUnconnectedChargers(ocpp, csms: ocppCSMS)
        }
    }

    /// Chargers off the CSMS at the end of the run: a warning when some are, exit 3 (as for a
    /// broker no device reached) when none ever got a socket open, refused or unreachable.
    private func reportUnconnectedChargers(_ ocpp: OCPPSummary, csms: String) throws {
        let off = ocpp.chargers - ocpp.connected
        let why = ocpp.connectFailures == 0 ? "" : " (\(ocpp.connectFailures) connect attempt\(ocpp.connectFailures == 1 ? "" : "s") failed"
            + (secretsFile != nil || passwordEnv != nil ? "; a CSMS that does not know a charger or its password refuses it with 401: check the CSMS and \(secretsFile != nil ? "--secrets-file" : "--password-env")" : "")
            + ")"
        // No CALL ever went out: no charger had a socket open at any point of the run.
        if ocpp.callsSent == 0, ocpp.connectFailures > 0 {
            Output.error("error: no charger could connect to the CSMS at \(csms)\(why); is it running, reachable and expecting these chargers?")
            throw ExitCode(ExitStatus.unreachable)
        }
        Output.error("warning: \(off) of \(ocpp.chargers) charger\(ocpp.chargers == 1 ? "" : "s") not connected to the CSMS at \(csms) at the end of the run\(why)")
    }

    /// The clip packetized once and a started sender for every camera's video (one thread for all
    /// streams; it lives as long as the process).
    private static func videoSender(clip path: String) throws(BindingError) -> GB28181MediaHooks {
        do {
            let sender = try RTPSender(clip: try PacketizedClip(contentsOf: path))
            try sender.start()
            return GB28181MediaHooks(sender: sender)
        } catch {
            throw BindingError("--sip-video \(path): \(error)")
        }
    }

    /// The protocols the command line puts the park's devices on, each with the devices whose
    /// model profile has that protocol's section.
    private func makeBindings(_ park: ParkFile, catalog: ModelCatalog, kinds: some KindCatalog) throws -> ParkSession.Bindings {
        let devices = park.boundDevices
        // Polled devices (meters) put their live state here for the protocol endpoints to read.
        let registry = modbusPort != nil || modbusRTU || dlt645Port != nil || sipPlatform != nil ? PolledStateRegistry() : nil
        var bindings = ParkSession.Bindings(registry: registry)
        do {
            // The SIP and OCPP devices' passwords: one per device from the file, or one shared.
            let secrets = sipPlatform != nil || ocppCSMS != nil ? try secretsFile.map { path throws(BindingError) in try DeviceSecrets.load(file: path) } : nil
            let shared = passwordEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
            if let sipPlatform, let registry, let platform = SIPAddress(hostAndPort: sipPlatform) {
                let media = try sipVideo.map { path throws(BindingError) in try Self.videoSender(clip: path) }
                let binding = try GB28181DeviceBinding(
                    devices: devices, catalog: catalog, kinds: kinds, registry: registry,
                    configuration: .init(platform: platform, platformID: sipPlatformID, domain: sipDomain,
                                         password: { device in secrets?.secret(for: device.id) ?? shared }, media: media))
                guard !binding.deviceIDs.isEmpty else {
                    throw BindingError("--sip-platform: no device in this park has a model whose profile has a gb28181: section")
                }
                if let secrets, case let missing = secrets.missing(among: binding.deviceIDs), !missing.isEmpty {
                    throw BindingError("\(secrets.source) has no secret for \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " and \(missing.count - 5) more" : "")")
                }
                bindings.gb28181 = binding
            }
            if let ocppCSMS {
                bindings.ocpp = try makeOCPPBinding(ocppCSMS, devices: devices, catalog: catalog, secrets: secrets, shared: shared)
            }
            if let httpPush, let url = URL(string: httpPush) {
                let binding = HTTPPushDeviceBinding(devices: devices, catalog: catalog, configuration: .init(url: url))
                guard !binding.deviceIDs.isEmpty else {
                    throw BindingError("--http-push: no device in this park has a model whose profile has an http_push: section")
                }
                bindings.httpPush = binding
            }
            if let broker {
                // Robots whose model speaks VDA 5050 go on the same broker with the standard's
                // topics and messages, not ParkBench's envelope.
                let robotSecrets = try secretsFile.map { path throws(BindingError) in try DeviceSecrets.load(file: path) }
                let robotPassword = passwordEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
                let robots = VDA5050RobotBinding(
                    devices: devices.filter { !(bindings.gb28181?.serves($0.id) ?? false) && !(bindings.ocpp?.serves($0.id) ?? false) },
                    catalog: catalog,
                    configuration: .init(host: broker.host, port: broker.port, credentials: { device in
                        (robotSecrets?.secret(for: device.id) ?? robotPassword).map { MQTTCredentials(username: device.id, password: $0) }
                    }, mapId: robotMapId))
                if !robots.deviceIDs.isEmpty { bindings.robots = robots }
                let onMQTT = devices.filter {
                    !(bindings.gb28181?.serves($0.id) ?? false) && !(bindings.ocpp?.serves($0.id) ?? false) && !robots.serves($0.id)
                }
                var sentElsewhere: (@Sendable (String, String) -> Bool)?
                if let push = bindings.httpPush { sentElsewhere = { deviceID, event in push.pushes(deviceID, event: event) } }
                bindings.mqtt = try MQTTDeviceBinding.forPark(
                    devices: onMQTT, catalog: catalog, broker: broker, topics: try DeviceTopicTemplate(topics),
                    logins: MQTTLoginOptions(scheme: auth?.scheme, productKey: productKey, secretsFile: secretsFile, passwordEnvironment: passwordEnv),
                    bindAddress: bindAddress, connectWindow: connectWindow, sentElsewhere: sentElsewhere)
            }
            let transport: ModbusDeviceBinding.Transport? = modbusRTU ? .rtu(baudRate: 9600, parity: "N")
                : modbusPort.map { .tcp(host: "127.0.0.1", firstPort: $0) }
            if let transport, let registry {
                let maps = catalog.modbusMaps(for: devices)
                guard !maps.isEmpty else {
                    throw BindingError("--modbus-port: no model in this park has a register map (a modbus: section in its profile)")
                }
                bindings.modbus = try ModbusDeviceBinding(
                    devices: devices, maps: maps, registry: registry, transport: transport, unitsPerEndpoint: modbusUnits)
            }
            if let dlt645Port, let registry {
                let meters = devices.filter { catalog.speaksDLT645($0.model) }
                guard !meters.isEmpty else {
                    throw BindingError("--dlt645-port: no device in this park has a model whose profile has a dlt645: section")
                }
                bindings.dlt645 = try DLT645DeviceBinding(devices: meters, registry: registry, firstPort: dlt645Port, metersPerBus: dlt645Meters)
            }
        } catch {
            Output.error("error: \((error as? BindingError)?.message ?? "\(error)")")
            throw ExitCode(ExitStatus.configurationError)
        }
        return bindings
    }

    /// The park's chargers on the CSMS at `url`, each with its password (basic auth) if it has one.
    private func makeOCPPBinding(_ url: String, devices: [BoundDevice], catalog: ModelCatalog,
                                 secrets: DeviceSecrets?, shared: String?) throws(BindingError) -> OCPPDeviceBinding {
        let address: OCPPCSMSAddress
        do { address = try OCPPCSMSAddress(validating: url) } catch { throw BindingError(error.message) }
        let binding: OCPPDeviceBinding
        do {
            binding = try OCPPDeviceBinding(
                devices: devices, catalog: catalog,
                configuration: .init(host: address.host, port: address.port, pathPrefix: address.pathPrefix,
                                     password: { device in secrets?.secret(for: device.id) ?? shared }, threads: ocppThreads))
        } catch {
            throw BindingError("--ocpp-csms: \(error.message)")
        }
        guard !binding.deviceIDs.isEmpty else {
            throw BindingError("--ocpp-csms: no device in this park has a model whose profile has an ocpp: section")
        }
        if let secrets, case let missing = secrets.missing(among: binding.deviceIDs), !missing.isEmpty {
            throw BindingError("\(secrets.source) has no secret for \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " and \(missing.count - 5) more" : "")")
        }
        return binding
    }

    /// Where the meters answer, for a person or a script waiting for these lines.
    private func printEndpoints(_ bindings: ParkSession.Bindings, _ addresses: ParkSession.EndpointAddresses) {
        if let modbus = bindings.modbus {
            for (index, endpoint) in modbus.endpoints.enumerated() {
                let behind = Array(addresses.modbus[(index * modbusUnits) ..< min(addresses.modbus.count, (index + 1) * modbusUnits)])
                print("modbus\(modbusRTU ? " rtu" : ""): \(endpoint.location) units 1–\(behind.count): \(behind.first?.device ?? "") … \(behind.last?.device ?? "")")
            }
        }
        if let dlt645 = bindings.dlt645 {
            for bus in dlt645.buses {
                let behind = addresses.dlt645.filter { $0.port == bus.port }
                print("dl/t 645: 127.0.0.1:\(bus.port) meters \(behind.first?.meter ?? "")–\(behind.last?.meter ?? ""): \(behind.first?.device ?? "") … \(behind.last?.device ?? "")")
            }
        }
        if let sipPlatform {
            for address in addresses.gb28181 {
                let channels = address.channels.count == 1 ? "channel \(address.channels[0])" : "\(address.channels.count) channels \(address.channels.first ?? "")…\(address.channels.last ?? "")"
                print("gb28181: \(address.device) = \(address.id) (\(channels)) from 127.0.0.1:\(address.port) to \(sipPlatform)")
            }
            if let media = bindings.gb28181?.configuration.media {
                let clip = media.sender.clip
                print("gb28181 video: \(sipVideo ?? "") (\(clip.frames.count) frames, \(clip.framesPerSecond) fps, f=\(media.format)) on INVITE, UDP from 127.0.0.1:\(media.sender.udpPort)")
            }
        }
        if let ocpp = bindings.ocpp, let ocppCSMS, let address = try? OCPPCSMSAddress(validating: ocppCSMS) {
            let count = ocpp.deviceIDs.count
            let auth = secretsFile != nil ? "basic auth, passwords from \(secretsFile ?? "")"
                : passwordEnv.map { "basic auth, one password from $\($0)" } ?? "no password"
            print("ocpp: \(count) charger\(count == 1 ? "" : "s") (\(ocpp.deviceIDs.prefix(3).joined(separator: ", "))\(count > 3 ? ", …" : "")) "
                  + "connect to \(address.display)<device id> (OCPP 1.6J, \(auth))")
        }
        if let push = bindings.httpPush, let httpPush {
            let count = push.deviceIDs.count
            print("http push: \(count) device\(count == 1 ? "" : "s") (\(push.deviceIDs.prefix(3).joined(separator: ", "))\(count > 3 ? ", …" : "")) POST their pushed events to \(httpPush)")
        }
        // A script waiting for the endpoint lines reads them now, not at exit, when stdout is a file or pipe.
        fflush(nil)
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

extension RunSummary {
    func printText(ocpp: OCPPSummary? = nil) {
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
        if let ocpp {
            print("ocpp: \(ocpp.booted) of \(ocpp.chargers) chargers booted, \(ocpp.connected) connected (\(ocpp.connectFailures) connects failed); "
                  + "\(ocpp.callsSent) calls sent, \(ocpp.answers) answered, \(ocpp.errors) errors, \(ocpp.timeouts) timeouts, "
                  + "\(ocpp.callsReceived) calls from the CSMS, \(ocpp.transactionMessagesLost) transaction messages lost, \(ocpp.queued) still queued")
        }
        if let ledgerFile { print("ledger written to \(ledgerFile)") }
    }
}

/// The `--ocpp-csms` URL taken apart: `ws://host[:port][/path-prefix]`.
struct OCPPCSMSAddress: Equatable {
    var host: String
    var port: Int
    /// Starts and ends with `/`; each charger's id follows it.
    var pathPrefix: String

    /// The URL as the chargers use it, before their ids.
    var display: String { "ws://\(host.contains(":") ? "[\(host)]" : host):\(port)\(pathPrefix)" }

    /// - Throws: a ``ValidationError`` saying what is expected (wss:// is refused: TLS is not built yet).
    init(validating text: String) throws(ValidationError) {
        let example = "e.g. ws://127.0.0.1:9000/ocpp (each charger connects to <path-prefix>/<device id>)"
        if text.lowercased().hasPrefix("wss://") {
            throw ValidationError("--ocpp-csms \(text): wss:// (TLS, OCPP security profile 2) is not built yet; use ws://host:port/path-prefix, "
                                  + "with basic auth (security profile 1) from --secrets-file or --password-env")
        }
        guard text.lowercased().hasPrefix("ws://"), let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw ValidationError("--ocpp-csms must be a ws://host:port/path-prefix URL, \(example); got '\(text)'")
        }
        if url.user != nil || url.password != nil {
            throw ValidationError("--ocpp-csms: give the chargers' passwords with --secrets-file or --password-env, not in the URL")
        }
        if url.query != nil || url.fragment != nil {
            throw ValidationError("--ocpp-csms takes no ?query or #fragment: ws://host:port/path-prefix, \(example)")
        }
        let port = url.port ?? 80
        guard (1 ... 65_535).contains(port) else { throw ValidationError("--ocpp-csms: port \(port) is not a TCP port (1–65535)") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        let path = url.percentEncodedPath
        self.pathPrefix = (path.hasPrefix("/") ? path : "/" + path) + (path.hasSuffix("/") ? "" : "/")
    }
}

/// The OCPP part of a run's summary (`--ocpp-csms`): the binding's figures summed over the chargers.
struct OCPPSummary: Codable, Sendable {
    var chargers: Int
    /// Chargers whose last BootNotification the CSMS accepted.
    var booted: Int
    /// Chargers with their WebSocket open at the end of the run.
    var connected: Int
    var connects: Int
    /// WebSocket connects that failed (refused, 401, no CSMS), retried with backoff.
    var connectFailures: Int
    var callsSent: Int
    /// CALLRESULTs to our calls.
    var answers: Int
    /// CALLERRORs to our calls.
    var errors: Int
    var timeouts: Int
    var callsReceived: Int
    var transactionMessagesLost: Int
    /// Messages still waiting to be sent when the run ended.
    var queued: Int

    init(_ figures: OCPPDeviceBinding.Figures, chargers: Int) {
        self.chargers = chargers
        booted = figures.booted
        connected = figures.connected
        connects = figures.connects
        connectFailures = figures.connectFailures
        callsSent = figures.session.callsSent
        answers = figures.session.resultsReceived
        errors = figures.session.errorsReceived
        timeouts = figures.session.timeouts
        callsReceived = figures.session.callsReceived
        transactionMessagesLost = figures.session.transactionMessagesLost
        queued = figures.queued
    }
}

/// `simulate --json`'s summary with an `ocpp` member beside the run's own.
/// The run's summary with what the protocols of their own did: the chargers' OCPP, the robots'
/// VDA 5050 (each key present only when the run had such devices).
struct SummaryWithProtocols: Encodable {
    var summary: RunSummary
    var ocpp: OCPPSummary?
    var vda5050: VDA5050Summary?

    private enum Keys: String, CodingKey { case ocpp, vda5050 }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(ocpp, forKey: .ocpp)
        try container.encodeIfPresent(vda5050, forKey: .vda5050)
    }
}

/// The robots' VDA 5050 figures for the summary.
struct VDA5050Summary: Encodable {
    var robots: Int
    var connected: Int
    var orders: Int
    var ordersRejected: Int
    var instantActions: Int
    var malformed: Int
    var states: Int
    var visualizations: Int

    init(_ figures: VDA5050RobotBinding.Figures, robots: Int) {
        self.robots = robots
        connected = figures.connected
        orders = figures.orders
        ordersRejected = figures.ordersRejected
        instantActions = figures.instantActions
        malformed = figures.malformed
        states = figures.states
        visualizations = figures.visualizations
    }

    var text: String {
        "vda5050: \(robots) robot\(robots == 1 ? "" : "s"), \(connected) connected, \(states) states, \(visualizations) visualizations, "
            + "\(orders) orders (\(ordersRejected) rejected), \(instantActions) instant actions, \(malformed) malformed"
    }
}

/// `--auth` choices.
enum MQTTAuthArgument: String, ExpressibleByArgument, CaseIterable {
    case none, password, token
    case aliyunHMAC = "aliyun-hmac"
    var scheme: MQTTAuthScheme { MQTTAuthScheme(rawValue: rawValue) ?? .none }
}

extension ShardSpec: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension BrokerAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
