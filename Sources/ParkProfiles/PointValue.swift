import ParkWire

/// A typed value of a point, a parameter, or a command argument.
public enum PointValue: Hashable, Sendable, CustomStringConvertible {
    case double(Double)
    case int(Int64)
    case bool(Bool)
    case string(String)

    /// The type of this value.
    public var type: PointType {
        switch self {
        case .double: .double
        case .int: .int
        case .bool: .bool
        case .string: .string
        }
    }

    /// The value as a number, if it is one.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        case .bool, .string: nil
        }
    }

    public var description: String {
        switch self {
        case .double(let value): JSONText.number(value)
        case .int(let value): String(value)
        case .bool(let value): String(value)
        case .string(let value): value
        }
    }

    /// The value as a JSON literal.
    public var jsonText: String {
        switch self {
        case .string(let value): JSONText.quoted(value)
        default: description
        }
    }
}

/// The type of a point, parameter or argument, as written in profiles and descriptors.
public enum PointType: String, Hashable, Sendable, Codable, CaseIterable {
    case double, int, bool, string, duration
}
