import Yams

/// A park's map for its mobile robots: named points (nodes) in metres on one map, and the ways
/// between them (edges), with what a robot meets on the way — a charging dock, an elevator to
/// ride, an access door to pass. The fleet controller plans routes on it; robots drive between
/// its points. A file under `fixtures/maps/`:
///
/// ```yaml
/// map: park-a                   # the VDA 5050 mapId
/// title: Building A ground floor and the B1 car park
/// nodes:
///   - {id: dock-1, x: 0, y: 0, charger: true}
///   - {id: door-A1, x: 12, y: 0, door: door-A1-01}         # the park's device there
///   - {id: lift-A-1, x: 20, y: 4, elevator: lift-A-01, floor: 1}
/// edges:
///   - {from: dock-1, to: door-A1}                          # both ways; length from the points
///   - {from: door-A1, to: lift-A-1, max_speed: 0.6, one_way: true}
/// ```
public struct ParkMap: Hashable, Sendable {
    /// A point a robot can be sent to.
    public struct Node: Hashable, Sendable {
        public var id: String
        public var x: Double
        public var y: Double
        public var floor: Int?
        /// A charging dock stands here.
        public var charger: Bool
        /// The park device (an elevator) a robot rides from here.
        public var elevator: String?
        /// The park device (an access door) a robot passes here.
        public var door: String?
    }

    /// A way from one node to another.
    public struct Edge: Hashable, Sendable {
        /// `<from>-<to>`.
        public var id: String
        public var from: String
        public var to: String
        /// Metres: given, or the straight distance between the nodes.
        public var length: Double
        /// Metres per second; nil: the robot's own top speed.
        public var maxSpeed: Double?
    }

    public var id: String
    public var title: String
    public var nodes: [Node]
    /// Every way a robot may drive, each direction its own edge.
    public var edges: [Edge]

    /// The node called `id`.
    public func node(_ id: String) -> Node? { nodeIndex[id].map { nodes[$0] } }

    /// The shortest route from one node to another by length (Dijkstra), as node ids from start
    /// to end; nil when there is none or a node is unknown.
    public func route(from start: String, to end: String) -> [String]? {
        guard nodeIndex[start] != nil, nodeIndex[end] != nil else { return nil }
        var distance: [String: Double] = [start: 0]
        var previous: [String: String] = [:]
        var open: Set<String> = [start]
        var done: Set<String> = []
        while let current = open.min(by: { distance[$0, default: .infinity] < distance[$1, default: .infinity] || (distance[$0] == distance[$1] && $0 < $1) }) {
            if current == end { break }
            open.remove(current)
            done.insert(current)
            for edge in outgoing[current, default: []] where !done.contains(edge.to) {
                let candidate = distance[current, default: .infinity] + edge.length
                if candidate < distance[edge.to, default: .infinity] {
                    distance[edge.to] = candidate
                    previous[edge.to] = current
                    open.insert(edge.to)
                }
            }
        }
        guard distance[end] != nil else { return nil }
        var path = [end]
        while let step = previous[path[0]] { path.insert(step, at: 0) }
        return path
    }

    /// The edge from `from` to `to`, if the map has one.
    public func edge(from: String, to: String) -> Edge? { outgoing[from]?.first { $0.to == to } }

    private var nodeIndex: [String: Int]
    private var outgoing: [String: [Edge]]

    public init(id: String, title: String = "", nodes: [Node], edges: [Edge]) {
        self.id = id
        self.title = title
        self.nodes = nodes
        self.edges = edges
        nodeIndex = Dictionary(nodes.enumerated().map { ($1.id, $0) }) { first, _ in first }
        outgoing = Dictionary(grouping: edges, by: \.from)
    }

    /// Reads a map file. - Throws: every problem at once, `file:line:col: key.path: message`.
    public static func load(file: String) throws(ProfileErrors) -> ParkMap {
        try parse(try ProfileText.read(file), file: file)
    }

