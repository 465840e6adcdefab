import ParkCore
import ParkProfiles
import ParkReport

/// Stimulus at a device → the matching observation at the platform (004 L2714: alarm response
/// under 2 s). Every selected device gets the stimulus at once; each yields one sample a round.
/// `repeat:` runs that many rounds, `spacing:` apart (after each round's `after:`), so a p99 rests
/// on enough samples to mean something; `parkbench test --samples N` asks every latency check
/// for at least N.
///
/// Correlation: when the platform echoes the device's `msg_id`, the observation carrying the
/// `msg_id` of the device's own event is the match (`matched_by: msg_id`). Otherwise the first
/// observation of that device and event within the timeout is taken (`window`), and when there
/// was more than one candidate the check says so in its findings instead of choosing silently.
///
/// ```yaml
/// type: latency
/// devices: {kind: smoke-detector, count: 3}
/// stimulus: {stimulus: smoke, arguments: {density: 0.45}}
/// observe: {event: smoke-alarm}       # as: alarm (default), status, telemetry
/// from: stimulus                      # or `emission`: time only the platform's share
/// after: [{stimulus: smoke-clear}]    # put the devices back
/// repeat: 25                          # rounds (default 1); spacing: 1s between them
/// expect: ["latency.p99 < 2s", "missing == 0"]
/// ```
public struct LatencyCheck: ConformanceCheck {
    public static let type = "latency"
    public static let settingKeys = ["devices", "stimulus", "observe", "from", "after", "repeat", "spacing"]
    public static let metrics = latencyMetrics.merging([
        "missing": .count, "ambiguous": .count, "device_delay.max": .milliseconds, "rounds": .count,
    ]) { $1 }

    public enum Origin: String, Sendable { case stimulus, emission }

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let stimulus: DeviceAction
    public let kind: ObservationKind
    public let event: String
    public let origin: Origin
    public let after: [DeviceAction]
    /// Rounds of stimulus → observation → `after`.
    public let rounds: Int
    /// Pause between rounds, after the previous round's `after`.
    public let spacing: DeviceDuration

