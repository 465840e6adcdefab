/// Who a device is and where it sits: all the wire needs to address it (topics, envelopes,
/// logins). Built by the bindings from a park's devices, and by a gateway from its meter list.
public struct BoundDevice: Sendable, Hashable {
    public var id: String
    public var kind: String
    public var model: String
    public var zone: String?
    public var floor: Int?

    public init(id: String, kind: String, model: String, zone: String? = nil, floor: Int? = nil) {
        self.id = id
        self.kind = kind
        self.model = model
        self.zone = zone
        self.floor = floor
    }
}
