import ParkCore
import ParkProfiles
import ParkReport

/// A platform keeps a car park's lanes moving at rush hour: every vehicle a lane reads is let in
/// (or refused) quickly, none gives up waiting, and the queue is gone soon after the rush. The
/// harness starts a `rush` at the chosen `lane` devices — Poisson traffic at `rate` an hour for
/// `duration` — lets the queues `drain`, then reads from the ledger what each lane saw: its reads,
/// the platform's `open` after each (the decision time), each vehicle's wait from arrival to
/// through, and who turned away. The seeds time one car (a plate within 5 s, 004 L2187; the arm
/// within 1.5 s, L2168); this is the same lane with a morning's traffic behind it.
///
/// ```yaml
/// type: rush
/// devices: {kind: lane}
/// rate: 600          # arrivals an hour at each lane
/// duration: 1m       # of the rush
/// drain: 45s         # after it, for the queues to clear
/// after: [{device: lane-G3-01, command: clear}]   # leave the lane empty for the next check
/// expect: ["decision.p95 < 1s", "turned_away == 0", "left_waiting == 0"]
/// ```
public struct RushCheck: ConformanceCheck {
    public static let type = "rush"
    public static let settingKeys = ["devices", "rate", "duration", "drain", "command", "after"]
    public static let metrics: [String: MeasuredUnit] = {
        var metrics = latencyMetrics.filter { $0.key == "samples" }
        for name in ["p50", "p95", "p99", "max", "mean"] { metrics["decision.\(name)"] = .milliseconds }
        for name in ["p50", "p95", "max"] { metrics["wait.\(name)"] = .milliseconds }
        for name in ["vehicles", "passed", "turned_away", "not_opened", "left_waiting", "queue.max"] { metrics[name] = .count }
        return metrics
    }()

    public let common: CheckCommon
    public let devices: DeviceSelector
    /// Arrivals an hour at each lane during the rush.
    public let rate: Double
    public let duration: DeviceDuration
    public let drain: DeviceDuration
    /// The command that lets the vehicle at the front through.
    public let command: String
    /// Actions once measured, whatever the result: a platform that failed must not leave a
    /// queue behind for the next check.
    public let after: [(device: String, action: DeviceAction)]

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        rate = settings.number("rate", range: 1...36_000) ?? 600
        duration = settings.duration("duration") ?? .minutes(1)
        drain = settings.duration("drain") ?? .seconds(60)
        command = settings.string("command") ?? "open"
        after = LinkageCheck.deviceActions(&settings, key: "after")
        guard let devices else { return nil }
        self.devices = devices
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let lanes: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): lanes = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let mark = context.truth.mark
        let rush = DeviceAction(.stimulus, "rush", arguments: ["rate": "\(rate)", "duration": "\(duration)"])
        for lane in lanes {
            if case .failure(let failure) = await context.perform(rush, on: lane) { return CheckMeasurement(error: failure.description) }
        }
        await context.run(for: duration + drain)

        let ids = Set(lanes.map(\.id))
        let records = context.truth.records(from: mark) { record in
            ids.contains(record.deviceID)
                && (record.entry == .emission && record.channel == .event || record.entry == .command && record.name == command)
        }
        var measurement = CheckMeasurement()
        var decisions: [LatencySample] = []
        var waits: [Double] = []
        var vehicles = 0, passed = 0, turnedAway = 0, notOpened = 0, leftWaiting = 0, queueMax = 0
        for lane in lanes {
            let seen = records.filter { $0.deviceID == lane.id }
            var pendingRead: LedgerRecord?
            var lastQueue = 0
            for record in seen {
                if let queue = record.readings.first(where: { $0.point == "queue" })?.value.doubleValue {
                    lastQueue = Int(queue)
                    queueMax = max(queueMax, lastQueue)
                }
                switch (record.entry, record.name) {
                case (.emission, "plate"):
                    vehicles += 1
                    if let unanswered = pendingRead { notOpened += 1; note(&measurement, lane.id, unanswered, "was never let in") }
                    pendingRead = record
                case (.command, _):
                    guard let read = pendingRead else { continue }
                    decisions.append(LatencySample(
                        device: lane.id, label: "\(lane.id) plate → \(command)", startNanoseconds: read.time.wall.nanosecondsSinceEpoch,
                        endNanoseconds: record.time.wall.nanosecondsSinceEpoch, matchedBy: "lane", messageID: read.messageID))
                    pendingRead = nil
                case (.emission, "passed"):
                    passed += 1
                    if let wait = record.readings.first(where: { $0.point == "wait" })?.value.doubleValue { waits.append(wait * 1_000) }
                case (.emission, "turned-away"):
                    turnedAway += 1
                    if let read = pendingRead { notOpened += 1; note(&measurement, lane.id, read, "turned away, never let in") }
                    pendingRead = nil
                default:
                    continue
                }
            }
            if let read = pendingRead { notOpened += 1; note(&measurement, lane.id, read, "was still waiting for \(command) at the end") }
            if lastQueue > 0 {
                leftWaiting += lastQueue
                measurement.findings.append("\(lane.id): \(lastQueue) vehicles still in the lane \(drain) after the rush")
            }
        }
        measurement.addLatencyMetrics(LatencyEvidence(samples: decisions), prefix: "decision")
        let sortedWaits = waits.sorted()
        if let p50 = LatencyEvidence.percentile(0.50, of: sortedWaits) { measurement.set("wait.p50", .milliseconds(p50)) }
        if let p95 = LatencyEvidence.percentile(0.95, of: sortedWaits) { measurement.set("wait.p95", .milliseconds(p95)) }
        if let worst = sortedWaits.last { measurement.set("wait.max", .milliseconds(worst)) }
        measurement.set("vehicles", .count(vehicles))
        measurement.set("passed", .count(passed))
        measurement.set("turned_away", .count(turnedAway))
        measurement.set("not_opened", .count(notOpened))
        measurement.set("left_waiting", .count(leftWaiting))
        measurement.set("queue.max", .count(queueMax))
        if vehicles == 0 { measurement.findings.append("no lane read a vehicle: is `devices` a set of lane devices?") }
        for failure in await context.perform(after) { measurement.findings.append("after: \(failure)") }
        return measurement
    }

    /// Says which read went unanswered, for the first few only: a dead platform leaves hundreds.
    private func note(_ measurement: inout CheckMeasurement, _ lane: String, _ read: LedgerRecord, _ what: String) {
        guard measurement.findings.count < 10 else { return }
        let plate = read.readings.first { $0.point == "plate" }?.value.description ?? "?"
        measurement.findings.append("\(lane): \(plate) (\(read.messageID)) \(what)")
    }
}
