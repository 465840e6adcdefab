import Foundation

/// The JSON envelope of ParkBench's device messages, written and read in this one place: by the
/// device bindings, the meter gateway, the reference platform and the harness.
///
/// Every device message carries the fields a harness needs to measure loss, duplicates, order
/// and latency: `device`, `seq` (per-device emission sequence, 1, 2, 3…), `msg_id`
/// (`<device>#<seq>`), `ts` (RFC 3339, ms) and `ts_ns` (Unix nanoseconds). Only the measured
/// values go on the wire; the ground truth stays in the ledger.
///
/// ```json
/// {"device":"smoke-A2-03","kind":"smoke-detector","seq":12,"msg_id":"smoke-A2-03#12",
///  "ts":"2026-11-24T10:00:02.001Z","ts_ns":1795…,"channel":"event","name":"smoke-alarm",
///  "values":{"smoke_density":0.4492,"threshold":0.15}}
/// ```
///
/// Commands arrive on the `cmd` channel as `{"id":"c-1","command":"self-test","args":{…}}` and
/// are answered on `cmd/ack` with `{"device":…,"id":"c-1","command":…,"accepted":true,
/// "values":{…}}` or `"accepted":false,"reason":"…"`. Messages are written by appending to a
/// string, not through `JSONEncoder`: a park emits up to 100,000 of them a second.
///
/// Decoding a device message is ``DeviceMessage``'s job (bounded, for hostile input).
public enum DeviceEnvelope {
    /// A value already written as JSON text (`0.45`, `true`, `"open"`), keyed by its point name.
    public typealias Values = [(point: String, json: String)]

    /// One emission (telemetry, event): the envelope's full form.
    /// - Parameters:
    ///   - extra: fields after `name` (already JSON text), e.g. the `gateway` that read a meter.
    ///   - fields: the names the device's model uses (``MessageFields/standard`` by default).
    public static func emission(
        device: String, kind: String, sequence: UInt64, messageID: String, wallNanoseconds: Int64, channel: String, name: String,
        values: Values, extra: [(key: String, json: String)] = [], fields: MessageFields = .standard
    ) -> [UInt8] {
        var json = "{\(fields.device):\(JSONText.quoted(device)),\(fields.kind):\(JSONText.quoted(kind))"
        json += ",\(fields.seq):\(sequence),\(fields.messageID):\(JSONText.quoted(messageID))"
        json += timestamps(wallNanoseconds, fields)
        json += ",\(fields.channel):\(JSONText.quoted(channel)),\(fields.name):\(JSONText.quoted(name))"
        json += members(extra)
        json += ",\(fields.values):" + object(values) + "}"
        return Array(json.utf8)
    }

    /// The retained online/offline status message (also the last will, as `offline`, without a time).
    public static func status(
        device: String, kind: String, online: Bool, wallNanoseconds: Int64?, extra: [(key: String, json: String)] = [],
        fields: MessageFields = .standard
    ) -> [UInt8] {
        var json = "{\(fields.device):\(JSONText.quoted(device)),\(fields.kind):\(JSONText.quoted(kind))"
        json += ",\(fields.status):\"\(online ? "online" : "offline")\""
        if let wallNanoseconds { json += timestamps(wallNanoseconds, fields) }
        return Array((json + members(extra) + "}").utf8)
    }

    /// The answer to a command: accepted, or refused with its reason.
    public static func commandAck(
        device: String, id: String, command: String, rejection: String?, values: Values = [], wallNanoseconds: Int64?,
        extra: [(key: String, json: String)] = []
    ) -> [UInt8] {
        var json = "{\"device\":\(JSONText.quoted(device)),\"id\":\(JSONText.quoted(id)),\"command\":\(JSONText.quoted(command))"
        if let rejection { json += ",\"accepted\":false,\"reason\":\(JSONText.quoted(rejection))" } else { json += ",\"accepted\":true" }
        json += ",\"values\":" + object(values)
        if let wallNanoseconds { json += timestamps(wallNanoseconds, .standard) }
        return Array((json + members(extra) + "}").utf8)
    }

