import ParkCore
import ParkProfiles
import ParkReport

/// Live video starts promptly (000 L1111: video is called up as GB/T 28181 specifies; 004
/// L3152: an alarm links to the nearest camera to see the scene): the harness asks the platform
/// for each selected camera's live video, and times the request to the platform's report that
/// the first whole key frame reached its receiver — INVITE, the camera's answer, ACK, and the
/// stream up to a frame a viewer can see. The seeds give no figure for it; the suite holds it to
/// the same 2 s as the alarm that calls the camera up (004 L2714), so the picture is there when
/// the alarm is.
///
/// Reads the profile's `video` stream: event `playing` (or `failed`), per device.
///
/// ```yaml
/// type: video-start
/// devices: {kind: camera}
/// timeout: 5s
/// expect: ["latency.p99 < 2s", "missing == 0"]
/// ```
public struct VideoStartCheck: ConformanceCheck {
    public static let type = "video-start"
    public static let settingKeys = ["devices"]
    public static let metrics = latencyMetrics.merging(["missing": .count, "failed": .count, "refused_requests": .count]) { $1 }

    public let common: CheckCommon
    public let devices: DeviceSelector

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        guard let devices = DeviceSelector.parse(&settings, key: "devices", required: true) else { return nil }
        self.devices = devices
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
        var samples: [LatencySample] = []
        var missing = 0, failed = 0, refused = 0
        for device in chosen {
            let asked = context.wallNow()
            if let problem = await requests.start(device.id, in: context) {
                refused += 1
                missing += 1
                measurement.findings.append("\(device.id): the platform refused the request for live video: \(problem)")
                continue
            }
            func outcome() -> Observation? {
                VideoSessionRequests.reports(device.id, since: asked, in: context).first { $0.event == "playing" || $0.event == "failed" }
            }
            _ = await context.waitUntil(timeout: common.timeout) { outcome() != nil }
            await requests.end(device.id, in: context)
            guard let report = outcome() else {
                missing += 1
                measurement.findings.append("\(device.id): no video reached the platform's receiver within \(common.timeout) of the request")
                continue
            }
            guard report.event == "playing" else {
                failed += 1
                missing += 1
                measurement.findings.append("\(device.id): the platform reported the session failed")
                continue
            }
            samples.append(LatencySample(
                device: device.id, label: "request → first key frame at the platform", startNanoseconds: asked,
                endNanoseconds: report.arrivedNanoseconds, matchedBy: "session", messageID: nil))
        }
        measurement.addLatencyMetrics(LatencyEvidence(samples: samples))
        measurement.set("missing", .count(missing))
        measurement.set("failed", .count(failed))
        measurement.set("refused_requests", .count(refused))
        return measurement
    }
}
