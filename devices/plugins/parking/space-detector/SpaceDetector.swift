import ParkPluginKit
import ParkPluginPlates

/// One video parking-space detector: the behaviour behind ``SpaceDetectorKind``.
///
/// The detector keeps two views of each space: what is there (the harness's `park` and
/// `leave`) and what it has reported. Every change to a space starts a detection that ends a
/// detection time later, drawn uniformly from `detection_time ± detection_jitter` (never under
/// 1 ms); when it ends the detector reports the space as it is then, so the reports follow the
/// truth with a lag and never contradict each other:
///
/// - a car that settled is reported `occupied`, with its plate read (one draw: misread with
///   probability `error_rate`, one character after the first two replaced, as the lane camera
///   does);
/// - a car that left is reported `vacated`;
/// - a car that leaves while its park is still being detected was never seen: nothing at all;
/// - a space that was freed and taken again by another car before the vacancy was reported is
///   reported `vacated` and then `occupied` at the same instant, since the plate has changed.
///
/// So each space alternates `occupied`, `vacated`, and the counts in the readings are the
/// detector's own (reported) counts, which a platform can add up from the events.
///
/// Timers cannot be cancelled, so every change to a space starts a new generation of that
/// space, carried in the detection timer's tag, and only the latest detection is acted on.
/// All randomness comes from the context, so one run seed gives one run.
final class SpaceDetector: PluginDevice {
    typealias Timer = SpaceDetectorKind.Timer

    /// A car in a space. The number tells two cars with the same plate apart (a car that left
    /// and came back is a new arrival).
    private struct Car {
        var plate: String
        var number: UInt64
    }

    private let spaces: Int
    private let detectionTime: Double
    private let detectionJitter: Double
    private let errorRate: Double
    private let reportInterval: UInt64
    private let heartbeat: PluginHeartbeat

    /// The car in each space now (index 0 is space 1).
    private var present: [Car?]
    /// The car the detector has reported in each space.
    private var reported: [Car?]
    /// Each space's generation: the one its latest detection timer carries.
    private var generations: [UInt32]
    private var lastCar: UInt64 = 0

    /// The shortest detection: a detector never answers in zero time, and a zero delay would let
    /// a report overtake the stimulus that caused it in the ledger's order.
    private static let minimumDetection: Double = 1_000_000
    private static let generationMask: UInt32 = 0xFFFF

    init(config: PluginDeviceConfig) throws {
        let spaces = try config.int("spaces")
        detectionTime = Double(try config.duration("detection_time"))
        detectionJitter = Double(try config.duration("detection_jitter"))
        errorRate = try config.double("error_rate")
        reportInterval = try config.duration("report_interval")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard (1 ... 6).contains(spaces) else {
            throw PluginDeviceError("device '\(config.id)': spaces must be between 1 and 6, got \(spaces)")
        }
        guard reportInterval > 0 else {
            throw PluginDeviceError("device '\(config.id)': report_interval must be longer than zero")
        }
        guard (0 ... 1).contains(errorRate) else {
            throw PluginDeviceError("device '\(config.id)': error_rate must be between 0 and 1")
        }
        self.spaces = Int(spaces)
        present = Array(repeating: nil, count: Int(spaces))
        reported = Array(repeating: nil, count: Int(spaces))
        generations = Array(repeating: 0, count: Int(spaces))
    }

    func start(_ context: PluginContext) {
        // Random first phases keep a garage of detectors from reporting in lock step.
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(reportInterval)), tag: Timer.report.rawValue)
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context)
        case .report:
            context.emit(telemetry: countReadings)
            context.schedule(afterNanoseconds: reportInterval, tag: Timer.report.rawValue)
        case .detection:
            let index = Int(tag >> 8 & 0xFF)
            guard index < spaces, tag >> 16 == generations[index] & Self.generationMask else { return }
            detect(index, context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "park":
            let index = try spaceIndex(stimulus)
            let plate = try stimulus.string("plate")
            guard (1 ... 16).contains(plate.count) else {
                throw PluginDeviceError("park: 'plate' must be 1-16 characters, got '\(plate)'")
            }
            if let car = present[index] {
                throw PluginDeviceError("park: space \(index + 1) is already occupied (by \(car.plate)); leave it first")
            }
            lastCar += 1
            present[index] = Car(plate: plate, number: lastCar)
            startDetection(index, context)
        case "leave":
            let index = try spaceIndex(stimulus)
            guard present[index] != nil else {
                throw PluginDeviceError("leave: space \(index + 1) is free; there is no car to leave")
            }
            present[index] = nil
            startDetection(index, context)
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("parking-space-detector has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        // Unreachable through the kit, which rejects undeclared commands and this kind declares
        // none; kept so the device stays correct if it is driven some other way.
        .rejected("parking-space-detector does not know the command '\(command.name)'")
    }

    // MARK: Behaviour

    private var occupiedCount: Int64 { Int64(reported.lazy.filter { $0 != nil }.count) }

    private var countReadings: [PluginReading] {
        [PluginReading("occupied", .int(occupiedCount)), PluginReading("free", .int(Int64(spaces) - occupiedCount))]
    }

    /// The stimulus's `space` as an index into the arrays, checked against `spaces`.
    private func spaceIndex(_ stimulus: PluginMessage) throws(PluginDeviceError) -> Int {
        let space = try stimulus.int("space")
        guard (1 ... Int64(spaces)).contains(space) else {
            throw PluginDeviceError("\(stimulus.name): 'space' must be between 1 and \(spaces), got \(space)")
        }
        return Int(space - 1)
    }

    /// A change to a space: a new generation, and its detection a detection time from now.
    private func startDetection(_ index: Int, _ context: PluginContext) {
        generations[index] &+= 1
        let delay = max(Self.minimumDetection, detectionTime + (2 * context.nextUnit() - 1) * detectionJitter)
        let tag = Timer.detection.rawValue | UInt32(index) << 8 | (generations[index] & Self.generationMask) << 16
        context.schedule(afterNanoseconds: UInt64(delay.rounded()), tag: tag)
    }

    /// The detection of a space ends: report what differs between the space and the last report.
    private func detect(_ index: Int, _ context: PluginContext) {
        let car = present[index]
        if let shown = reported[index], shown.number != car?.number {
            reported[index] = nil
            context.emit(event: "vacated", [PluginReading("space", .int(Int64(index + 1)))] + countReadings)
        }
        if let car, reported[index] == nil {
            reported[index] = car
            let seen = context.nextUnit() < errorRate ? PlateMisreading.misread(car.plate, context) : car.plate
            context.emit(event: "occupied", [
                PluginReading("space", .int(Int64(index + 1))),
                PluginReading("plate", .string(seen), truth: .string(car.plate)),
            ] + countReadings)
        }
    }
}
