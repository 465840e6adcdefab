import Foundation
import Yams

/// A park: which devices exist, where they are, how they relate, and a script of stimuli.
///
/// ```yaml
/// park: demo                     # name
/// seed: 42                       # optional; one seed gives one run (default 1)
/// zones:
///   - id: A
///     title: Building A
///     floors: 3                  # floors 1…3
/// populations:
///   - model: acme-sd100          # a model profile under devices/
///     zone: A
///     floors: [1, 2]             # or `floor: 1`; without either the devices have no floor
///     count: 4                   # per floor when floors are given
///     id: "smoke-{zone}{floor}-{n:02}"   # {zone} {floor} {n} {n:0W} {model} {kind}
///     parameters: {heartbeat_interval: 30s}   # on top of the model's
///     labels: {system: fire}
/// stimuli:                       # what `simulate` does to devices, at device times
///   - {at: 5s, device: smoke-A1-01, stimulus: smoke, arguments: {density: 0.4}}
/// links:                         # topology that linkage checks use
///   - {from: smoke-A1-01, relation: nearest-camera, to: smoke-A1-02}
/// ```
public struct ParkFile: Sendable {
    public var name: String
    public var title: String
    public var seed: UInt64
    public var zones: [Zone]
    public var devices: [ParkDevice]
    public var stimuli: [ScriptedStimulus]
    public var links: [Link]
    public var file: String

    /// A zone (building, car park, area) and its floors.
    public struct Zone: Hashable, Sendable {
        public var id: String
        public var title: String
        public var floors: Int
    }

    /// One device of the park after populations are expanded.
    public struct ParkDevice: Hashable, Sendable {
        public var id: String
        public var model: String
        public var kind: String
        public var placement: Placement
        /// The model's parameters with the population's on top, as text.
        public var parameters: [String: String]
    }

    /// A stimulus the script applies at a device time.
    public struct ScriptedStimulus: Hashable, Sendable {
        public var at: DeviceDuration
        public var deviceID: String
        public var stimulus: Stimulus
    }

    /// A relation between two devices, e.g. `nearest-camera`.
    public struct Link: Hashable, Sendable {
        public var from: String
        public var relation: String
        public var to: String
    }

    static let keys = ["park", "title", "seed", "zones", "populations", "stimuli", "links"]
    static let zoneKeys = ["id", "title", "floors"]
    static let populationKeys = ["model", "count", "zone", "floor", "floors", "id", "parameters", "labels"]
    static let stimulusKeys = ["at", "device", "stimulus", "arguments"]
    static let linkKeys = ["from", "relation", "to"]

    /// The default cap on the devices one park file may expand to. The largest parks measured
    /// run 50,000–100,000 devices (the fleet and timers benches); a million is ten times that,
    /// and already about 400 MB just to validate (a device's id, parameters and placement).
    public static let defaultMaximumDevices = 1_000_000

    /// The environment variable that overrides ``defaultMaximumDevices``.
    public static let maximumDevicesVariable = "PARKBENCH_MAX_PARK_DEVICES"

    /// Reads and validates a park file against the models and kinds it uses.
    /// - Throws: ``ProfileErrors`` listing every problem with its file:line:column.
    public static func load(file: String, catalog: ModelCatalog, kinds: any KindCatalog) throws(ProfileErrors) -> ParkFile {
        let text = try ProfileText.read(file)
        return try parse(text, file: file, catalog: catalog, kinds: kinds)
    }

