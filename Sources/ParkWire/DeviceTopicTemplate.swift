/// A topic pattern such as `park/{zone}/{kind}/{id}/{channel}`, filled in per device and channel.
///
/// Placeholders: `{zone}` (or `park` when the device has none), `{floor}`, `{kind}`, `{model}`,
/// `{id}`, `{channel}` (`telemetry`, `event`, `status`, `cmd`, `cmd/ack`). Unknown placeholders
/// are refused when the template is made, so a typo cannot silently publish to a literal
/// `{zoen}` topic.
public struct DeviceTopicTemplate: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String

    /// The default from DESIGN: `park/{zone}/{kind}/{id}/{channel}`.
    public static let standard = try! DeviceTopicTemplate("park/{zone}/{kind}/{id}/{channel}")

    static let placeholders = ["zone", "floor", "kind", "model", "id", "channel"]

    /// - Throws: ``WireError`` naming an unknown placeholder, or MQTT wildcards in the pattern.
    public init(_ pattern: String) throws(WireError) {
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw WireError("topic template '\(pattern)' has an unclosed '{'")
            }
            let name = String(rest[rest.index(after: open) ..< close])
            guard Self.placeholders.contains(name) else {
                throw WireError("topic template '\(pattern)' has unknown placeholder {\(name)}; use "
                    + Self.placeholders.map { "{\($0)}" }.joined(separator: ", "))
            }
            rest = rest[rest.index(after: close)...]
        }
        guard !pattern.contains("#"), !pattern.contains("+") else {
            throw WireError("topic template '\(pattern)' must not contain MQTT wildcards (+ or #)")
        }
        guard pattern.contains("{id}") else {
            throw WireError("topic template '\(pattern)' needs {id}, or every device would share its topics")
        }
        self.pattern = pattern
    }

    /// The topic for `device` on `channel`.
    public func topic(for device: BoundDevice, channel: String) -> String {
        var result = pattern
        result = result.replacingAll("{zone}", with: device.zone ?? "park")
        result = result.replacingAll("{floor}", with: device.floor.map(String.init) ?? "0")
        result = result.replacingAll("{kind}", with: device.kind)
        result = result.replacingAll("{model}", with: device.model)
        result = result.replacingAll("{id}", with: device.id)
        result = result.replacingAll("{channel}", with: channel)
        return result
    }

    public var description: String { pattern }
}

extension String {
    /// Every occurrence of `target` replaced, without Foundation (templates are filled per device
    /// at start, 100,000 times for a large park).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

