import ParkCore

/// What the fields of ParkBench's device messages are called on the wire. The standard names are
/// DESIGN's; a model profile's `mqtt.fields` renames some for platforms with conventions of their
/// own (`deviceName`, `params`, …). Quoted once, so building a message stays string appends.
public struct MQTTPayloadFields: Sendable, Hashable {
    var device = "\"device\""
    var kind = "\"kind\""
    var seq = "\"seq\""
    var messageID = "\"msg_id\""
    var ts = "\"ts\""
    var tsNanoseconds = "\"ts_ns\""
    var channel = "\"channel\""
    var name = "\"name\""
    var values = "\"values\""
    var status = "\"status\""

    public static let standard = MQTTPayloadFields()

    /// Standard names with `renames` (standard name → wire name) applied.
    /// - Throws: ``BindingError`` for a field that does not exist or a name that cannot be a JSON key as written.
    public init(renaming renames: [String: String] = [:]) throws(BindingError) {
        for (field, name) in renames.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, !name.contains("\""), !name.contains("\\") else {
                throw BindingError("field name '\(name)' for '\(field)' must be non-empty, without quotes or backslashes")
            }
            let quoted = "\"\(name)\""
            switch field {
            case "device": device = quoted
            case "kind": kind = quoted
            case "seq": seq = quoted
            case "msg_id": messageID = quoted
            case "ts": ts = quoted
            case "ts_ns": tsNanoseconds = quoted
            case "channel": channel = quoted
            case "name": self.name = quoted
            case "values": values = quoted
            case "status": status = quoted
            default:
                throw BindingError("no message field '\(field)' to rename; fields: \(ModelMQTTSettings.fieldNames.joined(separator: ", "))")
            }
        }
    }

    private init() {}
}

/// How the devices of one model appear on MQTT: their topic template and field names, from the
/// `mqtt:` section of the model's profile (``ModelMQTTSettings``). Login schemes are applied by
/// whoever builds the binding's credentials, since they need the run's secrets.
public struct MQTTModelConventions: Sendable {
    public var topics: MQTTTopicTemplate?
    public var fields: MQTTPayloadFields
    public var auth: MQTTAuthScheme?
    public var productKey: String?

    public init(topics: MQTTTopicTemplate? = nil, fields: MQTTPayloadFields = .standard, auth: MQTTAuthScheme? = nil,
                productKey: String? = nil) {
        self.topics = topics
        self.fields = fields
        self.auth = auth
        self.productKey = productKey
    }

    /// - Throws: ``BindingError`` naming the profile and what it cannot use.
    public init(_ settings: ModelMQTTSettings, profile: String) throws(BindingError) {
        do throws(BindingError) {
            topics = try settings.topics.map { pattern throws(BindingError) in try MQTTTopicTemplate(pattern) }
            fields = try MQTTPayloadFields(renaming: settings.fields)
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