    /// A command for a device's `cmd` topic, as a platform sends it.
    /// - Parameter extra: fields after `args` (already JSON text), e.g. the linkage `rule` behind it.
    public static func command(id: String, command: String, arguments: [(key: String, value: WireScalar)],
                               extra: [(key: String, json: String)] = []) -> [UInt8] {
        var json = "{\"id\":\(JSONText.quoted(id)),\"command\":\(JSONText.quoted(command)),\"args\":"
        json += object(arguments.map { ($0.key, $0.value.json) })
        return Array((json + members(extra) + "}").utf8)
    }

    /// Parses a command message. - Throws: ``WireError`` saying what is wrong with it.
    public static func command(from payload: [UInt8]) throws(WireError) -> WireCommand {
        let message: CommandMessage
        do { message = try JSONDecoder().decode(CommandMessage.self, from: Data(payload)) } catch let error as DecodingError {
            throw WireError("command is not valid: \(describe(error)); got \(String(decoding: payload.prefix(120), as: UTF8.self))")
        } catch {
            throw WireError("command is not JSON: \(String(decoding: payload.prefix(120), as: UTF8.self))")
        }
        guard !message.command.isEmpty else { throw WireError("command needs a non-empty \"command\" field") }
        return WireCommand(id: message.id?.text, command: message.command, arguments: (message.args ?? [:]).mapValues(\.value))
    }

    static func timestamps(_ nanoseconds: Int64, _ fields: MessageFields) -> String {
        ",\(fields.ts):\"\(WireTime.iso8601(nanosecondsSinceEpoch: nanoseconds))\",\(fields.tsNanoseconds):\(nanoseconds)"
    }

    static func object(_ values: Values) -> String {
        "{" + values.map { "\(JSONText.quoted($0.point)):\($0.json)" }.joined(separator: ",") + "}"
    }

    static func members(_ extra: [(key: String, json: String)]) -> String {
        extra.map { ",\(JSONText.quoted($0.key)):\($0.json)" }.joined()
    }

    struct CommandMessage: Decodable {
        var id: CommandID?
        var command: String
        var args: [String: ArgumentValue]?
    }

    /// A command id may be a string or a number; it is echoed as text.
    struct CommandID: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self.text = text }
            else { self.text = String(try container.decode(Int64.self)) }
        }
    }

    /// A scalar argument: whole numbers stay integers, everything else keeps its JSON type.
    struct ArgumentValue: Decodable {
        var value: WireScalar
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) { value = .bool(flag) }
            else if let integer = try? container.decode(Int64.self) { value = .int(integer) }
            else if let number = try? container.decode(Double.self) { value = .double(number) }
            else { value = .string(try container.decode(String.self)) }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case .dataCorrupted(let context) where context.codingPath.isEmpty: "not JSON"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? context.debugDescription
                : "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\": \(context.debugDescription)"
        @unknown default: "\(error)"
        }
    }
}

/// A command as it arrives on a device's `cmd` topic.
public struct WireCommand: Sendable, Hashable {
    /// The sender's id for it, echoed in the ack (text even when sent as a number).
    public var id: String?
    public var command: String
    public var arguments: [String: WireScalar]

    public init(id: String?, command: String, arguments: [String: WireScalar]) {
        self.id = id
        self.command = command
        self.arguments = arguments
    }
}

/// A scalar on the wire: a command argument, a rule's argument.
public enum WireScalar: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)

    /// The value as JSON text; a non-finite double as `null`.
    public var json: String {
        switch self {
        case .bool(let flag): flag ? "true" : "false"
        case .int(let integer): String(integer)
        case .double(let number): JSONText.number(number)
        case .string(let text): JSONText.quoted(text)
        }
    }

    /// What text written in a YAML file means on the wire: a whole number, a finite number,
    /// `true`/`false`, or else the text itself.
    public init(inferredFrom text: String) {
        if let integer = Int64(text) { self = .int(integer) }
        else if let number = Double(text), number.isFinite { self = .double(number) }
        else if text == "true" || text == "false" { self = .bool(text == "true") }
        else { self = .string(text) }
    }
}
