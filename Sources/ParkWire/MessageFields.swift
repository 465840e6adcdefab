/// What the fields of ParkBench's device messages are called on the wire. The standard names are
/// DESIGN's; a model profile's `mqtt.fields` renames some for platforms with conventions of their
/// own (`deviceName`, `params`, …). Quoted once, so building a message stays string appends.
public struct MessageFields: Sendable, Hashable {
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

    /// The standard names, as DESIGN writes them.
    public static let standard = MessageFields()

    /// The fields a model may rename, by their standard names.
    public static let names = ["device", "kind", "seq", "msg_id", "ts", "ts_ns", "channel", "name", "values", "status"]

    /// Standard names with `renames` (standard name → wire name) applied.
    /// - Throws: ``WireError`` for a field that does not exist or a name that cannot be a JSON key as written.
    public init(renaming renames: [String: String] = [:]) throws(WireError) {
        for (field, name) in renames.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, !name.contains("\""), !name.contains("\\") else {
                throw WireError("field name '\(name)' for '\(field)' must be non-empty, without quotes or backslashes")
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
                throw WireError("no message field '\(field)' to rename; fields: \(Self.names.joined(separator: ", "))")
            }
        }
    }

    private init() {}
}
