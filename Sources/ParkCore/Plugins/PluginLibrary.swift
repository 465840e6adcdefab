import ParkPluginJSON
import CParkPlugin
import Logging

/// A loaded plugin library: its callbacks, its decoded kind, and how to read what it sends.
///
/// Immutable after loading and never unloaded, so it may be shared by every thread that runs
/// the kind's devices; `@unchecked Sendable` because it holds C function pointers.
final class PluginLibrary: @unchecked Sendable {
    typealias Create = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafeMutableRawPointer?
    typealias Destroy = @convention(c) (UnsafeMutableRawPointer?) -> Void
    typealias Start = @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Void
    typealias Timer = @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UInt32) -> Void
    typealias Message = @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int) -> Void

    /// The library's canonical path.
    let path: String
    /// The `dlopen` handle, kept only to show the library is deliberately never closed.
    let handle: UnsafeMutableRawPointer
    let descriptor: KindDescriptor
    let create: Create
    let destroy: Destroy
    let start: Start
    let timer: Timer
    let stimulus: Message
    let command: Message
    let logger: Logger
    /// Declared point types, used to type readings whose JSON form is ambiguous (`2` for 2.0).
    private let pointTypes: [String: PointType]

    init(
        path: String, handle: UnsafeMutableRawPointer, descriptor: KindDescriptor, create: Create, destroy: Destroy,
        start: Start, timer: Timer, stimulus: Message, command: Message
    ) {
        self.path = path
        self.handle = handle
        self.descriptor = descriptor
        self.create = create
        self.destroy = destroy
        self.start = start
        self.timer = timer
        self.stimulus = stimulus
        self.command = command
        var logger = Logger(label: "parkbench.plugin")
        logger[metadataKey: "plugin"] = .string(path)
        logger[metadataKey: "kind"] = .string(descriptor.name)
        self.logger = logger
        self.pointTypes = Dictionary(descriptor.points.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: Reading plugin JSON

    /// An emission from its JSON (see the header); throws on anything off-shape.
    func emission(from json: PluginJSONValue) throws(PluginJSONError) -> Emission {
        guard case .object(let members) = json else { throw PluginJSONError("an emission must be a JSON object") }
        guard case .string(let channelName)? = members["channel"] else {
            throw PluginJSONError("emission needs a string \"channel\"")
        }
        guard let channel = EmissionChannel(rawValue: channelName) else {
            throw PluginJSONError(
                "unknown channel \"\(channelName)\"; use one of "
                    + EmissionChannel.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard case .string(let name)? = members["name"], !name.isEmpty else {
            throw PluginJSONError("emission needs a non-empty string \"name\"")
        }
        return Emission(channel: channel, name: name, readings: try readings(from: members["readings"]))
    }

    /// A command result from its JSON: `{"accepted":true|false, "reason":..., "readings":[...]}`.
    func commandResult(from json: PluginJSONValue) throws(PluginJSONError) -> CommandResult {
        guard case .object(let members) = json else { throw PluginJSONError("a command result must be a JSON object") }
        guard case .bool(let accepted)? = members["accepted"] else {
            throw PluginJSONError("command result needs a boolean \"accepted\"")
        }
        let readings = try readings(from: members["readings"])
        guard !accepted else { return CommandResult(.accepted, readings: readings) }
        let reason: String
        switch members["reason"] {
        case .string(let text)? where !text.isEmpty: reason = text
        case nil, .null?: reason = "rejected by the device without a reason"
        case let other?: throw PluginJSONError("\"reason\" must be a string, got \(other.typeName)")
        }
        return CommandResult(.rejected(reason: reason), readings: readings)
    }

    private func readings(from json: PluginJSONValue?) throws(PluginJSONError) -> [Reading] {
        switch json {
        case nil, .null?: return []
        case .array(let elements)?:
            var readings: [Reading] = []
            readings.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                guard case .object(let members) = element else {
                    throw PluginJSONError("readings[\(index)] must be an object")
                }
                guard case .string(let point)? = members["point"], !point.isEmpty else {
                    throw PluginJSONError("readings[\(index)] needs a non-empty string \"point\"")
                }
                guard let valueJSON = members["value"] else {
                    throw PluginJSONError("reading '\(point)' has no \"value\"")
                }
                let value = try pointValue(valueJSON, point: point, role: "value")
                var truth: PointValue?
                if let truthJSON = members["truth"], truthJSON != .null {
                    truth = try pointValue(truthJSON, point: point, role: "truth")
                }
                readings.append(Reading(point, value, truth: truth))
            }
            return readings
        case let other?:
            throw PluginJSONError("\"readings\" must be an array, got \(other.typeName)")
        }
    }

    /// A JSON scalar as a point value: the declared point type decides between int and double
    /// when the JSON allows both; undeclared points go by how the number was written.
    private func pointValue(_ json: PluginJSONValue, point: String, role: String) throws(PluginJSONError) -> PointValue {
        let declared = pointTypes[point]
        switch json {
        case .integer(let integer):
            return declared == .double ? .double(Double(integer)) : .int(integer)
        case .number(let number):
            if declared == .int || declared == .duration, number.rounded() == number, abs(number) < 9.2e18 {
                return .int(Int64(number))
            }
            return .double(number)
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .null, .object, .array:
            throw PluginJSONError("reading '\(point)' \(role) must be a JSON scalar, got \(json.typeName)")
        }
    }
}
