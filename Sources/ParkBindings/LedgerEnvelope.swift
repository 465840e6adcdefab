import ParkCore
import ParkWire

/// The engine's records and results in ParkWire's envelope: the one place a device's ledger
/// record becomes the message a platform reads.
extension DeviceEnvelope {
    /// The message for one ledger emission.
    public static func emission(_ record: LedgerRecord, fields: MessageFields = .standard) -> [UInt8] {
        emission(
            device: record.deviceID, kind: record.kind, sequence: record.deviceSequence, messageID: record.messageID,
            wallNanoseconds: record.time.wall.nanosecondsSinceEpoch, channel: record.channel?.rawValue ?? "event", name: record.name,
            values: record.readings.map { ($0.point, $0.value.jsonText) }, fields: fields)
    }

    /// The retained status message of a bound device.
    public static func status(device: BoundDevice, online: Bool, wall: WallTime?, fields: MessageFields = .standard) -> [UInt8] {
        status(device: device.id, kind: device.kind, online: online, wallNanoseconds: wall?.nanosecondsSinceEpoch, fields: fields)
    }

    /// The answer to a command, as the engine gave it.
    public static func commandAck(device: String, id: String, command: String, result: CommandResult, wall: WallTime) -> [UInt8] {
        let rejection: String? = switch result.outcome {
        case .accepted: nil
        case .rejected(let reason): reason
        }
        return commandAck(device: device, id: id, command: command, rejection: rejection,
                          values: result.readings.map { ($0.point, $0.value.jsonText) }, wallNanoseconds: wall.nanosecondsSinceEpoch)
    }

    /// Parses a command message into the engine's form. - Throws: ``BindingError`` saying what is wrong with it.
    public static func deviceCommand(from payload: [UInt8]) throws(BindingError) -> DeviceCommand {
        let command: WireCommand
        do { command = try DeviceEnvelope.command(from: payload) } catch { throw BindingError(error.message) }
        return DeviceCommand(command.command, arguments: command.arguments.mapValues(PointValue.init), id: command.id)
    }
}

extension PointValue {
    /// A wire scalar as a point value: whole numbers stay integers.
    init(_ scalar: WireScalar) {
        switch scalar {
        case .bool(let flag): self = .bool(flag)
        case .int(let integer): self = .int(integer)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        }
    }
}
