import Foundation
import Histogram
import ParkCore
import ParkProfiles
import ParkReport

/// The park under load, stage after stage, with the checks kept on: while every device reports
/// (at its own rate times the stage's `rate:`), alarms are raised at a steady rate on the probe
/// devices and timed to the platform (the latency check's logic, streaming), devices the platform
/// shows offline while connected are counted, and each stage is judged on its own figures.
/// 004 L2714's "alarm within 2 s" has to hold at the load a park really carries, not on an idle one.
///
/// ```yaml
/// type: load
/// start_devices: 200                        # connected at the start (default: all)
/// stages:                                   # in order; rate multiplies every device's timers,
///   - {name: ramp, duration: 20s, devices: 1000}   # devices: connected by the stage's end
///   - {name: warm-up, duration: 20s}
///   - {name: double, duration: 30s, rate: 2}
///   - {name: spike, duration: 10s, rate: 8}
/// probes:                                   # an alarm probe every 1/rate s, round robin
///   devices: {kind: smoke-detector}
///   stimulus: {stimulus: smoke, arguments: {density: 0.45}}
///   observe: {event: smoke-alarm}
///   after: [{stimulus: smoke-clear}]
///   rate: 2                                 # probes a second
/// capacity: {from: 1, factor: 1.5, step: 20s, up_to: 64}   # then raise the rate until a threshold fails
/// abort_on: ["alarm_latency.p99 < 2s"]      # stop at the first stage that fails these
/// scale_to: 5000                            # run the park scaled to this many devices
/// expect: ["alarm_latency.p99 < 2s", "probe_missing == 0", "offline_false_alarms == 0"]
/// ```
///
/// A figure the expectations read is its worst stage's (the highest latency, the most missing,
/// the lowest rate), so every expectation holds in every stage or the check fails; the findings
/// give each stage's figures and which stage failed first. Latencies go into one HDR histogram per
/// stage (exact merging, bounded memory); observations are read through a cursor, never rescanned.
public struct LoadCheck: ConformanceCheck {
    public static let type = "load"
    public static let settingKeys = ["stages", "probes", "capacity", "abort_on", "scale_to", "start_devices"]
    public static let metrics: [String: MeasuredUnit] = [
        "alarm_latency.p50": .milliseconds, "alarm_latency.p95": .milliseconds, "alarm_latency.p99": .milliseconds,
        "alarm_latency.max": .milliseconds, "probes": .count, "probe_missing": MeasuredUnit(.count, alsoAsPercent: true),
        "offline_false_alarms": .count, "sent_rate": MeasuredUnit(.number), "shown_rate": MeasuredUnit(.number),
        "stages_held": .count, "capacity.pace": MeasuredUnit(.number), "capacity.rate": MeasuredUnit(.number),
    ]

    /// One stage: how long, how fast the devices' timers run, and how many devices are
    /// connected by its end (reached linearly from the count at its start; nil: unchanged).
    public struct Stage: Sendable, Hashable {
        public var name: String
        public var duration: DeviceDuration
        public var pace: Double
        public var devices: Int? = nil
    }

    /// A capacity search: after the listed stages, stages of `step` at pace `from`, `from × factor`,
    /// … until a threshold fails or the pace passes `upTo`.
    public struct CapacitySearch: Sendable, Hashable {
        public var from: Double = 1
        public var factor: Double = 1.5
        public var step: DeviceDuration = .seconds(20)
        public var upTo: Double = 64

        public init(from: Double = 1, factor: Double = 1.5, step: DeviceDuration = .seconds(20), upTo: Double = 64) {
            self.from = from
            self.factor = factor
            self.step = step
            self.upTo = upTo
        }

        /// The paces it tries, in order.
        var paces: [Double] {
            var paces: [Double] = []
            var pace = from
            while pace <= upTo * 1.000_001, paces.count < 100 {
                paces.append(pace)
                pace *= factor
            }
            return paces
        }
    }

