import Foundation
import ParkBindings

/// What one run of a park did, as `simulate` prints it at the end (text or JSON) and as a
/// worker process reports it to its coordinator.
public struct RunSummary: Codable, Sendable {
    public var park: String
    /// `i/N` when this run is one shard of the park.
    public var shard: String?
    public var devices: Int
    public var seed: UInt64
    /// `virtual` or `real-time`.
    public var mode: String
    public var deviceTime: String
    public var wallSeconds: Double
    public var ledgerRecords: Int
    public var ledgerFile: String?
    /// Emission counts by `kind/name`.
    public var emissions: [String: Int]
    public var stimuli: Int
    public var timerLatenessP99Milliseconds: Double?
    public var timerLatenessMaxMilliseconds: Double?
    public var mqtt: MQTTSummary?
    /// True when Ctrl-C or SIGTERM ended the run before its duration.
    public var interrupted: Bool?
    /// How each worker process ended, for a run split over workers.
    public var workers: [WorkerOutcome]?
    /// Seconds from the first worker's start until every device was connected (sharded MQTT runs).
    public var allConnectedSeconds: Double?
    /// Where each meter answered over Modbus (`--modbus-port`).
    public var modbus: [ModbusDeviceBinding.Address]?
    /// Where each electricity meter answered over DL/T 645 (`--dlt645-port`).
    public var dlt645: [DLT645DeviceBinding.Address]?
    /// The cameras and NVRs on GB/T 28181 (`--sip-platform`): their ids and channels.
    public var gb28181: [GB28181DeviceBinding.Address]?

    public init(
        park: String, shard: String? = nil, devices: Int, seed: UInt64, mode: String, deviceTime: String, wallSeconds: Double,
        ledgerRecords: Int, ledgerFile: String?, emissions: [String: Int], stimuli: Int,
        timerLatenessP99Milliseconds: Double? = nil, timerLatenessMaxMilliseconds: Double? = nil, mqtt: MQTTSummary? = nil,
        interrupted: Bool? = nil, workers: [WorkerOutcome]? = nil, allConnectedSeconds: Double? = nil,
        modbus: [ModbusDeviceBinding.Address]? = nil, dlt645: [DLT645DeviceBinding.Address]? = nil,
        gb28181: [GB28181DeviceBinding.Address]? = nil
    ) {
        self.gb28181 = gb28181
        self.park = park
        self.shard = shard
        self.devices = devices
        self.seed = seed
        self.mode = mode
        self.deviceTime = deviceTime
        self.wallSeconds = wallSeconds
        self.ledgerRecords = ledgerRecords
        self.ledgerFile = ledgerFile
        self.emissions = emissions
        self.stimuli = stimuli
        self.timerLatenessP99Milliseconds = timerLatenessP99Milliseconds
        self.timerLatenessMaxMilliseconds = timerLatenessMaxMilliseconds
        self.mqtt = mqtt
        self.interrupted = interrupted
        self.workers = workers
        self.allConnectedSeconds = allConnectedSeconds
        self.modbus = modbus
        self.dlt645 = dlt645
    }
}

/// The MQTT part of a run's summary.
public struct MQTTSummary: Codable, Sendable {
    public var devices: Int
    public var connected: Int
    public var connectsFailed: Int
    public var published: Int
    public var acknowledged: Int
    public var failed: Int
    public var dropped: Int
    public var commands: Int

    public init(devices: Int, connected: Int, connectsFailed: Int, published: Int, acknowledged: Int, failed: Int, dropped: Int, commands: Int) {
        self.devices = devices
        self.connected = connected
        self.connectsFailed = connectsFailed
        self.published = published
        self.acknowledged = acknowledged
        self.failed = failed
        self.dropped = dropped
        self.commands = commands
    }

    public init(_ statistics: MQTTDeviceBinding.Statistics, devices: Int) {
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

extension FleetCoordinator.Outcome {
    /// The workers' summaries (and the last progress of those that died without one) as one run's.
    public func mergedSummary(
        park: String, devices: Int, seed: UInt64, mode: String, deviceTime: String, ledgerFile: String?, withMQTT: Bool
    ) -> RunSummary {
        var emissions: [String: Int] = [:]
        var mqtt = MQTTSummary.zero
        var ledgerRecords = 0, stimuli = 0
        var timerP99: Double?, timerMax: Double?
        for summary in summaries {
            emissions.merge(summary.emissions, uniquingKeysWith: +)
            ledgerRecords += summary.ledgerRecords
            stimuli += summary.stimuli
            if let shard = summary.mqtt { mqtt += shard }
            // Percentiles do not add up across processes: the worst shard's p99 is an upper bound.
            if let p99 = summary.timerLatenessP99Milliseconds { timerP99 = max(timerP99 ?? 0, p99) }
            if let worst = summary.timerLatenessMaxMilliseconds { timerMax = max(timerMax ?? 0, worst) }
        }
        for partial in partial {
            ledgerRecords += partial.progress.ledgerRecords
            mqtt += MQTTSummary(progress: partial.progress, devices: partial.devices)
        }
        return RunSummary(
            park: park, devices: devices, seed: seed, mode: mode, deviceTime: deviceTime, wallSeconds: wallSeconds.rounded(toPlaces: 3),
            ledgerRecords: ledgerRecords, ledgerFile: ledgerFile, emissions: emissions, stimuli: stimuli,
            timerLatenessP99Milliseconds: timerP99, timerLatenessMaxMilliseconds: timerMax,
            mqtt: withMQTT ? mqtt : nil, interrupted: interrupted ? true : nil,
            workers: workers, allConnectedSeconds: allConnectedAfter.map { $0.rounded(toPlaces: 3) })
    }
}
