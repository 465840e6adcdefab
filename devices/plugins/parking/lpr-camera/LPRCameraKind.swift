import ParkPluginKit

/// The `lpr-camera` kind as ParkBench sees it: points, events, stimuli and the parameters a
/// model profile may set.
///
/// A licence-plate recognition camera at a car park's entrance or exit lane, as in seed 004's
/// car-park charging hardware (L2164-2199): it reads civil, new-energy and Hong Kong/Macau plates
/// with at least 99% accuracy (L2166), is triggered by radar, loop or the video stream (L2170),
/// and a plate is found within 5 s (L2187). The harness drives it with the `vehicle` stimulus
/// (the trigger) and each read carries the true plate, so a platform's recognition rate and
/// latency can be checked against ground truth.
enum LPRCameraKind {
    static let description = PluginKindDescription(
        name: "lpr-camera",
        summary: "Licence-plate recognition camera at a car-park lane: reads each passing vehicle's plate, colour and type, with misreads and misses",
        sources: [
            "004_5e9061d643d5fb41.txt L2164-2199",
            "004_5e9061d643d5fb41.txt L2166",
            "004_5e9061d643d5fb41.txt L2187",
        ],
        points: [
            PluginPointDescription(name: "plate", type: .string, summary: "The plate as read, e.g. 京A12345; the truth is the vehicle's real plate"),
            PluginPointDescription(name: "plate_colour", type: .string, summary: "Plate background colour: blue, yellow, green, white or black"),
            PluginPointDescription(name: "vehicle_type", type: .string, summary: "car, truck, bus or motorcycle"),
            PluginPointDescription(name: "confidence", type: .double, summary: "The camera's confidence in the read, 0-1 (0.90-0.99 when right, 0.60-0.89 when wrong)"),
            PluginPointDescription(name: "image", type: .string, summary: "Reference to the captured picture, img/<device id>/<sequence>.jpg"),
        ],
        events: [
            PluginEventDescription(name: "plate", severity: .info, summary: "A plate was read; readings plate, plate_colour, vehicle_type (value read, truth real), confidence, image"),
            PluginHeartbeat.event(),
            PluginEventDescription(name: "missed", severity: .info, summary: "Local: a vehicle passed without a read (not sent on the wire); reading plate with value \"\" and the real plate as truth"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "vehicle",
                arguments: [
                    PluginArgumentDescription(name: "plate", type: .string, summary: "The vehicle's real plate, 1-16 characters, e.g. 京A12345"),
                    PluginArgumentDescription(name: "colour", type: .string, required: false, summary: "Plate colour: blue (default), yellow, green, white or black"),
                    PluginArgumentDescription(name: "type", type: .string, required: false, summary: "Vehicle type: car (default), truck, bus or motorcycle"),
                ],
                summary: "A vehicle arrives in the lane and triggers the camera; the read follows after recognition_time"),
        ],
        parameters: [
            PluginParameterDescription(name: "recognition_time", type: .duration, defaultValue: "300ms", minimum: 0.001, maximum: 60, summary: "Mean time from trigger to read (004 L2187 asks for at most 5 s)"),
            PluginParameterDescription(name: "recognition_jitter", type: .duration, defaultValue: "100ms", minimum: 0, maximum: 60, summary: "Each read takes recognition_time plus or minus up to this much (uniform), never under 1 ms"),
            PluginParameterDescription(name: "error_rate", type: .double, defaultValue: "0.003", minimum: 0, maximum: 1, summary: "Chance that a read gets one character wrong (004 L2166 asks for at least 99% recognition)"),
            PluginParameterDescription(name: "miss_rate", type: .double, defaultValue: "0.002", minimum: 0, maximum: 1, summary: "Chance that a vehicle passes without any read"),
            PluginHeartbeat.parameter(),
        ])

    /// The plate colours a `vehicle` may carry (GA 36 plate backgrounds).
    static let colours: Set<String> = ["blue", "yellow", "green", "white", "black"]
    /// The vehicle types a `vehicle` may be.
    static let vehicleTypes: Set<String> = ["car", "truck", "bus", "motorcycle"]

    /// Timer tags: the low byte names the timer; for reads the bits above carry the read's
    /// sequence number, so each pending vehicle has its own timer.
    enum Timer: UInt32 {
        case heartbeat = 1
        case recognition = 2
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: LPRCameraKind.description, device: LPRCamera.self, host: host, into: plugin)
}
