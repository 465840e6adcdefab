import ParkCore
import ParkProfiles

/// Catalog completeness (004 L2633: every one of the park's video channels reaches the
/// platform): each selected camera or NVR registers afresh, the platform queries its Catalog,
/// and the platform must then show every channel the device has — an NVR's arrive in several
/// MESSAGEs (SumNum the total), the case platforms get wrong by keeping the first.
///
/// Reads the profile's `catalog` stream: per device, `channels` (how many the platform holds)
/// and, if the platform reports it, `sum_num`.
///
/// ```yaml
/// type: catalog
/// devices: {kind: nvr}
/// timeout: 10s
/// expect: ["incomplete == 0", "missing == 0"]
/// ```
public struct CatalogCheck: ConformanceCheck {
    public static let type = "catalog"
    public static let settingKeys = ["devices"]
    public static let metrics: [String: MeasuredUnit] = [
        "devices": .count, "incomplete": .count, "missing": .count, "channels_expected": .count, "channels_seen": .count,
        "catalog_latency.max": .milliseconds,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        guard let devices = DeviceSelector.parse(&settings, key: "devices", required: true) else { return nil }
        self.devices = devices
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var incomplete = 0, missing = 0, expectedTotal = 0, seenTotal = 0
        var slowest: Double = 0
        for device in chosen {
            guard let address = context.videoIDs[device.id] else {
                return CheckMeasurement(error: "\(device.id) is not on GB/T 28181 (its model has no gb28181: section)")
            }
            let expected = address.channels.count
            expectedTotal += expected
            let since = context.wallNow()
            // A fresh registration: the platform asks for the catalog again.
            if case .failure(let failure) = context.reconnect(device.id) { return CheckMeasurement(error: "\(device.id): \(failure)") }
            func latest() -> Observation? {
                context.observations.observations(.catalog, since: since).last { $0.device == device.id }
            }
            _ = await context.waitUntil(timeout: common.timeout) { (latest()?.values["channels"]).map { Int($0) >= expected } ?? false }
            guard let seen = latest() else {
                missing += 1
                measurement.findings.append("\(device.id) (\(address.id)): no catalog on the platform within \(common.timeout) of registering")
                continue
            }
            let channels = Int(seen.values["channels"] ?? 0)
            seenTotal += channels
            slowest = max(slowest, Double(seen.arrivedNanoseconds - since) / 1e6)
            if channels < expected {
                incomplete += 1
                let sumNum = seen.values["sum_num"].map { ", SumNum \(Int($0))" } ?? ""
                measurement.findings.append("\(device.id) (\(address.id)): the platform holds \(channels) of \(expected) channels\(sumNum)")
            }
        }
        measurement.metrics = [
            "devices": .count(chosen.count), "incomplete": .count(incomplete), "missing": .count(missing),
            "channels_expected": .count(expectedTotal), "channels_seen": .count(seenTotal), "catalog_latency.max": .milliseconds(slowest),
        ]
        return measurement
    }
}
