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
