import ParkVDA5050
import Yams

/// How a robot model speaks VDA 5050 to its fleet controller, as its profile's `vda5050:` section
/// says; a model with the section is put on MQTT with the standard's topics and messages instead
/// of ParkBench's own envelope.
///
/// ```yaml
/// vda5050:
///   manufacturer: Acme            # the topic level and the header field; default: the vendor
///   interface: uagv               # the topic's first level
///   state_interval: 30s           # state at least this often besides every change (≤ 30 s)
///   visualization_interval: 1s    # 0s: none
///   defects: [stale-updates-ignored]  # firmware bugs to simulate (for proving certify --robot)
/// ```
/// The robot's serial number is its device id in the park.
public struct ModelVDA5050Settings: Hashable, Sendable {
    public var manufacturer: String?
    public var interface: String
    public var stateInterval: DeviceDuration
    public var visualizationInterval: DeviceDuration
    /// Bugs the simulated robot is to have: a vendor's robot that breaks the standard, for
    /// showing that `certify --robot` fails it (``VDA5050Defect`` says what each breaks).
    public var defects: Set<VDA5050Defect> = []

    public init(manufacturer: String? = nil, interface: String = "uagv", stateInterval: DeviceDuration = .seconds(30),
                visualizationInterval: DeviceDuration = .seconds(1)) {
        self.manufacturer = manufacturer
        self.interface = interface
        self.stateInterval = stateInterval
        self.visualizationInterval = visualizationInterval
    }

    static func read(_ node: Node, log: IssueLog) -> ModelVDA5050Settings? {
        var settings = ModelVDA5050Settings()
        if MappingReader.isNull(node) { return settings }
        guard var reader = MappingReader(node, path: "vda5050", log: log, what: "VDA 5050 settings") else { return nil }
        settings.manufacturer = reader.string("manufacturer")
        for (key, text) in [("manufacturer", settings.manufacturer), ("interface", reader.string("interface"))] {
            guard let text else { continue }
            // A topic level: no separators or wildcards.
            if text.isEmpty || text.contains(where: { "/+#".contains($0) || $0.isWhitespace }) {
                log.add("expected a topic level without /, +, # or spaces, got '\(IssueLog.excerpt(text))'", at: reader.value(key), path: "vda5050.\(key)")
            } else if key == "interface" {
                settings.interface = text
            }
        }
        if let interval = reader.duration("state_interval") {
            if interval == .zero || interval > .seconds(30) {
                log.add("expected a state_interval from 1ms to 30s (the standard's longest), got \(interval)",
                        at: reader.value("state_interval"), path: "vda5050.state_interval")
            }
            settings.stateInterval = interval
        }
        if let interval = reader.duration("visualization_interval") { settings.visualizationInterval = interval }
        for (index, item) in (reader.sequence("defects") ?? []).enumerated() {
            guard let defect = MappingReader.scalarText(item, path: "vda5050.defects[\(index)]", log: log, expected: "a defect name") else { continue }
            if let known = VDA5050Defect(rawValue: defect) {
                settings.defects.insert(known)
            } else {
                log.add("unknown defect '\(IssueLog.excerpt(defect))'; known: \(VDA5050Defect.allCases.map(\.rawValue).joined(separator: ", "))",
                        at: item, path: "vda5050.defects[\(index)]")
            }
        }
        reader.finish(allowed: ["manufacturer", "interface", "state_interval", "visualization_interval", "defects"])
        return settings
    }
}
