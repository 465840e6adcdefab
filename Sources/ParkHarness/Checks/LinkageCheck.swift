import ParkCore
import ParkProfiles
import ParkReport
import Yams

/// A trigger at one device must make the platform command other devices — observed where it
/// lands, at the virtual devices themselves (the most universal observer: whatever path the
/// platform takes, the command either reaches the sounder or it does not) — within a time
/// budget, and must leave every other device alone (004 linkage chains, e.g. LK1).
///
/// ```yaml
/// type: linkage
/// trigger: {device: panic-A1-01, stimulus: press}
/// command: sound
/// targets: {kind: sounder, zone: A}
/// untouched: {kind: sounder}            # minus the targets
/// quiet: 1s                            # keep watching the untouched this long after the last target
/// after: [{device: panic-A1-01, command: reset}]
/// expect: ["latency.max < 2s", "missing == 0", "unexpected == 0"]
/// ```
public struct LinkageCheck: ConformanceCheck {
    public static let type = "linkage"
    public static let settingKeys = ["trigger", "command", "targets", "untouched", "after", "quiet"]
    public static let metrics = latencyMetrics.merging(["missing": .count, "unexpected": .count]) { $1 }

    public let common: CheckCommon
    public let triggerDevice: String
    public let trigger: DeviceAction
    public let command: String
    public let targets: DeviceSelector
    public let untouched: DeviceSelector?
    public let after: [(device: String, action: DeviceAction)]
    /// How long after the last target was commanded the untouched devices are still watched: a
    /// wrong command need not arrive before the right ones.
    public let quiet: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        var device: String?
        var action: DeviceAction?
        if let node = settings.requiredValue("trigger", expected: "{device: id, stimulus: name}") {
            (device, action) = Self.deviceAction(node, path: settings.child("trigger"), log: log)
        }
        let command = settings.string("command", required: true, expected: "the command the targets must receive")
        let targets = DeviceSelector.parse(&settings, key: "targets", required: true)
        untouched = DeviceSelector.parse(&settings, key: "untouched", required: false)
        after = Self.deviceActions(&settings, key: "after")
        quiet = settings.duration("quiet") ?? .seconds(1)
        guard let device, let action, let command, let targets else { return nil }
        triggerDevice = device
        trigger = action
        self.command = command
        self.targets = targets
    }

    /// The list under `key` of `{device: id, stimulus|command: name, …}`, in order; each one
    /// that cannot be read is logged and left out.
    static func deviceActions(_ settings: inout MappingReader, key: String) -> [(device: String, action: DeviceAction)] {
        var actions: [(device: String, action: DeviceAction)] = []
        for (index, node) in (settings.sequence(key) ?? []).enumerated() {
            let (id, action) = deviceAction(node, path: settings.child("\(key)[\(index)]"), log: settings.log)
            if let id, let action { actions.append((id, action)) }
        }
        return actions
    }

    /// `{device: id, stimulus|command: name, arguments: {...}}`.
    static func deviceAction(_ node: Node, path: String, log: IssueLog) -> (String?, DeviceAction?) {
        guard case .mapping(var mapping) = node else {
            log.add("expected {device: id, stimulus: name}", at: node, path: path)
            return (nil, nil)
        }
        guard let key = mapping.keys.first(where: { $0.string == "device" }), let id = mapping[key]?.string else {
            log.add("missing required key 'device'", at: node, path: path)
            return (nil, nil)
        }
        mapping[key] = nil
        return (id, DeviceAction.parse(.mapping(mapping), path: path, log: log))
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        guard let source = context.devices.first(where: { $0.id == triggerDevice }) else {
            return CheckMeasurement(error: "the trigger device '\(triggerDevice)' is not in the park")
        }
        let expected: [ParkFile.ParkDevice]
        switch context.select(targets) {
        case .success(let value): expected = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let expectedIDs = Set(expected.map(\.id))
        let watched = Set((untouched.map { $0.select(from: context.devices) } ?? context.devices).map(\.id)).subtracting(expectedIDs)

        // Marked before the trigger: on a busy machine the platform's command can reach the target
        // before this task resumes from applying the stimulus.
        let mark = context.truth.mark
        let start: LedgerRecord
        switch await context.perform(trigger, on: source) {
        case .success(let record): start = record
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        func arrivals() -> [LedgerRecord] {
            context.truth.records(from: mark) { $0.entry == .command && $0.name == command }
        }
        _ = await context.waitUntil(timeout: common.timeout) { expectedIDs.isSubset(of: Set(arrivals().map(\.deviceID))) }
        // Unwanted commands get their own window to show up before the check judges there were none.
        await context.run(for: quiet)
        let landed = arrivals()
        var measurement = CheckMeasurement()
        let startNanoseconds = start.time.wall.nanosecondsSinceEpoch
        var samples: [LatencySample] = []
        for device in expected {
            if let first = landed.first(where: { $0.deviceID == device.id }) {
                samples.append(LatencySample(
                    device: device.id, label: "\(triggerDevice) \(trigger.name) → \(command)", startNanoseconds: startNanoseconds,
                    endNanoseconds: first.time.wall.nanosecondsSinceEpoch, matchedBy: "window", messageID: first.messageID))
            } else {
                measurement.findings.append("\(device.id) never received \(command) within \(common.timeout) of \(triggerDevice)'s \(trigger.name)")
            }
        }
        let unexpected = landed.filter { watched.contains($0.deviceID) }
        for record in unexpected { measurement.findings.append("\(record.deviceID) received \(command) but should have been left alone") }
        measurement.addLatencyMetrics(LatencyEvidence(samples: samples))
        measurement.set("missing", .count(expected.count - samples.count))
        measurement.set("unexpected", .count(unexpected.count))
        for failure in await context.perform(after) { measurement.findings.append("after: \(failure)") }
        return measurement
    }
}
