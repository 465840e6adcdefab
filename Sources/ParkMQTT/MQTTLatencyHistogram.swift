import ParkEventLoop

/// A fixed-memory latency distribution (connect times), good to about 12 %.
///
/// Buckets are log-linear over microseconds: exact below 8 µs, then 8 sub-buckets per power of
/// two up to about 12 days. Pools keep one per I/O thread and merge them when read, so recording
/// never contends. ParkMQTT does not depend on hdrhistogram; a bench that wants exact samples
/// gets each one in ``MQTTClientPoolDelegate/mqttClientDidConnect(_:sessionPresent:latency:)``.
public struct MQTTLatencyHistogram: Sendable, Hashable {
    static let subBuckets = 8
    static let maximumExponent = 40
    static let bucketCount = subBuckets + (maximumExponent - 2) * subBuckets

    /// Number of recorded values.
    public private(set) var count = 0
    private var totalNanoseconds: UInt64 = 0
    private var smallest: UInt64 = .max
    private var largest: UInt64 = 0
    // Empty until the first record, so a snapshot of an idle pool costs nothing.
    private var buckets: [Int] = []

    public init() {}

    public mutating func record(_ latency: Duration) { record(nanoseconds: latency.nanoseconds) }

    mutating func record(nanoseconds: UInt64) {
        if buckets.isEmpty { buckets = Array(repeating: 0, count: Self.bucketCount) }
        buckets[Self.bucket(forMicroseconds: nanoseconds / 1000)] += 1
        count += 1
        totalNanoseconds &+= nanoseconds
        smallest = min(smallest, nanoseconds)
        largest = max(largest, nanoseconds)
    }

    /// Adds another histogram's values to this one.
    public mutating func merge(_ other: MQTTLatencyHistogram) {
        guard other.count > 0 else { return }
        if buckets.isEmpty { buckets = Array(repeating: 0, count: Self.bucketCount) }
        for index in other.buckets.indices { buckets[index] += other.buckets[index] }
        count += other.count
        totalNanoseconds &+= other.totalNanoseconds
        smallest = min(smallest, other.smallest)
        largest = max(largest, other.largest)
    }

    public var minimum: Duration? { count == 0 ? nil : .nanoseconds(Int64(clamping: smallest)) }
    public var maximum: Duration? { count == 0 ? nil : .nanoseconds(Int64(clamping: largest)) }
    public var mean: Duration? {
        count == 0 ? nil : .nanoseconds(Int64(clamping: totalNanoseconds / UInt64(count)))
    }

    /// The value below which `fraction` (0...1) of the values lie: the upper edge of its bucket,
    /// never above the largest value seen.
    public func percentile(_ fraction: Double) -> Duration? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                let upper = min(Self.upperMicroseconds(ofBucket: index) * 1000, largest)
                return .nanoseconds(Int64(clamping: max(upper, smallest)))
            }
        }
        return maximum
    }

    static func bucket(forMicroseconds value: UInt64) -> Int {
        guard value >= UInt64(subBuckets) else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // ≥ 3
        guard exponent <= maximumExponent else { return bucketCount - 1 }
        let sub = Int((value >> UInt64(exponent - 3)) & 7)
        return subBuckets + (exponent - 3) * subBuckets + sub
    }

    static func upperMicroseconds(ofBucket index: Int) -> UInt64 {
        guard index >= subBuckets else { return UInt64(index) }
        let exponent = (index - subBuckets) / subBuckets + 3
        let sub = UInt64((index - subBuckets) % subBuckets)
        let width = UInt64(1) << UInt64(exponent - 3)
        return (8 + sub) * width + width - 1
    }
}
