/// `i/N`: the i-th (0-based) of N contiguous slices of a park's devices, in park order. Shards of
/// one park never overlap, whichever process or machine runs them.
public struct ShardSpec: CustomStringConvertible, Sendable, Hashable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Reads `i/N`; nil unless `0 ≤ i < N`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0 ..< count).contains(index) else {
            return nil
        }
        self.index = index
        self.count = count
    }

    /// The slice of `total` devices this shard runs: sizes differ by at most one.
    public func range(of total: Int) -> Range<Int> {
        (index * total / count) ..< ((index + 1) * total / count)
    }

    public var description: String { "\(index)/\(count)" }
}

/// `mqtt://host:port` (port 1883 when left out): a broker a run's devices connect to.
public struct BrokerAddress: CustomStringConvertible, Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `mqtt://host:port`, `host:port` or `host`; nil for an empty host or a bad port.
    public init?(parsing text: String) {
        var rest = Substring(text)
        if rest.hasPrefix("mqtt://") { rest = rest.dropFirst(7) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { return nil }
        self.host = String(host)
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65_535).contains(port) else { return nil }
            self.port = port
        } else {
            self.port = 1883
        }
    }

    public var description: String { "mqtt://\(host):\(port)" }
}
