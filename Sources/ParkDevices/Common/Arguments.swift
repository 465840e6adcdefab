import ParkCore

/// The arguments of one stimulus or command, read with the same checks and the same error
/// wording in every kind ("stimulus 'x' needs argument 'y'", "… must be a number …").
struct Arguments {
    let values: [String: PointValue]
    /// Names the stimulus or command in errors: `stimulus 'drain'`, `command 'set-thresholds'`.
    let owner: String

    init(_ stimulus: Stimulus) {
        values = stimulus.arguments
        owner = "stimulus '\(stimulus.name)'"
    }

    init(_ command: DeviceCommand) {
        values = command.arguments
        owner = "command '\(command.name)'"
    }

    init(_ values: [String: PointValue], of owner: String) {
        self.values = values
        self.owner = owner
    }

    /// A numeric argument; nil when absent.
    /// - Throws: ``DeviceError`` when it is not a number.
    func number(_ name: String) throws(DeviceError) -> Double? {
        guard let value = values[name] else { return nil }
        guard let number = value.doubleValue else {
            throw DeviceError("\(owner) argument '\(name)' must be a number, got \(value.jsonText)")
        }
        return number
    }

    /// A numeric argument within `range` (`unit` only words the error); nil when absent.
    /// - Throws: ``DeviceError`` when it is not a number in `range`.
    func number(_ name: String, range: ClosedRange<Double>, unit: String) throws(DeviceError) -> Double? {
        guard let value = values[name] else { return nil }
        guard let number = value.doubleValue, range.contains(number) else {
            throw DeviceError("\(owner) argument '\(name)' must be a number from \(JSONText.number(range.lowerBound))"
                + " to \(JSONText.number(range.upperBound)) \(unit), got \(value.jsonText)")
        }
        return number
    }

    /// `value` (an argument read with one of the `number` methods), which must be there.
    /// - Throws: ``DeviceError`` naming the missing argument.
    func required(_ value: Double?, _ name: String) throws(DeviceError) -> Double {
        guard let value else { throw DeviceError("\(owner) needs argument '\(name)'") }
        return value
    }

    /// A text argument that must be there and not be empty (an id tag, a reset type).
    /// - Throws: ``DeviceError`` naming the missing argument.
    func requiredString(_ name: String) throws(DeviceError) -> String {
        guard case .string(let given)? = values[name], !given.isEmpty else { throw DeviceError("\(owner) needs argument '\(name)' (text)") }
        return given
    }

    /// A true/false argument that must be there: a yes/no the caller must not leave to a default.
    /// - Throws: ``DeviceError`` naming the missing argument.
    func requiredBool(_ name: String) throws(DeviceError) -> Bool {
        guard case .bool(let given)? = values[name] else { throw DeviceError("\(owner) needs argument '\(name)' (true or false)") }
        return given
    }

    /// A true/false argument, or `fallback` when it is absent or not a bool.
    func bool(_ name: String, default fallback: Bool) -> Bool {
        if case .bool(let given)? = values[name] { return given }
        return fallback
    }

    /// A text argument, or `fallback` when it is absent or not text.
    func string(_ name: String, default fallback: String) -> String {
        if case .string(let given)? = values[name] { return given }
        return fallback
    }
}

/// A value rounded to four decimals, as every built-in kind puts readings on the wire: enough
/// for any instrument here, and short, stable JSON.
func readingRounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