    public let common: CheckCommon
    public let stages: [Stage]
    public let probes: AlarmStimulus
    /// Probes a second.
    public private(set) var probeRate: Double
    public private(set) var capacity: CapacitySearch?
    /// Expectations that stop the run at the first stage failing them.
    public let abortOn: [Expectation]
    /// The park scaled to this many devices for the run (``ParkFile/scaled(to:)``).
    public let scaleTo: Int?
    /// Devices connected when the first stage starts (the rest wait for a stage's `devices:` to
    /// ramp them up); nil: all of them.
    public let startDevices: Int?
    /// `i/N` when this process runs one shard of the run (its devices, its share of the probes).
    public private(set) var shard: String?

    /// How often the check looks at what arrived and sends due probes.
    static let tick = DeviceDuration.milliseconds(100)

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        var stages: [Stage] = []
        for (index, node) in (settings.sequence("stages") ?? []).enumerated() {
            let path = settings.child("stages[\(index)]")
            guard var reader = MappingReader(node, path: path, log: log, what: "a stage") else { continue }
            let name = reader.string("name") ?? "stage-\(index + 1)"
            let duration = reader.duration("duration", required: true)
            let pace = reader.number("rate", range: 0.01 ... 10_000) ?? 1
            let devices = reader.int("devices", range: 0 ... 1_000_000)
            reader.finish(allowed: ["name", "duration", "rate", "devices"])
            if let duration { stages.append(Stage(name: name, duration: duration, pace: pace, devices: devices)) }
        }
        var probes: AlarmStimulus?
        var probeRate = 1.0
        if let node = settings.requiredValue("probes", expected: "the alarms raised through the load: {devices, stimulus, observe, after, rate}"),
           var reader = MappingReader(node, path: settings.child("probes"), log: log, what: "the alarm probes") {
            probes = AlarmStimulus.parse(&reader)
            probeRate = reader.number("rate", range: 0.01 ... 1_000) ?? 1
            reader.finish(allowed: AlarmStimulus.keys + ["rate"])
        }
        var capacity: CapacitySearch?
        if let node = settings.value("capacity"),
           var reader = MappingReader(node, path: settings.child("capacity"), log: log, what: "a capacity search") {
            var search = CapacitySearch()
            search.from = reader.number("from", range: 0.01 ... 10_000) ?? search.from
            search.factor = reader.number("factor", range: 1.01 ... 100) ?? search.factor
            search.step = reader.duration("step") ?? search.step
            search.upTo = reader.number("up_to", range: 0.01 ... 10_000) ?? search.upTo
            reader.finish(allowed: ["from", "factor", "step", "up_to"])
            capacity = search
        }
        var abortOn: [Expectation] = []
        for (index, node) in (settings.sequence("abort_on") ?? []).enumerated() {
            let path = settings.child("abort_on[\(index)]")
            guard let text = MappingReader.scalarText(node, path: path, log: log, expected: "one of the check's expectations") else { continue }
            if let expectation = common.expectations.first(where: { $0.expression == text.trimmingCharacters(in: .whitespaces) }) {
                abortOn.append(expectation)
            } else {
                log.add("'\(text)' is not one of this check's expectations (expect:); abort_on names some of them", at: node, path: path)
            }
        }
        scaleTo = settings.int("scale_to", range: 1 ... 1_000_000)
        startDevices = settings.int("start_devices", range: 0 ... 1_000_000)
        if stages.isEmpty && capacity == nil {
            log.add("a load check needs stages, a capacity search, or both", at: settings.node, path: settings.child("stages"))
        }
        guard let probes, !(stages.isEmpty && capacity == nil) else { return nil }
        self.stages = stages
        self.probes = probes
        self.probeRate = probeRate
        self.capacity = capacity
        self.abortOn = abortOn
    }

    /// The same check with a capacity search after its stages (`parkbench load --find-capacity`).
    package func searchingCapacity(_ search: CapacitySearch?) -> LoadCheck {
        var copy = self
        copy.capacity = search ?? capacity ?? CapacitySearch()
        return copy
    }

    /// The same check as shard `index` of `count`: it raises its share of the probes on its own
    /// devices, and its report says which shard it was, for `parkbench merge`.
    package func sharded(_ index: Int, of count: Int) -> LoadCheck {
        var copy = self
        copy.probeRate = probeRate / Double(max(1, count))
        copy.shard = "\(index)/\(count)"
        return copy
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(probes.devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: "probes: \(failure)")
        }
        var run = LoadRun(check: self, probeDevices: chosen, context: context)
        await run.run()
        return run.measurement()
    }
}

