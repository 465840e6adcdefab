import ParkCore
import ParkProfiles

/// Which of the park's devices a check uses: by kind, zone, floor, labels and/or explicit ids,
/// optionally only the first `count` (in park order, so a seed gives the same devices).
public struct DeviceSelector: Sendable, Hashable, CustomStringConvertible {
    public var kind: String?
    public var zone: String?
    public var floor: Int?
    public var ids: [String]
    public var labels: [String: String]
    public var count: Int?

    public init(kind: String? = nil, zone: String? = nil, floor: Int? = nil, ids: [String] = [], labels: [String: String] = [:], count: Int? = nil) {
        self.kind = kind
        self.zone = zone
        self.floor = floor
        self.ids = ids
        self.labels = labels
        self.count = count
    }

    public var description: String {
        var parts: [String] = []
        if let kind { parts.append("kind \(kind)") }
        if let zone { parts.append("zone \(zone)") }
        if let floor { parts.append("floor \(floor)") }
        if !ids.isEmpty { parts.append("ids \(ids.joined(separator: ","))") }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) { parts.append("\(key)=\(value)") }
        if let count { parts.append("first \(count)") }
        return parts.isEmpty ? "every device" : parts.joined(separator: ", ")
    }

    /// The matching devices, in park order.
    public func select(from devices: [ParkFile.ParkDevice]) -> [ParkFile.ParkDevice] {
        let matching = devices.filter { device in
            (kind == nil || device.kind == kind) && (zone == nil || device.placement.zone == zone)
                && (floor == nil || device.placement.floor == floor) && (ids.isEmpty || ids.contains(device.id))
                && labels.allSatisfy { device.placement.labels[$0.key] == $0.value }
        }
        return count.map { Array(matching.prefix($0)) } ?? matching
    }

    static let keys = ["kind", "zone", "floor", "ids", "labels", "count"]

    /// Reads `devices:` (a mapping, or a single id as text) under `key`.
    static func parse(_ reader: inout MappingReader, key: String, required: Bool) -> DeviceSelector? {
        guard let node = required ? reader.requiredValue(key, expected: "a device selector, e.g. {kind: smoke-detector, count: 3}")
                                  : reader.value(key), !MappingReader.isNull(node) else { return nil }
        if case .scalar(let scalar) = node { return DeviceSelector(ids: [scalar.string]) }
        guard var selector = MappingReader(node, path: reader.child(key), log: reader.log, what: "a device selector") else { return nil }
        var result = DeviceSelector(
            kind: selector.string("kind"), zone: selector.string("zone"), floor: selector.int("floor"),
            count: selector.int("count", range: 1 ... 1_000_000))
        for (index, item) in (selector.sequence("ids") ?? []).enumerated() {
            if let id = MappingReader.scalarText(item, path: selector.child("ids[\(index)]"), log: reader.log, expected: "a device id") {
                result.ids.append(id)
            }
        }
        for entry in selector.scalarMap("labels") ?? [] { result.labels[entry.key] = entry.text }
        selector.finish(allowed: keys)
        return result
    }
}
