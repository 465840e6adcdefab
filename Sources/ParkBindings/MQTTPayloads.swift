import Foundation
import ParkCore

/// The JSON messages devices send and receive over MQTT.
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
/// "values":{…}}` or `"accepted":false,"reason":"…"`.
public enum MQTTPayloads {
    /// The message for one ledger emission.
    /// - Parameter fields: the names the device's model uses (``MQTTPayloadFields/standard`` by default).
    public static func emission(_ record: LedgerRecord, fields: MQTTPayloadFields = .standard) -> [UInt8] {
        var json = "{\(fields.device):\(JSONText.quoted(record.deviceID)),\(fields.kind):\(JSONText.quoted(record.kind))"
        json += ",\(fields.seq):\(record.deviceSequence),\(fields.messageID):\(JSONText.quoted(record.messageID))"
        json += ",\(fields.ts):\"\(record.time.wall.iso8601)\",\(fields.tsNanoseconds):\(record.time.wall.nanosecondsSinceEpoch)"
        json += ",\(fields.channel):\"\(record.channel?.rawValue ?? "event")\",\(fields.name):\(JSONText.quoted(record.name))"
        json += ",\(fields.values):" + values(record.readings) + "}"
        return Array(json.utf8)
    }

    /// The retained online/offline status message (also the last will, as `offline`).
    public static func status(device: BoundDevice, online: Bool, wall: WallTime?, fields: MQTTPayloadFields = .standard) -> [UInt8] {
        var json = "{\(fields.device):\(JSONText.quoted(device.id)),\(fields.kind):\(JSONText.quoted(device.kind))"
        json += ",\(fields.status):\"\(online ? "online" : "offline")\""
        if let wall { json += ",\(fields.ts):\"\(wall.iso8601)\",\(fields.tsNanoseconds):\(wall.nanosecondsSinceEpoch)" }
        return Array((json + "}").utf8)
    }

    /// The answer to a command.
    public static func commandAck(device: String, id: String, command: String, result: CommandResult, wall: WallTime) -> [UInt8] {
        var json = "{\"device\":\(JSONText.quoted(device)),\"id\":\(JSONText.quoted(id)),\"command\":\(JSONText.quoted(command))"
        switch result.outcome {
        case .accepted: json += ",\"accepted\":true"
        case .rejected(let reason): json += ",\"accepted\":false,\"reason\":\(JSONText.quoted(reason))"
        }
        json += ",\"values\":" + values(result.readings)
        json += ",\"ts\":\"\(wall.iso8601)\",\"ts_ns\":\(wall.nanosecondsSinceEpoch)}"
        return Array(json.utf8)
    }

    /// Parses a command message. - Throws: ``BindingError`` saying what is wrong with it.
    public static func command(from payload: [UInt8]) throws(BindingError) -> DeviceCommand {
        let message: CommandMessage
        do { message = try JSONDecoder().decode(CommandMessage.self, from: Data(payload)) } catch let error as DecodingError {
            throw BindingError("command is not valid: \(describe(error)); got \(String(decoding: payload.prefix(120), as: UTF8.self))")
        } catch {
            throw BindingError("command is not JSON: \(String(decoding: payload.prefix(120), as: UTF8.self))")
        }
        guard !message.command.isEmpty else { throw BindingError("command needs a non-empty \"command\" field") }
        return DeviceCommand(message.command, arguments: (message.args ?? [:]).mapValues(\.value), id: message.id?.text)
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
        var value: PointValue
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

    static func values(_ readings: [Reading]) -> String {
        "{" + readings.map { "\(JSONText.quoted($0.point)):\($0.value.jsonText)" }.joined(separator: ",") + "}"
    }
}
