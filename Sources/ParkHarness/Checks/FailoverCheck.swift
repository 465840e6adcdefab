import ParkCore
import ParkFaults
import ParkProfiles
import ParkReport

/// The network between some devices and the platform breaks for a while; alarms are raised
/// during the outage; then it heals. Measured against the ledger (the ground truth of what the
/// devices emitted) and what the platform showed: recovery time (RTO) and loss (RPO) by message
/// id, duplicates and reordering after recovery, how late the outage's alarms arrive, and how
/// soon the platform noticed the devices gone (000 L684, 003 L627, 000 L637–640).
///
/// The fault is one of ``LinkCondition``: `partition` (nothing moves, connections half-open),
/// `acks-lost` (the way back breaks; healing resets, so unacknowledged messages are sent again)
/// or `reset` (connections reset and refused) — live, the harness's fault proxy applies it to the
/// devices' MQTT connections; on a virtual park, the park's broker does. Or it is
/// `platform-kill`: the platform's active node is killed (``PlatformProcessFaults``: the demo's
/// reference platform, or the profile's `failover.kill_command`) and stays down for the check
/// (`failover.restart_command` brings it back after); a standby must take over. The alarms go off
/// once with every node up first, so a pair that raises each twice shows it. There is no heal:
/// recovery is timed from the kill, and only the alarms are held to it (a standby need not show
/// again telemetry the dead node never showed — the next reading supersedes it). Or it is
/// `platform-freeze`: the active node is paused (SIGSTOP; the demo's reference platform, or the
/// profile's `failover.freeze_command` and `thaw_command`) for `duration` and resumed; a standby
/// must take over meanwhile, as for a kill, and the resumed node must not speak for the pair
/// again — what it raises from what waited for it shows as duplicates. Or it is
/// `broker-restart`: the broker itself is stopped for `duration` and started again
/// (``BrokerProcessFaults``: the demo's mosquitto, persistence on, or the profile's
/// `failover.broker_stop_command` and `broker_start_command`). Every device and the platform
/// lose their connections; the devices hold what they emit and, once the broker takes connections
/// again, are told to reconnect at once (the worst case for the platform, and what some of a large
/// park's devices always do), so a platform that does not keep its session on the broker misses
/// what they send before it has subscribed again.
///
/// ```yaml
/// type: failover
/// devices: {zone: A}                  # whose link breaks (default: every device)
/// fault: partition                    # partition | acks-lost | reset | platform-kill | platform-freeze | broker-restart
/// duration: 30s                       # how long the outage lasts
/// alarm_at: 15s                       # when the alarms go off (default: halfway)
/// alarm:                              # raised during the outage (optional)
///   devices: {kind: emergency-button, zone: A}
///   stimulus: {stimulus: press}
///   observe: {event: alarm}
///   after: [{command: reset}]
/// timeout: 10s                        # after healing: how long recovery may take
/// linger: 3s                          # then how long to watch for messages shown twice
/// expect: ["lost == 0", "duplicates == 0", "rto.online <= 10s", "late_alarm_latency.p99 < 2s"]
/// ```
///
/// Metrics: `tracked` (telemetry and alarms emitted during the outage that the platform should
/// show), `lost` (of those, never shown by msg_id), `duplicates`, `reordered` (per device, by
/// sequence), `offline_shown` and `offline_detected.max` (outage → shown offline),
/// `rto.online` (heal → every device shown offline is shown online again; 0 when none was),
/// `rto.alarms` (heal → the last outage alarm shown; 0 when all were shown before it),
/// `late_alarm_latency.*` (each outage alarm from the later of its emission and the heal, or from
/// its emission when it got through before the heal), `alarm_age.max` (from its emission).
public struct FailoverCheck: ConformanceCheck {
    public static let type = "failover"
    public static let settingKeys = ["devices", "fault", "duration", "alarm", "alarm_at", "linger"]
    public static let metrics: [String: MeasuredUnit] = [
        "tracked": .count, "lost": MeasuredUnit(.count, alsoAsPercent: true), "duplicates": .count, "reordered": .count,
        "offline_shown": .count, "offline_detected.max": .milliseconds, "rto.online": .milliseconds, "rto.alarms": .milliseconds,
        "alarm_age.max": .milliseconds, "late_alarm_latency.p50": .milliseconds, "late_alarm_latency.p95": .milliseconds,
        "late_alarm_latency.p99": .milliseconds, "late_alarm_latency.max": .milliseconds, "late_alarm_latency.mean": .milliseconds,
        "samples": .count,
    ]

