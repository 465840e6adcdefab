import ParkCore
import ParkProfiles
import ParkReport
import Yams

/// One trigger followed through several devices, each hop timed against its own budget: a car's
/// plate is read (≤ 5 s, 004 L2187), the platform lets it in (the barrier receives `open`), the
/// barrier is up (≤ 1.5 s, L2168). A linkage check times trigger → command; this one times every
/// step in between, because the seeds give each step its own number and a slow platform hides
/// behind a fast barrier in a total.
///
/// Every hop is something the virtual devices record in the ledger — an event a device emits or
/// a command it receives — so what is timed is what happened at the devices, whatever path the
/// platform took. A hop is timed from the hop before it (the first from the trigger); `total` is
/// trigger → last hop. `never` lists what must not happen at all (an unknown plate must not open
/// the barrier), watched for `quiet` after the last hop.
///
/// ```yaml
/// type: chain
/// trigger: {device: lpr-G1-01, stimulus: vehicle, arguments: {plate: 京A12345}}
/// # or a request to the platform (its profile's `commands` endpoint), timed from the request:
/// # trigger: {platform: goto, device: courier-A-01, arguments: {node: porch}}
/// hops:
///   - {name: plate read, device: lpr-G1-01, event: plate, within: 5s}
///   - {name: platform decision, device: barrier-G1-01, command: open}
///   - {name: barrier up, device: barrier-G1-01, event: raised, within: 1.5s}
///   # a step may also ask for values: {device: lift-A-01, event: arrived, with: {floor: 1}}
/// never: [{device: barrier-G1-02, command: open}]
/// rounds: 3
/// before: []                                          # actions before each round's trigger
/// after: [{device: barrier-G1-01, command: close}]   # after each round
/// settle: 2s                                          # then wait this long (the arm comes down)
/// expect: ["broken == 0", "over_budget == 0", "total.max < 7s"]
/// ```
public struct ChainCheck: ConformanceCheck {
    public static let type = "chain"
    public static let settingKeys = ["trigger", "hops", "never", "rounds", "before", "after", "settle", "quiet"]
    /// Hops are named in the suite, but metrics must be known when it loads: they are numbered.
    public static let maximumHops = 8
    public static let metrics: [String: MeasuredUnit] = {
        var metrics = latencyMetrics.filter { $0.key == "samples" }
        for name in ["p50", "p95", "p99", "max", "mean"] { metrics["total.\(name)"] = .milliseconds }
        for hop in 1...maximumHops {
            metrics["hop\(hop).max"] = .milliseconds
            metrics["hop\(hop).p50"] = .milliseconds
        }
        metrics["broken"] = .count
        metrics["over_budget"] = .count
        metrics["unexpected"] = .count
        return metrics
    }()

    /// One step of the chain: what a device must record.
    public struct Step: Sendable, Hashable, CustomStringConvertible {
        public enum Entry: String, Sendable, Hashable { case event, command }
        public var name: String
        public var device: String
        public var entry: Entry
        /// The event or command's name.
        public var what: String
        /// The hop's budget (from the step before); nil: timed, not judged.
        public var within: DeviceDuration?
        /// Values the event or command must carry (`floor: 3`: the elevator arrived at floor 3,
        /// the call was for floor 3), compared as numbers when both are.
        public var values: [String: String] = [:]

        public var description: String {
            "\(device) \(entry == .event ? "reports" : "receives") \(what)"
                + (values.isEmpty ? "" : " with " + values.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }

        func matches(_ record: LedgerRecord) -> Bool {
            guard record.deviceID == device, record.name == what else { return false }
            switch entry {
            case .event: guard record.entry == .emission, record.channel == .event else { return false }
            case .command: guard record.entry == .command else { return false }
            }
            // A command's record holds its arguments first, then what the device answered: the
            // first reading of a name is the one asked for.
            return values.allSatisfy { point, wanted in
                guard let value = record.readings.first(where: { $0.point == point })?.value else { return false }
                if let number = value.doubleValue, let target = Double(wanted) { return number == target }
                return value.description == wanted
            }
        }
    }