    /// Parses park text; `file` is used in messages only.
    /// - Parameter maximumDevices: the most devices the populations may expand to; by default
    ///   `PARKBENCH_MAX_PARK_DEVICES`, else ``defaultMaximumDevices``.
    public static func parse(
        _ text: String, file: String, catalog: ModelCatalog, kinds: any KindCatalog, maximumDevices: Int? = nil
    ) throws(ProfileErrors) -> ParkFile {
        let deviceLimit: Int
        if let maximumDevices { deviceLimit = maximumDevices } else {
            deviceLimit = try ProfileText.limit(maximumDevicesVariable, default: defaultMaximumDevices, for: file)
        }
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a park file")
        else { throw ProfileErrors(log.issues) }

        let name = reader.string("park", required: true, expected: "the park's name") ?? ""
        let title = reader.string("title") ?? ""
        let seed = reader.uint64("seed") ?? 1

        var zones: [Zone] = []
        // By id, for the duplicate check and the populations' lookups: a park of 20,000 zones
        // took 16 s when each zone searched the ones before it.
        var zoneIndex: [String: Int] = [:]
        for (index, node) in (reader.sequence("zones") ?? []).enumerated() {
            let path = "zones[\(index)]"
            guard var zone = MappingReader(node, path: path, log: log, what: "a zone") else { continue }
            let id = zone.string("id", required: true, expected: "the zone's id, e.g. A")
            let zoneTitle = zone.string("title") ?? ""
            let floors = zone.int("floors", range: 0 ... 500) ?? 0
            zone.finish(allowed: zoneKeys)
            guard let id else { continue }
            if zoneIndex[id] != nil {
                log.add("zone '\(IssueLog.excerpt(id))' is defined twice", at: node, path: path)
            } else {
                zoneIndex[id] = zones.count
            }
            zones.append(Zone(id: id, title: zoneTitle, floors: floors))
        }
        let zoneList = ZoneList(zones: zones, index: zoneIndex)

        let populationNodes = reader.sequence("populations", required: true) ?? []
        // Counted from the populations before any device exists: a park of millions of devices
        // is refused without the gigabytes it would take to build them.
        let deviceCount = countDevices(populationNodes)
        let materialise = deviceCount <= deviceLimit
        if !materialise {
            log.add(
                "the populations make \(deviceCount == Int.max ? "more than \(Int.max)" : String(deviceCount)) devices "
                    + "(count × floors, summed); a park file may have at most \(deviceLimit) "
                    + "(set \(maximumDevicesVariable) to allow more)",
                at: reader.value("populations"), path: "populations")
        }
        var devices: [ParkDevice] = []
        if materialise { devices.reserveCapacity(deviceCount) }
        for (index, node) in populationNodes.enumerated() {
            let path = "populations[\(index)]"
            guard var population = MappingReader(node, path: path, log: log, what: "a population") else { continue }
            devices += expand(
                &population, path: path, zones: zoneList, catalog: catalog, kinds: kinds, log: log, materialise: materialise)
            population.finish(allowed: populationKeys)
        }
        var seen: Set<String> = []
        for device in devices where !seen.insert(device.id).inserted {
            log.add(
                "device id '\(device.id)' is generated twice; make the populations' id patterns distinct (use {zone}, {floor} and {n})",
                at: root, path: "populations")
            break
        }
        let devicesByID = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        var stimuli: [ScriptedStimulus] = []
        for (index, node) in (reader.sequence("stimuli") ?? []).enumerated() {
            let path = "stimuli[\(index)]"
            guard var entry = MappingReader(node, path: path, log: log, what: "a stimulus") else { continue }
            let at = entry.duration("at", required: true)
            let deviceID = entry.string("device", required: true, expected: "a device id from the populations")
            let deviceNode = entry.value("device")
            let stimulusName = entry.string("stimulus", required: true, expected: "a stimulus of the device's kind")
            let stimulusNode = entry.value("stimulus")
            let arguments = entry.scalarMap("arguments") ?? []
            entry.finish(allowed: stimulusKeys)
            guard let at, let deviceID, let stimulusName else { continue }
            guard let device = devicesByID[deviceID] else {
                log.add("no device '\(deviceID)' in this park", at: deviceNode, path: "\(path).device")
                continue
            }
            guard let descriptor = kinds.descriptor(named: device.kind)?.stimulus(named: stimulusName) else {
                let known = kinds.descriptor(named: device.kind)?.stimuli.map(\.name) ?? []
                log.add(
                    "kind '\(device.kind)' has no stimulus '\(stimulusName)'; known: \(known.joined(separator: ", "))",
                    at: stimulusNode, path: "\(path).stimulus")
                continue
            }
            var values: [String: PointValue] = [:]
            for argument in arguments {
                guard let declared = descriptor.arguments.first(where: { $0.name == argument.key }) else {
                    log.add(
                        "stimulus '\(stimulusName)' has no argument '\(argument.key)'; known: "
                            + descriptor.arguments.map(\.name).joined(separator: ", "),
                        at: argument.node, path: "\(path).arguments.\(argument.key)")
                    continue
                }
                let parameter = ParameterDescriptor(name: argument.key, type: declared.type, defaultValue: "", summary: "")
                switch parameter.parse(argument.text) {
                case .success(let value): values[argument.key] = value
                case .failure(let error): log.add(error.message, at: argument.node, path: "\(path).arguments.\(argument.key)")
                }
            }
            stimuli.append(ScriptedStimulus(at: at, deviceID: deviceID, stimulus: Stimulus(stimulusName, arguments: values)))
        }

        var links: [Link] = []
        for (index, node) in (reader.sequence("links") ?? []).enumerated() {
            let path = "links[\(index)]"
            guard var entry = MappingReader(node, path: path, log: log, what: "a link") else { continue }
            let from = entry.string("from", required: true, expected: "a device id")
            let fromNode = entry.value("from")
            let relation = entry.string("relation", required: true, expected: "a relation name, e.g. nearest-camera")
            let to = entry.string("to", required: true, expected: "a device id")
            let toNode = entry.value("to")
            entry.finish(allowed: linkKeys)
            guard let from, let relation, let to else { continue }
            if devicesByID[from] == nil { log.add("no device '\(from)' in this park", at: fromNode, path: "\(path).from") }
            if devicesByID[to] == nil { log.add("no device '\(to)' in this park", at: toNode, path: "\(path).to") }
            links.append(Link(from: from, relation: relation, to: to))
        }
        reader.finish(allowed: keys)

        guard log.issues.isEmpty else { throw ProfileErrors(log.sortedIssues) }
        return ParkFile(
            name: name, title: title, seed: seed, zones: zones, devices: devices,
            stimuli: stimuli.sorted { $0.at < $1.at }, links: links, file: file)
    }

