/// What a plugin's device kind offers: the ParkBench-side `KindDescriptor`, written in plain
/// Swift inside the plugin.
///
/// ParkBench shows it in `parkbench devices`, validates model profiles against its parameters,
/// and checks stimuli and commands against it. It crosses the boundary as JSON with the same
/// keys `KindDescriptor` decodes, because the plugin cannot share ParkBench's Swift types.
public struct PluginKindDescription: Hashable, Sendable, Encodable {
    /// The kind's name as used in model profiles, e.g. `people-counter`.
    public var name: String
    /// One line saying what the device is.
    public var summary: String
    /// Where the kind's behaviour comes from (documents, lines), for traceability.
    public var sources: [String]
    public var points: [PluginPointDescription]
    public var events: [PluginEventDescription]
    public var commands: [PluginCommandDescription]
    public var stimuli: [PluginStimulusDescription]
    public var parameters: [PluginParameterDescription]

    public init(
        name: String, summary: String, sources: [String] = [], points: [PluginPointDescription] = [],
        events: [PluginEventDescription] = [], commands: [PluginCommandDescription] = [],
        stimuli: [PluginStimulusDescription] = [], parameters: [PluginParameterDescription] = []
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
}

/// The type of a point, parameter or argument, spelled as in ParkBench profiles.
public enum PluginValueType: String, Hashable, Sendable, Encodable, CaseIterable {
    /// A duration parameter: written `40s`, `500ms`, `1h30m` in profiles and handed to the
    /// plugin in nanoseconds (see ``PluginDeviceConfig/duration(_:)``).
    case double, int, bool, string, duration
}

/// How much attention an event asks for.
public enum PluginEventSeverity: String, Hashable, Sendable, Encodable, CaseIterable {
    case info, warning, alarm, critical
}

/// A measured quantity the device reports, e.g. `occupancy`.
public struct PluginPointDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var type: PluginValueType
    public var unit: String?
    public var summary: String

    public init(name: String, type: PluginValueType, unit: String? = nil, summary: String) {
        self.name = name
        self.type = type
        self.unit = unit
        self.summary = summary
    }
}

/// An event the device raises, e.g. `over-capacity`.
public struct PluginEventDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var severity: PluginEventSeverity
    public var summary: String

    public init(name: String, severity: PluginEventSeverity, summary: String) {
        self.name = name
        self.severity = severity
        self.summary = summary
    }
}

/// A named, typed argument of a command or stimulus.
public struct PluginArgumentDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var type: PluginValueType
    public var required: Bool
    public var summary: String

    public init(name: String, type: PluginValueType, required: Bool = true, summary: String) {
        self.name = name
        self.type = type
        self.required = required
        self.summary = summary
    }
}

/// A command the platform may send, e.g. `reset`.
public struct PluginCommandDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var arguments: [PluginArgumentDescription]
    public var summary: String

    public init(name: String, arguments: [PluginArgumentDescription] = [], summary: String) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
    }
}

/// Something the test harness may make happen to the device, e.g. `crowd`.
public struct PluginStimulusDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var arguments: [PluginArgumentDescription]
    public var summary: String

    public init(name: String, arguments: [PluginArgumentDescription] = [], summary: String) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
    }
}

/// A setting a model profile may give, with its default and allowed range.
///
/// ParkBench validates profile values against it before the device is created, so a device
/// always receives every declared parameter, in range.
public struct PluginParameterDescription: Hashable, Sendable, Encodable {
    public var name: String
    public var type: PluginValueType
    /// The default, written as in a profile (`1m`, `0.005`, `true`).
    public var defaultValue: String
    /// Lower bound; for durations, in seconds.
    public var minimum: Double?
    /// Upper bound; for durations, in seconds.
    public var maximum: Double?
    public var unit: String?
    public var summary: String

    // `default` is KindDescriptor's key (and a Swift keyword, hence the longer property name).
    enum CodingKeys: String, CodingKey {
        case name, type, defaultValue = "default", minimum, maximum, unit, summary
    }

    public init(
        name: String, type: PluginValueType, defaultValue: String, minimum: Double? = nil,
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
