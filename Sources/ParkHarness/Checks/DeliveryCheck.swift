import ParkCore
import ParkProfiles

/// Loss, duplicates and reordering of device messages as the platform shows them: every
/// message the selected devices sent during the window (from the ledger) must appear once, in
/// order, on the platform's stream.
///
/// Messages are matched by `msg_id`, or by (device, `seq`) when the platform forwards only the
/// sequence number; a profile that maps neither cannot be checked for delivery (an error, not a
/// pass).
///
/// ```yaml
/// type: delivery
/// devices: {kind: smoke-detector}
/// channel: telemetry          # or event
/// duration: 10s               # the window whose messages are counted
/// expect: ["loss == 0", "duplicates == 0", "reordered == 0"]
/// ```
public struct DeliveryCheck: ConformanceCheck {
    public static let type = "delivery"
    public static let settingKeys = ["devices", "channel", "duration", "observe"]
    public static let metrics: [String: MeasuredUnit] = [
        "sent": .count, "received": .count, "loss": MeasuredUnit(.count, alsoAsPercent: true), "duplicates": .count, "reordered": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let channel: EmissionChannel
    public let duration: DeviceDuration
    public let kind: ObservationKind

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        devices = DeviceSelector.parse(&settings, key: "devices", required: false) ?? DeviceSelector()
        var channel = EmissionChannel.telemetry
        if let text = settings.string("channel") {
            if let value = EmissionChannel(rawValue: text), value == .telemetry || value == .event { channel = value } else {
                settings.log.add("expected telemetry or event, got '\(text)'", at: settings.value("channel"), path: settings.child("channel"))
            }
        }
        self.channel = channel
        duration = settings.duration("duration") ?? .seconds(10)
        var kind = ObservationKind.telemetry
        if let text = settings.string("observe") {
            if let value = ObservationKind(rawValue: text) { kind = value } else {
                settings.log.add("expected alarm, status or telemetry, got '\(text)'", at: settings.value("observe"), path: settings.child("observe"))
            }
        }
        self.kind = kind
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let streams = context.profile.mappings(of: kind)
        guard !streams.isEmpty else {
            return CheckMeasurement(error: "the platform profile has no \(kind.rawValue) stream to observe delivery on")
        }
        guard streams.allSatisfy({ $0.messageID != nil || $0.sequence != nil }) else {
            return CheckMeasurement(error: "the platform profile maps neither msg_id nor seq for its \(kind.rawValue) stream; delivery cannot be measured")
        }
        let ids = Set(chosen.map(\.id))
        let since = context.wallNow()
        let mark = context.truth.mark
        await context.run(for: duration)
        let sent = context.truth.records(from: mark) {
            $0.entry == .emission && $0.channel == channel && ids.contains($0.deviceID)
        }
        let sentIDs = Set(sent.map(\.messageID))
        func key(_ observation: Observation) -> String? {
            if let id = observation.messageID { return id }
            return observation.sequence.map { "\(observation.device)#\($0)" }
        }
        // The platform may still be forwarding the window's last messages.
        _ = await context.waitUntil(timeout: common.timeout) {
            sentIDs.isSubset(of: Set(context.observations.observations(kind, since: since).compactMap(key)))
        }
        let seen = context.observations.observations(kind, since: since).filter { ids.contains($0.device) }
        var counts: [String: Int] = [:]
        for observation in seen { if let key = key(observation) { counts[key, default: 0] += 1 } }
        let received = sentIDs.filter { counts[$0] != nil }.count
        let duplicates = sentIDs.reduce(0) { $0 + max(0, (counts[$1] ?? 0) - 1) }
        var reordered = 0
        var lastSequence: [String: UInt64] = [:]
        let sequenceOf = Dictionary(sent.map { ($0.messageID, $0.deviceSequence) }, uniquingKeysWith: { first, _ in first })
        for observation in seen {
            guard let key = key(observation), let sequence = sequenceOf[key] else { continue }
            if let last = lastSequence[observation.device], sequence < last { reordered += 1 }
            lastSequence[observation.device] = max(lastSequence[observation.device] ?? 0, sequence)
        }
        let lossPercent = sent.isEmpty ? 0 : Double(sent.count - received) / Double(sent.count) * 100
        var measurement = CheckMeasurement(metrics: [
            "sent": .count(sent.count), "received": .count(received), "loss": .count(sent.count - received, percent: lossPercent),
            "duplicates": .count(duplicates), "reordered": .count(reordered),
        ])
        if sent.isEmpty {
            measurement.error = "the selected devices sent no \(channel.rawValue) in \(duration); lengthen the window or shorten their report interval"
        }
        let lost = sent.filter { counts[$0.messageID] == nil }.map(\.messageID)
        if !lost.isEmpty {
            measurement.findings.append("never seen at the platform: \(lost.prefix(10).joined(separator: ", "))\(lost.count > 10 ? " and \(lost.count - 10) more" : "")")
        }
        return measurement
    }
}
