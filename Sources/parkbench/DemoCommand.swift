import ArgumentParser
import Foundation
import ParkRuntime
import ParkBindings
import ParkBroker
import ParkCore
import ParkHarness
import ParkMQTT
import ParkPlatform
import Synchronization

/// `parkbench demo`: the whole product on one machine — an embedded mosquitto, the reference
/// platform, the demo park's virtual devices — running the core conformance suite, with fault
/// switches to watch checks fail for the right reason.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the core suite against an embedded mosquitto and the reference platform.",
        discussion: """
            Starts mosquitto on a free loopback port and the reference platform on it, then \
            runs the suite (default conformance/suites/park-core.yaml) exactly as \
            `parkbench test` would against any platform: the park's devices on MQTT, checks \
            timed from the ground-truth ledger to what the platform publishes northbound. \
            Prints progress, the verdict table and where the report is.

            --fault turns on a reference-platform fault switch so you can watch the matching \\
            check fail (exit 1, naming it):
              alarm-delay[=3s]          every alarm is held this long      → alarm latency checks
              drop-alarms               alarms are swallowed               → alarm latency checks
              value-scaling[=10]        values are multiplied on the way   → accuracy
              no-offline-detection      vanished devices stay online       → offline detection
              linkage-dropped           linkage rules never fire           → linkage, entrance chain
              linkage-delay[=2s]        linkage commands go out this late  → linkage, entrance chain
              whitelist-ignored         a rule's list never refuses: the barrier opens for any plate → stranger refused
              texts-mangled             shown texts lose everything outside ASCII (京A12345 → A12345) → plate recognition
              robot-errors-ignored      robots' errors raise nothing: no alarm, no return to charge → robot checks
              stale-order-updates       a robot's task is released with its first orderUpdateId again: ignored → robot task
              horizon-never-released    a robot's task never gets the rest of its way → robot task
              robot-view-sampled[=5s]   a robot's position is shown at most this often → robot view
              auth-disabled             the broker and the SIP server let anyone in → device and camera authentication
              commands-dropped          API commands are accepted, not sent → platform command, camera PTZ
              catalog-truncated         only an NVR's first catalog MESSAGE is kept → catalog completeness
              keepalives-ignored        a camera that stops keeping alive stays online → camera offline detection
              video-delay[=3s]          live video is INVITEd this much late → live video start
              rtp-loss[=50]             every 50th RTP packet of a stream is lost at the receiver → stream continuity
              ocpp-slow-responses[=3s]  the central system takes this long over each charger call → charger alarms
              ocpp-boots-rejected       every charger's BootNotification is Rejected → charger alarms
              stale-events-dropped[=5s] messages older than this on arrival are thrown away → failover loss
              duplicates-kept           a message delivered again is shown again (alarms twice) → failover duplicates
              clean-session             the platform keeps no session on the broker: what devices send before it reconnects is lost → broker restart
              slow-under-load[=100us]   each message costs this per 1,000 msg/s taken in (saturates near √(1000/cost) msg/s) → load thresholds, capacity
              standby-slow-takeover[=30s] the standby waits this long for the lapsed lease → primary killed
              standby-forgets-alarms    the standby forgets the alarms it held at takeover → primary killed
              split-brain               the standby never stands by: every alarm raised twice → primary killed, duplicates
              zombie-primary            a primary resumed after a pause goes on as the active → primary frozen, duplicates
              crash-after[=400]         the platform stops after N messages → whatever runs after
              gateway-word-swap         the gateway reads 32-bit registers in the wrong word order → meter accuracy
              gateway-slow-poll[=3s]    the gateway polls at this period, not every 1 s → meter polling period
              gateway-meter-limit[=16]  the gateway reads only the first N meters → meter capacity
              gateway-no-offline        the gateway never reports a silent meter   → meter offline

            The park's meters (models with a register map) answer on Modbus TCP, not MQTT, and \
            the reference gateway polls them every second and publishes their readings; the \
            meter checks hold those readings to what the meters answered.

            The park's cameras and NVRs register over GB/T 28181 to the platform's SIP server \
            (on a free UDP port, keepalive timeout 3 × 2 s), each with its own password; \
            `--suite conformance/suites/video.yaml` runs the camera checks (alarm-delay and \
            drop-alarms apply to camera alarms too). Asked for live video, the platform INVITEs a \
            camera to an RTP port of its receiver, and the camera streams \
            fixtures/media/clip.h264 (CIF H.264, 25 fps) as MPEG-PS over RTP.

            The park's EV chargers connect over OCPP 1.6J to the platform's central system (on \
            a free port, heartbeat 5 s), each with its own password; `--suite \
            conformance/suites/charging.yaml` (make demo SUITE=charging) runs the charger checks: \
            a ground fault and an over-temperature alarm under 2 s, a remote start through the \
            platform's API, offline detection.

            The park's car-park lanes, lobby and lifts are plugin kinds (plate cameras, \
            barriers, an access terminal, a door, lifts, a lift access controller) on MQTT; the \
            platform's linkage rules open a lane's barrier for a whitelisted plate, unlock the \
            lobby door and call the lifts on a grant, and free the lift access control and home \
            the lifts on a smoke alarm. `--suite conformance/suites/parking.yaml`, `access.yaml`, \
            `elevators.yaml` and `linkage.yaml` run their checks, each hop of a chain timed at \
            the devices; the parking suite's lane terminal has its traffic queue at rush hour.

            The park's two robots speak VDA 5050 on the same broker (uagv/v2/Acme/<id>/…); the \
            platform is their fleet manager's ear. `--suite conformance/suites/robots.yaml` (make \
            demo SUITE=robots) times a motor fault and a low battery to the alarm stream \
            (alarm-delay and drop-alarms apply to them too).

            `--suite conformance/suites/failover.yaml` (make demo SUITE=failover) breaks the \
            network between the devices and the broker on purpose: the devices connect through \
            the harness's fault proxy, which partitions zone A for 30 s, resets every \
            connection for 10 s and holds the platform's acknowledgements for 10 s, while \
            alarms go off; then it stops the demo's mosquitto (persistence on) for 10 s and \
            starts it again, pauses the platform's active node for 10 s (as SIGSTOP would), \
            and kills the active node. The checks measure loss, duplicates and recovery from \
            the ledger (stale-events-dropped, no-offline-detection, duplicates-kept, \
            clean-session, zombie-primary and the standby's switches fail them).

            Examples:
              parkbench demo
              parkbench demo --fault alarm-delay=3s
              make demo SUITE=failover FAULT=duplicates-kept
              make demo FAULT=drop-alarms
              parkbench demo --suite conformance/suites/video.yaml --fault catalog-truncated
              parkbench demo --suite conformance/suites/charging.yaml --fault ocpp-boots-rejected
            """)

    @Option(help: ArgumentHelp(
        "At least this many samples per latency check: each repeats its rounds until its devices have given that many (a p99 needs 100).",
        valueName: "n"))
    var samples: Int?

    @OptionGroup var options: GlobalOptions
    @OptionGroup var history: HistoryOption

    @Option(help: ArgumentHelp("The suite to run.", valueName: "file"))
    var suite: String = "conformance/suites/park-core.yaml"

    @Option(help: ArgumentHelp("The platform profile (its broker is replaced by the embedded one).", valueName: "file"))
    var platform: String = "conformance/platforms/reference.yaml"

    @Option(help: ArgumentHelp("The park (default: the suite's).", valueName: "file"))
    var park: String?

    @Option(help: ArgumentHelp("The reference platform's linkage rules.", valueName: "file"))
    var linkage: String = "conformance/platform/linkage.yaml"

    @Option(help: ArgumentHelp("The park's map for its robots: the fleet manager sends a robot low on battery to the nearest charger on it.", valueName: "file"))
    var robotMap: String = "fixtures/maps/park-a.yaml"

    @Option(help: ArgumentHelp("A reference-platform fault switch, NAME or NAME=VALUE (repeatable; see above).", valueName: "switch"))
    var fault: [FaultSwitch] = []

    @Option(help: ArgumentHelp("Run only these checks (by id; repeatable).", valueName: "id"))
    var check: [String] = []

    @Option(help: ArgumentHelp("The run folder (default: reports/<run id>).", valueName: "dir"))
    var out: String?

    /// The demo park's cameras keep alive every 2 s (their `keepalive_interval`), so the platform
    /// declares one offline after 6 s of silence rather than the standard's 3 minutes.
    static let cameraKeepalive: Duration = .seconds(2)
    /// What the demo's cameras stream on INVITE (relative to the repository, where demos run).
    static let videoClip = "fixtures/media/clip.h264"
    /// The heartbeat interval the demo's central system gives chargers (two missed: offline).
    static let chargerHeartbeat = 5

    @Flag(help: "Capture the broker's traffic with libpcap into run.pcap, with a slice per failed check (needs root or CAP_NET_RAW).")
    var capture = false

    func run() async throws {
        let workspace = Workspace.load(options)
        let run = ConformanceRun(
            suiteFile: suite, platformFile: platform, parkFile: park, brokerOverride: nil, outputDirectory: out, seed: nil,
            only: check, faults: fault.map(\.description), json: options.json, historyPath: history.history, capture: capture)
        var configuration = try run.load(workspace)
        if let samples {
            guard samples > 0 else {
                Output.error("error: --samples takes a whole number above 0, got \(samples)")
                throw ExitCode(ExitStatus.configurationError)
            }
            configuration.minimumSamples = samples
        }
        try await Self.runAgainstReferencePlatform(
            run, configuration: configuration, workspace: workspace, faultSwitches: fault, linkage: linkage, robotMap: robotMap, only: check,
            json: options.json)
    }

    /// Starts mosquitto and the reference platform (with `faultSwitches` on), runs `run` against
    /// them and stops them: what `demo` and `load` without a platform profile do.
    static func runAgainstReferencePlatform(
        _ run: ConformanceRun, configuration: HarnessRunner.Configuration, workspace: Workspace, faultSwitches fault: [FaultSwitch],
        linkage: String, robotMap: String = "fixtures/maps/park-a.yaml", only: [String], json: Bool
    ) async throws {
        var run = run
        var configuration = configuration
        var faults = PlatformFaults()
        var gatewayFaults = MeterGatewayFaults()
        var standbyFaults = StandbyFaults()
        for item in fault { item.apply(to: &faults, gateway: &gatewayFaults, standby: &standbyFaults) }
        let rules: [LinkageRule]
        do { rules = try LinkageRule.load(file: linkage) } catch {
            error.issues.forEach { Output.error($0.description) }
            throw ExitCode(ExitStatus.configurationError)
        }
        let map: ParkMap
        do throws(ProfileErrors) { map = try ParkMap.load(file: robotMap) } catch {
            error.issues.forEach { Output.error($0.description) }
            throw ExitCode(ExitStatus.configurationError)
        }

        // One secret per device (004 L754), made for this run and never printed; the broker
        // checks them with its own password file and ACL unless the auth-disabled switch is on.
        let authDisabled = fault.contains { $0.name == .authDisabled }
        var secrets: [String: String] = [:]
        for device in configuration.park.devices { secrets[device.id] = MosquittoAuth.randomSecret() }
        let platformLogin = MQTTCredentials(username: "parkbench-platform", password: MosquittoAuth.randomSecret())
        let harnessLogin = MQTTCredentials(username: "parkbench-harness", password: MosquittoAuth.randomSecret())
        let gatewayLogin = MQTTCredentials(username: "parkbench-gateway", password: MosquittoAuth.randomSecret())
        configuration.deviceSecrets = DeviceSecrets(secrets, source: "the demo's generated secrets")
        configuration.harnessCredentials = harnessLogin
        configuration.robotMapId = map.id

        let broker: MosquittoBroker
        do {
            let directory = try TemporaryDirectory()
            var options: [String] = []
            if !authDisabled {
                var users = secrets
                users[platformLogin.username] = platformLogin.password
                users[harnessLogin.username] = harnessLogin.password
                users[gatewayLogin.username] = gatewayLogin.password
                // The gateway publishes for its meters and takes their commands: platform-wide topics.
                options = try MosquittoAuth(users: users, platformUsers: [platformLogin.username, harnessLogin.username, gatewayLogin.username])
                    .write(into: directory)
            }
            // Persistence on, so a suite that restarts the broker finds the sessions it kept.
            options += MosquittoBroker.persistence(in: directory)
            broker = try MosquittoBroker(options: options, directory: directory)
        } catch {
            Output.error("error: cannot start mosquitto (\(MosquittoBroker.executable)): \(error); `make deps` installs it")
            throw ExitCode(ExitStatus.unreachable)
        }
        defer { broker.stop() }
        configuration.profile.broker.host = "127.0.0.1"
        configuration.profile.broker.port = broker.port
        configuration.brokerFaults = BrokerProcessFaults(
            stop: {
                broker.stop()
                return "the demo's mosquitto (SIGTERM: it saves its sessions)"
            },
            start: {
                try broker.start()
                return "the demo's mosquitto, on port \(broker.port), from its persistence file"
            })

        let alarmEvents = Set(workspace.kinds.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let store: PlatformStore
        do { store = try PlatformStore(path: broker.directory.path("platform.sqlite")) } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.unreachable)
        }
        let reference = ReferencePlatform(
            endpoints: .init(port: broker.port, credentials: platformLogin),
            configuration: PlatformConfiguration(alarmEvents: alarmEvents, heartbeatTimeout: .seconds(120), linkageRules: rules, robotMap: map),
            faults: faults, store: store)
        // A suite that kills or pauses the platform gets the pair: this node active, a hot standby beside it.
        let killsPlatform = configuration.suite.checks.contains { check in
            (check as? FailoverCheck)?.fault.hitsPlatformNode == true && (only.isEmpty || only.contains(check.common.id))
        }
        var standbyNode: ReferencePlatform?
        if killsPlatform {
            // The pair's switches go to both nodes: zombie-primary is the primary's to misbehave.
            reference.joinPair(StandbySettings(node: "primary", startsAsStandby: false), faults: standbyFaults)
            let node = ReferencePlatform(
                endpoints: .init(port: broker.port, credentials: platformLogin),
                configuration: PlatformConfiguration(alarmEvents: alarmEvents, heartbeatTimeout: .seconds(120), linkageRules: rules, robotMap: map),
                faults: faults)
            node.joinPair(StandbySettings(node: "standby", startsAsStandby: true), faults: standbyFaults)
            standbyNode = node
            // The faults hit whichever node is active then (after a pause the other may be).
            let nodes = [reference, node]
            @Sendable func active() -> (ReferencePlatform, String) {
                let index = nodes.firstIndex { $0.isActive && !$0.isCrashed && !$0.isFrozen } ?? 0
                return (nodes[index], index == 0 ? "primary" : "standby")
            }
            configuration.platformFaults = PlatformProcessFaults(
                kill: {
                    let (victim, name) = active()
                    victim.kill()
                    return "the demo's active reference platform (the \(name)), which stops taking messages and renewing its lease"
                },
                freeze: {
                    let (victim, name) = active()
                    victim.freeze()
                    return "the demo's active reference platform (the \(name)), which takes nothing in and runs no timer until resumed"
                },
                thaw: {
                    for frozen in nodes where frozen.isFrozen { frozen.thaw() }
                    return "the paused node, which takes in what waited for it"
                })
        }
        do {
            try reference.start()
            try standbyNode?.start()
        } catch {
            Output.error("error: cannot start the reference platform: \(error)")
            throw ExitCode(ExitStatus.unreachable)
        }
        defer {
            reference.stop()
            standbyNode?.stop()
        }
        if standbyNode != nil, !json {
            print("reference platform: a primary and a hot standby (lease on platform/lease, the standby takes over 3 s after it lapses)"
                  + (standbyFaults == StandbyFaults() ? "" : " with the standby's fault switches on"))
        }
        let apiPort: Int
        do {
            apiPort = try reference.startHTTP()
            // The profile names the platform's usual port; the embedded one has a free port.
            if var commands = configuration.profile.commands, let url = URLComponents(string: commands.url) {
                var rewritten = url
                rewritten.port = apiPort
                commands.url = (rewritten.string ?? commands.url).removingPercentEncoding ?? commands.url
                configuration.profile.commands = commands
            }
            // Devices whose model pushes its reads over HTTP push them to the embedded platform.
            if configuration.park.devices.contains(where: { workspace.catalog.model(named: $0.model)?.httpPush != nil }),
               let url = URL(string: "http://127.0.0.1:\(apiPort)/push") {
                configuration.profile.push = PushPlatform(url: url)
            }
        } catch {
            Output.error("error: cannot start the reference platform's REST API: \(error)")
            throw ExitCode(ExitStatus.unreachable)
        }
        // The park's cameras and NVRs register to the platform's SIP server with their own secrets:
        // the server knows them by 20-digit id, which the park's numbering gives. The profile's
        // video: section names the platform's id and domain, or the reference platform's defaults.
        let video = configuration.profile.video ?? VideoPlatform(host: "127.0.0.1", port: 0)
        do {
            let numbering = try GB28181DeviceBinding.ids(for: configuration.park.boundDevices, catalog: workspace.catalog, domain: video.domain)
            if !numbering.isEmpty {
                var passwords: [String: String] = [:]
                for (device, id) in numbering { passwords[id] = secrets[device] }
                let known = passwords
                let sipPort = try reference.startSIP(PlatformSIPOptions(
                    port: 0, platformID: video.id, domain: video.domain, keepaliveInterval: Self.cameraKeepalive,
                    passwords: { known[$0] }))
                var served = VideoPlatform(host: "127.0.0.1", port: Int(sipPort), id: video.id, domain: video.domain)
                served.play = .init(method: "POST", url: "http://127.0.0.1:\(apiPort)/devices/{device}/video", body: #"{"channel": "{channel}"}"#)
                served.stop = .init(method: "DELETE", url: "http://127.0.0.1:\(apiPort)/devices/{device}/video", body: "")
                configuration.profile.video = served
                configuration.videoClip = Self.videoClip
                if !json { print("reference platform: GB/T 28181 SIP server \(video.id) on udp://127.0.0.1:\(sipPort), \(numbering.count) cameras and NVRs") }
            }
        } catch {
            Output.error("error: cannot start the reference platform's SIP server: \(error)")
            throw ExitCode(ExitStatus.unreachable)
        }
        // The park's EV chargers connect to the platform's central system, each with its own secret.
        if configuration.park.devices.contains(where: { workspace.catalog.model(named: $0.model)?.ocpp != nil }) {
            do {
                let known = secrets
                let ocppPort = try reference.startOCPP(PlatformOCPPOptions(
                    port: 0, heartbeatInterval: Self.chargerHeartbeat, passwords: { known[$0] }, requirePasswords: true))
                configuration.profile.ocpp = OCPPPlatform(host: "127.0.0.1", port: ocppPort)
                if !json { print("reference platform: OCPP 1.6J central system on ws://127.0.0.1:\(ocppPort)/ocpp") }
            } catch {
                Output.error("error: cannot start the reference platform's OCPP central system: \(error)")
                throw ExitCode(ExitStatus.unreachable)
            }
        }
        for _ in 0..<400 where !reference.isConnected { try? await Task.sleep(nanoseconds: 25_000_000) }
        guard reference.isConnected else {
            Output.error("error: the reference platform could not subscribe at 127.0.0.1:\(broker.port) within 10 s")
            throw ExitCode(ExitStatus.unreachable)
        }
        // The park's meters answer on free ports; the gateway starts once they do, and polls them.
        let gateway = GatewayHolder()
        defer { gateway.stop() }
        if configuration.profile.meters != nil {
            configuration.profile.meters?.modbus = .init(host: "127.0.0.1", port: 0)
            configuration.profile.meters?.dlt645 = .init(host: "127.0.0.1", port: 0)
            let park = configuration.park, catalog = workspace.catalog, brokerPort = broker.port
            let gatewayFaults = gatewayFaults
            configuration.devicesUp = { addresses in
                guard !addresses.isEmpty else { return }
                let meters = try DemoGateway.meters(addresses, park: park, catalog: catalog)
                var settings = MeterGateway.Configuration(name: "gw-demo", period: .seconds(1), brokerHost: "127.0.0.1", brokerPort: brokerPort,
                                                          credentials: authDisabled ? nil : gatewayLogin)
                settings.faults = gatewayFaults
                // Store and forward, as a gateway in a park should: what the broker cannot take waits on disk.
                settings.spool = GatewaySpoolSettings(directory: broker.directory.path("gateway-spool"))
                let started = try MeterGateway(meters: meters, configuration: settings)
                started.start()
                gateway.set(started)
                if !json { print("reference gateway gw-demo: polling \(meters.count) meters every 1s, publishing their readings") }
            }
        }
        if !json {
            print("mosquitto on 127.0.0.1:\(broker.port) (\(authDisabled ? "anyone may log in" : "password file + ACL, one secret per device"));"
                  + " reference platform subscribed to park/#"
                  + (fault.isEmpty ? "" : " with fault switches: \(fault.map(\.description).joined(separator: ", "))"))
        }
        run.notes.append("broker: the embedded mosquitto \(MosquittoBroker.executable) runs with \(broker.tuning.joined(separator: ", ")); "
                         + "a mosquitto left at its defaults can add up to ~40 ms at p99 to every latency (Nagle's algorithm and delayed ACKs)")
        let status = try await run.run(configuration)
        gateway.stop()
        store.flush()
        if !json, let rows = try? store.counts() {
            print("reference platform database: " + rows.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
        if let standbyNode, !json {
            let tookOver = standbyNode.tookOverAt != nil ? "took over" : "never took over"
            print("reference platform: the primary was \(reference.isCrashed ? "killed" : "not killed") and ignored \(reference.messagesIgnoredAfterCrash) messages since; the standby \(tookOver)")
        } else if reference.isCrashed, !json {
            print("reference platform: crashed on purpose (fault switch) and ignored \(reference.messagesIgnoredAfterCrash) messages since")
        }
        if status != 0 { throw ExitCode(status) }
    
    }
}

/// One `--fault` switch of the reference platform.
struct FaultSwitch: ExpressibleByArgument, CustomStringConvertible {
    enum Name: String, CaseIterable {
        case alarmDelay = "alarm-delay", dropAlarms = "drop-alarms", valueScaling = "value-scaling"
        case noOfflineDetection = "no-offline-detection", crashAfter = "crash-after", linkageDropped = "linkage-dropped"
        case linkageDelay = "linkage-delay", whitelistIgnored = "whitelist-ignored", textsMangled = "texts-mangled"
        case robotErrorsIgnored = "robot-errors-ignored", staleOrderUpdates = "stale-order-updates", horizonNeverReleased = "horizon-never-released"
        case robotViewSampled = "robot-view-sampled"
        case authDisabled = "auth-disabled", commandsDropped = "commands-dropped"
        case catalogTruncated = "catalog-truncated", keepalivesIgnored = "keepalives-ignored"
        case videoDelay = "video-delay", rtpLoss = "rtp-loss"
        case ocppSlowResponses = "ocpp-slow-responses", ocppBootsRejected = "ocpp-boots-rejected"
        case staleEventsDropped = "stale-events-dropped", duplicatesKept = "duplicates-kept", slowUnderLoad = "slow-under-load"
        case cleanSession = "clean-session"
        case standbySlowTakeover = "standby-slow-takeover", standbyForgetsAlarms = "standby-forgets-alarms", splitBrain = "split-brain"
        case zombiePrimary = "zombie-primary"
        case gatewayWordSwap = "gateway-word-swap", gatewaySlowPoll = "gateway-slow-poll", gatewayMeterLimit = "gateway-meter-limit"
        case gatewayNoOffline = "gateway-no-offline"
    }

    var name: Name
    var value: String?

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard let first = parts.first, let name = Name(rawValue: first) else { return nil }
        self.name = name
        value = parts.count == 2 ? parts[1] : nil
        switch name {
        case .alarmDelay, .gatewaySlowPoll, .videoDelay, .staleEventsDropped, .standbySlowTakeover, .slowUnderLoad, .ocppSlowResponses, .linkageDelay,
             .robotViewSampled: if let value, DeviceDuration(parsing: value).map({ $0 > .zero }) != true { return nil }
        case .valueScaling: if let value, Double(value) == nil { return nil }
        case .crashAfter, .gatewayMeterLimit: if let value, Int(value).map({ $0 > 0 }) != true { return nil }
        case .rtpLoss: if let value, Int(value).map({ $0 > 1 }) != true { return nil }
        case .dropAlarms, .noOfflineDetection, .linkageDropped, .authDisabled, .commandsDropped, .gatewayWordSwap, .gatewayNoOffline,
             .catalogTruncated, .keepalivesIgnored, .duplicatesKept, .cleanSession, .zombiePrimary, .standbyForgetsAlarms, .splitBrain, .ocppBootsRejected, .whitelistIgnored, .textsMangled, .robotErrorsIgnored,
             .staleOrderUpdates, .horizonNeverReleased:
            if value != nil { return nil }
        }
    }

    static var allValueStrings: [String] { Name.allCases.map(\.rawValue) }

    var description: String {
        switch name {
        case .alarmDelay: "alarm-delay=\(value ?? "3s")"
        case .valueScaling: "value-scaling=\(value ?? "10")"
        case .crashAfter: "crash-after=\(value ?? "400")"
        case .gatewaySlowPoll: "gateway-slow-poll=\(value ?? "3s")"
        case .gatewayMeterLimit: "gateway-meter-limit=\(value ?? "16")"
        case .videoDelay: "video-delay=\(value ?? "3s")"
        case .linkageDelay: "linkage-delay=\(value ?? "2s")"
        case .ocppSlowResponses: "ocpp-slow-responses=\(value ?? "3s")"
        case .rtpLoss: "rtp-loss=\(value ?? "50")"
        case .staleEventsDropped: "stale-events-dropped=\(value ?? "5s")"
        case .slowUnderLoad: "slow-under-load=\(value ?? "100us")"
        case .standbySlowTakeover: "standby-slow-takeover=\(value ?? "30s")"
        case .robotViewSampled: "robot-view-sampled=\(value ?? "5s")"
        case .dropAlarms, .noOfflineDetection, .linkageDropped, .authDisabled, .commandsDropped, .gatewayWordSwap, .gatewayNoOffline,
             .catalogTruncated, .keepalivesIgnored, .duplicatesKept, .cleanSession, .zombiePrimary, .standbyForgetsAlarms, .splitBrain, .ocppBootsRejected, .whitelistIgnored, .textsMangled, .robotErrorsIgnored,
             .staleOrderUpdates, .horizonNeverReleased:
            name.rawValue
        }
    }

    func apply(to faults: inout PlatformFaults, gateway: inout MeterGatewayFaults, standby: inout StandbyFaults) {
        switch name {
        case .alarmDelay:
            let delay = DeviceDuration(parsing: value ?? "3s") ?? .seconds(3)
            faults.alarmDelay = .nanoseconds(Int64(delay.nanoseconds))
        case .dropAlarms: faults.dropAlarms = true
        case .valueScaling: faults.valueScaling = Double(value ?? "10") ?? 10
        case .noOfflineDetection: faults.offlineDetectionDisabled = true
        case .crashAfter: faults.crashAfterMessages = Int(value ?? "400") ?? 400
        case .linkageDropped: faults.linkageDropped = true
        case .linkageDelay: faults.linkageDelay = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "2s") ?? .seconds(2)).nanoseconds))
        case .whitelistIgnored: faults.linkageListsIgnored = true
        case .textsMangled: faults.textsMangled = true
        case .robotErrorsIgnored: faults.robotErrorsIgnored = true
        case .staleOrderUpdates: faults.robotUpdatesStale = true
        case .horizonNeverReleased: faults.robotHorizonKept = true
        case .robotViewSampled: faults.robotViewInterval = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "5s") ?? .seconds(5)).nanoseconds))
        case .commandsDropped: faults.commandsDropped = true
        case .catalogTruncated: faults.catalogTruncated = true
        case .keepalivesIgnored: faults.keepalivesIgnored = true
        case .videoDelay: faults.videoDelay = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "3s") ?? .seconds(3)).nanoseconds))
        case .rtpLoss: faults.rtpLossOneIn = Int(value ?? "50") ?? 50
        case .ocppSlowResponses: faults.ocppSlowResponses = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "3s") ?? .seconds(3)).nanoseconds))
        case .ocppBootsRejected: faults.ocppBootsRejected = true
        case .staleEventsDropped: faults.staleAfter = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "5s") ?? .seconds(5)).nanoseconds))
        case .duplicatesKept: faults.duplicatesKept = true
        case .cleanSession: faults.cleanSession = true
        case .slowUnderLoad: faults.slowUnderLoad = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "100us") ?? .microseconds(100)).nanoseconds))
        case .standbySlowTakeover: standby.slowTakeover = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "30s") ?? .seconds(30)).nanoseconds))
        case .standbyForgetsAlarms: standby.forgetsHeldAlarms = true
        case .zombiePrimary: standby.zombiePrimary = true
        case .splitBrain: standby.splitBrain = true
        case .gatewayWordSwap: gateway.wordSwap = true
        case .gatewaySlowPoll: gateway.period = .nanoseconds(Int64((DeviceDuration(parsing: value ?? "3s") ?? .seconds(3)).nanoseconds))
        case .gatewayMeterLimit: gateway.meterLimit = Int(value ?? "16") ?? 16
        case .gatewayNoOffline: gateway.offlineReportsDropped = true
        // The broker's half is applied where the broker is started; the SIP server's is here.
        case .authDisabled: faults.sipPasswordsUnchecked = true
        }
    }
}

