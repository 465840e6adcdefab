import ArgumentParser
import Foundation
import ParkBindings
import ParkBroker
import ParkCore
import ParkMQTT
import ParkPlatform
import Synchronization

/// `parkbench demo`: a whole park on one machine — an embedded mosquitto, the reference
/// platform, and the demo park's devices on MQTT — and what the platform made of it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the demo park against an embedded mosquitto and the reference platform.",
        discussion: """
            Starts mosquitto on a free loopback port, the reference platform, and the park's \\
            devices on MQTT; applies the park's scripted stimuli; watches the platform's \\
            northbound alarms from outside; and prints, per alarm, the latency from the \\
            stimulus at the device to the alarm northbound, and each device's status at the \\
            platform. --alarm-delay turns on the platform's fault switch to show what a slow \\
            platform looks like.

            Example:
              parkbench demo
              parkbench demo --duration 20s --alarm-delay 3s
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("The park to run.", valueName: "file"))
    var park: String = "conformance/parks/demo.yaml"

    @Option(help: ArgumentHelp("How long to run.", valueName: "duration"))
    var duration: DeviceDuration = .seconds(12)

    @Option(help: ArgumentHelp("Fault switch: the platform holds every alarm this long.", valueName: "duration"))
    var alarmDelay: DeviceDuration = .zero

    func run() async throws {
        let workspace = Workspace.load(options)
        try workspace.failOnProblems()
        let parkFile: ParkFile
        let plan: [PlannedDevice]
        do {
            parkFile = try ParkFile.load(file: park, catalog: workspace.catalog, kinds: workspace.kinds)
            plan = try parkFile.plan(kinds: workspace.kinds)
        } catch {
            for issue in error.issues { Output.error(issue.description) }
            throw ExitCode(ExitStatus.configurationError)
        }

        let broker: MosquittoBroker
        do { broker = try MosquittoBroker() } catch {
            Output.error("error: cannot start mosquitto (\(MosquittoBroker.executable)): \(error); `make deps` installs it")
            throw ExitCode(ExitStatus.unreachable)
        }
        defer { broker.stop() }
        print("mosquitto on 127.0.0.1:\(broker.port)")

        let alarmEvents = Set(workspace.kinds.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port),
            configuration: PlatformConfiguration(alarmEvents: alarmEvents, heartbeatTimeout: .seconds(120)),
            faults: PlatformFaults(alarmDelay: .nanoseconds(Int64(alarmDelay.nanoseconds))))
        let watcher = NorthboundWatcher()
        let watcherPool: MQTTClientPool
        do {
            try platform.start()
            watcherPool = try MQTTClientPool(delegate: watcher)
            try watcherPool.addClient(MQTTClientConfiguration(
                clientID: "parkbench-demo-watcher", port: broker.port, subscriptions: [MQTTSubscription("platform/#")]))
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(ExitStatus.unreachable)
        }
        defer {
            watcherPool.shutdown()
            platform.stop()
        }
        try await waitUntil("the platform and the watcher to subscribe") { platform.isConnected && watcher.isSubscribed }
        print("reference platform listening on park/#, alarms on platform/alarms"
              + (alarmDelay > .zero ? " (fault switch: alarm delay \(alarmDelay))" : ""))

        let devices = parkFile.devices.map {
            BoundDevice(id: $0.id, kind: $0.kind, model: $0.model, zone: $0.placement.zone, floor: $0.placement.floor)
        }
        let binding = try MQTTDeviceBinding(devices: devices, configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, observer: binding)
        binding.setCommandHandler { deviceID, command in
            do throws(EngineError) { return .success(try await engine.send(command, to: deviceID)) } catch { return .failure(error) }
        }
        try binding.connect()
        try await waitUntil("\(devices.count) devices to connect") { binding.statistics.pool.connectedClients == devices.count }
        print("park \(parkFile.name): \(devices.count) devices on MQTT; running \(duration) with \(parkFile.stimuli.count) scripted stimuli\n")

        await engine.start()
        _ = await runScript(parkFile.stimuli, on: engine, for: duration, progress: nil)
        // Let in-flight alarms (and a delayed one) arrive before judging.
        try? await Task.sleep(nanoseconds: 500_000_000 + alarmDelay.nanoseconds)
        await engine.stop()
        let records = (try? engine.ledger.records()) ?? []

        var rows: [[String]] = []
        for alarm in watcher.alarms {
            let emitted = records.first { $0.messageID == alarm.messageID }
            let stimulus = records.last {
                $0.entry == .stimulus && $0.deviceID == alarm.device && $0.order < (emitted?.order ?? 0)
            }
            func milliseconds(_ from: Int64?, _ to: Int64?) -> String {
                guard let from, let to else { return "-" }
                return String(format: "%.1f ms", Double(to - from) / 1e6)
            }
            let stimulusAt = stimulus?.time.wall.nanosecondsSinceEpoch
            let emittedAt = emitted?.time.wall.nanosecondsSinceEpoch
            rows.append([
                alarm.device, alarm.event, stimulus?.name ?? "-",
                milliseconds(stimulusAt, emittedAt), milliseconds(emittedAt, alarm.arrivedWallNanoseconds),
                milliseconds(stimulusAt, alarm.arrivedWallNanoseconds),
            ])
        }
        print("ALARMS SEEN NORTHBOUND")
        print("  at device: stimulus → the device's alarm (its own confirmation or entry delay)")
        print("  via platform: the device's alarm → the alarm on platform/alarms (broker + platform)")
        Output.table(["DEVICE", "EVENT", "STIMULUS", "AT DEVICE", "VIA PLATFORM", "TOTAL"], rows)
        let statuses = platform.devices.values.sorted { $0.id < $1.id }
        print("\nDEVICE STATUS AT THE PLATFORM")
        Output.table(
            ["DEVICE", "KIND", "STATUS", "MESSAGES", "LOST", "DUPLICATES"],
            statuses.map { [$0.id, $0.kind, $0.status.rawValue, String($0.messages), String($0.gaps), String($0.duplicates)] })
        let counters = platform.counters
        print("\nplatform: \(counters.raised) alarms raised, \(counters.dropped) dropped, \(counters.malformed) malformed messages; "
              + "devices published \(binding.statistics.pool.messagesPublished) messages")
        binding.shutdown()
    }

    private func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<400 {
            if condition() { return }
            try? await Task.sleep(nanoseconds: 25_000_000)
        }
        Output.error("error: timed out after 10 s waiting for \(what)")
        throw ExitCode(ExitStatus.unreachable)
    }
}

/// Watches the platform from outside, as a control room would: records each northbound alarm
/// with the wall time it arrived.
final class NorthboundWatcher: MQTTClientPoolDelegate {
    struct Alarm {
        var device: String
        var event: String
        var messageID: String?
        var arrivedWallNanoseconds: Int64
    }

    private let received = Mutex<[Alarm]>([])
    private let subscribed = Atomic<Bool>(false)

    var alarms: [Alarm] { received.withLock { $0 } }
    var isSubscribed: Bool { subscribed.load(ordering: .relaxed) }

    func mqttClientDidSubscribe(_ client: MQTTClientHandle, subscriptions: [MQTTSubscription], grantedQoS: [Int32]) {
        subscribed.store(true, ordering: .relaxed)
    }

    func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        let arrived = SystemClock.wallNow().nanosecondsSinceEpoch
        guard message.topic == "platform/alarms",
              let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
              let device = object["device"] as? String, let event = object["event"] as? String else { return }
        received.withLock {
            $0.append(Alarm(device: device, event: event, messageID: object["msg_id"] as? String, arrivedWallNanoseconds: arrived))
        }
    }
}
