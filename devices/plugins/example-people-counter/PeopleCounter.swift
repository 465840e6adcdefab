import ParkPluginKit

/// One people counter: the state machine behind ``PeopleCounterKind``.
///
/// The people inside are modelled as an M/M/∞ queue: arrivals are a Poisson process with rate
/// `arrivals_per_hour`, and each person stays an exponential time with mean `mean_stay`. Both
/// are memoryless, so a single timer draws "time to the next crossing" from the combined rate
/// and then whether it is an arrival or a departure; when the rate changes (a crowd walks in)
/// the pending draw is simply discarded and a new one made, which is statistically exact.
///
/// Each crossing is missed with probability `miss_rate`; readings carry the counted value and
/// the true one, so a platform's accuracy can be checked against ground truth.
final class PeopleCounter: PluginDevice {
    typealias Timer = PeopleCounterKind.Timer

    private let arrivalsPerSecond: Double
    private let meanStaySeconds: Double
    private let capacity: Int64
    private let reportInterval: UInt64
    private let missRate: Double

    // Ground truth.
    private var peopleInside: Int64 = 0
    private var trueIn: Int64 = 0
    private var trueOut: Int64 = 0
    // What the counter saw.
    private var countedIn: Int64 = 0
    private var countedOut: Int64 = 0
    private var countedOccupancy: Int64 = 0
    private var overCapacity = false
    // Pending movement timers cannot be cancelled; a newer generation makes them stale.
    private var movementGeneration: UInt32 = 0

    init(config: PluginDeviceConfig) throws {
        arrivalsPerSecond = try config.double("arrivals_per_hour") / 3_600
        meanStaySeconds = Double(try config.duration("mean_stay")) / 1e9
        capacity = try config.int("capacity")
        reportInterval = try config.duration("report_interval")
        missRate = try config.double("miss_rate")
        guard meanStaySeconds > 0, reportInterval > 0 else {
            throw PluginDeviceError("device '\(config.id)': mean_stay and report_interval must be longer than zero")
        }
    }

    func start(_ context: PluginContext) {
        // A random first report phase keeps a park of counters from reporting in lock step.
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(reportInterval)), tag: Timer.report.rawValue)
        scheduleNextMovement(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .report:
            context.emit(telemetry: readings())
            context.schedule(afterNanoseconds: reportInterval, tag: Timer.report.rawValue)
        case .movement:
            guard tag >> 8 == movementGeneration & 0xFF_FFFF else { return }
            let departureRate = Double(peopleInside) / meanStaySeconds
            if context.nextUnit() * (arrivalsPerSecond + departureRate) < arrivalsPerSecond {
                enter(1, context)
            } else {
                leave(context)
            }
            checkCapacity(context)
            scheduleNextMovement(context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        // The kit only lets declared stimuli through, and this kind declares just `crowd`.
        let people = try stimulus.int("people")
        guard (1 ... 100_000).contains(people) else {
            throw PluginDeviceError("crowd: 'people' must be between 1 and 100000, got \(people)")
        }
        enter(people, context)
        checkCapacity(context)
        // More people inside means more departures: redraw the next crossing at the new rate.
        scheduleNextMovement(context)
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        switch command.name {
        case "reset":
            let before = readings()
            countedIn = 0
            countedOut = 0
            countedOccupancy = 0
            trueIn = 0
            trueOut = 0
            checkCapacity(context)
            return .accepted(readings: before)
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return .rejected("people-counter does not know the command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    private func enter(_ people: Int64, _ context: PluginContext) {
        peopleInside += people
        trueIn += people
        for _ in 0 ..< people where !missed(context) {
            countedIn += 1
            countedOccupancy += 1
        }
    }

    private func leave(_ context: PluginContext) {
        guard peopleInside > 0 else { return }
        peopleInside -= 1
        trueOut += 1
        guard !missed(context) else { return }
        countedOut += 1
        // A real counter cannot show fewer than zero people, e.g. after a reset with people inside.
        countedOccupancy = max(0, countedOccupancy - 1)
    }

    private func missed(_ context: PluginContext) -> Bool {
        missRate > 0 && context.nextUnit() < missRate
    }

    private func checkCapacity(_ context: PluginContext) {
        if !overCapacity, countedOccupancy > capacity {
            overCapacity = true
            context.emit(event: "over-capacity", [PluginReading("occupancy", .int(countedOccupancy), truth: .int(peopleInside))])
        } else if overCapacity, countedOccupancy <= capacity {
            overCapacity = false
            context.emit(event: "capacity-ok", [PluginReading("occupancy", .int(countedOccupancy), truth: .int(peopleInside))])
        }
    }

    private func scheduleNextMovement(_ context: PluginContext) {
        movementGeneration &+= 1
        let rate = arrivalsPerSecond + Double(peopleInside) / meanStaySeconds
        // Nobody inside and nobody coming: wait for a crowd stimulus to start things again.
        guard rate > 0 else { return }
        context.schedule(
            afterSeconds: context.nextExponential(mean: 1 / rate),
            tag: Timer.movement.rawValue | (movementGeneration & 0xFF_FFFF) << 8)
    }

    private func readings() -> [PluginReading] {
        [
            PluginReading("count_in", .int(countedIn), truth: .int(trueIn)),
            PluginReading("count_out", .int(countedOut), truth: .int(trueOut)),
            PluginReading("occupancy", .int(countedOccupancy), truth: .int(peopleInside)),
        ]
    }
}