/// The demo's reference gateway, started from the harness's devices-up callback and stopped by the demo.
final class GatewayHolder: Sendable {
    private let gateway = Mutex<MeterGateway?>(nil)

    func set(_ started: MeterGateway) { gateway.withLock { $0 = started } }

    func stop() { gateway.withLock { $0?.stop(); $0 = nil } }
}

enum DemoGateway {
    /// The gateway's meter list: where the harness serves each meter, with its model's map.
    static func meters(_ addresses: GatewayMeterAddresses, park: ParkFile, catalog: ModelCatalog) throws -> [MeterGateway.Meter] {
        let devices = Dictionary(park.devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let modbus = try addresses.modbus.map { address in
            guard let device = devices[address.device], let map = catalog.model(named: device.model)?.modbus else {
                throw ValidationError("meter \(address.device) has no register map")
            }
            return MeterGateway.Meter(id: device.id, kind: device.kind, zone: device.placement.zone, host: "127.0.0.1",
                                      port: address.port, unit: address.unit, map: map)
        }
        return modbus + addresses.dlt645.map { address in
            MeterGateway.Meter(id: address.device, kind: devices[address.device]?.kind ?? "electric-meter", zone: devices[address.device]?.placement.zone,
                               host: "127.0.0.1", port: address.port, link: .dlt645(meter: address.meter))
        }
    }
}
