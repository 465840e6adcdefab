/// A device's parameters, checked against its kind's ``ParameterDescriptor``s, defaults filled in.
///
/// Durations are stored as nanoseconds (`.int`) and read back with ``duration(_:)``.
public struct DeviceParameters: Hashable, Sendable {
    public private(set) var values: [String: PointValue]

    /// Resolves `overrides` (profile text such as `40s` or `0.15`) against `descriptor`.
    ///
    /// - Throws: ``ParameterError`` naming the first parameter that is unknown, mistyped or out
    ///   of range; callers that want every problem call ``ParameterDescriptor/parse(_:)`` per key.
    public init(descriptor: KindDescriptor, overrides: [String: String] = [:]) throws(ParameterError) {
        var values: [String: PointValue] = [:]
        for key in overrides.keys.sorted() where descriptor.parameter(named: key) == nil {
            throw ParameterError(
                parameter: key,
                message: "unknown parameter '\(key)' for kind '\(descriptor.name)'; known: "
                    + descriptor.parameters.map(\.name).joined(separator: ", "))
        }
        for parameter in descriptor.parameters {
            let text = overrides[parameter.name] ?? parameter.defaultValue
            switch parameter.parse(text) {
            case .success(let value): values[parameter.name] = value
            case .failure(let error): throw error
            }
        }
        self.values = values
    }

    /// Parameters given directly, for tests and plugins; no validation.
    public init(values: [String: PointValue]) { self.values = values }

    public func double(_ name: String) -> Double {
        guard let value = values[name]?.doubleValue else { undeclared(name) }
        return value
    }

    public func int(_ name: String) -> Int64 {
        guard case .int(let value) = values[name] else { undeclared(name) }
        return value
    }

    public func bool(_ name: String) -> Bool {
        guard case .bool(let value) = values[name] else { undeclared(name) }
        return value
    }

    public func string(_ name: String) -> String {
        guard case .string(let value) = values[name] else { undeclared(name) }
        return value
    }

    public func duration(_ name: String) -> DeviceDuration {
        guard case .int(let value) = values[name], value >= 0 else { undeclared(name) }
        return DeviceDuration(nanoseconds: UInt64(value))
    }

    private func undeclared(_ name: String) -> Never {
        preconditionFailure("device kind read parameter '\(name)', which its descriptor does not declare with that type")
    }
}

/// A parameter value that does not fit its descriptor.
public struct ParameterError: Error, Hashable, Sendable, CustomStringConvertible {
    public var parameter: String
    public var message: String
    public var description: String { message }
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
