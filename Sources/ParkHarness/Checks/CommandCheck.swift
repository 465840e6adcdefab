import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParkCore
import ParkReport
import ParkProfiles

/// The platform commands a device, the command reaches it, and the device accepts it (004 L723:
/// the platform controls a single device, e.g. "read now"). The harness asks through the
/// profile's `commands` endpoint and watches the virtual device — the ground truth of whether
/// and when the command arrived, and what the device answered.
///
/// ```yaml
/// type: command
/// devices: {kind: fire-water-pressure}
/// command: {command: read}
/// expect: ["latency.p99 < 2s", "missing == 0", "rejected == 0"]
/// ```
public struct CommandCheck: ConformanceCheck {
    public static let type = "command"
    public static let settingKeys = ["devices", "command"]
    public static let metrics = latencyMetrics.merging(["missing": .count, "rejected": .count, "refused_requests": .count]) { $1 }

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let command: DeviceAction

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let log = settings.log
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        let command = settings.requiredValue("command", expected: "{command: name, arguments: {...}}")
            .flatMap { DeviceAction.parse($0, path: settings.child("command"), log: log) }
        if let command, command.form != .command {
            log.add("expected {command: name}, not a stimulus", at: settings.value("command"), path: settings.child("command"))
        }
        guard let devices, let command, command.form == .command else { return nil }
        self.devices = devices
        self.command = command
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        guard let endpoint = context.profile.commands else {
            return CheckMeasurement(error: "the platform profile has no `commands` endpoint to ask the platform for a command")
        }
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var samples: [LatencySample] = []
        var missing = 0, rejected = 0, refused = 0
        for device in chosen {
            let mark = context.truth.mark
            let asked = context.wallNow()
            // The platform knows a GB/T 28181 camera by its 20-digit id, not the park's name for it.
            if let problem = await context.askPlatform(command, device: context.videoIDs[device.id]?.id ?? device.id, through: endpoint) {
                refused += 1
                missing += 1
                measurement.findings.append("\(device.id): the platform refused the request: \(problem)")
                continue
            }
            func arrival() -> LedgerRecord? {
                context.truth.records(from: mark) { $0.entry == .command && $0.deviceID == device.id && $0.name == command.name }.first
            }
            _ = await context.waitUntil(timeout: common.timeout) { arrival() != nil }
            guard let record = arrival() else {
                missing += 1
                measurement.findings.append("\(device.id): \(command.name) never reached the device within \(common.timeout) of the request")
                continue
            }
            samples.append(LatencySample(
                device: device.id, label: "request → \(command.name) at the device", startNanoseconds: asked,
                endNanoseconds: record.time.wall.nanosecondsSinceEpoch, matchedBy: record.messageID.contains("!") ? "window" : "command id",
                messageID: record.messageID))
            if let detail = record.detail, detail != "accepted" {
                rejected += 1
                measurement.findings.append("\(device.id): the device answered \(detail)")
            }
        }
        measurement.addLatencyMetrics(LatencyEvidence(samples: samples))
        measurement.set("missing", .count(missing))
        measurement.set("rejected", .count(rejected))
        measurement.set("refused_requests", .count(refused))
        return measurement
    }
}

extension HarnessContext {
    /// Asks the platform, through its profile's `commands` endpoint, to send `command` to
    /// `device` (the platform's name for it); nil when the platform took the request, else what
    /// went wrong.
    func askPlatform(_ command: DeviceAction, device: String, through endpoint: PlatformProfile.CommandEndpoint) async -> String? {
        let arguments = "{" + command.arguments.sorted { $0.key < $1.key }.map { key, value in
            "\(JSONText.quoted(key)):\(Double(value) != nil || value == "true" || value == "false" ? value : JSONText.quoted(value))"
        }.joined(separator: ",") + "}"
        func fill(_ template: String, url: Bool) -> String {
            let encode: (String) -> String = { url ? ($0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0) : $0 }
            return template.replacingOccurrences(of: "{device}", with: encode(device))
                .replacingOccurrences(of: "{command}", with: encode(command.name))
                .replacingOccurrences(of: "{arguments}", with: url ? "" : arguments)
        }
        guard let url = URL(string: fill(endpoint.url, url: true)) else { return "bad URL \(endpoint.url)" }
        switch await request(method: endpoint.method, url: url, body: Array(fill(endpoint.body, url: false).utf8)) {
        case .success(let answer):
            return (200 ..< 300).contains(answer.status) ? nil : "HTTP \(answer.status) \(String(decoding: answer.body.prefix(120), as: UTF8.self))"
        case .failure(let failure):
            return failure.description
        }
    }
}
