import ParkPluginKit

/// The `parking-space-detector` kind as ParkBench sees it: points, events, stimuli and the
/// parameters a model profile may set.
///
/// A video space-detection terminal of seed 004's parking guidance and reverse car-finding
/// system (车位引导及反向寻车系统, L2179-2199): one camera above a row of spaces that tells which
/// are taken and reads the plate of the car in each, so a driver can later find the car by its
/// plate. It covers one to three spaces, up to six (L2185), finds a space taken or freed and
/// reads the plate within 5 s each (L2187), and recognises at least 99% (L2181). The harness
/// parks cars and takes them away with `park` and `leave`; each `occupied` carries the true
/// plate, so a platform's space counts, latency and plate reads can be checked against ground
/// truth.
enum SpaceDetectorKind {
    static let description = PluginKindDescription(
        name: "parking-space-detector",
        summary: "Video parking-space detector over 1-6 spaces: reports each space taken (with the plate read) or freed after a detection time, and the counts",
        sources: [
            "004_5e9061d643d5fb41.txt L2187",
            "004_5e9061d643d5fb41.txt L2179-2199",
        ],
        points: [
            PluginPointDescription(name: "space", type: .int, summary: "The space an event is about, 1 to spaces"),
            PluginPointDescription(name: "plate", type: .string, summary: "The plate of the car in the space as read, e.g. 京A12345; the truth is the car's real plate"),
            PluginPointDescription(name: "occupied", type: .int, unit: "spaces", summary: "Spaces the detector reports taken now"),
            PluginPointDescription(name: "free", type: .int, unit: "spaces", summary: "Spaces the detector reports free now"),
        ],
        events: [
            PluginEventDescription(name: "occupied", severity: .info, summary: "A car settled in a space; readings space, plate (value read, truth real), occupied, free"),
            PluginEventDescription(name: "vacated", severity: .info, summary: "A space was freed; readings space, occupied, free"),
            PluginHeartbeat.event(),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "park",
                arguments: [
                    PluginArgumentDescription(name: "space", type: .int, summary: "The space, 1 to spaces; refused when a car is already in it"),
                    PluginArgumentDescription(name: "plate", type: .string, summary: "The car's real plate, 1-16 characters, e.g. 京A12345"),
                ],
                summary: "A car drives into a free space; occupied follows after the detection time"),
            PluginStimulusDescription(
                name: "leave",
                arguments: [
                    PluginArgumentDescription(name: "space", type: .int, summary: "The space, 1 to spaces; refused when no car is in it"),
                ],
                summary: "The car in a space drives away; vacated follows after the detection time (nothing, if its occupied was not yet reported)"),
        ],
        parameters: [
            PluginParameterDescription(name: "spaces", type: .int, defaultValue: "3", minimum: 1, maximum: 6, unit: "spaces", summary: "Spaces the detector watches (004 L2185: 1-3, up to 6)"),
            PluginParameterDescription(name: "detection_time", type: .duration, defaultValue: "2s", minimum: 0.001, maximum: 60, summary: "Mean time from a car settling or leaving to the report (004 L2187 asks for at most 5 s)"),
            PluginParameterDescription(name: "detection_jitter", type: .duration, defaultValue: "500ms", minimum: 0, maximum: 60, summary: "Each detection takes detection_time plus or minus up to this much (uniform), never under 1 ms"),
            PluginParameterDescription(name: "error_rate", type: .double, defaultValue: "0.003", minimum: 0, maximum: 1, summary: "Chance that a plate read gets one character wrong (004 L2181 asks for at least 99% recognition)"),
            PluginParameterDescription(name: "report_interval", type: .duration, defaultValue: "1m", minimum: 0.001, summary: "Time between telemetry reports (occupied, free)"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer; for detections the next byte carries the
    /// space's index and the upper 16 bits the space's generation, so a newer change to the
    /// same space makes a pending detection stale.
    enum Timer: UInt32 {
        case heartbeat = 1
        case report = 2
        case detection = 3
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: SpaceDetectorKind.description, device: SpaceDetector.self, host: host, into: plugin)
}