/// One run of a load check: its probes in flight, its stages' figures, its timeline.
struct LoadRun {
    /// A probe raised and not yet shown (or timed out).
    struct Probe {
        var device: ParkFile.ParkDevice
        var stage: Int
        var startNanoseconds: Int64
        var order: UInt64
    }

    /// What one stage measured.
    struct StageFigures {
        var stage: LoadCheck.Stage
        var startNanoseconds: Int64
        var endNanoseconds: Int64 = 0
        var latency = LoadJudgement.emptyHistogram()
        var probes = 0
        var missing = 0
        var offline = 0
        /// Devices connected at the stage's end.
        var devices = 0
        var sent = 0
        var shown = 0
        var finished = false
        /// Expectations it failed, once judged.
        var failed: [Expectation] = []
        var judged = false

        func milliseconds(_ percentile: Double) -> Double? {
            latency.totalCount == 0 ? nil : Double(latency.valueAtPercentile(percentile)) / 1000
        }

        var seconds: Double { Double(max(1, endNanoseconds - startNanoseconds)) / 1e9 }

        /// The stage as the report keeps it (and as shards merge).
        var evidence: LoadEvidence.Stage {
            LoadEvidence.Stage(
                name: stage.name, pace: stage.pace, plannedSeconds: stage.duration.seconds, seconds: seconds, sent: sent, shown: shown,
                probes: probes, missing: missing, offline: offline, latencyMicroseconds: LoadJudgement.buckets(of: latency), devices: devices)
        }
    }

    let check: LoadCheck
    let context: HarnessContext
    let shownAs: [String: String]
    var pending: [Probe] = []
    var idle: [ParkFile.ParkDevice]
    var figures: [StageFigures] = []
    var observationCursor = 0
    var lastMark = 0
    /// This process's devices: what it shows of a platform that serves every shard's devices is
    /// counted for its own devices only, so shards' counts add up.
    let ownDevices: Set<String>
    var shownInBucket = 0
    /// The devices a ramp connects and disconnects, in park order: the first `connectedCount` are connected.
    let rampOrder: [String]
    var connectedCount: Int
    /// The devices the ramp has disconnected: what they emit goes nowhere and is not counted as sent.
    var disconnected: Set<String> = []
    /// When the ramp last disconnected each device: the platform showing it offline then is right, not a false alarm.
    var disconnectedAt: [String: Int64] = [:]
    var aborted: String?
    var findings: [String] = []
    var findingsLeftOut = 0
    var actionFailures = 0
    var probesWithoutIdleDevice = 0
    // The timeline, one bucket a second.
    var startNanoseconds: Int64 = 0
    var sentSeries: [Double] = []
    var shownSeries: [Double] = []
    var p50Series: [Double] = []
    var p99Series: [Double] = []
    var bucketLatency = Histogram<UInt64>(highestTrackableValue: LoadJudgement.latencyCeilingMicroseconds, numberOfSignificantValueDigits: .two)
    var marks: [TimelineEvidence.Mark] = []
    /// The first probes' samples, for the report's latency plots and the capture's wire check
    /// (`--capture` re-times them from packet timestamps); the stage figures hold every probe.
    var samples: [LatencySample] = []
    static let keptSamples = 5_000

    init(check: LoadCheck, probeDevices: [ParkFile.ParkDevice], context: HarnessContext) {
        self.check = check
        self.context = context
        idle = probeDevices
        ownDevices = Set(context.devices.map(\.id))
        rampOrder = context.devices.map(\.id).filter { !context.isBehindGateway($0) && context.videoIDs[$0] == nil }
        connectedCount = rampOrder.count
        shownAs = Dictionary(probeDevices.map { ($0.id, context.profile.vocabulary.platformEvent(for: check.probes.event, kind: $0.kind)) },
                             uniquingKeysWith: { first, _ in first })
    }

