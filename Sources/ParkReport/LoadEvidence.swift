/// What a load check measured, stage by stage, kept so that the shards of one load run — on one
/// machine or many — merge exactly (`parkbench merge`): counts add, and each stage's latency
/// histogram is stored as its HDR buckets (value, count), which merge without loss where
/// percentiles never could (the p99 of two p99s is nobody's p99).
public struct LoadEvidence: Codable, Sendable, Hashable {
    /// One stage's figures.
    public struct Stage: Codable, Sendable, Hashable {
        public var name: String
        /// How many times as fast the devices' timers ran.
        public var pace: Double
        /// How long the stage was planned for and how long it ran (shorter when the run stopped in it).
        public var plannedSeconds: Double
        public var seconds: Double
        /// Messages the devices sent and the platform showed during the stage.
        public var sent: Int
        public var shown: Int
        public var probes: Int
        public var missing: Int
        public var offline: Int
        /// Probe latencies in microseconds: `[value, count]` per HDR bucket recorded, the value
        /// being the bucket's highest equivalent value.
        public var latencyMicroseconds: [[UInt64]]
        /// Devices connected at the stage's end (nil in reports from before ramps).
        public var devices: Int?

        public init(name: String, pace: Double, plannedSeconds: Double, seconds: Double, sent: Int, shown: Int, probes: Int, missing: Int,
                    offline: Int, latencyMicroseconds: [[UInt64]], devices: Int? = nil) {
            self.devices = devices
            self.name = name
            self.pace = pace
            self.plannedSeconds = plannedSeconds
            self.seconds = seconds
            self.sent = sent
            self.shown = shown
            self.probes = probes
            self.missing = missing
            self.offline = offline
            self.latencyMicroseconds = latencyMicroseconds
        }
    }

    public var stages: [Stage]
    /// How many of the stages are the profile's own; the rest are a capacity search's levels.
    public var listedStages: Int
    public var capacitySearch: Bool
    /// `i/N` when this is one shard of a run; the shards merged, when merged.
    public var shards: [String]

    public init(stages: [Stage], listedStages: Int, capacitySearch: Bool, shards: [String] = []) {
        self.stages = stages
        self.listedStages = listedStages
        self.capacitySearch = capacitySearch
        self.shards = shards
    }
}
