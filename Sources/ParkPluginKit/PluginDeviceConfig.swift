import Foundation

/// Everything one plugin device is created from: its id, placement and parameters.
///
/// Parameters arrive as text, already validated by ParkBench against the kind's
/// ``PluginParameterDescription``s and with defaults filled in, so every declared parameter is
/// present. They are rendered as follows:
///
/// | type       | text                                                   |
/// |------------|--------------------------------------------------------|
/// | `int`      | decimal digits, e.g. `50`                              |
/// | `double`   | a JSON-style number, e.g. `0.005` or `120`             |
/// | `bool`     | `true` or `false`                                      |
/// | `string`   | the profile's text                                     |
/// | `duration` | whole nanoseconds with an `ns` suffix, e.g. `60000000000ns` |
///
/// Durations use one unit so that a plugin written in C can read them with `strtoull`; the
/// typed accessors below also accept profile spellings such as `1m` or `1h30m`.
public struct PluginDeviceConfig: Hashable, Sendable, Decodable {
    /// The device's unique id in the park, e.g. `counter-gate-1`.
    public var id: String
    /// Parameter name to text (see the table above).
    public var parameters: [String: String]
    /// The zone from the park file, if any.
    public var zone: String?
    /// The floor from the park file, if any.
    public var floor: Int?

    public init(id: String, parameters: [String: String] = [:], zone: String? = nil, floor: Int? = nil) {
        self.id = id
        self.parameters = parameters
        self.zone = zone
        self.floor = floor
    }

    enum CodingKeys: String, CodingKey { case id, parameters, zone, floor }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters) ?? [:]
        zone = try container.decodeIfPresent(String.self, forKey: .zone)
        floor = try container.decodeIfPresent(Int.self, forKey: .floor)
    }

    /// The parameter's text.
    /// - Throws: ``PluginDeviceError`` if the host did not send it (not declared in the kind).
    public func string(_ name: String) throws(PluginDeviceError) -> String {
        guard let text = parameters[name] else {
            throw PluginDeviceError(
                "device '\(id)' has no parameter '\(name)'; is it declared in the kind description?")
        }
        return text
    }

    /// A whole-number parameter.
    public func int(_ name: String) throws(PluginDeviceError) -> Int64 {
        let text = try string(name)
        guard let value = Int64(text.trimmingCharacters(in: .whitespaces)) else {
            throw invalid(name, text, "a whole number")
        }
        return value
    }

    /// A numeric parameter.
    public func double(_ name: String) throws(PluginDeviceError) -> Double {
        let text = try string(name)
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw invalid(name, text, "a number")
        }
        return value
    }

    /// A boolean parameter (`true`/`false`, also `yes`/`no`, `on`/`off`).
    public func bool(_ name: String) throws(PluginDeviceError) -> Bool {
        let text = try string(name)
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw invalid(name, text, "true or false")
        }
    }

    /// A duration parameter, in nanoseconds.
    public func duration(_ name: String) throws(PluginDeviceError) -> UInt64 {
        let text = try string(name)
        guard let nanoseconds = PluginDuration.nanoseconds(parsing: text) else {
            throw invalid(name, text, "a duration such as 60000000000ns, 40s or 1h30m")
        }
        return nanoseconds
    }

    private func invalid(_ name: String, _ text: String, _ expected: String) -> PluginDeviceError {
        PluginDeviceError("device '\(id)': parameter '\(name)' must be \(expected), got '\(text)'")
    }
}

/// Parses ParkBench duration text: one or more `<number><unit>` parts, units `d h m s ms us ns`.
enum PluginDuration {
    private static let units: [String: Double] = [
        "d": 86_400e9, "h": 3_600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1,
    ]

    static func nanoseconds(parsing text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "0" { return 0 }
        // The host's own form, parsed exactly: a Double would round durations above ~104 days.
        if trimmed.hasSuffix("ns"), let exact = UInt64(trimmed.dropLast(2)) { return exact }
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        var total: Double = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { $0.isLetter }
            guard let scale = units[String(suffix)] else { return nil }
            rest = rest.dropFirst(suffix.count)
            total += value * scale
        }
        guard total.isFinite, total < Double(UInt64.max) else { return nil }
        return UInt64(total.rounded())
    }
}