    /// Findings kept per kind of finding over all rounds; the rest are counted.
    static let findingsPerRun = 20

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        let stimulus = settings.requiredValue("stimulus", expected: "{stimulus: name, arguments: {...}}")
            .flatMap { DeviceAction.parse($0, path: settings.child("stimulus"), log: log) }
        var kind = ObservationKind.alarm
        var event: String?
        if let node = settings.requiredValue("observe", expected: "what to wait for at the platform: {event: name}"),
           var observe = MappingReader(node, path: settings.child("observe"), log: log, what: "an observation") {
            event = observe.string("event", required: true, expected: "the event the platform must show")
            if let text = observe.string("as") {
                if let value = ObservationKind(rawValue: text) { kind = value } else {
                    log.add("expected one of alarm, status, telemetry, got '\(text)'", at: observe.value("as"), path: observe.child("as"))
                }
            }
            observe.finish(allowed: ["event", "as"])
        }
        var origin = Origin.stimulus
        if let text = settings.string("from") {
            if let value = Origin(rawValue: text) { origin = value } else {
                log.add("expected stimulus or emission, got '\(text)'", at: settings.value("from"), path: settings.child("from"))
            }
        }
        let after = (settings.sequence("after") ?? []).enumerated().compactMap { index, node in
            DeviceAction.parse(node, path: settings.child("after[\(index)]"), log: log)
        }
        let rounds = settings.int("repeat", range: 1 ... 10_000) ?? 1
        let spacing = settings.duration("spacing") ?? .seconds(1)
        guard let devices, let stimulus, let event else { return nil }
        self.rounds = rounds
        self.spacing = spacing
        self.devices = devices
        self.stimulus = stimulus
        self.kind = kind
        self.event = event
        self.origin = origin
        self.after = after
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        // What the platform calls the event, per device kind (its profile's vocabulary).
        let shownAs = Dictionary(chosen.map { ($0.id, context.profile.vocabulary.platformEvent(for: event, kind: $0.kind)) },
                                 uniquingKeysWith: { first, _ in first })
        let wanted = context.minimumSamples.map { ($0 + chosen.count - 1) / chosen.count } ?? 1
        var round = Round()
        for index in 0 ..< max(rounds, wanted) {
            if index > 0 { await context.run(for: spacing) }
            if let error = await run(round: &round, chosen: chosen, shownAs: shownAs, in: context) {
                return CheckMeasurement(error: error)
            }
        }
        var measurement = CheckMeasurement()
        measurement.addLatencyMetrics(LatencyEvidence(samples: round.samples))
        measurement.set("missing", .count(round.missing))
        measurement.set("ambiguous", .count(round.ambiguous))
        measurement.set("rounds", .count(round.count))
        if let worst = round.deviceDelays.max() { measurement.set("device_delay.max", .milliseconds(worst)) }
        measurement.findings = round.findings
        if round.findingsLeftOut > 0 { measurement.findings.append("… and \(round.findingsLeftOut) more findings like these") }
        return measurement
    }

    /// What the rounds have gathered so far.
    struct Round {
        var count = 0
        var samples: [LatencySample] = []
        var missing = 0, ambiguous = 0
        var deviceDelays: [Double] = []
        var findings: [String] = []
        var findingsLeftOut = 0

        mutating func note(_ finding: String) {
            if findings.count < LatencyCheck.findingsPerRun { findings.append(finding) } else { findingsLeftOut += 1 }
        }
    }

    /// One round: the stimulus to every device, the wait, the samples, then `after`. Returns why
    /// the round could not run, if it could not.
    private func run(
        round: inout Round, chosen: [ParkFile.ParkDevice], shownAs: [String: String], in context: HarnessContext
    ) async -> String? {
        round.count += 1
        var starts: [(device: ParkFile.ParkDevice, record: LedgerRecord)] = []
        for device in chosen {
            switch await context.perform(stimulus, on: device) {
            case .success(let record): starts.append((device, record))
            case .failure(let failure): return failure.description
            }
        }
        let since = starts.map(\.record.time.wall.nanosecondsSinceEpoch).min() ?? context.wallNow()
        let ids = Set(chosen.map(\.id))
        _ = await context.waitUntil(timeout: common.timeout) {
            Set(context.observations.observations(kind, since: since)
                .filter { ids.contains($0.device) && $0.event == shownAs[$0.device] }.map(\.device)) == ids
        }

        let seen = context.observations.observations(kind, since: since)
        let timeoutNanoseconds = Int64(common.timeout.nanoseconds)
        let prefix = rounds > 1 || round.count > 1 ? "round \(round.count): " : ""
        for (device, start) in starts {
            let startNanoseconds = start.time.wall.nanosecondsSinceEpoch
            let emission = context.truth.firstEmission(of: device.id, named: event, after: start.order)
            if let emission {
                round.deviceDelays.append(Double(emission.time.wall.nanosecondsSinceEpoch - startNanoseconds) / 1e6)
            }
            let origin = self.origin == .emission ? emission?.time.wall.nanosecondsSinceEpoch : startNanoseconds
            let platformEvent = shownAs[device.id] ?? event
            let shown = platformEvent == event ? event : "\(platformEvent) (\(event))"
            let candidates = seen.filter {
                $0.device == device.id && $0.event == platformEvent && $0.arrivedNanoseconds >= startNanoseconds
                    && $0.arrivedNanoseconds <= startNanoseconds + timeoutNanoseconds
            }
            guard let origin else {
                round.missing += 1
                round.note("\(prefix)\(device.id): the device itself never emitted \(event) after \(stimulus) — nothing to time the platform by")
                continue
            }
            if let emission, let exact = candidates.first(where: { $0.messageID == emission.messageID }) {
                round.samples.append(LatencySample(
                    device: device.id, label: "\(stimulus.name) → \(event)", startNanoseconds: origin,
                    endNanoseconds: exact.arrivedNanoseconds, matchedBy: "msg_id", messageID: emission.messageID))
                continue
            }
            guard let first = candidates.min(by: { $0.arrivedNanoseconds < $1.arrivedNanoseconds }) else {
                round.missing += 1
                round.note("\(prefix)\(device.id): no \(shown) at the platform within \(common.timeout) of the \(stimulus.name)")
                continue
            }
            if candidates.contains(where: { $0.messageID != nil }) {
                round.note(
                    "\(prefix)\(device.id): the platform's \(shown) carries msg_id \(first.messageID ?? "-"), not the device's \(emission?.messageID ?? "-"); matched by time window")
            }
            if candidates.count > 1 {
                round.ambiguous += 1
                round.note("\(prefix)\(device.id): \(candidates.count) \(shown) observations within the window; took the earliest")
            }
            round.samples.append(LatencySample(
                device: device.id, label: "\(stimulus.name) → \(event)", startNanoseconds: origin,
                endNanoseconds: first.arrivedNanoseconds, matchedBy: "window", messageID: first.messageID))
        }
        for action in after {
            for device in chosen {
                if case .failure(let failure) = await context.perform(action, on: device) {
                    round.note("after: \(failure)")
                }
            }
        }
        return nil
    }
}
