import ParkCore
import ParkWire

/// How the devices of one model appear on MQTT: their topic template and field names, from the
/// `mqtt:` section of the model's profile (``ModelMQTTSettings``). Login schemes are applied by
/// whoever builds the binding's credentials, since they need the run's secrets.
public struct MQTTModelConventions: Sendable {
    public var topics: DeviceTopicTemplate?
    public var fields: MessageFields
    /// How the model's messages are written; nil: ParkBench's envelope with `fields`.
    public var format: (any DeviceWireFormat)?
    public var auth: MQTTAuthScheme?
    public var productKey: String?

    public init(topics: DeviceTopicTemplate? = nil, fields: MessageFields = .standard, auth: MQTTAuthScheme? = nil,
                productKey: String? = nil, format: (any DeviceWireFormat)? = nil) {
        self.format = format
        self.topics = topics
        self.fields = fields
        self.auth = auth
        self.productKey = productKey
    }

    /// - Throws: ``BindingError`` naming the profile and what it cannot use.
    public init(_ settings: ModelMQTTSettings, profile: String) throws(BindingError) {
        do throws(BindingError) {
            do throws(WireError) {
                topics = try settings.topics.map { pattern throws(WireError) in try DeviceTopicTemplate(pattern) }
                fields = try MessageFields(renaming: settings.fields)
            } catch { throw BindingError(error.message) }
            if let name = settings.auth {
                guard let scheme = MQTTAuthScheme(rawValue: name) else { throw BindingError("unknown auth scheme '\(name)'") }
                auth = scheme
            }
            productKey = settings.productKey
        } catch {
            throw BindingError("\(profile): mqtt: \(error.message)")
        }
    }
}