    public let common: CheckCommon
    public let triggerDevice: String
    public let trigger: DeviceAction
    /// The trigger is a request to the platform (`platform:`), not an action at the device.
    public let triggerThroughPlatform: Bool
    public let hops: [Step]
    public let never: [Step]
    public let rounds: Int
    /// Put the devices in the state the trigger needs (an intercom ringing and answered before
    /// the resident presses unlock); not timed.
    public let before: [(device: String, action: DeviceAction)]
    public let after: [(device: String, action: DeviceAction)]
    public let settle: DeviceDuration
    public let quiet: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        var device: String?, action: DeviceAction?
        var throughPlatform = false
        if var node = settings.requiredValue("trigger", expected: "{device: id, stimulus: name, arguments: {...}}") {
            // {platform: goto, …} is {command: goto, …} asked of the platform.
            if case .mapping(var mapping) = node, let key = mapping.keys.first(where: { $0.string == "platform" }), let request = mapping[key] {
                mapping[key] = nil
                mapping[Node("command")] = request
                node = .mapping(mapping)
                throughPlatform = true
            }
            (device, action) = LinkageCheck.deviceAction(node, path: settings.child("trigger"), log: log)
        }
        var hops: [Step] = []
        let hopNodes = settings.sequence("hops", required: true) ?? []
        for (index, node) in hopNodes.enumerated() {
            if let step = Self.step(node, path: settings.child("hops[\(index)]"), log: log, named: true) { hops.append(step) }
        }
        if hopNodes.count > Self.maximumHops {
            log.add("a chain has at most \(Self.maximumHops) hops, got \(hopNodes.count)", at: settings.value("hops"), path: settings.child("hops"))
        } else if hopNodes.isEmpty, settings.keys.contains("hops") {
            log.add("a chain needs at least one hop", at: settings.value("hops"), path: settings.child("hops"))
        }
        var never: [Step] = []
        for (index, node) in (settings.sequence("never") ?? []).enumerated() {
            if let step = Self.step(node, path: settings.child("never[\(index)]"), log: log, named: false) { never.append(step) }
        }
        rounds = settings.int("rounds", range: 1...1_000) ?? 1
        before = LinkageCheck.deviceActions(&settings, key: "before")
        after = LinkageCheck.deviceActions(&settings, key: "after")
        settle = settings.duration("settle") ?? .zero
        quiet = settings.duration("quiet") ?? .seconds(1)
        guard let device, let action, !hops.isEmpty, hops.count == hopNodes.count, hops.count <= Self.maximumHops else { return nil }
        triggerDevice = device
        trigger = action
        triggerThroughPlatform = throughPlatform
        self.hops = hops
        self.never = never
    }