    /// Alarms raised while the link is down.
    public typealias OutageAlarm = AlarmStimulus

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let fault: Fault
    /// When, into the outage, the alarms go off.
    public let alarmAt: DeviceDuration

    /// What breaks: the devices' links, or the platform's active node.
    public enum Fault: Sendable, Hashable, CustomStringConvertible {
        case link(LinkCondition)
        case platformKill
        /// The platform's active node paused (SIGSTOP) for the outage and resumed.
        case platformFreeze
        /// The broker stopped (gracefully: a persistent broker saves its sessions) and started again.
        case brokerRestart

        static let names = LinkCondition.allCases.filter { $0 != .healthy }.map(\.rawValue) + ["platform-kill", "platform-freeze", "broker-restart"]

        /// A fault of the platform's own nodes: a standby must take over, recovery is timed from
        /// the fault, and a round of alarms with every node up goes first.
        public var hitsPlatformNode: Bool { self == .platformKill || self == .platformFreeze }

        init?(_ text: String) {
            switch text {
            case "platform-kill": self = .platformKill
            case "platform-freeze": self = .platformFreeze
            case "broker-restart": self = .brokerRestart
            default:
                guard let condition = LinkCondition(rawValue: text), condition != .healthy else { return nil }
                self = .link(condition)
            }
        }

