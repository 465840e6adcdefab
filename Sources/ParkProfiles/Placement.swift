/// Where a device sits in the park.
public struct Placement: Hashable, Sendable {
    public var zone: String?
    public var floor: Int?
    public var labels: [String: String]

    public init(zone: String? = nil, floor: Int? = nil, labels: [String: String] = [:]) {
        self.zone = zone
        self.floor = floor
        self.labels = labels
    }
}
