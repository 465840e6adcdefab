/// How a run looked second by second around something that happened to it — messages per second
/// sent and shown, devices online — with the instants that matter marked (a fault, its heal):
/// what a failover check draws in the report so a person sees the outage and the recovery.
public struct TimelineEvidence: Codable, Sendable, Hashable {
    /// One named line: a value per bucket, from ``TimelineEvidence/startNanoseconds``.
    public struct Series: Codable, Sendable, Hashable {
        public var name: String
        public var values: [Double]
        public init(name: String, values: [Double]) {
            self.name = name
            self.values = values
        }
    }

    /// An instant drawn as a vertical line.
    public struct Mark: Codable, Sendable, Hashable {
        public var label: String
        public var atNanoseconds: Int64
        public init(label: String, atNanoseconds: Int64) {
            self.label = label
            self.atNanoseconds = atNanoseconds
        }
    }

    /// Wall-clock nanoseconds of the first bucket's start.
    public var startNanoseconds: Int64
    public var bucketMilliseconds: Int
    /// Message rates (per second), drawn together.
    public var rates: [Series]
    /// Devices online as the system under test shows them, one value per bucket (at its end).
    public var online: Series?
    /// Latency percentiles per bucket in milliseconds (a load check's probes), drawn with
    /// ``latencyThreshold`` across them; nil for timelines that time nothing.
    public var latency: [Series]?
    public var latencyThreshold: Double?
    public var marks: [Mark]

    public init(startNanoseconds: Int64, bucketMilliseconds: Int, rates: [Series], online: Series?, marks: [Mark],
                latency: [Series]? = nil, latencyThreshold: Double? = nil) {
        self.latency = latency
        self.latencyThreshold = latencyThreshold
        self.startNanoseconds = startNanoseconds
        self.bucketMilliseconds = bucketMilliseconds
        self.rates = rates
        self.online = online
        self.marks = marks
    }

    /// Counts of `instants` (wall ns) per bucket of `bucketNanoseconds` from `start`, `buckets` long,
    /// as a rate per second.
    public static func rate(of instants: [Int64], start: Int64, bucketNanoseconds: Int64, buckets: Int) -> [Double] {
        var counts = [Double](repeating: 0, count: buckets)
        for instant in instants where instant >= start {
            let index = Int((instant - start) / bucketNanoseconds)
            if index < buckets { counts[index] += 1 }
        }
        let perSecond = 1e9 / Double(bucketNanoseconds)
        return counts.map { $0 * perSecond }
    }
}
