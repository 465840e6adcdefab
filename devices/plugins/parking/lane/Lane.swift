import ParkPluginKit
import ParkPluginPlates

/// One car-park lane and its traffic: the state machine behind ``LaneKind``.
///
/// Vehicles wait in arrival order. Only the one at the front is handled: read after the
/// recognition time, then waiting for `open`; the arm rises (`rise_time`), the vehicle clears
/// the lane (`pass_time`) and the next one moves up. A read vehicle that is not let through within
/// `patience` turns away and the next moves up. Each vehicle's wait runs from its arrival in the
/// lane, so a slow platform shows as waits that grow with the queue, as at a real barrier.
///
/// Timers cannot be cancelled: the front vehicle's timers carry a generation that moves on with
/// each step, and the arrival timer one that moves on whenever the rate changes, so a timer from
/// an earlier step or rate is ignored when it fires.
final class Lane: PluginDevice {
    typealias Timer = LaneKind.Timer

    private struct Vehicle {
        var plate: String
        var arrivedAt: UInt64
    }

    private enum Phase { case reading, waiting, rising, passing }

    private let arrivalRate: Double
    private let knownPlates: [String]
    private let knownShare: Double
    private let recognitionTime: Double
    private let recognitionJitter: Double
    private let errorRate: Double
    private let riseTime: UInt64
    private let passTime: UInt64
    private let patience: UInt64
    private let reportInterval: UInt64
    private let heartbeat: PluginHeartbeat

    private var waiting: [Vehicle] = []
    private var waitingStart = 0
    private var front: (vehicle: Vehicle, phase: Phase)?
    private var rate: Double
    private var arrived: Int64 = 0
    private var passed: Int64 = 0
    private var turnedAway: Int64 = 0
    private var gateGeneration: UInt32 = 0
    private var arrivalGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF
    /// A read never takes zero time (it would overtake the arrival in the ledger's order).
    private static let minimumRecognition: Double = 1_000_000
    /// Vehicles beyond this many waiting are turned away on arrival, counted but not kept: a
    /// lane nobody opens, fed at a high rate for hours, must not grow without bound.
    static let maximumQueue = 10_000
    private static let provinces = Array("京沪粤苏浙川鲁豫鄂湘")
    private static let letters = Array("ABCDEFGHJK")
    private static let serial = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    init(config: PluginDeviceConfig) throws {
        arrivalRate = try config.double("arrival_rate")
        knownPlates = try config.string("known_plates").split(separator: ",")
            .map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
        knownShare = try config.double("known_share")
        recognitionTime = Double(try config.duration("recognition_time"))
        recognitionJitter = Double(try config.duration("recognition_jitter"))
        errorRate = try config.double("error_rate")
        riseTime = try config.duration("rise_time")
        passTime = try config.duration("pass_time")
        patience = try config.duration("patience")
        reportInterval = try config.duration("report_interval")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard riseTime > 0, passTime > 0, patience > 0, reportInterval > 0 else {
            throw PluginDeviceError("device '\(config.id)': rise_time, pass_time, patience and report_interval must be longer than zero")
        }
        guard arrivalRate >= 0, arrivalRate.isFinite, (0 ... 1).contains(knownShare), (0 ... 1).contains(errorRate) else {
            throw PluginDeviceError("device '\(config.id)': arrival_rate must be 0 or more, known_share and error_rate between 0 and 1")
        }
        if let bad = knownPlates.first(where: { !(1 ... 16).contains($0.count) }) {
            throw PluginDeviceError("device '\(config.id)': known plate '\(bad)' must be 1-16 characters")
        }
        rate = arrivalRate
    }

