import ParkCore
import ParkProfiles
import ParkReport

/// A robot sent on a task by the platform's fleet manager, from the request to the platform
/// saying it is done, judged against where the robot really went (issue 19: order to completion,
/// the fleet manager's view against the ledger's). The harness asks the platform, through its
/// profile's `commands` endpoint, for `goto {node}`; the ground truth is the robot's own
/// `arrived` at that node's position on the park's map, and the platform's view is its
/// `task-completed` record naming the node. A task never driven to its end (an update the robot
/// ignores, a horizon never released), a completion the platform never shows, and one it shows
/// before the robot is there each fail.
///
/// ```yaml
/// type: robot-task
/// device: courier-A-01
/// to: lobby                          # a node of the map
/// map: fixtures/maps/park-a.yaml
/// expect: ["missing == 0", "early == 0", "report_lag.max < 2s"]
/// ```
public struct RobotTaskCheck: ConformanceCheck {
    public static let type = "robot-task"
    public static let settingKeys = ["device", "to", "map"]
    public static let metrics: [String: MeasuredUnit] = [
        "drive": .milliseconds, "report_lag.max": .milliseconds, "missing": .count, "early": .count, "legs": .count,
    ]

    public let common: CheckCommon
    public let device: String
    public let destination: String
    /// Where the destination is on the map the platform uses.
    public let position: (x: Double, y: Double)

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let device = settings.string("device", required: true, expected: "a robot's device id")
        let destination = settings.string("to", required: true, expected: "a node of the map")
        let mapFile = settings.string("map", required: true, expected: "the park's map file (fixtures/maps/park-a.yaml)")
        guard let device, let destination, let mapFile else { return nil }
        let map: ParkMap
        do { map = try ParkMap.load(file: mapFile) } catch {
            settings.log.add("cannot read the map: \(error.issues.first?.description ?? "\(error)")", at: settings.value("map"), path: settings.child("map"))
            return nil
        }
        guard let node = map.node(destination) else {
            settings.log.add("no node '\(destination)' on map \(map.id); nodes: \(map.nodes.map(\.id).joined(separator: ", "))",
                             at: settings.value("to"), path: settings.child("to"))
            return nil
        }
        self.device = device
        self.destination = destination
        position = (node.x, node.y)
    }

    /// How asking the platform for the task went.
    enum Request {
        /// Asked and taken: the ledger's mark and the wall time just before the asking.
        case taken(mark: Int, at: Int64)
        /// The platform refused it, saying why.
        case refused(String)
        /// It could not be asked at all (no endpoint, no such device).
        case cannotAsk(String)
    }

    /// Asks the platform, through its profile's `commands` endpoint, for `goto {node: to}` at the robot.
    func request(in context: HarnessContext) async -> Request {
        guard let endpoint = context.profile.commands else {
            return .cannotAsk("the platform profile has no `commands` endpoint to ask the platform for a task")
        }
        guard context.devices.contains(where: { $0.id == device }) else { return .cannotAsk("no device '\(device)' in the park") }
        let mark = context.truth.mark
        let asked = context.wallNow()
        if let problem = await context.askPlatform(DeviceAction(.command, "goto", arguments: ["node": destination]), device: device, through: endpoint) {
            return .refused(problem)
        }
        return .taken(mark: mark, at: asked)
    }

    /// The robot's own `arrived` at the destination's position, after ledger mark `mark`.
    func arrival(in context: HarnessContext, after mark: Int) -> LedgerRecord? {
        context.truth.records(from: mark) { record in
            guard record.entry == .emission, record.deviceID == device, record.name == "arrived", let point = Self.point(record) else { return false }
            return abs(point.x - position.x) < 0.05 && abs(point.y - position.y) < 0.05
        }.first
    }

    /// A record's position readings, when it has both.
    static func point(_ record: LedgerRecord) -> (x: Double, y: Double)? {
        guard let x = record.readings.first(where: { $0.point == "x" })?.value.doubleValue,
              let y = record.readings.first(where: { $0.point == "y" })?.value.doubleValue else { return nil }
        return (x, y)
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        var measurement = CheckMeasurement()
        let mark: Int, asked: Int64
        switch await request(in: context) {
        case .cannotAsk(let reason): return CheckMeasurement(error: reason)
        case .refused(let problem):
            measurement.set("missing", .count(1))
            measurement.set("early", .count(0))
            measurement.findings.append("the platform refused the task: \(problem)")
            return measurement
        case .taken(let taken, let at): (mark, asked) = (taken, at)
        }
        func arrival() -> LedgerRecord? { self.arrival(in: context, after: mark) }
        func completion() -> Observation? {
            context.observations.observations(.record, since: asked).first {
                $0.device == device && $0.event == "task-completed" && $0.texts["to"] == destination
            }
        }
        _ = await context.waitUntil(timeout: common.timeout) { completion() != nil && arrival() != nil }
        let arrived = arrival(), shown = completion()
        let legs = context.truth.records(from: mark) { $0.entry == .command && $0.deviceID == device && $0.name == "drive" }.count
        measurement.set("legs", .count(legs))
        var missing = 0, early = 0
        if let arrived {
            measurement.set("drive", .milliseconds(Double(arrived.time.wall.nanosecondsSinceEpoch - asked) / 1e6))
        } else {
            missing = 1
            measurement.findings.append("\(device) never reached \(destination) within \(common.timeout) of the request (\(legs) leg(s) driven)")
        }
        if let shown, let arrived {
            let lag = Double(shown.arrivedNanoseconds - arrived.time.wall.nanosecondsSinceEpoch) / 1e6
            measurement.set("report_lag.max", .milliseconds(max(0, lag)))
            if lag < 0 {
                early = 1
                measurement.findings.append(String(format: "the platform showed the task done %.0f ms before the robot arrived", -lag))
            }
        } else if shown != nil {
            early = 1
            measurement.findings.append("the platform showed the task done; the robot never got to \(destination)")
        } else if arrived != nil {
            missing = 1
            measurement.findings.append("\(device) reached \(destination); the platform never showed the task done")
        }
        measurement.set("missing", .count(missing))
        measurement.set("early", .count(early))
        return measurement
    }
}