    /// The zones with an index by id, so that each population looks its zone up in O(1).
    private struct ZoneList {
        var zones: [Zone]
        var index: [String: Int]

        func zone(_ id: String) -> Zone? { index[id].map { zones[$0] } }

        /// The ids for a message: all of them when few, else the first few and how many more.
        var summary: String {
            let shown = zones.prefix(20).map { IssueLog.excerpt($0.id) }.joined(separator: ", ")
            return zones.count > 20 ? "\(shown) and \(zones.count - 20) more" : shown
        }
    }

    /// How many devices the populations make (each `count`, times its `floors`), read straight
    /// from the nodes; saturates rather than overflowing. Malformed entries count as nothing:
    /// ``expand(_:path:zones:catalog:kinds:log:materialise:)`` reports them.
    static func countDevices(_ populations: [Node]) -> Int {
        var total = 0
        for node in populations {
            guard case .mapping(let mapping) = node,
                  let count = mapping["count"]?.string.flatMap({ Int($0) }), count > 0 else { continue }
            var floors = 1
            if case .sequence(let list)? = mapping["floors"] { floors = list.count }
            let (devices, overflow) = count.multipliedReportingOverflow(by: floors)
            let (sum, overflowSum) = total.addingReportingOverflow(devices)
            guard !overflow, !overflowSum else { return Int.max }
            total = sum
        }
        return total
    }

    /// Expands one population into devices, logging problems against its keys; with
    /// `materialise` false it only checks the population (the park is over its device limit).
    private static func expand(
        _ population: inout MappingReader, path: String, zones: ZoneList, catalog: ModelCatalog,
        kinds: any KindCatalog, log: IssueLog, materialise: Bool
    ) -> [ParkDevice] {
        let modelName = population.string("model", required: true, expected: "a model name from devices/")
        let modelNode = population.value("model")
        let count = population.int("count", required: true, range: 1 ... 1_000_000)
        let zoneID = population.string("zone")
        let zoneNode = population.value("zone")
        let singleFloor = population.int("floor", range: -20 ... 500)
        var floors: [Int]? = singleFloor.map { [$0] }
        if let floorNodes = population.sequence("floors") {
            if singleFloor != nil {
                log.add("give either 'floor' or 'floors', not both", at: population.value("floors"), path: path)
            }
            floors = floorNodes.compactMap { node in
                guard let text = MappingReader.scalarText(node, path: "\(path).floors", log: log, expected: "a floor number"),
                      let floor = Int(text) else {
                    log.add("expected a floor number", at: node, path: "\(path).floors")
                    return nil
                }
                return floor
            }
        }
        let pattern = population.string("id", required: true, expected: "an id pattern such as smoke-{zone}{floor}-{n:02}")
        let patternNode = population.value("id")
        let overrides = population.scalarMap("parameters") ?? []
        let labelEntries = population.scalarMap("labels") ?? []

        if let zoneID, zones.zone(zoneID) == nil {
            log.add("no zone '\(IssueLog.excerpt(zoneID))' in this park; zones: \(zones.summary)", at: zoneNode, path: "\(path).zone")
        }
        if let zoneID, let floors, let zone = zones.zone(zoneID), zone.floors > 0 {
            for floor in floors where floor < 1 || floor > zone.floors {
                log.add("zone '\(zoneID)' has floors 1 to \(zone.floors); floor \(floor) is outside", at: population.value("floors") ?? population.value("floor"), path: path)
            }
        }
        guard let modelName, let count, let pattern else { return [] }
        guard let model = catalog.model(named: modelName) else {
            var message = "no device model '\(IssueLog.excerpt(modelName))'"
            if let suggestion = MappingReader.closest(to: modelName, in: catalog.names) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += "; models: \(catalog.names.joined(separator: ", "))"
            }
            log.add(message, at: modelNode, path: "\(path).model")
            return []
        }
        if let descriptor = kinds.descriptor(named: model.kind) {
            for entry in overrides {
                guard let parameter = descriptor.parameter(named: entry.key) else {
                    log.add("kind '\(model.kind)' has no parameter '\(entry.key)'", at: entry.node, path: "\(path).parameters.\(entry.key)")
                    continue
                }
                if case .failure(let error) = parameter.parse(entry.text) {
                    log.add(error.message, at: entry.node, path: "\(path).parameters.\(entry.key)")
                }
            }
        }
        if floors != nil, !pattern.contains("{floor}"), (floors?.count ?? 0) > 1 {
            log.add("the id pattern '\(pattern)' has no {floor}, so the floors would repeat ids", at: patternNode, path: "\(path).id")
            return []
        }
        if let unknown = IDPattern.unknownTokens(in: pattern).first {
            log.add("unknown placeholder {\(unknown)} in id pattern; use {zone}, {floor}, {n}, {n:03}, {model} or {kind}", at: patternNode, path: "\(path).id")
            return []
        }
        if count > 1, !pattern.contains("{n") {
            log.add("the id pattern '\(pattern)' has no {n}, so \(count) devices would share one id", at: patternNode, path: "\(path).id")
            return []
        }