        public var description: String {
            switch self {
            case .link(let condition): condition.rawValue
            case .platformKill: "platform-kill"
            case .platformFreeze: "platform-freeze"
            case .brokerRestart: "broker-restart"
            }
        }
    }
    public let duration: DeviceDuration
    public let alarm: OutageAlarm?
    /// How long the check keeps watching once everything was shown, for messages shown twice.
    public let linger: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        devices = DeviceSelector.parse(&settings, key: "devices", required: false) ?? DeviceSelector()
        let names = Fault.names.joined(separator: ", ")
        var fault: Fault?
        if let text = settings.string("fault", required: true, expected: names) {
            if let value = Fault(text) { fault = value } else {
                log.add("expected one of \(names), got '\(text)'", at: settings.value("fault"), path: settings.child("fault"))
            }
        }
        let duration = settings.duration("duration") ?? .seconds(30)
        self.duration = duration
        let alarmAt = settings.duration("alarm_at") ?? .nanoseconds(duration.nanoseconds / 2)
        if alarmAt > duration {
            log.add("alarm_at \(alarmAt) is after the outage's end (duration \(duration))", at: settings.value("alarm_at"), path: settings.child("alarm_at"))
        }
        self.alarmAt = alarmAt
        linger = settings.duration("linger") ?? .seconds(3)
        var alarm: OutageAlarm?
        var alarmInvalid = false
        if let node = settings.value("alarm") {
            alarmInvalid = true
            if var reader = MappingReader(node, path: settings.child("alarm"), log: log, what: "the alarms raised during the outage") {
                alarm = AlarmStimulus.parse(&reader)
                reader.finish(allowed: AlarmStimulus.keys)
                if alarm != nil { alarmInvalid = false }
            }
        }
        guard let fault, !alarmInvalid else { return nil }
        self.fault = fault
        self.alarm = alarm
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let selected: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): selected = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        // Meters behind a gateway, cameras on SIP, chargers on OCPP and robots on VDA 5050 reach
        // the platform by other roads than the devices' MQTT link this check watches.
        let chosen = selected.filter { context.isOnMQTTLink($0.id) }
        guard !chosen.isEmpty else {
            return CheckMeasurement(error: "none of the \(selected.count) devices selected (\(devices)) reaches the platform over MQTT; no link to break")
        }
        var alarmed: [ParkFile.ParkDevice] = []
        if let alarm {
            switch context.select(alarm.devices) {
            case .success(let value): alarmed = value
            case .failure(let failure): return CheckMeasurement(error: "alarm: \(failure)")
            }
        }
        let ids = chosen.map(\.id)
        let idSet = Set(ids)
        let mark = context.truth.mark

        var problems: [String] = []
        let startedAt = context.wallNow()
        if fault.hitsPlatformNode, let alarm {
            // First a round with every node up: a pair that raises each alarm twice (split brain)
            // shows it here, whatever happens after the kill.
            problems += await raise(alarm, on: alarmed, in: context).problems
            await context.run(for: .seconds(1))
            for action in alarm.after {
                for device in alarmed {
                    if case .failure(let failure) = await context.perform(action, on: device) { problems.append("after: \(failure)") }
                }
            }
            await context.run(for: .seconds(1))
        }

        // The outage: the link breaks (or the platform dies), the alarms go off, the link heals.
        let brokeAt: Int64
        switch fault {
        case .link(let condition):
            switch context.setLink(condition, of: ids) {
            case .success(let at): brokeAt = at
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            }
        case .platformKill:
            switch await context.killPlatform() {
            case .success(let what):
                brokeAt = context.wallNow()
                problems.append("killed the platform's active node: \(what)")
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            }
        case .platformFreeze:
            brokeAt = context.wallNow()
            switch await context.freezePlatform(true) {
            case .success(let what): problems.append("paused the platform's active node: \(what)")
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            }
        case .brokerRestart:
            brokeAt = context.wallNow()
            switch await context.stopBroker() {
            case .success(let what): problems.append("stopped the broker: \(what)")
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            }
        }
        await context.run(for: alarmAt)
        var raised: [LedgerRecord] = []
        if let alarm {
            let round = await raise(alarm, on: alarmed, in: context)
            raised = round.raised
            problems += round.problems
        }
        await context.run(for: .nanoseconds(duration.nanoseconds - alarmAt.nanoseconds))
        // The end of the outage; recovery is timed from the heal, or from the kill (there is no heal).
        let healedAt: Int64, recoveryFrom: Int64
        switch fault {
        case .link:
            switch context.setLink(.healthy, of: ids) {
            case .success(let at): healedAt = at
            case .failure(let failure): return CheckMeasurement(error: "could not heal the link: \(failure)")
            }
            recoveryFrom = healedAt
        case .platformKill:
            healedAt = context.wallNow()
            recoveryFrom = brokeAt
        case .platformFreeze:
            // Resumed, the paused node must not speak for the pair again: linger shows it if it does.
            switch await context.freezePlatform(false) {
            case .success(let what): problems.append("resumed it: \(what)")
            case .failure(let failure): return CheckMeasurement(error: "could not resume the platform: \(failure)")
            }
            healedAt = context.wallNow()
            recoveryFrom = brokeAt
        case .brokerRestart:
            // Timed from when the broker takes connections again, not from when it was asked to start.
            switch await context.startBroker() {
            case .success(let what): problems.append("started the broker again: \(what)")
            case .failure(let failure):
                return CheckMeasurement(error: "could not start the broker again: \(failure) (the rest of the run has no broker)")
            }
            healedAt = context.wallNow()
            recoveryFrom = healedAt
        }

        // What the platform should show of the outage: telemetry and the alarms, by msg_id.
        let alarmEvent = alarm?.event
        let alarmDevices = Set(alarmed.map(\.id))
        let outage = context.truth.records(from: mark) { record in
            guard record.entry == .emission, idSet.contains(record.deviceID) || alarmDevices.contains(record.deviceID),
                  record.time.wall.nanosecondsSinceEpoch <= healedAt else { return false }
            if record.channel == .telemetry { return idSet.contains(record.deviceID) }
            return record.channel == .event && record.name == alarmEvent && alarmDevices.contains(record.deviceID)
        }
        let telemetryStreams = context.profile.mappings(of: .telemetry)
        let telemetryByID = !telemetryStreams.isEmpty && telemetryStreams.allSatisfy { $0.messageID != nil }
        // Telemetry counts only where the link, not a node, broke: a standby need not show again
        // what the dead node never showed, and a restarted broker keeps no QoS 0 message for a
        // subscriber that is away — the next reading supersedes it either way.
        let tracked = outage.filter { $0.channel == .event || (telemetryByID && !(fault.hitsPlatformNode || fault == .brokerRestart)) }
        let trackedIDs = Set(tracked.map(\.messageID))
        let alarmIDs = Set(tracked.filter { $0.channel == .event }.map(\.messageID))
        func shown() -> [Observation] {
            (context.observations.observations(.telemetry, since: startedAt) + context.observations.observations(.alarm, since: startedAt))
                .filter { $0.messageID.map(trackedIDs.contains) ?? false }
        }
        // Each device the platform showed offline since the outage began: when first (for detection)
        // and when last (a reset at the heal shows a device offline after it, too).
        func offline() -> (first: [String: Int64], last: [String: Int64]) {
            var first: [String: Int64] = [:], last: [String: Int64] = [:]
            for observation in context.observations.observations(.status, since: brokeAt)
            where idSet.contains(observation.device) && observation.status?.lowercased() == "offline" {
                first[observation.device] = min(first[observation.device] ?? .max, observation.arrivedNanoseconds)
                last[observation.device] = max(last[observation.device] ?? .min, observation.arrivedNanoseconds)
            }
            return (first, last)
        }
        /// When each device shown offline was first shown online again after that, and after the heal.
        func backOnline(_ lastOffline: [String: Int64]) -> [String: Int64] {
            var first: [String: Int64] = [:]
            for observation in context.observations.observations(.status, since: healedAt)
            where observation.status?.lowercased() == "online" {
                guard let offline = lastOffline[observation.device], observation.arrivedNanoseconds >= offline else { continue }
                first[observation.device] = min(first[observation.device] ?? .max, observation.arrivedNanoseconds)
            }
            return first
        }
        _ = await context.waitUntil(timeout: common.timeout) {
            let last = offline().last
            return trackedIDs.isSubset(of: Set(shown().compactMap(\.messageID))) && backOnline(last).count == last.count
        }
        // Messages sent again after the reconnect can come after everything was shown once: keep
        // watching a while for them (and for devices a reset at the heal shows offline only now).
        await context.run(for: linger)
        let seen = shown()
        let (firstOffline, lastOffline) = offline()
        let online = backOnline(lastOffline)
        let detected = firstOffline.filter { $0.value <= healedAt }

        var measurement = CheckMeasurement()
        var counts: [String: Int] = [:]
        for observation in seen { counts[observation.messageID!, default: 0] += 1 }
        let lost = tracked.filter { counts[$0.messageID] == nil }
        let duplicates = counts.values.reduce(0) { $0 + max(0, $1 - 1) }
        measurement.set("tracked", .count(tracked.count))
        measurement.set("lost", .count(lost.count, percent: tracked.isEmpty ? 0 : Double(lost.count) / Double(tracked.count) * 100))
        measurement.set("duplicates", .count(duplicates))
        measurement.set("reordered", .count(Self.reordered(seen, tracked: tracked)))
        measurement.set("offline_shown", .count(detected.count))
        if let latest = detected.values.max() { measurement.set("offline_detected.max", .milliseconds(Double(latest - brokeAt) / 1e6)) }
        if online.count == lastOffline.count {
            measurement.set("rto.online", .milliseconds(Double((online.values.max() ?? healedAt) - healedAt) / 1e6))
        }

        // The outage's alarms: how late they are once the link is back, and how old.
        let emissions = Dictionary(tracked.filter { $0.channel == .event }.map { ($0.messageID, $0) }, uniquingKeysWith: { first, _ in first })
        var samples: [LatencySample] = []
        var oldest: Double?
        for observation in seen.filter({ $0.kind == .alarm }) where alarmIDs.contains(observation.messageID ?? "") {
            guard let emission = emissions[observation.messageID!], !samples.contains(where: { $0.messageID == observation.messageID }) else { continue }
            let emitted = emission.time.wall.nanosecondsSinceEpoch
            // An alarm that got through during the outage (acks-lost lets them) is timed from its emission.
            let start = observation.arrivedNanoseconds < recoveryFrom ? emitted : max(emitted, recoveryFrom)
            samples.append(LatencySample(
                device: observation.device, label: "heal → \(alarmEvent ?? "alarm")", startNanoseconds: start,
                endNanoseconds: observation.arrivedNanoseconds, matchedBy: "msg_id", messageID: observation.messageID))
            oldest = max(oldest ?? 0, Double(observation.arrivedNanoseconds - emitted) / 1e6)
        }
        if !samples.isEmpty {
            measurement.addLatencyMetrics(LatencyEvidence(samples: samples), prefix: "late_alarm_latency")
            if samples.count == alarmIDs.count, let last = samples.map(\.endNanoseconds).max() {
                measurement.set("rto.alarms", .milliseconds(Double(max(0, last - recoveryFrom)) / 1e6))
            }
        }
        if let oldest { measurement.set("alarm_age.max", .milliseconds(oldest)) }

        let what = switch fault {
        case .platformKill: "the platform's active node down for \(duration)"
        case .platformFreeze: "the platform's active node paused for \(duration)"
        case .brokerRestart: "the broker down for \(duration), \(ids.count) device\(ids.count == 1 ? "" : "s") watched"
        case .link: "\(fault) of \(ids.count) device\(ids.count == 1 ? "" : "s") for \(duration)"
        }
        measurement.findings.insert("\(what); "
                                    + "\(tracked.count) messages to show from the outage (\(alarmIDs.count) alarms)"
                                    + (selected.count > chosen.count
                                        ? "; \(selected.count - chosen.count) selected (meters, cameras, chargers, robots) reach the platform another way" : ""), at: 0)
        if alarm != nil, raised.isEmpty { problems.append("no alarm could be raised during the outage") }
        if alarm != nil, alarmIDs.count < raised.count {
            problems.append("\(raised.count - alarmIDs.count) of the \(raised.count) outage alarms were never emitted by their device")
        }
        measurement.findings += problems
        if !lost.isEmpty {
            measurement.findings.append("never shown by the platform: \(lost.prefix(10).map(\.messageID).joined(separator: ", "))"
                                        + (lost.count > 10 ? " and \(lost.count - 10) more" : ""))
        }
        if duplicates > 0 {
            let repeated = counts.filter { $0.value > 1 }.keys.sorted()
            measurement.findings.append("shown more than once: \(repeated.prefix(10).joined(separator: ", "))")
        }
        let stillOffline = lastOffline.keys.filter { online[$0] == nil }.sorted()
        if !stillOffline.isEmpty {
            measurement.findings.append("never shown online again within \(common.timeout) of the heal: \(stillOffline.prefix(10).joined(separator: ", "))")
        }

        measurement.timeline = Self.timeline(of: idSet, brokeAt: brokeAt, healedAt: fault == .platformKill ? nil : healedAt, in: context)
        if fault == .platformKill, let restored = await context.restorePlatform() {
            switch restored {
            case .success(let what): measurement.findings.append("after the check: \(what)")
            case .failure(let failure): measurement.findings.append("after the check: \(failure)")
            }
        }

        for action in alarm?.after ?? [] {
            for device in alarmed {
                if case .failure(let failure) = await context.perform(action, on: device) { measurement.findings.append("after: \(failure)") }
            }
        }
        return measurement
    }

    /// The alarm's stimulus at every one of `devices`: the ledger records, and what failed.
    private func raise(_ alarm: OutageAlarm, on devices: [ParkFile.ParkDevice], in context: HarnessContext) async
        -> (raised: [LedgerRecord], problems: [String])
    {
        var raised: [LedgerRecord] = [], problems: [String] = []
        for device in devices {
            switch await context.perform(alarm.stimulus, on: device) {
            case .success(let record): raised.append(record)
            case .failure(let failure): problems.append(failure.description)
            }
        }
        return (raised, problems)
    }

    /// The devices' messages per second as they sent them (the ledger) and as the platform showed
    /// them, and how many the platform showed online, second by second from 5 s before the fault
    /// to now. A device the platform has not shown offline counts as online.
    static func timeline(of ids: Set<String>, brokeAt: Int64, healedAt: Int64?, in context: HarnessContext) -> TimelineEvidence {
        let bucket: Int64 = 1_000_000_000
        let start = brokeAt - 5 * bucket
        let buckets = Int((context.wallNow() - start + bucket - 1) / bucket)
        let sent = context.truth.records { record in
            record.entry == .emission && ids.contains(record.deviceID) && record.time.wall.nanosecondsSinceEpoch >= start
                && (record.channel == .telemetry || record.channel == .event)
        }.map { $0.time.wall.nanosecondsSinceEpoch }
        let shown = (context.observations.observations(.telemetry, since: start) + context.observations.observations(.alarm, since: start))
            .filter { ids.contains($0.device) }.map(\.arrivedNanoseconds)
        let statuses = context.observations.observations(.status).filter { ids.contains($0.device) }
            .sorted { $0.arrivedNanoseconds < $1.arrivedNanoseconds }
        var offline: Set<String> = []
        var next = statuses.startIndex
        var online: [Double] = []
        for index in 0 ..< buckets {
            let end = start + Int64(index + 1) * bucket
            while next < statuses.endIndex, statuses[next].arrivedNanoseconds < end {
                if statuses[next].status?.lowercased() == "offline" { offline.insert(statuses[next].device) } else { offline.remove(statuses[next].device) }
                next += 1
            }
            online.append(Double(ids.count - offline.count))
        }
        return TimelineEvidence(
            startNanoseconds: start, bucketMilliseconds: 1_000,
            rates: [
                .init(name: "sent by the devices", values: TimelineEvidence.rate(of: sent, start: start, bucketNanoseconds: bucket, buckets: buckets)),
                .init(name: "shown by the platform", values: TimelineEvidence.rate(of: shown, start: start, bucketNanoseconds: bucket, buckets: buckets)),
            ],
            online: .init(name: "devices online", values: online),
            marks: [.init(label: healedAt == nil ? "kill" : "fault", atNanoseconds: brokeAt)] + (healedAt.map { [.init(label: "heal", atNanoseconds: $0)] } ?? []))
    }

    /// Messages shown out of their device's sequence order on the same stream (each counted once,
    /// at its first showing; `seen` in the order the observers took them). Alarms and telemetry
    /// travel different streams, so only each stream's own order is held to the device's.
    static func reordered(_ seen: [Observation], tracked: [LedgerRecord]) -> Int {
        let sequence = Dictionary(tracked.map { ($0.messageID, $0.deviceSequence) }, uniquingKeysWith: { first, _ in first })
        var counted: Set<String> = []
        var last: [String: UInt64] = [:]
        var reordered = 0
        for observation in seen {
            guard let id = observation.messageID, counted.insert(id).inserted, let number = sequence[id] else { continue }
            let stream = "\(observation.kind.rawValue) \(observation.device)"
            if let previous = last[stream], number < previous { reordered += 1 }
            last[stream] = max(last[stream] ?? 0, number)
        }
        return reordered
    }
}