    mutating func run() async {
        startNanoseconds = context.wallNow()
        observationCursor = context.observations.count
        lastMark = context.truth.mark
        var plan = check.stages
        let search = check.capacity?.paces.enumerated().map { index, pace in
            LoadCheck.Stage(name: "capacity-\(index + 1)", duration: check.capacity?.step ?? .seconds(20), pace: pace)
        } ?? []
        plan += search
        if let start = check.startDevices { await connect(count: start) }
        let interval = Int64(1e9 / check.probeRate)
        var nextProbe = startNanoseconds
        var nextBucket = startNanoseconds + 1_000_000_000
        for (index, stage) in plan.enumerated() {
            let stageStart = context.wallNow()
            let rampFrom = connectedCount
            context.setPace(stage.pace)
            figures.append(StageFigures(stage: stage, startNanoseconds: stageStart))
            marks.append(.init(label: "\(stage.name) ×\(LoadFigures.short(stage.pace))", atNanoseconds: stageStart))
            let stageEnd = stageStart + Int64(stage.duration.nanoseconds)
            while context.wallNow() < stageEnd {
                var now = context.wallNow()
                while nextProbe <= now, aborted == nil {
                    await raiseProbe(stage: index, now: now)
                    nextProbe += interval
                }
                await context.run(for: LoadCheck.tick)
                now = context.wallNow()
                if let target = stage.devices {
                    let done = min(1, Double(now - stageStart) / Double(max(1, stageEnd - stageStart)))
                    await connect(count: rampFrom + Int((Double(target - rampFrom) * done).rounded()))
                }
                await collect(now: now)
                if now >= nextBucket {
                    closeBucket()
                    nextBucket += 1_000_000_000
                    post(stage: index, of: search.isEmpty ? plan.count : nil, now: now, stageEnd: stageEnd)
                }
                judgeFinishedStages()
                if aborted != nil || capacityLevelFailed { break }
            }
            if let target = stage.devices, aborted == nil, !capacityLevelFailed { await connect(count: target) }
            figures[index].endNanoseconds = context.wallNow()
            figures[index].devices = connectedCount
            figures[index].finished = true
            // A capacity search stops at the first level that fails; the levels after it would too.
            if aborted != nil || capacityLevelFailed { break }
        }
        // The probes still out get their timeout to arrive; then every stage is judged.
        let drainEnd = context.wallNow() + Int64(check.common.timeout.nanoseconds)
        while !pending.isEmpty, context.wallNow() < drainEnd {
            await context.run(for: LoadCheck.tick)
            await collect(now: context.wallNow())
        }
        await collect(now: Int64.max)
        context.setPace(1)
        // The checks after this one find the park as it was.
        await connect(count: rampOrder.count)
        judgeFinishedStages()
        if sentSeries.count < 1 { closeBucket() }
    }

    /// Connects or disconnects devices, in park order, until `count` are connected.
    private mutating func connect(count: Int) async {
        let target = min(max(0, count), rampOrder.count)
        while connectedCount < target {
            if case .failure(let failure) = context.reconnect(rampOrder[connectedCount]) { note("ramp: \(failure)") }
            disconnected.remove(rampOrder[connectedCount])
            connectedCount += 1
        }
        while connectedCount > target {
            connectedCount -= 1
            let device = rampOrder[connectedCount]
            if case .failure(let failure) = context.disconnect(device) { note("ramp: \(failure)") }
            disconnected.insert(device)
            disconnectedAt[device] = context.wallNow()
        }
    }

    /// Whether a level of the capacity search has been judged and failed.
    private var capacityLevelFailed: Bool {
        figures.dropFirst(check.stages.count).contains { $0.judged && !$0.failed.isEmpty }
    }

