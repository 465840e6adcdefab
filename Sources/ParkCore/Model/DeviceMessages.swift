/// One value a device reports: what it measured, and the ground truth it was measuring.
///
/// The two differ when a kind models sensor error; accuracy checks compare what a platform
/// shows against `truth`, not against `value`.
public struct Reading: Hashable, Sendable {
    public var point: String
    public var value: PointValue
    public var truth: PointValue?

    public init(_ point: String, _ value: PointValue, truth: PointValue? = nil) {
        self.point = point
        self.value = value
        self.truth = truth
    }
}

/// Which stream of a device an emission belongs to; bindings map these to topics or registers.
public enum EmissionChannel: String, Hashable, Sendable, Codable, CaseIterable {
    /// Periodic measurements.
    case telemetry
    /// Alarms, clears, faults, heartbeats: things that happened.
    case event
    /// Online / offline / abnormal.
    case status
    /// Happens at the device only (a sounder chirps, a LED blinks): recorded in the ledger as
    /// ground truth, never put on the wire by a binding.
    case local
}

/// Something a device sends: what a protocol binding puts on the wire, and the ledger records.
public struct Emission: Hashable, Sendable {
    public var channel: EmissionChannel
    /// The event name (`smoke-alarm`, `heartbeat`) or, for telemetry, `telemetry`.
    public var name: String
    public var readings: [Reading]

    public init(channel: EmissionChannel, name: String, readings: [Reading] = []) {
        self.channel = channel
        self.name = name
        self.readings = readings
    }
}

/// A command from the platform to a device, e.g. `self-test` or `silence`.
public struct DeviceCommand: Hashable, Sendable {
    public var name: String
    public var arguments: [String: PointValue]
    /// The platform's id for the command, echoed in the result; the engine assigns one if nil.
    public var id: String?

    public init(_ name: String, arguments: [String: PointValue] = [:], id: String? = nil) {
        self.name = name
        self.arguments = arguments
        self.id = id
    }
}

/// What a device answered to a command.
public struct CommandResult: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        case accepted
        case rejected(reason: String)
    }

    public var outcome: Outcome
    public var readings: [Reading]

    public init(_ outcome: Outcome, readings: [Reading] = []) {
        self.outcome = outcome
        self.readings = readings
    }

    public static let accepted = CommandResult(.accepted)
    public static func rejected(_ reason: String) -> CommandResult { CommandResult(.rejected(reason: reason)) }
}

/// Why a device could not take a stimulus or command.
public struct DeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A command as the engine handled it: the device's answer and the ledger record of both.
public struct CommandReceipt: Sendable {
    public var result: CommandResult
    public var record: LedgerRecord

    public init(result: CommandResult, record: LedgerRecord) {
        self.result = result
        self.record = record
    }
}
