import ParkCore
import ParkWire

/// Each bound device's MQTT topics and wire format, as its model's conventions set them over a
/// park-wide topic template: what the MQTT binding publishes with, and what a virtual park
/// (``ParkHarness``'s) writes, so both put the same bytes on the same topics.
public struct DeviceWireTable: Sendable {
    /// The channels a device has topics for, in the order ``topic(_:_:)`` takes them.
    public enum Channel: Int, Sendable, CaseIterable {
        case telemetry, event, status, command, commandAck

        /// The channel's name in a topic template (`cmd/ack` for acknowledgements).
        public var name: String { ["telemetry", "event", "status", "cmd", "cmd/ack"][rawValue] }

        /// The channel a ledger record goes out on; nil for `local` (never on the wire).
        public init?(_ channel: EmissionChannel) {
            switch channel {
            case .telemetry: self = .telemetry
            case .event: self = .event
            case .status: self = .status
            case .local: return nil
            }
        }
    }

    public let devices: [BoundDevice]
    /// Per device, its topics by ``Channel``, made once.
    private let topics: [[String]]
    /// The distinct wire formats in use (index 0: the standard envelope) and each device's, by
    /// index: two bytes a device, not a copy of the format.
    private let formats: [any DeviceWireFormat]
    private let formatOfDevice: [UInt16]

    public init(devices: [BoundDevice], topics template: DeviceTopicTemplate = .standard, conventions: [String: MQTTModelConventions] = [:]) {
        self.devices = devices
        topics = devices.map { device in
            let template = conventions[device.model]?.topics ?? template
            return Channel.allCases.map { template.topic(for: device, channel: $0.name) }
        }
        var formats: [any DeviceWireFormat] = [EnvelopeWireFormat()]
        var envelopeIndex: [MessageFields: UInt16] = [.standard: 0]
        var formatOfModel: [String: UInt16] = [:]
        for (model, conventions) in conventions.sorted(by: { $0.key < $1.key }) {
            if let format = conventions.format {
                formatOfModel[model] = UInt16(formats.count)
                formats.append(format)
            } else if let existing = envelopeIndex[conventions.fields] {
                formatOfModel[model] = existing
            } else {
                formatOfModel[model] = UInt16(formats.count)
                envelopeIndex[conventions.fields] = UInt16(formats.count)
                formats.append(EnvelopeWireFormat(fields: conventions.fields))
            }
        }
        self.formats = formats
        formatOfDevice = devices.map { formatOfModel[$0.model] ?? 0 }
    }

    /// The topic of device `index` for `channel`.
    public func topic(_ index: Int, _ channel: Channel) -> String { topics[index][channel.rawValue] }

    /// How device `index` writes its messages.
    public func format(_ index: Int) -> any DeviceWireFormat { formats[Int(formatOfDevice[index])] }
}