    /// Raises one probe on the next idle probe device.
    private mutating func raiseProbe(stage: Int, now: Int64) async {
        guard let position = idle.firstIndex(where: { !disconnected.contains($0.id) }) else {
            probesWithoutIdleDevice += 1
            return
        }
        let device = idle.remove(at: position)
        switch await context.perform(check.probes.stimulus, on: device) {
        case .success(let record):
            pending.append(Probe(device: device, stage: stage, startNanoseconds: record.time.wall.nanosecondsSinceEpoch, order: record.order))
            figures[stage].probes += 1
        case .failure(let failure):
            actionFailures += 1
            note("probe at \(device.id): \(failure)")
            idle.append(device)
        }
    }

    /// Reads what arrived: probes shown, devices shown offline; times out probes overdue at `now`.
    private mutating func collect(now: Int64) async {
        let (new, next) = context.observations.observations(after: observationCursor)
        observationCursor = next
        var done: [Probe] = []
        for observation in new where ownDevices.contains(observation.device) {
            shownInBucket += 1
            switch observation.kind {
            case .alarm:
                guard let index = pending.firstIndex(where: { probe in
                    probe.device.id == observation.device && observation.event == shownAs[probe.device.id]
                        && observation.arrivedNanoseconds >= probe.startNanoseconds
                }) else { continue }
                let probe = pending[index]
                // With the device's msg_id echoed, only the probe's own alarm counts (not a late earlier one).
                let emitted = observation.messageID == nil
                    ? nil : context.truth.firstEmission(of: probe.device.id, named: check.probes.event, after: probe.order)?.messageID
                if let shownID = observation.messageID, let emitted, shownID != emitted { continue }
                pending.remove(at: index)
                if samples.count < Self.keptSamples {
                    samples.append(LatencySample(
                        device: probe.device.id, label: "\(check.probes.stimulus.name) → \(check.probes.event)",
                        startNanoseconds: probe.startNanoseconds, endNanoseconds: observation.arrivedNanoseconds,
                        matchedBy: emitted != nil ? "msg_id" : "window", messageID: observation.messageID))
                }
                let microseconds = UInt64(max(0, observation.arrivedNanoseconds - probe.startNanoseconds) / 1000)
                _ = figures[probe.stage].latency.record(min(microseconds, LoadJudgement.latencyCeilingMicroseconds))
                _ = bucketLatency.record(min(microseconds, LoadJudgement.latencyCeilingMicroseconds))
                done.append(probe)
            case .status:
                // Shown offline after the ramp disconnected it (within the timeout) is right; otherwise a false alarm.
                let ramped = disconnectedAt[observation.device].map { observation.arrivedNanoseconds - $0 <= Int64(check.common.timeout.nanoseconds) } ?? false
                if observation.status == "offline", !ramped, !figures.isEmpty { figures[figures.count - 1].offline += 1 }
            default:
                continue
            }
        }
        let timeout = Int64(check.common.timeout.nanoseconds)
        while let index = pending.firstIndex(where: { now - $0.startNanoseconds > timeout }) {
            let probe = pending.remove(at: index)
            figures[probe.stage].missing += 1
            note("stage \(figures[probe.stage].stage.name): \(probe.device.id)'s \(check.probes.event) not shown within \(check.common.timeout)")
            done.append(probe)
        }
        for probe in done {
            for action in check.probes.after {
                if case .failure(let failure) = await context.perform(action, on: probe.device) {
                    actionFailures += 1
                    note("after: \(failure)")
                }
            }
            idle.append(probe.device)
        }
    }