    public static func parse(_ text: String, file: String) throws(ProfileErrors) -> ParkMap {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log), var reader = MappingReader(root, path: "", log: log, what: "a park map")
        else { throw ProfileErrors(log.sortedIssues) }
        let id = reader.string("map", required: true, expected: "the map's id (its VDA 5050 mapId)")
        let title = reader.string("title") ?? ""
        var nodes: [Node] = []
        var seen: [String: Int] = [:]
        for (index, item) in (reader.sequence("nodes", required: true) ?? []).enumerated() {
            let path = "nodes[\(index)]"
            guard var node = MappingReader(item, path: path, log: log, what: "a node") else { continue }
            let nodeID = node.string("id", required: true, expected: "the node's name")
            let x = node.number("x", range: -1e6 ... 1e6), y = node.number("y", range: -1e6 ... 1e6)
            if node.value("x") == nil || node.value("y") == nil { log.add("a node needs x and y (metres)", at: item, path: path) }
            let floor = node.int("floor", range: -10 ... 200)
            let charger = boolean(&node, "charger", log: log) ?? false
            let elevator = node.string("elevator"), door = node.string("door")
            if elevator != nil, floor == nil, node.value("floor") == nil {
                // The floor is what the car is called to: without it no robot could ride.
                log.add("a lift's node needs the floor its car stands at there (floor:)", at: item, path: path)
            }
            node.finish(allowed: ["id", "x", "y", "floor", "charger", "elevator", "door"])
            guard let nodeID, let x, let y else { continue }
            if let first = seen[nodeID] {
                log.add("node id '\(IssueLog.excerpt(nodeID))' is used twice (first at nodes[\(first)])", at: item, path: path + ".id")
                continue
            }
            seen[nodeID] = index
            nodes.append(Node(id: nodeID, x: x, y: y, floor: floor, charger: charger, elevator: elevator, door: door))
        }
        let byID = Dictionary(nodes.map { ($0.id, $0) }) { first, _ in first }
        var edges: [Edge] = []
        for (index, item) in (reader.sequence("edges") ?? []).enumerated() {
            let path = "edges[\(index)]"
            guard var edge = MappingReader(item, path: path, log: log, what: "an edge") else { continue }
            let from = edge.string("from", required: true, expected: "the node it starts at")
            let to = edge.string("to", required: true, expected: "the node it ends at")
            let length = edge.number("length", range: 0.001 ... 1e6)
            let maxSpeed = edge.number("max_speed", range: 0.01 ... 20)
            let oneWay = boolean(&edge, "one_way", log: log) ?? false
            edge.finish(allowed: ["from", "to", "length", "max_speed", "one_way"])
            guard let from, let to else { continue }
            var known = true
            for (key, name) in [("from", from), ("to", to)] where byID[name] == nil {
                var message = "no node '\(IssueLog.excerpt(name))' on the map"
                if let suggestion = MappingReader.closest(to: name, in: nodes.map(\.id)) { message += "; did you mean '\(suggestion)'?" }
                log.add(message, at: edge.value(key) ?? item, path: "\(path).\(key)")
                known = false
            }
            guard known, let start = byID[from], let end = byID[to] else { continue }
            if from == to { log.add("an edge must join two different nodes", at: item, path: path) }
            let straight = ((end.x - start.x) * (end.x - start.x) + (end.y - start.y) * (end.y - start.y)).squareRoot()
            let metres = length ?? max(straight, 0.001)
            edges.append(Edge(id: "\(from)-\(to)", from: from, to: to, length: metres, maxSpeed: maxSpeed))
            if !oneWay { edges.append(Edge(id: "\(to)-\(from)", from: to, to: from, length: metres, maxSpeed: maxSpeed)) }
        }
        reader.finish(allowed: ["map", "title", "nodes", "edges"])
        if nodes.isEmpty && log.issues.isEmpty { log.add("a map needs at least one node", at: root, path: "nodes") }
        guard log.issues.isEmpty, let id else { throw ProfileErrors(log.sortedIssues) }
        return ParkMap(id: id, title: title, nodes: nodes, edges: edges)
    }

    private static func boolean(_ reader: inout MappingReader, _ key: String, log: IssueLog) -> Bool? {
        guard let text = reader.string(key, expected: "true or false") else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            log.add("expected true or false, got '\(IssueLog.excerpt(text))'", at: reader.value(key), path: reader.child(key))
            return nil
        }
    }
}
