import ParkCore
import ParkProfiles

/// The platform's value for a point against the ground truth at that moment (004 L3908–3910:
/// environmental readings within ±2 % / ±10 %). Each telemetry value the platform shows is
/// paired, by `msg_id`, with the device emission it came from, whose ledger record holds both
/// what the sensor reported and what was really there.
///
/// `abs_error` is the largest absolute difference in the point's unit; `abs_error <= 2%` reads
/// the largest difference relative to the true value instead.
///
/// ```yaml
/// type: accuracy
/// devices: {kind: environment-sensor}
/// points: [pm25, temperature]
/// duration: 10s
/// expect: ["abs_error <= 2%"]
/// ```
public struct AccuracyCheck: ConformanceCheck {
    public static let type = "accuracy"
    public static let settingKeys = ["devices", "points", "duration"]
    public static let metrics: [String: MeasuredUnit] = [
        "abs_error": MeasuredUnit(.number, alsoAsPercent: true), "mean_error": .percent, "samples": .count, "unmatched": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let points: [String]
    public let duration: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        let points = settings.pointNames("points", required: true)
        duration = settings.duration("duration") ?? .seconds(10)
        guard let devices, !points.isEmpty else { return nil }
        self.devices = devices
        self.points = points
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        guard context.profile.mappings(of: .telemetry).contains(where: { $0.messageID != nil }) else {
            return CheckMeasurement(error: "the platform profile has no telemetry stream with fields.msg_id; accuracy needs to pair values with what the device sent")
        }
        let ids = Set(chosen.map(\.id))
        let since = context.wallNow()
        await context.run(for: duration)
        // Values in flight at the end of the window still count.
        let until = context.wallNow()
        await context.run(for: .seconds(1))
        var absolute: [Double] = []
        var relative: [Double] = []
        var unmatched = 0
        var worst: (String, String, Double, Double)?
        for observation in context.observations.observations(.telemetry, since: since) where ids.contains(observation.device) {
            guard observation.arrivedNanoseconds <= until + 1_000_000_000 else { continue }
            guard let id = observation.messageID, let emission = context.truth.emission(messageID: id) else {
                unmatched += 1
                continue
            }
            for point in points {
                guard let shown = observation.values[point],
                      let reading = emission.readings.first(where: { $0.point == point }),
                      let truth = (reading.truth ?? reading.value).doubleValue else { continue }
                let error = abs(shown - truth)
                absolute.append(error)
                if abs(truth) > 1e-9 {
                    let percent = error / abs(truth) * 100
                    relative.append(percent)
                    if percent > (worst?.3 ?? -1) { worst = (observation.device, point, shown, percent) }
                }
            }
        }
        var measurement = CheckMeasurement(metrics: ["samples": .count(absolute.count), "unmatched": .count(unmatched)])
        if let max = absolute.max() { measurement.set("abs_error", .number(max, percent: relative.max())) }
        if !relative.isEmpty { measurement.set("mean_error", .percent(relative.reduce(0, +) / Double(relative.count))) }
        if let worst {
            measurement.findings.append(String(format: "largest error: %@ %@ shown as %.4g, %.2f%% from the truth", worst.0, worst.1, worst.2, worst.3))
        }
        if absolute.isEmpty {
            measurement.findings.append("no telemetry for \(points.joined(separator: ", ")) from \(devices) reached the platform's stream in \(duration)")
        }
        if unmatched > 0 { measurement.findings.append("\(unmatched) telemetry observations could not be paired with a device message by msg_id") }
        return measurement
    }
}
