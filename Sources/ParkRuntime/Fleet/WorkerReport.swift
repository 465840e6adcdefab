import Foundation
import ParkBindings

/// One line a worker process writes on its standard output: a JSON object holding either a
/// progress report (every second) or, at the end, the worker's run summary.
///
/// Standard output is the worker's report channel and carries nothing else; its standard error
/// is passed through to the user, prefixed with the worker's shard.
public struct WorkerReportLine: Codable, Sendable {
    public var progress: WorkerProgress?
    public var summary: RunSummary?

    public init(progress: WorkerProgress) { self.progress = progress }
    public init(summary: RunSummary) { self.summary = summary }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public static func decode(_ line: Substring) -> WorkerReportLine? {
        try? JSONDecoder().decode(WorkerReportLine.self, from: Data(line.utf8))
    }
}

/// A worker's counters so far.
public struct WorkerProgress: Codable, Sendable {
    public var deviceSeconds: Double = 0
    public var ledgerRecords: Int = 0
    public var connected: Int = 0
    public var published: Int = 0
    public var acknowledged: Int = 0
    public var failed: Int = 0
    public var dropped: Int = 0
    /// CLOCK_MONOTONIC seconds (shared by all processes of a machine) at which the last of this
    /// worker's devices connected, once all are; the coordinator's connect-rate figure.
    public var allConnectedAt: Double?

    public init(deviceSeconds: Double = 0, ledgerRecords: Int = 0, connected: Int = 0, published: Int = 0, acknowledged: Int = 0,
                failed: Int = 0, dropped: Int = 0) {
        self.deviceSeconds = deviceSeconds
        self.ledgerRecords = ledgerRecords
        self.connected = connected
        self.published = published
        self.acknowledged = acknowledged
        self.failed = failed
        self.dropped = dropped
    }
}

extension WorkerProgress {
    /// The MQTT part of a worker's progress, from its binding's counters.
    public init(binding: MQTTDeviceBinding, devices: Int) {
        let statistics = binding.statistics
        self.init(connected: statistics.pool.connectedClients, published: statistics.pool.messagesPublished,
                  acknowledged: statistics.pool.messagesAcknowledged, failed: statistics.pool.publishesFailed,
                  dropped: statistics.dropped)
        if statistics.pool.connectedClients >= devices, statistics.pool.lastConnectedAtNanoseconds > 0 {
            allConnectedAt = Double(statistics.pool.lastConnectedAtNanoseconds) / 1e9
        }
    }
}

/// How one worker of a sharded run ended, as the coordinator's summary reports it.
public struct WorkerOutcome: Codable, Sendable {
    public var shard: String
    public var devices: Int
    public var broker: String?
    public var bindAddress: String?
    public var pid: Int32
    /// "completed", "exited with status N" or "killed by SIGKILL (signal 9)".
    public var ending: String
    public var failed: Bool
    public var seconds: Double
}

extension MQTTSummary {
    /// An empty MQTT summary to add shards' summaries into.
    public static var zero: MQTTSummary {
        MQTTSummary(devices: 0, connected: 0, connectsFailed: 0, published: 0, acknowledged: 0, failed: 0, dropped: 0, commands: 0)
    }

    /// What a worker's last progress report says, for a worker that died before its summary.
    public init(progress: WorkerProgress, devices: Int) {
        self.init(devices: devices, connected: progress.connected, connectsFailed: 0, published: progress.published,
                  acknowledged: progress.acknowledged, failed: progress.failed, dropped: progress.dropped, commands: 0)
    }

    public static func += (total: inout MQTTSummary, shard: MQTTSummary) {
        total.devices += shard.devices
        total.connected += shard.connected
        total.connectsFailed += shard.connectsFailed
        total.published += shard.published
        total.acknowledged += shard.acknowledged
        total.failed += shard.failed
        total.dropped += shard.dropped
        total.commands += shard.commands
    }
}
