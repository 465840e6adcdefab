import ParkCore
import ParkProfiles
import ParkReport

/// A device vanishes and comes back; the platform must show it offline, then online, each
/// within the expected time (004 L725: online / abnormal / offline with change notifications).
///
/// The device's connection is cut without a DISCONNECT (as when power or network fails), so the
/// broker publishes its last will; then it reconnects.
///
/// ```yaml
/// type: status
/// devices: {ids: [smoke-A3-01]}
/// expect: ["offline_within 10s", "online_within 10s"]
/// ```
public struct StatusCheck: ConformanceCheck {
    public static let type = "status"
    public static let settingKeys = ["devices", "come_back"]
    public static let metrics: [String: MeasuredUnit] = [
        "offline_within": .milliseconds, "online_within": .milliseconds, "missing": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let comeBack: Bool

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        comeBack = (settings.string("come_back") ?? "true") != "false"
        guard let devices else { return nil }
        self.devices = devices
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var samples: [LatencySample] = []
        var offline: [Double] = [], online: [Double] = []
        var missing = 0
        for device in chosen {
            var shownOffline = false
            switch await transition(device.id, label: "disconnect → offline", expecting: "offline", in: context,
                                    act: context.disconnect) {
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            case .success(let sample?):
                offline.append(sample.latencyMilliseconds)
                samples.append(sample)
                shownOffline = true
            case .success(nil):
                missing += 1
                measurement.findings.append("\(device.id): the platform never showed it offline within \(common.timeout) of losing its connection")
            }
            guard comeBack else { continue }
            guard shownOffline else {
                // Never shown offline, it cannot be shown online again: waiting out the timeout would
                // measure nothing (online_within stays unmeasured, and fails). It is reconnected all the same.
                if case .failure(let failure) = context.reconnect(device.id) { return CheckMeasurement(error: failure.description) }
                continue
            }
            switch await transition(device.id, label: "reconnect → online", expecting: "online", in: context,
                                    act: context.reconnect) {
            case .failure(let failure): return CheckMeasurement(error: failure.description)
            case .success(let sample?):
                online.append(sample.latencyMilliseconds)
                samples.append(sample)
            case .success(nil):
                missing += 1
                measurement.findings.append("\(device.id): the platform never showed it online again within \(common.timeout) of reconnecting")
            }
        }
        measurement.latency = LatencyEvidence(samples: samples)
        measurement.set("missing", .count(missing))
        // A device never seen offline has no figure: the expectation then fails as unmeasured.
        if offline.count == chosen.count, let worst = offline.max() { measurement.set("offline_within", .milliseconds(worst)) }
        if comeBack, online.count == chosen.count, let worst = online.max() { measurement.set("online_within", .milliseconds(worst)) }
        return measurement
    }

    /// Does `act` to the device, then waits for the platform to show `status`: the sample, nil
    /// when it never did, or why the act itself failed.
    private func transition(
        _ device: String, label: String, expecting status: String, in context: HarnessContext,
        act: (String) -> Result<Int64, CheckFailure>
    ) async -> Result<LatencySample?, CheckFailure> {
        let start: Int64
        switch act(device) {
        case .success(let at): start = at
        case .failure(let failure): return .failure(failure)
        }
        guard let seen = await firstStatus(status, of: device, since: start, in: context) else { return .success(nil) }
        return .success(LatencySample(device: device, label: label, startNanoseconds: start, endNanoseconds: seen, matchedBy: "window"))
    }

    private func firstStatus(_ status: String, of device: String, since: Int64, in context: HarnessContext) async -> Int64? {
        func match() -> Observation? {
            context.observations.observations(.status, since: since)
                .first { $0.device == device && $0.status?.lowercased() == status }
        }
        _ = await context.waitUntil(timeout: common.timeout) { match() != nil }
        return match()?.arrivedNanoseconds
    }
}
