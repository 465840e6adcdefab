import ParkCore
import ParkWire

/// The engine's records and results in a device's wire format: the one place a ledger record
/// becomes what a platform reads, whatever format the device's model writes.
extension WireEmission {
    /// The emission of one ledger record by `device`.
    public init(_ record: LedgerRecord, device: BoundDevice) {
        self.init(
            device: device, sequence: record.deviceSequence, messageID: record.messageID,
            wallNanoseconds: record.time.wall.nanosecondsSinceEpoch, channel: record.channel?.rawValue ?? "event", name: record.name,
            values: record.readings.map { ($0.point, $0.value.jsonText) })
    }
}

extension DeviceWireFormat {
    /// The answer to a command, as the engine gave it.
    public func commandAck(of device: BoundDevice, id: String, command: String, result: CommandResult, wall: WallTime) -> [UInt8] {
        let rejection: String? = switch result.outcome {
        case .accepted: nil
        case .rejected(let reason): reason
        }
        return commandAck(of: device, id: id, command: command, rejection: rejection,
                          values: result.readings.map { ($0.point, $0.value.jsonText) }, wallNanoseconds: wall.nanosecondsSinceEpoch)
    }

    /// Parses a command into the engine's form. - Throws: ``BindingError`` saying what is wrong with it.
    public func deviceCommand(from payload: [UInt8], topic: String) throws(BindingError) -> DeviceCommand {
        let command: WireCommand
        do { command = try self.command(from: payload, topic: topic) } catch { throw BindingError(error.message) }
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
