import ArgumentParser
import Foundation
import ParkBindings
import ParkRuntime
import ParkCore
import ParkPlatform
import Synchronization

/// `parkbench platform serve`: the reference platform, as a system under test of its own.
struct PlatformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform",
        abstract: "Run the ParkBench reference platform.",
        subcommands: [Serve.self, GatewayCommand.self],
        defaultSubcommand: Serve.self)

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listen to device traffic on a broker; raise alarms and status changes northbound.",
            discussion: """
                Subscribes to park/# and publishes alarms on platform/alarms, status changes \
                (online / abnormal / offline) on platform/status and the values it holds on \
                platform/telemetry. --http-port serves GET /alarms, /devices, /devices/{id}, \
                /commands/{id}, /statistics and POST /devices/{id}/commands; the listings come \
                in pages (limit=N, default 1000, at most 10000; a Link header gives the next \
                page); --webhook POSTs each alarm. \
                --linkage runs linkage rules (an event at one device → a \
                command to others, on their park/…/cmd topic). Fault switches make it wrong \
                on purpose, so a harness can prove its checks fail when they should.

                A device message over --max-payload-bytes, or with more than --max-values \
                values, is refused unread, counted and logged (one line per kind every 10 s, \
                naming topic, device and size, never the payload); a value that is not a \
                finite number (1e400) is left out and the rest of the message kept.

                --sip-port serves GB/T 28181 cameras as the platform's SIP server (UDP): digest \
                registration with one password per device (--sip-secrets-file, or one shared \
                password in --sip-password-env), a Catalog query after registration, offline \
                after 3 keepalive intervals of silence; camera alarms go out on platform/alarms \
                like any device's (so --alarm-delay, --drop-alarms and linkage apply). With \
                --http-port, POST /devices/{id}/video INVITEs a camera for live video to the \
                platform's RTP receiver, which judges the stream (loss, jitter, whole PS frames) \
                and reports it on platform/video; DELETE /devices/{id}/video ends it with BYE; \
                GET /video lists the sessions.

                --ocpp-port serves EV chargers as an OCPP 1.6J central system (WebSocket, \
                subprotocol ocpp1.6, ws://host:port/<anything>/<charger id>): BootNotification \
                accepted with --ocpp-heartbeat as the interval, basic-auth passwords per charger \
                from --ocpp-secrets-file or one shared in --ocpp-password-env (without either, \
                chargers connect with no password), Authorize and StartTransaction accepted but \
                for --ocpp-blocked-tag, sessions billed from meterStop − meterStart, meter \
                values on platform/telemetry, a Faulted connector an alarm on platform/alarms \
                (ground-fault, over-temperature, connector-lock-failure, charger-fault), offline \
                when the WebSocket closes or after two heartbeats of silence. POST \
                /devices/{id}/commands takes remote-start (id_tag, connector), remote-stop \
                (transaction or connector), reset, change-availability, unlock-connector, \
                set-charging-limit (limit_w), clear-charging-limit and trigger; the charger's \
                answer acknowledges the command. Fault switches: --ocpp-slow-responses D, \
                --ocpp-boots-rejected (and --drop-commands, --alarm-delay, --drop-alarms).

                --node NAME joins an active/standby pair: the active node renews a lease \
                (retained, on platform/lease) every second; a node started with --standby takes \
                every device message too but says nothing northbound, holding each alarm until \
                it sees the active raise it, and takes over once the lease has lapsed for \
                --takeover-after (3 s), raising the alarms the active never did. Its fault \
                switches: --standby-slow-takeover D, --standby-forgets-alarms, --split-brain.

                Example:
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --alarm-delay 3s
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --sip-port 5060 --sip-secrets-file cameras.secrets
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --ocpp-port 9000 --ocpp-secrets-file chargers.secrets
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --node a
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --node b --standby
                """)

        @Option(help: ArgumentHelp("This node's name in an active/standby pair (see above).", valueName: "name"))
        var node: String?

        @Flag(help: "With --node: start as the standby, taking over when the active's lease lapses.")
        var standby = false

        @Option(help: ArgumentHelp("With --node: how long the lease may lapse before the standby takes over (at least 2s; the active stands down when its own lapses that long).", valueName: "duration"))
        var takeoverAfter: DeviceDuration = .seconds(3)

        @Option(help: ArgumentHelp("Fault (standby): wait this long for the lapsed lease instead of --takeover-after.", valueName: "duration"))
        var standbySlowTakeover: DeviceDuration?

        @Flag(help: "Fault (standby): forget the alarms held for the active at takeover.")
        var standbyForgetsAlarms = false

        @Flag(help: "Fault (standby): never stand by — both nodes active, every alarm raised twice.")
        var splitBrain = false

        @Flag(help: "Fault (active): never fence itself — resumed after a pause longer than its lease (kill -STOP, docker pause), or hearing another node's lease, it goes on as the active.")
        var zombiePrimary = false

        @Option(help: ArgumentHelp("The MQTT broker the devices use.", valueName: "mqtt://host:port"))
        var broker: BrokerAddress

        @Option(help: ArgumentHelp("Stop after this long; without it, run until interrupted.", valueName: "duration"))
        var duration: DeviceDuration?

        @Option(help: ArgumentHelp("A device silent for longer than this is offline.", valueName: "duration"))
        var heartbeatTimeout: DeviceDuration = .seconds(90)

        @Option(help: ArgumentHelp("Fault: hold every alarm this long before raising it.", valueName: "duration"))
        var alarmDelay: DeviceDuration = .zero

        @Flag(help: "Fault: swallow every alarm.")
        var dropAlarms = false

        @Option(help: "Fault: multiply reported values by this factor (1 is correct).")
        var valueScaling: Double = 1

        @Flag(help: "Fault: never mark silent devices offline.")
        var noOfflineDetection = false

        @Option(help: ArgumentHelp("Fault: stop working (and exit 70) after this many device messages.", valueName: "n"))
        var crashAfter: Int?

        @Option(help: ArgumentHelp("Fault: throw away telemetry and events whose device timestamp is older than this on arrival (all a device buffered through an outage).", valueName: "duration"))
        var staleEventsDropped: DeviceDuration?

        @Option(help: ArgumentHelp(
            "Fault: each message costs this much processing time per 1,000 messages a second taken in, so the platform saturates near √(1000/cost) messages a second (a load test's knee).",
            valueName: "duration"))
        var slowUnderLoad: DeviceDuration?

        @Flag(help: "Fault: show a message delivered again (same msg_id, QoS 1 after a reconnect) again — alarms twice.")
        var duplicatesKept = false

        @Flag(help: "Fault: connect with a clean session instead of keeping it on the broker, so after a broker restart what devices send before the platform has subscribed again is lost.")
        var cleanSession = false

        @Option(help: ArgumentHelp("Linkage rules to run (see conformance/platform/linkage.yaml).", valueName: "file"))
        var linkage: String?

        @Flag(help: "Fault: linkage rules never fire.")
        var dropLinkage = false

        @Option(help: ArgumentHelp("Fault: linkage commands go out this long after the event that fired them, e.g. 2s.", valueName: "duration"))
        var linkageDelay: DeviceDuration?

        @Flag(help: "Fault: rules' list conditions always hold (the barrier opens for any plate, whitelisted or not).")
        var whitelistIgnored = false

        @Flag(help: "Fault: the texts shown on platform/records lose everything outside ASCII (a plate's province character).")
        var textsMangled = false

        @Flag(help: "Fault: commands asked for through the REST API are accepted and never sent.")
        var dropCommands = false

        @Option(help: ArgumentHelp("The park's map for its robots (fixtures/maps/park-a.yaml): a robot low on battery is sent to the nearest charger on it, and POST /devices/{robot}/commands with goto {node: …} sends it to a node.", valueName: "file"))
        var robotMap: String?

        @Flag(help: "Fault: robots' errors raise nothing — no alarm, no return to charge.")
        var robotErrorsIgnored = false

        @Flag(help: "Fault: the update that releases the rest of a robot's task repeats the order's first orderUpdateId (the robot ignores it).")
        var staleOrderUpdates = false

        @Flag(help: "Fault: the rest of a robot's task (its horizon) is never released.")
        var horizonNeverReleased = false

        @Option(help: ArgumentHelp("Fault: a robot's position is shown at most this often, e.g. 5s.", valueName: "duration"))
        var robotViewSampled: DeviceDuration?

        @Option(help: ArgumentHelp("Serve the REST API on this port (0: a free one; printed).", valueName: "port"))
        var httpPort: Int?

        @Option(help: ArgumentHelp("Keep device messages, status changes, alarms and commands in this SQLite file (default: in memory).", valueName: "file"))
        var database: String = ":memory:"

        @Option(help: ArgumentHelp("Refuse device messages larger than this many bytes, before reading them.", valueName: "bytes"))
        var maxPayloadBytes: Int = PlatformLimits.defaultMaxPayloadBytes

        @Option(help: ArgumentHelp(
            "Refuse device messages with more values than this; a device keeps at most this many latest values.", valueName: "n"))
        var maxValues: Int = PlatformLimits.defaultMaxValues

        @Option(help: ArgumentHelp("POST every alarm to this URL.", valueName: "url"))
        var webhook: String?

        @Option(help: ArgumentHelp("Environment variable holding the webhook's shared secret (sent as X-ParkBench-Secret).", valueName: "name"))
        var webhookSecretEnv: String?

        @Option(help: ArgumentHelp("Serve GB/T 28181 cameras on this UDP port (0: a free one; printed).", valueName: "port"))
        var sipPort: Int?

        @Option(help: ArgumentHelp(
            "The IPv4 address to serve SIP on: one cameras can reach, since it is also what the platform's requests name as their Via.",
            valueName: "address"))
        var sipHost = "127.0.0.1"

        @Option(help: ArgumentHelp("The platform's 20-digit GB/T 28181 SIP id.", valueName: "id"))
        var sipID = "34020000002000000001"

        @Option(help: ArgumentHelp("The SIP domain, also the digest realm (10 digits).", valueName: "domain"))
        var sipDomain = "3402000000"

        @Option(help: ArgumentHelp("The cameras' keepalive interval; 3 intervals of silence mean offline.", valueName: "duration"))
        var sipKeepalive: DeviceDuration = .seconds(60)

        @Option(help: ArgumentHelp("File of camera passwords, one 'device-id=password' per line (never printed).", valueName: "file"))
        var sipSecretsFile: String?

        @Option(help: ArgumentHelp("Environment variable holding one password shared by every camera.", valueName: "name"))
        var sipPasswordEnv: String?

        @Flag(help: "Fault: keep only the first MESSAGE of a camera's split Catalog response (the catalog never completes).")
        var catalogTruncated = false

        @Flag(help: "Fault: answer camera keepalives without timing them (a camera that stops stays online).")
        var keepalivesIgnored = false

        @Option(help: ArgumentHelp("Fault: send a live-video INVITE this long after it was asked for, e.g. 3s.", valueName: "duration"))
        var videoDelay: DeviceDuration?

        @Option(help: ArgumentHelp("Fault: throw away RTP packet N, 2N, … of every live stream on arrival (N ≥ 2).", valueName: "n"))
        var rtpLoss: Int?

        @Option(help: ArgumentHelp("Serve EV chargers as an OCPP 1.6J central system on this TCP port (0: a free one; printed).", valueName: "port"))
        var ocppPort: Int?

        @Option(help: ArgumentHelp("The address to serve OCPP on.", valueName: "address"))
        var ocppHost = "127.0.0.1"

        @Option(help: ArgumentHelp("The heartbeat interval BootNotification gives chargers; two missed mean offline.", valueName: "duration"))
        var ocppHeartbeat: DeviceDuration = .seconds(60)

        @Option(help: ArgumentHelp("File of charger passwords, one 'charger-id=password' per line (never printed); others are refused.", valueName: "file"))
        var ocppSecretsFile: String?

        @Option(help: ArgumentHelp("Environment variable holding one password shared by every charger.", valueName: "name"))
        var ocppPasswordEnv: String?

        @Option(help: ArgumentHelp("An idTag Authorize and StartTransaction answer Blocked (repeatable).", valueName: "tag"))
        var ocppBlockedTag: [String] = []

        @Option(help: ArgumentHelp("Fault: every answer to a charger leaves this long after its call, e.g. 5s.", valueName: "duration"))
        var ocppSlowResponses: DeviceDuration?

        @Flag(help: "Fault: every BootNotification is answered Rejected (no charger is ever accepted).")
        var ocppBootsRejected = false

        func validate() throws {
            // The active renews every second; a takeover period that close would have it fence
            // itself between renewals.
            if takeoverAfter < .seconds(2) {
                throw ValidationError("--takeover-after must be at least 2s (the lease is renewed every second), got \(takeoverAfter).")
            }
            if let ocppPort {
                guard (0...65_535).contains(ocppPort) else { throw ValidationError("--ocpp-port must be 0–65535, got \(ocppPort).") }
                guard ocppSecretsFile == nil || ocppPasswordEnv == nil else {
                    throw ValidationError("--ocpp-port takes charger passwords from one of --ocpp-secrets-file or --ocpp-password-env, not both.")
                }
                if let ocppPasswordEnv, ProcessInfo.processInfo.environment[ocppPasswordEnv] == nil {
                    throw ValidationError("--ocpp-password-env \(ocppPasswordEnv): no such environment variable is set")
                }
                guard ocppHeartbeat.seconds >= 1 else { throw ValidationError("--ocpp-heartbeat must be at least 1s.") }
            } else if ocppSecretsFile != nil || ocppPasswordEnv != nil || !ocppBlockedTag.isEmpty || ocppSlowResponses != nil || ocppBootsRejected {
                throw ValidationError(
                    "--ocpp-secrets-file, --ocpp-password-env, --ocpp-blocked-tag, --ocpp-slow-responses and --ocpp-boots-rejected need --ocpp-port.")
            }
            if let sipPort {
                guard (0...65_535).contains(sipPort) else { throw ValidationError("--sip-port must be 0–65535, got \(sipPort).") }
                guard (sipSecretsFile == nil) != (sipPasswordEnv == nil) else {
                    throw ValidationError("--sip-port needs camera passwords: exactly one of --sip-secrets-file or --sip-password-env.")
                }
                if let sipPasswordEnv, ProcessInfo.processInfo.environment[sipPasswordEnv] == nil {
                    throw ValidationError("--sip-password-env \(sipPasswordEnv): no such environment variable is set")
                }
            } else if sipSecretsFile != nil || sipPasswordEnv != nil || catalogTruncated || keepalivesIgnored || videoDelay != nil || rtpLoss != nil {
                throw ValidationError(
                    "--sip-secrets-file, --sip-password-env, --catalog-truncated, --keepalives-ignored, --video-delay and --rtp-loss need --sip-port.")
            }
            if let rtpLoss, rtpLoss < 2 { throw ValidationError("--rtp-loss must be 2 or more (one packet in N), got \(rtpLoss).") }
            let octets = sipHost.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ $0.count <= 3 && UInt8($0) != nil }), sipHost != "0.0.0.0" else {
                throw ValidationError("--sip-host must be an IPv4 address cameras can reach (not 0.0.0.0), got \(sipHost.prefix(40).debugDescription).")
            }
            guard sipID.utf8.count == 20, sipID.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw ValidationError("--sip-id must be 20 digits, got \(sipID.prefix(40).debugDescription).")
            }
            guard sipDomain.utf8.count == 10, sipDomain.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw ValidationError("--sip-domain must be 10 digits, got \(sipDomain.prefix(40).debugDescription).")
            }
            guard sipKeepalive.nanoseconds > 0 else { throw ValidationError("--sip-keepalive must be longer than 0.") }
            guard maxPayloadBytes > 0 else { throw ValidationError("--max-payload-bytes must be at least 1, got \(maxPayloadBytes).") }
            guard maxValues > 0 else { throw ValidationError("--max-values must be at least 1, got \(maxValues).") }
        }

        func run() async throws {
            var faults = PlatformFaults(
                alarmDelay: .nanoseconds(Int64(alarmDelay.nanoseconds)), dropAlarms: dropAlarms, valueScaling: valueScaling,
                offlineDetectionDisabled: noOfflineDetection, crashAfterMessages: crashAfter, linkageDropped: dropLinkage,
                commandsDropped: dropCommands, catalogTruncated: catalogTruncated, keepalivesIgnored: keepalivesIgnored)
            faults.videoDelay = .nanoseconds(Int64(videoDelay?.nanoseconds ?? 0))
            faults.rtpLossOneIn = rtpLoss ?? 0
            faults.staleAfter = staleEventsDropped.map { .nanoseconds(Int64($0.nanoseconds)) }
            faults.slowUnderLoad = slowUnderLoad.map { .nanoseconds(Int64($0.nanoseconds)) }
            faults.duplicatesKept = duplicatesKept
            faults.cleanSession = cleanSession
            faults.linkageDelay = .nanoseconds(Int64(linkageDelay?.nanoseconds ?? 0))
            faults.linkageListsIgnored = whitelistIgnored
            faults.textsMangled = textsMangled
            faults.robotErrorsIgnored = robotErrorsIgnored
            faults.robotUpdatesStale = staleOrderUpdates
            faults.robotHorizonKept = horizonNeverReleased
            faults.robotViewInterval = robotViewSampled.map { .nanoseconds(Int64($0.nanoseconds)) }
            faults.ocppSlowResponses = .nanoseconds(Int64(ocppSlowResponses?.nanoseconds ?? 0))
            faults.ocppBootsRejected = ocppBootsRejected
            let store: PlatformStore
            do { store = try PlatformStore(path: database) } catch {
                Output.error("error: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
            var hook: PlatformWebhook?
            if let webhook {
                do { hook = try PlatformWebhook(url: webhook, secretEnvironment: webhookSecretEnv) } catch {
                    Output.error("error: \(error)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            var map: ParkMap?
            if let robotMap {
                do throws(ProfileErrors) { map = try ParkMap.load(file: robotMap) } catch {
                    error.issues.forEach { Output.error($0.description) }
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            var rules: [LinkageRule] = []
            if let linkage {
                do { rules = try LinkageRule.load(file: linkage) } catch {
                    error.issues.forEach { Output.error($0.description) }
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            let platform = ReferencePlatform(
                endpoints: .init(host: broker.host, port: broker.port),
                configuration: PlatformConfiguration(
                    heartbeatTimeout: .seconds(Int64(heartbeatTimeout.seconds)), linkageRules: rules,
                    limits: PlatformLimits(maxPayloadBytes: maxPayloadBytes, maxValues: maxValues), robotMap: map),
                faults: faults, webhook: hook, store: store)
            if let node {
                platform.joinPair(
                    StandbySettings(node: node, startsAsStandby: standby, takeoverAfter: .nanoseconds(Int64(takeoverAfter.nanoseconds))),
                    faults: StandbyFaults(
                        slowTakeover: standbySlowTakeover.map { .nanoseconds(Int64($0.nanoseconds)) }, forgetsHeldAlarms: standbyForgetsAlarms,
                        splitBrain: splitBrain, zombiePrimary: zombiePrimary))
            } else if standby || standbySlowTakeover != nil || standbyForgetsAlarms || splitBrain || zombiePrimary {
                Output.error("error: --standby and the standby's fault switches need --node NAME")
                throw ExitCode(ExitStatus.configurationError)
            }
            do { try platform.start() } catch {
                Output.error("error: cannot start the platform: \(error)")
                throw ExitCode(ExitStatus.configurationError)
            }
            let deadline = SystemClockSeconds.now() + (duration?.seconds ?? 10_000_000)
            var waited = 0.0
            while !platform.isConnected, waited < 10 {
                try? await Task.sleep(nanoseconds: 50_000_000)
                waited += 0.05
            }
            guard platform.isConnected else {
                platform.stop()
                Output.error("error: the platform could not subscribe at \(broker); is the broker running?")
                throw ExitCode(ExitStatus.unreachable)
            }
            print("platform listening on \(broker) (park/#); alarms on platform/alarms, status on platform/status")
            if let sipPort {
                let passwords: @Sendable (String) -> String?
                if let sipSecretsFile {
                    let secrets: DeviceSecrets
                    do { secrets = try DeviceSecrets.load(file: sipSecretsFile) } catch {
                        platform.stop()
                        Output.error("error: \(error)")
                        throw ExitCode(ExitStatus.configurationError)
                    }
                    passwords = { secrets.secret(for: $0) }
                } else {
                    let shared = sipPasswordEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
                    passwords = { _ in shared }
                }
                let options = PlatformSIPOptions(
                    host: sipHost, port: UInt16(sipPort), platformID: sipID, domain: sipDomain,
                    keepaliveInterval: .nanoseconds(Int64(sipKeepalive.nanoseconds)), passwords: passwords)
                do { print("GB/T 28181 SIP server \(sipID) (domain \(sipDomain)) on udp://\(sipHost):\(try platform.startSIP(options))") } catch {
                    platform.stop()
                    Output.error("error: \(error)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            if let ocppPort {
                var passwords: @Sendable (String) -> String? = { _ in nil }
                if let ocppSecretsFile {
                    let secrets: DeviceSecrets
                    do { secrets = try DeviceSecrets.load(file: ocppSecretsFile) } catch {
                        platform.stop()
                        Output.error("error: \(error)")
                        throw ExitCode(ExitStatus.configurationError)
                    }
                    passwords = { secrets.secret(for: $0) }
                } else if let ocppPasswordEnv {
                    let shared = ProcessInfo.processInfo.environment[ocppPasswordEnv]
                    passwords = { _ in shared }
                }
                let options = PlatformOCPPOptions(
                    host: ocppHost, port: ocppPort, heartbeatInterval: Int(ocppHeartbeat.seconds), passwords: passwords,
                    requirePasswords: ocppSecretsFile != nil || ocppPasswordEnv != nil, blockedTags: Set(ocppBlockedTag))
                do { print("OCPP 1.6J central system on ws://\(ocppHost):\(try platform.startOCPP(options))/ocpp/<charger id>") } catch {
                    platform.stop()
                    Output.error("error: \(error)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            if let httpPort {
                do { print("REST API on http://127.0.0.1:\(try platform.startHTTP(port: httpPort))") } catch {
                    platform.stop()
                    Output.error("error: cannot serve the REST API on port \(httpPort): \(error)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
            // A script waiting for the lines saying where the platform listens reads them now, not
            // at exit, when stdout is a file or pipe.
            fflush(nil)
            while SystemClockSeconds.now() < deadline, !RunInterruption.received, !platform.isCrashed {
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
            if platform.isCrashed {
                platform.stop()
                Output.error("platform: crashed on purpose after \(crashAfter ?? 0) messages (fault switch --crash-after)")
                throw ExitCode(70)
            }
            let devices = platform.devices.values
            let counters = platform.counters
            let sip = platform.sipCounters
            let sessions = platform.chargingSessions
            let chargers = devices.filter(\.viaOCPP).count
            let input = platform.inputStatistics
            platform.stop()
            let byStatus = Dictionary(grouping: devices, by: \.status.rawValue).mapValues(\.count)
            print("devices: " + byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            print("alarms: \(counters.raised) raised, \(counters.dropped) dropped by fault switch; \(counters.malformed) malformed messages")
            print("refused: \(input.oversized) over \(maxPayloadBytes) bytes, \(input.tooManyValues) with more than \(maxValues) values; "
                + "left out: \(input.badValues) values that were not finite numbers, \(input.pointsRefused) points over \(maxValues) per device")
            print("not shown: \(input.duplicatesDropped) messages delivered again (same msg_id), \(input.staleDropped) thrown away as stale (fault switch)")
            if let sip {
                print("cameras: \(sip.registrations) registrations, \(sip.refusals) refused, \(sip.keepalives) keepalives, "
                    + "\(sip.alarms) alarms, \(sip.catalogMessages) catalog messages, \(sip.problems) bad messages")
            }
            if ocppPort != nil {
                let energy = sessions.compactMap(\.energyWh).reduce(0, +)
                print("chargers: \(chargers) heard from, \(sessions.count) sessions (\(sessions.filter { $0.meterStopWh != nil }.count) stopped, \(String(format: "%.3f", Double(energy) / 1_000)) kWh billed)")
            }
            if let rows = try? store.counts() {
                print("database \(database): " + rows.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            }
        }
    }
}

/// Wall-clock-free seconds for loops that wait.
enum SystemClockSeconds {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

