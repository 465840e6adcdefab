import ArgumentParser
import Foundation
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

                Example:
                  parkbench platform serve --broker mqtt://127.0.0.1:1883 --alarm-delay 3s
                """)

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

        @Option(help: ArgumentHelp("Linkage rules to run (see conformance/platform/linkage.yaml).", valueName: "file"))
        var linkage: String?

        @Flag(help: "Fault: linkage rules never fire.")
        var dropLinkage = false

        @Flag(help: "Fault: commands asked for through the REST API are accepted and never sent.")
        var dropCommands = false

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

        func validate() throws {
            guard maxPayloadBytes > 0 else { throw ValidationError("--max-payload-bytes must be at least 1, got \(maxPayloadBytes).") }
            guard maxValues > 0 else { throw ValidationError("--max-values must be at least 1, got \(maxValues).") }
        }

        func run() async throws {
            let faults = PlatformFaults(
                alarmDelay: .nanoseconds(Int64(alarmDelay.nanoseconds)), dropAlarms: dropAlarms, valueScaling: valueScaling,
                offlineDetectionDisabled: noOfflineDetection, crashAfterMessages: crashAfter, linkageDropped: dropLinkage,
                commandsDropped: dropCommands)
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
                    limits: PlatformLimits(maxPayloadBytes: maxPayloadBytes, maxValues: maxValues)),
                faults: faults, webhook: hook, store: store)
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
            if let httpPort {
                do { print("REST API on http://127.0.0.1:\(try platform.startHTTP(port: httpPort))") } catch {
                    platform.stop()
                    Output.error("error: cannot serve the REST API on port \(httpPort): \(error)")
                    throw ExitCode(ExitStatus.configurationError)
                }
            }
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
            let input = platform.inputStatistics
            platform.stop()
            let byStatus = Dictionary(grouping: devices, by: \.status.rawValue).mapValues(\.count)
            print("devices: " + byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            print("alarms: \(counters.raised) raised, \(counters.dropped) dropped by fault switch; \(counters.malformed) malformed messages")
            print("refused: \(input.oversized) over \(maxPayloadBytes) bytes, \(input.tooManyValues) with more than \(maxValues) values; "
                + "left out: \(input.badValues) values that were not finite numbers, \(input.pointsRefused) points over \(maxValues) per device")
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