    /// One second of the timeline: messages sent and shown, probe latency.
    private mutating func closeBucket() {
        // Messages the devices put on the wire: emissions (not stimuli, commands or device-local
        // ones) of devices connected at the time.
        let mark = context.truth.mark
        let disconnected = self.disconnected
        let sent = context.truth.records(from: lastMark) { record in
            record.channel.map { $0 != .local } == true && !disconnected.contains(record.deviceID)
        }.count
        let seen = shownInBucket
        lastMark = mark
        shownInBucket = 0
        if let current = figures.indices.last {
            figures[current].sent += sent
            figures[current].shown += seen
        }
        sentSeries.append(Double(sent))
        shownSeries.append(Double(seen))
        p50Series.append(bucketLatency.totalCount == 0 ? 0 : Double(bucketLatency.valueAtPercentile(50)) / 1000)
        p99Series.append(bucketLatency.totalCount == 0 ? 0 : Double(bucketLatency.valueAtPercentile(99)) / 1000)
        bucketLatency.reset()
    }

    /// Judges every finished stage whose probes have all come back or timed out.
    private mutating func judgeFinishedStages() {
        for index in figures.indices where figures[index].finished && !figures[index].judged {
            guard !pending.contains(where: { $0.stage == index }) else { continue }
            figures[index].failed = LoadJudgement.failures(of: figures[index].evidence, against: check.common.expectations)
            figures[index].judged = true
            if aborted == nil, let abort = check.abortOn.first(where: { figures[index].failed.contains($0) }) {
                aborted = "stopped after stage \(figures[index].stage.name): it failed '\(abort.expression)' (abort_on)"
            }
        }
    }

    private func post(stage: Int, of count: Int?, now: Int64, stageEnd: Int64) {
        let current = figures[stage]
        context.liveFigures.post(LoadFigures(
            stage: current.stage.name, stageNumber: stage + 1, stageCount: count, pace: current.stage.pace,
            elapsedSeconds: Double(now - startNanoseconds) / 1e9, stageSecondsLeft: max(0, Double(stageEnd - now) / 1e9),
            devices: connectedCount, sentPerSecond: sentSeries.last ?? 0, shownPerSecond: shownSeries.last ?? 0,
            probesSent: figures.map(\.probes).reduce(0, +), probesMissing: figures.map(\.missing).reduce(0, +), probesPending: pending.count,
            latencyP50: current.milliseconds(50), latencyP99: current.milliseconds(99),
            offlineFalseAlarms: figures.map(\.offline).reduce(0, +),
            failing: Array(Set(figures.flatMap { $0.failed.map(\.expression) })).sorted()))
    }

    private mutating func note(_ finding: String) {
        if findings.count < LatencyCheck.findingsPerRun { findings.append(finding) } else { findingsLeftOut += 1 }
    }

    /// The judgement of the stages run, what happened on the way, and the timeline.
    func measurement() -> CheckMeasurement {
        let evidence = LoadEvidence(
            stages: figures.filter(\.judged).map(\.evidence), listedStages: check.stages.count, capacitySearch: check.capacity != nil,
            shards: check.shard.map { [$0] } ?? [])
        var measurement = LoadJudgement.measurement(evidence, expectations: check.common.expectations, capacityUpTo: check.capacity?.upTo)
        if !samples.isEmpty { measurement.latency = LatencyEvidence(samples: samples) }
        if let aborted { measurement.findings.append(aborted) }
        if actionFailures > 0 {
            measurement.findings.append("\(actionFailures) probe stimuli or after-actions could not be applied (the first are listed below)")
        }
        if probesWithoutIdleDevice > 0 {
            measurement.findings.append(
                "\(probesWithoutIdleDevice) probes were not raised: every probe device was still waiting (add probe devices or lower probes.rate)")
        }
        measurement.findings += findings
        if findingsLeftOut > 0 { measurement.findings.append("… and \(findingsLeftOut) more findings like these") }
        let threshold = check.common.expectations.first { $0.metric.hasPrefix("alarm_latency.") }?.threshold
        measurement.timeline = TimelineEvidence(
            startNanoseconds: startNanoseconds, bucketMilliseconds: 1000,
            rates: [.init(name: "sent by the devices", values: sentSeries), .init(name: "shown by the platform", values: shownSeries)],
            online: nil, marks: marks,
            latency: [.init(name: "probe p50", values: p50Series), .init(name: "probe p99", values: p99Series)], latencyThreshold: threshold)
        return measurement
    }
}
