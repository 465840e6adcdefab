import ParkPluginJSON
/// A typed scalar crossing the plugin boundary: a reading, a stimulus or command argument.
///
/// Mirrors ParkBench's own point values. It travels as a JSON scalar; the kit always writes a
/// `.double` with a fraction or exponent (`20.0`), so the host never mistakes it for an `.int`.
public enum PluginValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)

    /// The value as a whole number: ints as they are, doubles only if integral.
    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: Int64(value)
        default: nil
        }
    }

    /// The value as a number; ints widen, because JSON senders often write `2` for `2.0`.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The value if it is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The value if it is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        case .string(let value): value
        }
    }
}

extension PluginValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByStringLiteral
{
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

extension PluginMessage {
    /// Reads a stimulus or command as the host sends it, `{"name": …, "arguments": {…}}`, with
    /// the boundary's own parser: one crosses for every stimulus and command, and `JSONDecoder`
    /// took more of a plate camera's time than the camera did.
    init(json: UnsafePointer<CChar>?, length: Int) throws(PluginDeviceError) {
        let value: PluginJSONValue
        do { value = try PluginJSONParser.parse(json, length: length) } catch { throw PluginDeviceError(error.message) }
        guard case .object(let members) = value else { throw PluginDeviceError("expected a JSON object, got \(value.typeName)") }
        guard case .string(let name)? = members["name"] else { throw PluginDeviceError("missing a string 'name'") }
        var arguments: [String: PluginValue] = [:]
        switch members["arguments"] {
        case nil, .null?: break
        case .object(let fields)?:
            for (key, field) in fields {
                switch field {
                case .integer(let number): arguments[key] = .int(number)
                case .number(let number): arguments[key] = .double(number)
                case .bool(let flag): arguments[key] = .bool(flag)
                case .string(let text): arguments[key] = .string(text)
                case .object, .array, .null: throw PluginDeviceError("'arguments.\(key)': expected a number, true/false or text, got \(field.typeName)")
                }
            }
        case let other?: throw PluginDeviceError("'arguments': expected an object, got \(other.typeName)")
        }
        self.init(name, arguments: arguments)
    }
}

extension PluginValue: Decodable {
    /// Decodes any JSON scalar. Bool is tried first because some decoders accept `1` as true
    /// only when asked for a number, never the other way round.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

/// One value a plugin device reports, and optionally the ground truth it was measuring.
///
/// `truth` is what accuracy checks compare a platform against; leave it nil when the device
/// measures without error.
public struct PluginReading: Hashable, Sendable {
    public var point: String
    public var value: PluginValue
    public var truth: PluginValue?

    public init(_ point: String, _ value: PluginValue, truth: PluginValue? = nil) {
        self.point = point
        self.value = value
        self.truth = truth
    }
}

/// Which stream of the device an emission belongs to; protocol bindings map these to topics.
public enum PluginChannel: String, Hashable, Sendable, CaseIterable {
    /// Periodic measurements.
    case telemetry
    /// Alarms, clears, faults, heartbeats: things that happened.
    case event
    /// Online / offline / abnormal.
    case status
    /// Happens at the device only (a beep, a LED): ground truth, never sent on the wire.
    case local
}

/// A stimulus from the harness or a command from the platform: a name and its arguments.
public struct PluginMessage: Hashable, Sendable, Decodable {
    public var name: String
    public var arguments: [String: PluginValue]

    public init(_ name: String, arguments: [String: PluginValue] = [:]) {
        self.name = name
        self.arguments = arguments
    }

    enum CodingKeys: String, CodingKey { case name, arguments }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        // The host always sends "arguments", but a hand-written C host or test may not.
        arguments = try container.decodeIfPresent([String: PluginValue].self, forKey: .arguments) ?? [:]
    }

    /// A whole-number argument, or `fallback` if absent.
    /// - Throws: ``PluginDeviceError`` if it is absent without a fallback, or not a whole number.
    public func int(_ argument: String, default fallback: Int64? = nil) throws(PluginDeviceError) -> Int64 {
        try typed(argument, fallback, "a whole number", \.intValue)
    }

    /// A numeric argument, or `fallback` if absent.
    public func double(_ argument: String, default fallback: Double? = nil) throws(PluginDeviceError) -> Double {
        try typed(argument, fallback, "a number", \.doubleValue)
    }

    /// A boolean argument, or `fallback` if absent.
    public func bool(_ argument: String, default fallback: Bool? = nil) throws(PluginDeviceError) -> Bool {
        try typed(argument, fallback, "true or false", \.boolValue)
    }

    /// A string argument, or `fallback` if absent.
    public func string(_ argument: String, default fallback: String? = nil) throws(PluginDeviceError) -> String {
        try typed(argument, fallback, "a string", \.stringValue)
    }

    /// A duration argument in nanoseconds, or `fallback` if absent: text such as `5s` or `1m30s`
    /// (how the harness sends it), or a number of seconds (how a platform's JSON carries it).
    public func duration(_ argument: String, default fallback: UInt64? = nil) throws(PluginDeviceError) -> UInt64 {
        try typed(argument, fallback, "a duration such as 5s", { value in
            switch value {
            case .string(let text): return PluginDuration.nanoseconds(parsing: text)
            case .int, .double:
                guard let seconds = value.doubleValue, seconds.isFinite, seconds >= 0, seconds * 1e9 < Double(UInt64.max) else { return nil }
                return UInt64((seconds * 1e9).rounded())
            case .bool: return nil
            }
        })
    }

    private func typed<T>(
        _ argument: String, _ fallback: T?, _ expected: String, _ extract: (PluginValue) -> T?
    ) throws(PluginDeviceError) -> T {
        guard let value = arguments[argument] else {
            if let fallback { return fallback }
            throw PluginDeviceError("'\(name)' needs argument '\(argument)' (\(expected))")
        }
        guard let typed = extract(value) else {
            throw PluginDeviceError("'\(name)' argument '\(argument)' must be \(expected), got '\(value)'")
        }
        return typed
    }
}

/// A device's answer to a command: accepted (with optional readings) or rejected with a reason.
public struct PluginCommandResult: Hashable, Sendable {
    /// Whether the device did what it was asked.
    public enum Outcome: Hashable, Sendable {
        case accepted
        case rejected(reason: String)
    }

    public var outcome: Outcome
    /// Values reported with the answer, e.g. the counts just before a reset.
    public var readings: [PluginReading]

    public init(_ outcome: Outcome, readings: [PluginReading] = []) {
        self.outcome = outcome
        self.readings = readings
    }

    public static let accepted = PluginCommandResult(.accepted)
    public static func accepted(readings: [PluginReading]) -> PluginCommandResult { .init(.accepted, readings: readings) }
    public static func rejected(_ reason: String) -> PluginCommandResult { .init(.rejected(reason: reason)) }
}

/// Why a plugin device refused its configuration, a stimulus, or an argument.
///
/// Throw it from ``PluginDevice/init(config:)`` or ``PluginDevice/apply(stimulus:_:)``; the
/// message reaches the ParkBench user as is, so say what was wrong and what would be right.
public struct PluginDeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