    /// `{name: text, device: id, event|command: name, with: {point: value}, within: 1.5s}` (`name`
    /// and `within` only for hops).
    static func step(_ node: Node, path: String, log: IssueLog, named: Bool) -> Step? {
        let shape = named ? "{name: text, device: id, event: name, within: 1.5s}" : "{device: id, event: name} or {device: id, command: name}"
        guard var reader = MappingReader(node, path: path, log: log, what: "a step \(shape)") else { return nil }
        let name = named ? reader.string("name") : nil
        let device = reader.string("device", required: true, expected: "the device that records this step")
        let event = reader.string("event", expected: "an event the device reports")
        let command = reader.string("command", expected: "a command the device receives")
        let within = named ? reader.duration("within") : nil
        var values: [String: String] = [:]
        for entry in reader.scalarMap("with") ?? [] { values[entry.key] = entry.text }
        reader.finish(allowed: named ? ["name", "device", "event", "command", "with", "within"] : ["device", "event", "command", "with"])
        guard let device else { return nil }
        let entry: Step.Entry, what: String
        switch (event, command) {
        case (let name?, nil): (entry, what) = (.event, name)
        case (nil, let name?): (entry, what) = (.command, name)
        default:
            log.add("expected exactly one of 'event' or 'command'", at: node, path: path)
            return nil
        }
        return Step(name: name ?? "\(device) \(what)", device: device, entry: entry, what: what, within: within, values: values)
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        guard let source = context.devices.first(where: { $0.id == triggerDevice }) else {
            return CheckMeasurement(error: "the trigger device '\(triggerDevice)' is not in the park")
        }
        let known = Set(context.devices.map(\.id))
        if let stranger = (hops + never).first(where: { !known.contains($0.device) }) {
            return CheckMeasurement(error: "the step '\(stranger.name)' names '\(stranger.device)', which is not in the park")
        }
        var measurement = CheckMeasurement()
        var totals: [LatencySample] = []
        var hopTimes: [[Double]] = Array(repeating: [], count: hops.count)
        var broken = 0, overBudget = 0, unexpected = 0
        for round in 1...rounds {
            if let failure = await context.perform(before, stoppingAtFailure: true).first {
                return CheckMeasurement(error: "before: \(failure)")
            }
            // Marked before the trigger: the first hop can land before this task resumes.
            let mark = context.truth.mark
            // The trigger's own record (nil for a request to the platform, timed from the asking).
            let start: LedgerRecord?
            let startNanoseconds: Int64
            if triggerThroughPlatform {
                guard let endpoint = context.profile.commands else {
                    return CheckMeasurement(error: "the platform profile has no `commands` endpoint to ask the platform for \(trigger.name)")
                }
                start = nil
                startNanoseconds = context.wallNow()
                if let problem = await context.askPlatform(trigger, device: triggerDevice, through: endpoint) {
                    broken += 1
                    measurement.findings.append("round \(round): the platform refused \(trigger.name) for \(triggerDevice): \(problem)")
                    for failure in await context.perform(after) { measurement.findings.append("after: \(failure)") }
                    continue
                }
            } else {
                switch await context.perform(trigger, on: source) {
                case .success(let record): start = record
                case .failure(let failure): return CheckMeasurement(error: failure.description)
                }
                startNanoseconds = start!.time.wall.nanosecondsSinceEpoch
            }
            // Each hop is the first matching record no earlier than the one before it. By time, not
            // by ledger order: what a device emits while it handles a command is recorded before
            // the command itself (the command's record carries its answer), at the same instant.
            func follow() -> [LedgerRecord] {
                var found: [LedgerRecord] = []
                var used: Set<UInt64> = start.map { [$0.order] } ?? []
                var since = startNanoseconds
                let records = context.truth.records(from: mark) { record in hops.contains { $0.matches(record) } }
                for hop in hops {
                    guard let record = records.first(where: {
                        !used.contains($0.order) && $0.time.wall.nanosecondsSinceEpoch >= since && hop.matches($0)
                    }) else { break }
                    found.append(record)
                    used.insert(record.order)
                    since = record.time.wall.nanosecondsSinceEpoch
                }
                return found
            }
            _ = await context.waitUntil(timeout: common.timeout) { follow().count == hops.count }
            // Steps that must not happen get their own window to show up in.
            if !never.isEmpty { await context.run(for: quiet) }
            let reached = follow()
            var previous = startNanoseconds
            var steps: [String] = []
            for (index, record) in reached.enumerated() {
                let hop = hops[index]
                let milliseconds = Double(record.time.wall.nanosecondsSinceEpoch - previous) / 1e6
                hopTimes[index].append(milliseconds)
                steps.append(String(format: "%@ %.0f ms", hop.name, milliseconds))
                if let budget = hop.within, milliseconds > Double(budget.nanoseconds) / 1e6 {
                    overBudget += 1
                    measurement.findings.append(String(format: "round %d: %@ took %.0f ms, over its %@ budget", round, hop.name, milliseconds, "\(budget)"))
                }
                previous = record.time.wall.nanosecondsSinceEpoch
            }
            if reached.count == hops.count, let last = reached.last {
                totals.append(LatencySample(
                    device: last.deviceID, label: "\(triggerDevice) \(trigger.name) → " + hops.map(\.name).joined(separator: " → "),
                    startNanoseconds: startNanoseconds, endNanoseconds: last.time.wall.nanosecondsSinceEpoch, matchedBy: "chain",
                    messageID: last.messageID))
            } else {
                broken += 1
                let missing = hops[reached.count]
                measurement.findings.append(
                    "round \(round): the chain broke at '\(missing.name)' (\(missing)) — nothing within \(common.timeout)"
                    + (steps.isEmpty ? "" : "; reached: " + steps.joined(separator: ", ")))
            }
            for step in never {
                let seen = context.truth.records(from: mark) { record in start.map { record.order > $0.order } ?? true && step.matches(record) }
                if !seen.isEmpty {
                    unexpected += seen.count
                    measurement.findings.append("round \(round): \(step) — it must not")
                }
            }
            for failure in await context.perform(after) { measurement.findings.append("after: \(failure)") }
            // After the last round too: the next check finds the lane as this one found it.
            if settle > .zero { await context.run(for: settle) }
        }
        measurement.addLatencyMetrics(LatencyEvidence(samples: totals), prefix: "total")
        for (index, times) in hopTimes.enumerated() where !times.isEmpty {
            let sorted = times.sorted()
            measurement.set("hop\(index + 1).max", .milliseconds(sorted[sorted.count - 1]))
            measurement.set("hop\(index + 1).p50", .milliseconds(sorted[(sorted.count - 1) / 2]))
        }
        measurement.set("broken", .count(broken))
        measurement.set("over_budget", .count(overBudget))
        measurement.set("unexpected", .count(unexpected))
        return measurement
    }
}