    func start(_ context: PluginContext) {
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(reportInterval)), tag: Timer.report.rawValue)
        heartbeat.start(context)
        scheduleArrival(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let generation = tag >> 8
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [queueReading])
        case .report:
            context.emit(telemetry: [queueReading, PluginReading("arrived", .int(arrived)),
                                     PluginReading("passed", .int(passed)), PluginReading("turned_away", .int(turnedAway))])
            context.schedule(afterNanoseconds: reportInterval, tag: Timer.report.rawValue)
        case .arrival:
            guard generation == arrivalGeneration & Self.generationMask else { return }
            join(Vehicle(plate: drawPlate(context), arrivedAt: context.now), context)
            scheduleArrival(context)
        case .rushEnd:
            guard generation == arrivalGeneration & Self.generationMask else { return }
            setRate(arrivalRate, context)
        case .read:
            guard generation == gateGeneration & Self.generationMask, let current = front, current.phase == .reading else { return }
            read(current.vehicle, context)
        case .patience:
            guard generation == gateGeneration & Self.generationMask, let current = front, current.phase == .waiting else { return }
            turnedAway += 1
            front = nil
            context.emit(event: "turned-away", [
                PluginReading("plate", .string(current.vehicle.plate)), waitReading(current.vehicle, context), queueReading,
                PluginReading("turned_away", .int(turnedAway)),
            ])
            moveUp(context)
        case .raised:
            guard generation == gateGeneration & Self.generationMask, let current = front, current.phase == .rising else { return }
            front = (current.vehicle, .passing)
            context.emit(event: "raised", [queueReading])
            context.schedule(afterNanoseconds: passTime, tag: Self.tag(.cleared, gateGeneration))
        case .cleared:
            guard generation == gateGeneration & Self.generationMask, let current = front, current.phase == .passing else { return }
            passed += 1
            front = nil
            context.emit(event: "passed", [
                PluginReading("plate", .string(current.vehicle.plate)), waitReading(current.vehicle, context), queueReading,
                PluginReading("passed", .int(passed)),
            ])
            moveUp(context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "vehicle":
            let plate = try stimulus.string("plate")
            guard (1 ... 16).contains(plate.count) else {
                throw PluginDeviceError("vehicle: 'plate' must be 1-16 characters, got '\(plate)'")
            }
            join(Vehicle(plate: plate, arrivedAt: context.now), context)
        case "rush":
            let rushRate = try stimulus.double("rate")
            let duration = try stimulus.duration("duration")
            guard rushRate > 0, rushRate <= 36_000, rushRate.isFinite else {
                throw PluginDeviceError("rush: 'rate' must be more than 0 and at most 36000 an hour, got \(rushRate)")
            }
            guard duration > 0 else { throw PluginDeviceError("rush: 'duration' must be longer than 0s") }
            setRate(rushRate, context)
            context.schedule(afterNanoseconds: duration, tag: Self.tag(.rushEnd, arrivalGeneration))
        default:
            throw PluginDeviceError("lane has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        if command.name == "clear" {
            let cleared = Int64(queueLength)
            turnedAway += cleared
            front = nil
            waiting.removeAll()
            waitingStart = 0
            // The front vehicle's timers are void now.
            gateGeneration += 1
            context.emit(event: "cleared", [queueReading, PluginReading("turned_away", .int(turnedAway))])
            return PluginCommandResult(.accepted, readings: [PluginReading("turned_away", .int(cleared))])
        }
        guard command.name == "open" else { return .rejected("lane does not know the command '\(command.name)'") }
        if let current = front, current.phase == .waiting {
            gateGeneration += 1
            front = (current.vehicle, .rising)
            context.schedule(afterNanoseconds: riseTime, tag: Self.tag(.raised, gateGeneration))
        }
        return PluginCommandResult(.accepted, readings: [queueReading])
    }

    // MARK: Behaviour

    private var queueLength: Int { waiting.count - waitingStart + (front == nil ? 0 : 1) }
    private var queueReading: PluginReading { PluginReading("queue", .int(Int64(queueLength))) }

    private func waitReading(_ vehicle: Vehicle, _ context: PluginContext) -> PluginReading {
        PluginReading("wait", .double(Double(context.now &- vehicle.arrivedAt) / 1e9))
    }

    private func join(_ vehicle: Vehicle, _ context: PluginContext) {
        arrived += 1
        guard queueLength < Self.maximumQueue else {
            turnedAway += 1
            return
        }
        waiting.append(vehicle)
        moveUp(context)
    }

    /// The next vehicle to the front, when the front is free: its read starts.
    private func moveUp(_ context: PluginContext) {
        guard front == nil, waitingStart < waiting.count else { return }
        front = (waiting[waitingStart], .reading)
        waitingStart += 1
        // Drop the passed prefix now and then rather than shifting the array on every vehicle.
        if waitingStart > 1_024, waitingStart * 2 > waiting.count {
            waiting.removeFirst(waitingStart)
            waitingStart = 0
        }
        gateGeneration += 1
        let delay = max(Self.minimumRecognition, recognitionTime + (2 * context.nextUnit() - 1) * recognitionJitter)
        context.schedule(afterNanoseconds: UInt64(delay.rounded()), tag: Self.tag(.read, gateGeneration))
    }

    private func read(_ vehicle: Vehicle, _ context: PluginContext) {
        let misread = context.nextUnit() < errorRate
        let seen = misread ? PlateMisreading.misread(vehicle.plate, context) : vehicle.plate
        // Three decimals, as cameras report it.
        let draw = context.nextUnit()
        let confidence = ((misread ? 0.60 + draw * 0.29 : 0.90 + draw * 0.09) * 1_000).rounded() / 1_000
        context.emit(event: "plate", [
            PluginReading("plate", .string(seen), truth: .string(vehicle.plate)),
            PluginReading("confidence", .double(confidence)), queueReading,
        ])
        gateGeneration += 1
        front = (vehicle, .waiting)
        context.schedule(afterNanoseconds: patience, tag: Self.tag(.patience, gateGeneration))
    }

    private func setRate(_ newRate: Double, _ context: PluginContext) {
        rate = newRate
        arrivalGeneration += 1
        scheduleArrival(context)
    }

    private func scheduleArrival(_ context: PluginContext) {
        guard rate > 0 else { return }
        let gap = context.nextExponential(mean: 3_600e9 / rate)
        context.schedule(afterNanoseconds: UInt64(max(1, gap.rounded())), tag: Self.tag(.arrival, arrivalGeneration))
    }

    /// A known plate for `known_share` of arrivals (when the model lists any), else a random
    /// mainland plate: a province, a letter, five serial characters.
    private func drawPlate(_ context: PluginContext) -> String {
        if !knownPlates.isEmpty, context.nextUnit() < knownShare {
            return knownPlates[Int(context.nextRandom() % UInt64(knownPlates.count))]
        }
        var plate = [Self.provinces[Int(context.nextRandom() % UInt64(Self.provinces.count))],
                     Self.letters[Int(context.nextRandom() % UInt64(Self.letters.count))]]
        for _ in 0 ..< 5 { plate.append(Self.serial[Int(context.nextRandom() % UInt64(Self.serial.count))]) }
        return String(plate)
    }

    /// A timer tag: the timer in the low byte, the generation's low 24 bits above it.
    private static func tag(_ timer: Timer, _ generation: UInt32) -> UInt32 {
        timer.rawValue | (generation & generationMask) << 8
    }
}
