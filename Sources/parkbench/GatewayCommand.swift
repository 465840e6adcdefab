import ArgumentParser
import Foundation
import ParkRuntime
import ParkCore
import ParkModbus
import ParkPlatform
import Yams

/// `parkbench platform gateway`: the reference meter-reading gateway on its own.
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Poll meters over Modbus TCP or DL/T 645 and publish their readings on MQTT (the reference gateway).",
        discussion: """
            Reads every meter listed in --meters through its model's register map every \
            --period and publishes the reading as the meter's telemetry on \\
            park/{zone}/{kind}/{id}/telemetry, over one MQTT connection. A meter that misses \
            --offline-after polls in a row gets a retained offline status, online again when it \\
            answers. Runs until Ctrl-C or --duration.

            The meters file:
              meters:
                - {device: em-1, model: acme-em3, zone: M, modbus: 127.0.0.1:1502, unit: 1}
                - {device: dts-1, model: volt-dts666, zone: M, modbus: 127.0.0.1:1502, unit: 3}
                - {device: dl-1, zone: M, dlt645: 127.0.0.1:1645, meter: "000000000001"}
                - {device: wm-1, model: aqua-wm20, zone: M, rtu: /dev/ttyUSB0, baud: 9600, unit: 2}

            RTU lines are opened 8N1 (a pty from `simulate --modbus-rtu` refuses parity).

            With --spool DIR the gateway stores and forwards: every reading is written to a \
            spool on disk first and leaves it only when the broker acknowledged it, so an \
            uplink that is down for hours, or a gateway that loses power, loses nothing (up to \
            --spool-capacity readings, 100,000 by default; beyond, the oldest go). Started \
            again on the same directory, the gateway first sends what the last run could not, \
            with the times it was read (004 L3064: ≥ 10,000 events kept through power loss).

            A Modbus meter is read through its model's register map; a DL/T 645 meter \
            (an electricity meter) through the standard data items: energy, voltages, \
            currents, power, power factor, frequency.

            Example (meters from `parkbench simulate --modbus-port 1502`):
              parkbench platform gateway --meters gateway.yaml --broker mqtt://127.0.0.1:1883 --period 5s
              parkbench platform gateway --meters gateway.yaml --broker mqtt://127.0.0.1:1883 --spool /var/lib/parkbench/gw-1
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The meters behind the gateway (YAML, see above).", valueName: "file"))
    var meters: String

    @Option(help: ArgumentHelp("The MQTT broker to publish on.", valueName: "mqtt://host:port"))
    var broker: BrokerAddress

    @Option(help: ArgumentHelp("Polling period (004 L3511: configurable).", valueName: "duration"))
    var period: DeviceDuration = .seconds(5)

    @Option(help: ArgumentHelp("Missed polls in a row before a meter is reported offline.", valueName: "n"))
    var offlineAfter: Int = 3

    @Option(help: ArgumentHelp("Gateway name (its MQTT client id is gateway-<name>).", valueName: "name"))
    var name: String = "gw-1"

    @Option(help: ArgumentHelp("Stop after this long; without it, run until interrupted.", valueName: "duration"))
    var duration: DeviceDuration?

    @Option(help: ArgumentHelp("Store and forward: keep readings in this directory until the broker has them (see above).", valueName: "dir"))
    var spool: String?

    @Option(help: ArgumentHelp("With --spool: the most readings kept on disk.", valueName: "n"))
    var spoolCapacity: Int = 100_000

    func validate() throws {
        if period == .zero { throw ValidationError("--period must be longer than 0s") }
        if offlineAfter < 1 { throw ValidationError("--offline-after must be at least 1") }
        if spoolCapacity < 1 { throw ValidationError("--spool-capacity must be at least 1") }
    }

    func run() throws {
        let workspace = Workspace.load(options)
        let list: [MeterGateway.Meter]
        do { list = try Self.load(meters, catalog: workspace.catalog) } catch let error as ValidationError {
            Output.error("error: \(error.message)")
            throw ExitCode(ExitStatus.configurationError)
        }
        var configuration = MeterGateway.Configuration(name: name, period: .nanoseconds(Int64(period.nanoseconds)),
                                                       brokerHost: broker.host, brokerPort: broker.port)
        configuration.offlineAfter = offlineAfter
        configuration.spool = spool.map { GatewaySpoolSettings(directory: $0, capacity: spoolCapacity) }
        let gateway: MeterGateway
        do { gateway = try MeterGateway(meters: list, configuration: configuration) } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.configurationError)
        }
        _ = RunInterruption.received
        gateway.start()
        if !options.json {
            print("gateway \(name): polling \(list.count) meters every \(period), publishing on \(broker)")
            if let spool {
                let found = gateway.statistics.spoolRecovered
                print("spool: \(spool) (at most \(spoolCapacity) readings)" + (found > 0 ? "; \(found) left by an earlier run go first" : ""))
            }
        }
        let started = Date()
        var lastReport = started
        while !RunInterruption.received {
            if let duration, Date().timeIntervalSince(started) >= duration.seconds { break }
            Thread.sleep(forTimeInterval: 0.2)
            if !options.json, Date().timeIntervalSince(lastReport) >= 10 {
                lastReport = Date()
                let s = gateway.statistics
                Output.error("\(s.polls) polls, \(s.failedPolls) failed, \(s.published) published"
                             + (spool == nil ? "" : ", \(s.spooled) waiting in the spool") + ", offline: \(s.offlineMeters.joined(separator: ", "))")
            }
        }
        gateway.stop()
        let s = gateway.statistics
        if options.json {
            var figures: [String: Int] = ["polls": s.polls, "failed_polls": s.failedPolls, "published": s.published]
            if spool != nil {
                figures["spooled"] = s.spooled
                figures["delivered"] = s.delivered
                figures["spool_dropped"] = s.spoolDropped
                figures["spool_recovered"] = s.spoolRecovered
            }
            Output.json(figures)
        } else {
            print("\(s.polls) polls, \(s.failedPolls) failed, \(s.published) readings published; offline at the end: \(s.offlineMeters.isEmpty ? "none" : s.offlineMeters.joined(separator: ", "))")
            if spool != nil {
                print("spool: \(s.delivered) delivered, \(s.spooled) still waiting (kept for the next run), \(s.spoolDropped) dropped because it was full")
            }
        }
    }

    /// Reads the meters file: each meter's id, model (its register map), zone and Modbus address.
    static func load(_ file: String, catalog: ModelCatalog) throws -> [MeterGateway.Meter] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw ValidationError("\(file): not YAML: \(error)") }
        guard let entries = (root as? [String: Any])?["meters"] as? [[String: Any]], !entries.isEmpty else {
            throw ValidationError("\(file): expected a list under meters:")
        }
        return try entries.enumerated().map { index, entry in
            let at = "\(file): meters[\(index)]"
            guard let id = entry["device"] as? String else { throw ValidationError("\(at): needs device: <id>") }
            func endpoint(_ key: String) throws -> (String, Int) {
                guard let address = entry[key] as? String, let colon = address.lastIndex(of: ":"),
                      let port = Int(address[address.index(after: colon)...]) else {
                    throw ValidationError("\(at): needs \(key): host:port")
                }
                return (String(address[..<colon]), port)
            }
            if entry["dlt645"] != nil {
                let (host, port) = try endpoint("dlt645")
                let number = (entry["meter"] as? String) ?? (entry["meter"] as? Int).map { String(format: "%012d", $0) }
                guard let number, DLT645Frame.address(number) != nil else {
                    throw ValidationError("\(at): needs meter: <its 12-digit number>, e.g. \"000000000001\"")
                }
                return MeterGateway.Meter(id: id, kind: "electric-meter", zone: entry["zone"] as? String, host: host, port: port,
                                          link: .dlt645(meter: number))
            }
            guard let modelName = entry["model"] as? String, let model = catalog.model(named: modelName) else {
                throw ValidationError("\(at): needs model: <a model under devices/>, got \(entry["model"] ?? "nothing")")
            }
            guard let map = model.modbus else { throw ValidationError("\(at): model \(modelName) has no Modbus register map") }
            let unit = entry["unit"] as? Int ?? 1
            guard (0 ... 255).contains(unit) else { throw ValidationError("\(at): unit must be 0…255") }
            if let serial = entry["rtu"] as? String {
                let baud = entry["baud"] as? Int ?? 9600
                return MeterGateway.Meter(id: id, kind: model.kind, zone: entry["zone"] as? String, serialDevice: serial, baudRate: baud,
                                          unit: UInt8(unit), map: map)
            }
            let (host, port) = try endpoint("modbus")
            return MeterGateway.Meter(id: id, kind: model.kind, zone: entry["zone"] as? String, host: host, port: port,
                                      unit: UInt8(unit), map: map)
        }
    }
}
