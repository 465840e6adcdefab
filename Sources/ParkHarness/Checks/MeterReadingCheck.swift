import ParkBindings
import ParkCore
import ParkProfiles
import ParkReport

/// A meter gateway (and the platform behind it) reads the park's meters and shows what they
/// said (004 L3499–3511): every reading the platform shows is held to what the meter's registers
/// answered to the gateway's latest read before it — so wrong scaling, byte order or units show
/// as an error — and the reads themselves, seen from the meters' side, give the polling period
/// and how many meters the gateway reads at once (L3505: ≥ 32 electric + 32 water).
///
/// Needs the profile's `meters:` (the harness serves the meters for the gateway to poll).
///
/// ```yaml
/// type: meter-reading
/// devices: {kind: electric-meter}
/// duration: 5s
/// expect: ["abs_error <= 0.1%", "missing == 0", "period.max <= 1500ms"]
/// ```
public struct MeterReadingCheck: ConformanceCheck {
    public static let type = "meter-reading"
    public static let settingKeys = ["devices", "points", "duration"]
    public static let metrics: [String: MeasuredUnit] = [
        "abs_error": MeasuredUnit(.number, alsoAsPercent: true), "mean_error": .percent, "samples": .count, "unmatched": .count,
        "meters": .count, "missing": .count, "polled": .count, "electric_meters": .count, "water_meters": .count,
        "period.p50": .milliseconds, "period.p95": .milliseconds, "period.max": .milliseconds,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    /// Points to compare; empty: every point the gateway read.
    public let points: [String]
    public let duration: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        let points = settings.pointNames("points", required: false)
        duration = settings.duration("duration") ?? .seconds(5)
        guard let devices else { return nil }
        self.devices = devices
        self.points = points
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let outside = chosen.filter { !context.isBehindGateway($0.id) }
        guard outside.isEmpty else {
            return CheckMeasurement(error: "\(outside.prefix(3).map(\.id).joined(separator: ", ")) not served for a gateway; "
                                    + "the platform profile needs meters: and the models register maps")
        }
        let since = context.wallNow()
        await context.run(for: duration)
        let until = context.wallNow()
        // Readings in flight at the end of the window still count.
        await context.run(for: .seconds(1))

        var absolute: [Double] = [], relative: [Double] = []
        var unmatched = 0
        var worst: (device: String, point: String, shown: Double, truth: Double, percent: Double)?
        var shownMeters: Set<String> = [], polledMeters: Set<String> = []
        var intervals: [Double] = []
        var byKind: [String: Int] = [:]
        let wanted = points.isEmpty ? nil : Set(points)
        let observations = context.observations.observations(.telemetry, since: since)
        for device in chosen {
            let reads = context.meterReads.reads(of: device.id)
            let windowReads = reads.filter { $0.wallNanoseconds >= since && $0.wallNanoseconds <= until }
            if !windowReads.isEmpty { polledMeters.insert(device.id) }
            // The interval running into the window counts too: a gateway slower than half the
            // window reads each meter once in it, and its period is still there to measure.
            let before = reads.last { $0.wallNanoseconds < since }
            intervals += Self.intervals((before.map { [$0] } ?? []) + windowReads)
            var matchedAny = false
            for observation in observations where observation.device == device.id && observation.arrivedNanoseconds <= until + 1_000_000_000 {
                for (point, shown) in observation.values where wanted?.contains(point) ?? true {
                    // The latest read of this point before the platform showed it.
                    guard let read = reads.last(where: { $0.wallNanoseconds <= observation.arrivedNanoseconds && $0.values.contains { $0.point == point } }),
                          let truth = read.values.first(where: { $0.point == point })?.value else {
                        unmatched += 1
                        continue
                    }
                    matchedAny = true
                    let error = abs(shown - truth)
                    absolute.append(error)
                    let percent = abs(truth) > 1e-9 ? error / abs(truth) * 100 : (error > 1e-9 ? 100 : 0)
                    relative.append(percent)
                    if percent > (worst?.percent ?? -1) { worst = (device.id, point, shown, truth, percent) }
                }
            }
            if matchedAny {
                shownMeters.insert(device.id)
                byKind[device.kind, default: 0] += 1
            }
        }

        var measurement = CheckMeasurement(metrics: [
            "samples": .count(absolute.count), "unmatched": .count(unmatched), "meters": .count(shownMeters.count),
            "missing": .count(chosen.count - shownMeters.count), "polled": .count(polledMeters.count),
            "electric_meters": .count(byKind["electric-meter"] ?? 0), "water_meters": .count(byKind["water-meter"] ?? 0),
        ])
        if let max = absolute.max() { measurement.set("abs_error", .number(max, percent: relative.max())) }
        if !relative.isEmpty { measurement.set("mean_error", .percent(relative.reduce(0, +) / Double(relative.count))) }
        intervals.sort()
        if let p50 = LatencyEvidence.percentile(0.5, of: intervals), let p95 = LatencyEvidence.percentile(0.95, of: intervals),
           let max = intervals.last {
            measurement.set("period.p50", .milliseconds(p50))
            measurement.set("period.p95", .milliseconds(p95))
            measurement.set("period.max", .milliseconds(max))
        }
        if let worst {
            measurement.findings.append(String(
                format: "largest error: %@ %@ shown as %.6g, the meter answered %.6g (%.3g%%)",
                worst.device, worst.point, worst.shown, worst.truth, worst.percent))
        }
        let unread = chosen.filter { !polledMeters.contains($0.id) }
        if !unread.isEmpty {
            measurement.findings.append("\(unread.count) of \(chosen.count) meters were never read by the gateway in \(duration), e.g. "
                                        + unread.prefix(5).map(\.id).joined(separator: ", "))
        }
        let unseen = chosen.filter { polledMeters.contains($0.id) && !shownMeters.contains($0.id) }
        if !unseen.isEmpty {
            measurement.findings.append("\(unseen.count) meters were read but no reading of theirs reached the platform's telemetry stream, e.g. "
                                        + unseen.prefix(5).map(\.id).joined(separator: ", "))
        }
        if unmatched > 0 {
            measurement.findings.append("\(unmatched) values shown for points the meters were never asked for before they were shown")
        }
        if let slowest = intervals.last {
            measurement.findings.append(String(format: "gateway reads, seen at the meters: %d intervals, p50 %.0f ms, max %.0f ms",
                                               intervals.count, measurement.metrics["period.p50"]?.value ?? 0, slowest))
        }
        return measurement
    }

    /// Milliseconds between a meter's successive polls. A poll may be several requests (one per
    /// block of adjacent registers); requests closer than 100 ms together are one poll.
    static func intervals(_ reads: [PolledRead]) -> [Double] {
        var starts: [Int64] = []
        for read in reads {
            if let last = starts.last, read.wallNanoseconds - last < 100_000_000 { continue }
            starts.append(read.wallNanoseconds)
        }
        return zip(starts, starts.dropFirst()).map { Double($1 - $0) / 1e6 }
    }
}
