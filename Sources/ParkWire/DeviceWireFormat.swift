/// How one model's devices write their messages and read their commands: the seam between a
/// device binding and the bytes on the wire.
///
/// ParkBench's JSON envelope (``EnvelopeWireFormat``, with the field names a model profile
/// renames) is the format every built-in model uses. A protocol with payloads of its own (VDA
/// 5050's `state` and `order`) or a vendor's convention is another conformance, chosen per model,
/// so the binding, its topics, QoS, last will and command routing stay as they are.
public protocol DeviceWireFormat: Sendable {
    /// One emission on its channel (telemetry, event, status).
    func emission(_ emission: WireEmission) -> [UInt8]

    /// The device's retained status: `online` when it connects, `offline` when it stops (and,
    /// without a time, as its last will).
    func status(of device: BoundDevice, online: Bool, wallNanoseconds: Int64?) -> [UInt8]

    /// A command that arrived on `topic` (conventions that carry the request id in the topic
    /// need it). - Throws: ``WireError`` saying what is wrong with it.
    func command(from payload: [UInt8], topic: String) throws(WireError) -> WireCommand

    /// The answer to a command: accepted with the values the device gave, or refused with its
    /// reason (`id` and `command` empty when the command could not be read at all).
    func commandAck(
        of device: BoundDevice, id: String, command: String, rejection: String?, values: DeviceEnvelope.Values, wallNanoseconds: Int64
    ) -> [UInt8]
}

/// One message a device sends, as a ``DeviceWireFormat`` writes it: who, which of its messages
/// (sequence and id, for loss and latency), when, and the measured values as JSON text.
public struct WireEmission: Sendable {
    public var device: BoundDevice
    public var sequence: UInt64
    public var messageID: String
    public var wallNanoseconds: Int64
    public var channel: String
    public var name: String
    public var values: DeviceEnvelope.Values

    public init(
        device: BoundDevice, sequence: UInt64, messageID: String, wallNanoseconds: Int64, channel: String, name: String,
        values: DeviceEnvelope.Values
    ) {
        self.device = device
        self.sequence = sequence
        self.messageID = messageID
        self.wallNanoseconds = wallNanoseconds
        self.channel = channel
        self.name = name
        self.values = values
    }
}

/// ParkBench's JSON envelope (``DeviceEnvelope``) as a device's wire format, with the field
/// names its model uses.
public struct EnvelopeWireFormat: DeviceWireFormat, Hashable {
    public var fields: MessageFields

    public init(fields: MessageFields = .standard) { self.fields = fields }

    public func emission(_ emission: WireEmission) -> [UInt8] {
        DeviceEnvelope.emission(
            device: emission.device.id, kind: emission.device.kind, sequence: emission.sequence, messageID: emission.messageID,
            wallNanoseconds: emission.wallNanoseconds, channel: emission.channel, name: emission.name, values: emission.values,
            fields: fields)
    }

    public func status(of device: BoundDevice, online: Bool, wallNanoseconds: Int64?) -> [UInt8] {
        DeviceEnvelope.status(device: device.id, kind: device.kind, online: online, wallNanoseconds: wallNanoseconds, fields: fields)
    }

    public func command(from payload: [UInt8], topic: String) throws(WireError) -> WireCommand {
        try DeviceEnvelope.command(from: payload)
    }

    public func commandAck(
        of device: BoundDevice, id: String, command: String, rejection: String?, values: DeviceEnvelope.Values, wallNanoseconds: Int64
    ) -> [UInt8] {
        DeviceEnvelope.commandAck(device: device.id, id: id, command: command, rejection: rejection, values: values,
                                  wallNanoseconds: wallNanoseconds)
    }
}
