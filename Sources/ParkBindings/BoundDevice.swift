import ParkCore

/// What a binding needs to know about one device: who it is and where it sits.
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
