import ParkCore
import ParkProfiles
import ParkReport

/// A live stream arrives whole (004 L2633: the park's video streams on GB/T 28181): each
/// selected camera's video plays for `duration`, and the platform's receiver must have every
/// RTP packet (no sequence gaps), every frame whole and a well-formed MPEG-PS pack of H.264, the
/// interarrival jitter (RFC 3550) low, and the frame rate the camera declared.
///
/// Reads the profile's `video` stream: the last `stats` report of each session (values
/// `frames`, `lost`, `incomplete_frames`, `malformed_frames`, `max_jitter_ms`, `frame_rate`).
///
/// ```yaml
/// type: video-stream
/// devices: {kind: camera, count: 1}
/// duration: 5s
/// timeout: 5s
/// expect: ["lost == 0", "incomplete_frames == 0", "malformed_frames == 0", "jitter.max < 50ms", "frame_rate.min >= 20"]
/// ```
public struct VideoStreamCheck: ConformanceCheck {
    public static let type = "video-stream"
    public static let settingKeys = ["devices", "duration"]
    public static let metrics: [String: MeasuredUnit] = [
        "sessions": .count, "missing": .count, "frames": .count, "packets": .count, "lost": .count, "incomplete_frames": .count,
        "malformed_frames": .count, "jitter.max": .milliseconds, "frame_rate.min": MeasuredUnit(.number),
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    /// How long each stream plays before its figures are read.
    public let duration: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        guard let devices = DeviceSelector.parse(&settings, key: "devices", required: true) else { return nil }
        self.devices = devices
        duration = settings.duration("duration") ?? .seconds(5)
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let requests: VideoSessionRequests
        switch VideoSessionRequests.from(context) {
        case .success(let value): requests = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var sessions = 0, missing = 0
        var totals: [String: Double] = [:]
        var jitter = 0.0, slowest = Double.infinity
        for device in chosen {
            let asked = context.wallNow()
            if let problem = await requests.start(device.id, in: context) {
                missing += 1
                measurement.findings.append("\(device.id): the platform refused the request for live video: \(problem)")
                continue
            }
            func reports() -> [Observation] { VideoSessionRequests.reports(device.id, since: asked, in: context) }
            _ = await context.waitUntil(timeout: common.timeout) { reports().contains { $0.event == "playing" || $0.event == "failed" } }
            guard let playing = reports().first(where: { $0.event == "playing" }) else {
                await requests.end(device.id, in: context)
                missing += 1
                measurement.findings.append("\(device.id): no video reached the platform's receiver within \(common.timeout) of the request")
                continue
            }
            await context.run(for: duration)
            // The figures as of the end of the window (the platform reports every second).
            _ = await context.waitUntil(timeout: .seconds(2)) {
                reports().contains { $0.event == "stats" && $0.arrivedNanoseconds >= playing.arrivedNanoseconds + Int64(duration.nanoseconds) - 1_000_000_000 }
            }
            await requests.end(device.id, in: context)
            guard let stats = reports().last(where: { $0.event == "stats" }) else {
                missing += 1
                measurement.findings.append("\(device.id): the platform reported no figures for the stream in \(duration)")
                continue
            }
            sessions += 1
            for key in ["frames", "packets", "lost", "incomplete_frames", "malformed_frames"] { totals[key, default: 0] += stats.values[key] ?? 0 }
            let deviceJitter = stats.values["max_jitter_ms"] ?? stats.values["jitter_ms"] ?? 0
            jitter = max(jitter, deviceJitter)
            let rate = stats.values["frame_rate"] ?? 0
            slowest = min(slowest, rate)
            let problems = ["lost", "incomplete_frames", "malformed_frames"].filter { (stats.values[$0] ?? 0) > 0 }
            if !problems.isEmpty {
                measurement.findings.append("\(device.id): " + problems.map { "\(Int(stats.values[$0] ?? 0)) \($0.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ")
                    + " of \(Int(stats.values["packets"] ?? 0)) packets and \(Int(stats.values["frames"] ?? 0)) frames")
            }
            measurement.findings.append("\(device.id): \(Int(stats.values["frames"] ?? 0)) frames at \(rate) fps, jitter up to \(deviceJitter) ms, \(Int(stats.values["kbps"] ?? 0)) kbit/s")
        }
        measurement.metrics = [
            "sessions": .count(sessions), "missing": .count(missing), "jitter.max": .milliseconds(jitter),
            "frame_rate.min": .number(slowest.isFinite ? slowest : 0),
        ]
        for (key, value) in totals { measurement.set(key, .count(Int(value))) }
        for key in ["frames", "packets", "lost", "incomplete_frames", "malformed_frames"] where measurement.metrics[key] == nil {
            measurement.set(key, .count(0))
        }
        return measurement
    }
}
