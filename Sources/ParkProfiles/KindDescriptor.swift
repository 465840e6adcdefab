/// What a device kind offers, independent of any wire protocol: the points it measures, the
/// events it raises, the commands it obeys, the stimuli the harness may apply, and the
/// parameters a model profile may set.
///
/// The same structure crosses the plugin boundary as JSON, so it is `Codable` with stable
/// snake_case keys.
public struct KindDescriptor: Hashable, Sendable, Codable {
    /// The kind's name as used in profiles, e.g. `smoke-detector`.
    public var name: String
    /// One line saying what the device is.
    public var summary: String
    /// Where the kind's behaviour comes from, e.g. `004_5e9061d643d5fb41.txt L3048-3054`.
    public var sources: [String]
    public var points: [PointDescriptor]
    public var events: [EventDescriptor]
    public var commands: [CommandDescriptor]
    public var stimuli: [StimulusDescriptor]
    public var parameters: [ParameterDescriptor]

    public init(
        name: String, summary: String, sources: [String] = [], points: [PointDescriptor] = [],
        events: [EventDescriptor] = [], commands: [CommandDescriptor] = [],
        stimuli: [StimulusDescriptor] = [], parameters: [ParameterDescriptor] = []
    ) {
        self.name = name
        self.summary = summary
        self.sources = sources
        self.points = points
        self.events = events
        self.commands = commands
        self.stimuli = stimuli
        self.parameters = parameters
    }

    public func parameter(named name: String) -> ParameterDescriptor? { parameters.first { $0.name == name } }
    public func command(named name: String) -> CommandDescriptor? { commands.first { $0.name == name } }
    public func stimulus(named name: String) -> StimulusDescriptor? { stimuli.first { $0.name == name } }
}

/// A measured quantity, e.g. `smoke_density` in dB/m.
public struct PointDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var type: PointType
    public var unit: String?
    public var summary: String

    public init(name: String, type: PointType, unit: String? = nil, summary: String) {
        self.name = name
        self.type = type
        self.unit = unit
        self.summary = summary
    }
}

/// How much attention an event asks for.
public enum EventSeverity: String, Hashable, Sendable, Codable, CaseIterable {
    case info, warning, alarm, critical
}

/// Something a device reports, e.g. `smoke-alarm`, `heartbeat`, `low-battery`.
public struct EventDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var severity: EventSeverity
    public var summary: String

    public init(name: String, severity: EventSeverity, summary: String) {
        self.name = name
        self.severity = severity
        self.summary = summary
    }
}

/// A named, typed argument of a command or stimulus.
public struct ArgumentDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var type: PointType
    public var required: Bool
    public var summary: String

    public init(name: String, type: PointType, required: Bool = true, summary: String) {
        self.name = name
        self.type = type
        self.required = required
        self.summary = summary
    }
}

/// Something the platform can ask a device to do, e.g. `self-test`, `silence`.
public struct CommandDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var arguments: [ArgumentDescriptor]
    public var summary: String

    public init(name: String, arguments: [ArgumentDescriptor] = [], summary: String) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
    }
}

/// Something the harness can make happen to a device, e.g. `smoke` (a fire), `tamper`.
public struct StimulusDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var arguments: [ArgumentDescriptor]
    public var summary: String

    public init(name: String, arguments: [ArgumentDescriptor] = [], summary: String) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
    }
}

/// A setting a model profile may give, with its type, default and allowed range.
public struct ParameterDescriptor: Hashable, Sendable, Codable {
    public var name: String
    public var type: PointType
    /// The default, written as in a profile (`40s`, `0.15`, `true`).
    public var defaultValue: String
    public var minimum: Double?
    public var maximum: Double?
    public var unit: String?
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case name, type, defaultValue = "default", minimum, maximum, unit, summary
    }

    public init(
        name: String, type: PointType, defaultValue: String, minimum: Double? = nil,
        maximum: Double? = nil, unit: String? = nil, summary: String
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        self.summary = summary
    }
}