        guard materialise else { return [] }
        var parameters = model.parameters
        for entry in overrides { parameters[entry.key] = entry.text }
        var labels: [String: String] = [:]
        for entry in labelEntries { labels[entry.key] = entry.text }

        var devices: [ParkDevice] = []
        let floorList: [Int?] = floors.map { $0.map(Optional.some) } ?? [nil]
        for floorValue in floorList {
            for n in 1 ... count {
                let id = IDPattern.render(pattern, zone: zoneID, floor: floorValue, n: n, model: model.model, kind: model.kind)
                devices.append(ParkDevice(
                    id: id, model: model.model, kind: model.kind,
                    placement: Placement(zone: zoneID, floor: floorValue, labels: labels), parameters: parameters))
            }
        }
        return devices
    }
}

/// Renders device id patterns: `{zone}`, `{floor}`, `{n}`, `{n:03}` (zero-padded), `{model}`, `{kind}`.
public enum IDPattern {
    /// Placeholders in `pattern` that ``render(_:zone:floor:n:model:kind:)`` does not know.
    public static func unknownTokens(in pattern: String) -> [String] {
        var unknown: [String] = []
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let token = rest[rest.index(after: open) ..< close]
            let known = ["zone", "floor", "n", "model", "kind"].contains(token)
                || (token.hasPrefix("n:") && Int(token.dropFirst(2)) != nil)
            if !known { unknown.append(String(token)) }
            rest = rest[rest.index(after: close)...]
        }
        return unknown
    }

    public static func render(_ pattern: String, zone: String?, floor: Int?, n: Int, model: String, kind: String) -> String {
        var result = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let token = rest[rest.index(after: open) ..< close]
            switch token {
            case "zone": result += zone ?? ""
            case "floor": result += floor.map(String.init) ?? ""
            case "model": result += model
            case "kind": result += kind
            case "n": result += String(n)
            default:
                if token.hasPrefix("n:"), let width = Int(token.dropFirst(2)) {
                    let digits = String(n)
                    result += String(repeating: "0", count: max(0, width - digits.count)) + digits
                } else {
                    result += "{\(token)}"
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}

extension ParkFile {
    /// The park with `count` devices for a load run: the first `count` when it has more; when
    /// it has fewer, copies of its devices in park order (so the mix of kinds stays the park's),
    /// each copy's id suffixed `-x2`, `-x3`, …. Scripted stimuli and links keep their devices.
    public func scaled(to count: Int) -> ParkFile {
        guard count != devices.count, !devices.isEmpty else { return self }
        var scaled = self
        if count < devices.count { return slice(0 ..< count) }
        scaled.devices.reserveCapacity(count)
        for index in devices.count ..< count {
            var copy = devices[index % devices.count]
            copy.id += "-x\(index / devices.count + 1)"
            scaled.devices.append(copy)
        }
        return scaled
    }

    /// The park with only the devices at `range` (park order), and the stimuli and links among
    /// them: one shard of a run split over processes or machines.
    public func slice(_ range: Range<Int>) -> ParkFile {
        var sliced = self
        sliced.devices = Array(devices[range.clamped(to: devices.indices)])
        let kept = Set(sliced.devices.map(\.id))
        sliced.stimuli = stimuli.filter { kept.contains($0.deviceID) }
        sliced.links = links.filter { kept.contains($0.from) && kept.contains($0.to) }
        return sliced
    }
}
