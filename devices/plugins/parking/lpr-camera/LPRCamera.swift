import ParkPluginKit
import ParkPluginPlates

/// One licence-plate recognition camera: the behaviour behind ``LPRCameraKind``.
///
/// Each `vehicle` stimulus starts one read that completes after a recognition time drawn
/// uniformly from `recognition_time ± recognition_jitter` (never under 1 ms). Vehicles may
/// follow each other faster than that, so every pending read has its own timer, found again by
/// the sequence number in the timer's tag.
///
/// When the read completes one draw decides its outcome: with probability `miss_rate` nothing
/// is read (a `local` `missed` record keeps the true plate in the ledger, since the platform
/// hears nothing); with probability `error_rate` one character is misread; otherwise the plate
/// is read right. One draw rather than two keeps `error_rate` the fraction of all vehicles that
/// are misread, not of those not missed, so the rates in a profile are exactly what a test
/// measures. (If the two add up to more than 1, misses win.)
///
/// All randomness comes from the context, so one run seed gives one run.
final class LPRCamera: PluginDevice {
    typealias Timer = LPRCameraKind.Timer

    /// A vehicle the camera has been triggered for and has not yet read.
    private struct PendingRead {
        var plate: String
        var colour: String
        var vehicleType: String
        /// The read's number on this camera, also used in the image reference.
        var sequence: UInt64
    }

    private let id: String
    private let recognitionTime: Double
    private let recognitionJitter: Double
    private let errorRate: Double
    private let missRate: Double
    private let heartbeat: PluginHeartbeat

    /// Reads in flight, each with its recognition timer.
    private var pending = PluginPendingWork<PendingRead>(timer: Timer.recognition.rawValue)

    /// The shortest read: a camera never answers in zero time, and a zero delay would let a
    /// read overtake the stimulus that caused it in the ledger's order.
    private static let minimumRecognition: Double = 1_000_000

    init(config: PluginDeviceConfig) throws {
        id = config.id
        recognitionTime = Double(try config.duration("recognition_time"))
        recognitionJitter = Double(try config.duration("recognition_jitter"))
        errorRate = try config.double("error_rate")
        missRate = try config.double("miss_rate")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard (0 ... 1).contains(errorRate), (0 ... 1).contains(missRate) else {
            throw PluginDeviceError("device '\(config.id)': error_rate and miss_rate must be between 0 and 1")
        }
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context)
        case .recognition:
            guard let read = pending.take(firedTag: tag) else { return }
            complete(read, context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        // The kit only lets declared stimuli through, and this kind declares just `vehicle`.
        let plate = try stimulus.string("plate")
        guard (1 ... 16).contains(plate.count) else {
            throw PluginDeviceError("vehicle: 'plate' must be 1-16 characters, got '\(plate)'")
        }
        let colour = try stimulus.string("colour", default: "blue")
        guard LPRCameraKind.colours.contains(colour) else {
            throw PluginDeviceError(
                "vehicle: 'colour' must be one of \(LPRCameraKind.colours.sorted().joined(separator: ", ")), got '\(colour)'")
        }
        let vehicleType = try stimulus.string("type", default: "car")
        guard LPRCameraKind.vehicleTypes.contains(vehicleType) else {
            throw PluginDeviceError(
                "vehicle: 'type' must be one of \(LPRCameraKind.vehicleTypes.sorted().joined(separator: ", ")), got '\(vehicleType)'")
        }
        let delay = max(Self.minimumRecognition, recognitionTime + (2 * context.nextUnit() - 1) * recognitionJitter)
        pending.add(after: UInt64(delay.rounded()), context) { sequence in
            PendingRead(plate: plate, colour: colour, vehicleType: vehicleType, sequence: sequence)
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        // Unreachable through the kit, which rejects undeclared commands and this kind declares
        // none; kept so the device stays correct if it is driven some other way.
        .rejected("lpr-camera does not know the command '\(command.name)'")
    }

    // MARK: Behaviour

    private func complete(_ read: PendingRead, _ context: PluginContext) {
        let outcome = context.nextUnit()
        if outcome < missRate {
            context.emit(channel: .local, name: "missed", readings: [PluginReading("plate", "", truth: .string(read.plate))])
            return
        }
        let misread = outcome < missRate + errorRate
        let seen = misread ? PlateMisreading.misread(read.plate, context) : read.plate
        // Uniform within each band, so a platform can learn nothing exact from the confidence;
        // three decimals, as cameras report it, rather than seventeen digits of noise.
        let draw = context.nextUnit()
        let confidence = ((misread ? 0.60 + draw * 0.29 : 0.90 + draw * 0.09) * 1_000).rounded() / 1_000
        context.emit(event: "plate", [
            PluginReading("plate", .string(seen), truth: .string(read.plate)),
            PluginReading("plate_colour", .string(read.colour), truth: .string(read.colour)),
            PluginReading("vehicle_type", .string(read.vehicleType), truth: .string(read.vehicleType)),
            PluginReading("confidence", .double(confidence)),
            PluginReading("image", .string("img/\(id)/\(read.sequence).jpg")),
        ])
    }
}
