import ParkWire

/// A parameter value that does not fit its descriptor.
public struct ParameterError: Error, Hashable, Sendable, CustomStringConvertible {
    public var parameter: String
    public var message: String
    public var description: String { message }

    public init(parameter: String, message: String) {
        self.parameter = parameter
        self.message = message
    }
}

extension ParameterDescriptor {
    /// Parses profile text into a typed value and checks the range.
    public func parse(_ text: String) -> Result<PointValue, ParameterError> {
        func fail(_ message: String) -> Result<PointValue, ParameterError> {
            .failure(ParameterError(parameter: name, message: message))
        }
        let value: PointValue
        let number: Double
        switch type {
        case .double:
            guard let parsed = Double(text.trimmingSpaces), parsed.isFinite else {
                return fail("parameter '\(name)' expects a number, got '\(text)'")
            }
            value = .double(parsed); number = parsed
        case .int:
            guard let parsed = Int64(text.trimmingSpaces) else {
                return fail("parameter '\(name)' expects a whole number, got '\(text)'")
            }
            value = .int(parsed); number = Double(parsed)
        case .bool:
            switch text.trimmingSpaces.lowercased() {
            case "true", "yes", "on": return .success(.bool(true))
            case "false", "no", "off": return .success(.bool(false))
            default: return fail("parameter '\(name)' expects true or false, got '\(text)'")
            }
        case .string:
            return .success(.string(text))
        case .duration:
            guard let parsed = DeviceDuration(parsing: text), parsed.nanoseconds <= UInt64(Int64.max) else {
                return fail("parameter '\(name)' expects a duration such as 40s, 500ms or 1h30m, got '\(text)'")
            }
            value = .int(Int64(parsed.nanoseconds)); number = parsed.seconds
        }
        let unitText = type == .duration ? "s" : (unit.map { " \($0)" } ?? "")
        if let minimum, number < minimum {
            return fail("parameter '\(name)' must be at least \(JSONText.number(minimum))\(unitText), got '\(text)'")
        }
        if let maximum, number > maximum {
            return fail("parameter '\(name)' must be at most \(JSONText.number(maximum))\(unitText), got '\(text)'")
        }
        return .success(value)
    }
}
