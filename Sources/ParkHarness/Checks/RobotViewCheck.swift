import Foundation
import ParkCore
import ParkProfiles
import ParkReport

/// How fresh the platform's view of a moving robot is (004 L1791: 支持地图显示，查看机器人作业所在位置;
/// L2069: 实时查看机器人运行状况): the harness sends the robot on a task (`goto {node}`, as
/// `robot-task` does) and, until it arrives, takes every position the platform shows for it
/// (its telemetry `x`, `y`). The map shows each until the next comes; dated against the robot's
/// own track — its position reports in the ledger, straight between reports — the view's age is
/// how long before then the robot was last where the map still shows it. A position the robot
/// never had is `unmatched`.
///
/// ```yaml
/// type: robot-view
/// device: courier-A-01
/// to: lobby
/// map: fixtures/maps/park-a.yaml
/// expect: ["view_age.max < 2s", "shown >= 3", "unmatched == 0"]
/// ```
public struct RobotViewCheck: ConformanceCheck {
    public static let type = "robot-view"
    public static let settingKeys = ["device", "to", "map"]
    public static let metrics: [String: MeasuredUnit] = [
        "view_age.p50": .milliseconds, "view_age.p95": .milliseconds, "view_age.max": .milliseconds, "shown": .count, "unmatched": .count,
        "drive": .milliseconds,
    ]
    /// How near a shown position must come to the track to be a place the robot was (metres).
    static let tolerance = 0.1

    public let common: CheckCommon
    public let task: RobotTaskCheck

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        guard let task = RobotTaskCheck(common: common, settings: &settings) else { return nil }
        self.task = task
    }

    /// One point of the robot's track: where it was, when (wall nanoseconds).
    struct TrackPoint { var time: Int64; var x: Double; var y: Double }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let device = task.device
        let mark: Int, asked: Int64
        switch await task.request(in: context) {
        case .cannotAsk(let reason): return CheckMeasurement(error: reason)
        case .refused(let problem): return CheckMeasurement(error: "the platform refused the task: \(problem)")
        case .taken(let taken, let at): (mark, asked) = (taken, at)
        }
        var measurement = CheckMeasurement()
        _ = await context.waitUntil(timeout: common.timeout) { task.arrival(in: context, after: mark) != nil }
        guard let arrived = task.arrival(in: context, after: mark) else {
            return CheckMeasurement(error: "\(device) never reached \(task.destination) within \(common.timeout): no drive to watch")
        }
        let end = arrived.time.wall.nanosecondsSinceEpoch
        measurement.set("drive", .milliseconds(Double(end - asked) / 1e6))
        // The track from a little before the request (where the robot stood) to its arrival.
        let track = context.truth.records { record in
            record.deviceID == device && record.entry == .emission && record.time.wall.nanosecondsSinceEpoch >= asked - 5_000_000_000
                && record.time.wall.nanosecondsSinceEpoch <= end
        }.compactMap { record in RobotTaskCheck.point(record).map { TrackPoint(time: record.time.wall.nanosecondsSinceEpoch, x: $0.x, y: $0.y) } }
        // What the map showed when the task began, and every position it showed on the way.
        let positions = context.observations.observations(.telemetry, since: asked - 60_000_000_000).filter {
            $0.device == device && $0.values["x"] != nil && $0.values["y"] != nil && $0.arrivedNanoseconds <= end
        }
        let shown = positions.filter { $0.arrivedNanoseconds < asked }.suffix(1) + positions.filter { $0.arrivedNanoseconds >= asked }
        // The map shows each position until the next: its age is greatest just before the next
        // one comes (or when the robot arrives) — how long before that the robot was there.
        var ages: [Double] = []
        var unmatched = 0
        for (index, observation) in zip(shown.indices, shown) {
            let x = observation.values["x"] ?? 0, y = observation.values["y"] ?? 0
            guard Self.lastTime(at: (x, y), on: track, before: observation.arrivedNanoseconds) != nil else {
                unmatched += 1
                if unmatched <= 5 { measurement.findings.append(String(format: "the platform showed %@ at (%.2f, %.2f), where it never was", device, x, y)) }
                continue
            }
            let until = index + 1 < shown.endIndex ? shown[index + 1].arrivedNanoseconds : end
            guard until > observation.arrivedNanoseconds, let when = Self.lastTime(at: (x, y), on: track, before: until) else { continue }
            ages.append(Double(until - when) / 1e6)
        }
        let sorted = ages.sorted()
        if let last = sorted.last {
            measurement.set("view_age.p50", .milliseconds(sorted[(sorted.count - 1) / 2]))
            measurement.set("view_age.p95", .milliseconds(sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]))
            measurement.set("view_age.max", .milliseconds(last))
            if last > 2_000 { measurement.findings.append(String(format: "the platform's view of %@ was %.1f s old at worst", device, last / 1000)) }
        }
        measurement.set("shown", .count(shown.filter { $0.arrivedNanoseconds >= asked }.count))
        measurement.set("unmatched", .count(unmatched))
        return measurement
    }

    /// The last moment at or before `limit` the robot was within ``tolerance`` of `position`:
    /// the `track` is taken as straight lines at constant speed between its points (it runs on
    /// past `limit`, which cuts its segment there), and the robot at rest after its last point.
    static func lastTime(at position: (x: Double, y: Double), on track: [TrackPoint], before limit: Int64) -> Int64? {
        let points = track.sorted { $0.time < $1.time }
        guard let first = points.first, first.time <= limit else { return nil }
        var segments = zip(points, points.dropFirst()).filter { $0.0.time <= limit }
        if let last = points.last, last.time <= limit { segments.append((last, TrackPoint(time: limit, x: last.x, y: last.y))) }
        for (from, to) in segments.reversed() {
            let span = Double(to.time - from.time)
            // Up to `limit` only: the fraction of the segment the robot had driven by then.
            let reach = to.time <= limit || span == 0 ? 1 : Double(limit - from.time) / span
            let dx = to.x - from.x, dy = to.y - from.y, fx = from.x - position.x, fy = from.y - position.y
            // |from + u·d − position|² ≤ tolerance²: a u² + 2b u + c ≤ 0, the latest u in [0, reach].
            let a = dx * dx + dy * dy, b = fx * dx + fy * dy, c = fx * fx + fy * fy - tolerance * tolerance
            let latest: Double
            if a == 0 {
                guard c <= 0 else { continue }
                latest = reach
            } else {
                let discriminant = b * b - a * c
                guard discriminant >= 0 else { continue }
                let root = discriminant.squareRoot()
                let low = (-b - root) / a, high = (-b + root) / a
                guard high >= 0, low <= reach else { continue }
                latest = min(high, reach)
            }
            return from.time + Int64(latest * span)
        }
        return nil
    }
}
