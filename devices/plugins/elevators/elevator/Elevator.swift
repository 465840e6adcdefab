import ParkPluginKit

/// One passenger elevator: the state machine behind ``ElevatorKind``.
///
/// Calls (hall calls from the platform, car calls from passengers) go into a first-in,
/// first-out queue of target floors, each floor once. The car takes the first, travels there
/// one floor per `floor_time`, emits `arrived`, opens its doors over `door_time`
/// (`door-opened`), keeps them open `dwell_time`, closes them over `door_time`
/// (`door-closed`), then takes the next. A call for the floor the car stands at with its doors
/// closed just cycles the doors (with `arrived`, so a caller sees the car is there); one for
/// the floor it is travelling to, or standing at with its doors opening or open, is already
/// being served. Serving strictly in call order rather than collecting calls on the way keeps
/// every stop time a sum a test can compute.
///
/// The doors move linearly like the barrier's arm: a door turned round part way (fire homing
/// while they open, or at the ground floor while they close) takes the proportional time back.
///
/// The status is derived from what is going on, most serious first: `trapped`, `fault` (one or
/// more of door-fault, overspeed), `fire`, `maintenance`, `normal`. Calls are accepted only in
/// `normal`.
///
/// - Fire homing cancels every call and sends the car straight to `ground_floor`: a car
///   travelling away from it stops at the next floor and comes back (doors staying closed), one
///   with doors open closes them first. At the ground floor the doors open and stay open, and
///   `fire-homed` is emitted once. `restore` returns to normal and closes the doors.
/// - Maintenance clears the queue; the car finishes the trip or door cycle it is in and then
///   waits.
/// - A trap or a fault stops the car where it is (a trap with its doors closed, a fault with
///   doors moving reported at the nearer end). After `release` or `repair` the car carries on:
///   it resumes fire homing if the fire is still on, otherwise closes any open doors and waits.
///
/// Timers cannot be cancelled, so the one motion timer pending at any time (travel, door or
/// dwell) carries a generation in its tag's upper bits; every new motion step and every stop
/// starts a new generation. Fire homing while travelling keeps the pending travel timer and
/// only changes the target, so the car never jumps ahead or loses a partly travelled floor.
final class Elevator: PluginDevice {
    typealias Timer = ElevatorKind.Timer

    enum Direction: String {
        case up, down, idle
    }

    enum Door: String {
        case open, closed, opening, closing
    }

    enum Status: String {
        case normal, fire, maintenance, fault, trapped
    }

    private let floors: Int64
    private let groundFloor: Int64
    private let floorTime: UInt64
    private let doorTime: UInt64
    private let dwellTime: UInt64
    private let reportInterval: UInt64
    private let heartbeat: PluginHeartbeat

    /// The floor the car is at, or last passed while travelling.
    private var floor: Int64
    private var direction = Direction.idle
    private var door = Door.closed
    /// Where the car is travelling; nil while it stands.
    private var target: Int64?
    /// Floors called and not yet served, in call order.
    private var queue: [Int64] = []
    /// How far open the doors were (0 closed, 1 open) when their current movement started, and when.
    private var doorStartOpenness: Double = 0
    private var doorStart: UInt64 = 0

    private var fire = false
    private var maintenance = false
    private var trapped = false
    /// Active faults (event names); each is reported once until repaired.
    private var faults: Set<String> = []
    /// `fire-homed` has been emitted for the car standing at the ground floor with doors open.
    private var homed = false
    private var motionGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF

    init(config: PluginDeviceConfig) throws {
        floors = try config.int("floors")
        groundFloor = try config.int("ground_floor")
        floor = try config.int("start_floor")
        floorTime = try config.duration("floor_time")
        doorTime = try config.duration("door_time")
        dwellTime = try config.duration("dwell_time")
        reportInterval = try config.duration("report_interval")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard floors >= 2 else {
            throw PluginDeviceError("device '\(config.id)': floors must be at least 2, got \(floors)")
        }
        guard (1 ... floors).contains(groundFloor), (1 ... floors).contains(floor) else {
            throw PluginDeviceError(
                "device '\(config.id)': ground_floor (\(groundFloor)) and start_floor (\(floor)) must be between 1 and floors (\(floors))")
        }
        guard floorTime > 0, doorTime > 0, reportInterval > 0 else {
            throw PluginDeviceError(
                "device '\(config.id)': floor_time, door_time and report_interval must be longer than zero")
        }
    }

    func start(_ context: PluginContext) {
        // Random first phases keep a building's elevators from reporting in lock step.
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(reportInterval)), tag: Timer.report.rawValue)
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let current = tag >> 8 == motionGeneration & Self.generationMask
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [statusReading])
        case .report:
            context.emit(telemetry: [floorReading, PluginReading("direction", .string(direction.rawValue)), doorReading, statusReading])
            context.schedule(afterNanoseconds: reportInterval, tag: Timer.report.rawValue)
        case .travel:
            guard current else { return }
            travelledOneFloor(context)
        case .door:
            guard current else { return }
            doorsFinished(context)
        case .dwell:
            guard current, door == .open else { return }
            closeDoors(context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "car-call":
            let called = try stimulus.int("floor")
            guard (1 ... floors).contains(called) else {
                throw PluginDeviceError("car-call: 'floor' must be between 1 and \(floors), got \(called)")
            }
            // Out of normal service the car's buttons do nothing.
            guard status == .normal else { return }
            enqueue(called, context)
        case "trapped":
            guard !trapped else { return }
            trapped = true
            stop(doorsClosed: true, context)
            context.emit(event: "trapped", [floorReading])
        case "release":
            guard trapped else { return }
            trapped = false
            context.emit(event: "released", [floorReading])
            resume(context)
        case "door-fault", "overspeed":
            // The same fault again says nothing new; the platform already has it.
            guard !faults.contains(stimulus.name) else { return }
            faults.insert(stimulus.name)
            stop(doorsClosed: false, context)
            context.emit(event: stimulus.name, [floorReading])
        case "repair":
            guard !faults.isEmpty else { return }
            faults.removeAll()
            context.emit(event: "fault-cleared", [floorReading])
            resume(context)
        case "emergency-call":
            context.emit(event: "emergency-call", [floorReading])
        case "maintenance":
            let on = try stimulus.bool("on")
            guard on != maintenance else { return }
            maintenance = on
            // The car finishes what it is doing; nothing called before is served.
            if on { queue.removeAll() }
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("elevator has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        switch command.name {
        case "call":
            let called: Int64
            do { called = try command.int("floor") } catch { return rejected(error.message) }
            if let reason = callsRefused { return rejected(reason) }
            guard (1 ... floors).contains(called) else { return rejected("floor \(called) is outside 1…\(floors)") }
            enqueue(called, context)
        case "fire-homing":
            switch status {
            case .trapped: return rejected("passengers trapped: the car cannot move")
            case .fault: return rejected("elevator in fault: the car cannot move")
            case .fire: break  // already homing or homed
            case .normal, .maintenance: startFireHoming(context)
            }
        case "restore":
            switch status {
            case .trapped: return rejected("passengers trapped: release them first")
            case .fault: return rejected("elevator in fault: repair it first")
            case .normal: break
            case .fire, .maintenance:
                // Doors held open by fire homing close; a maintenance stop's dwell closes them anyway.
                let heldOpen = fire && direction == .idle && door == .open
                fire = false
                maintenance = false
                homed = false
                if heldOpen { closeDoors(context) }
            }
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return rejected("elevator does not know the command '\(command.name)'")
        }
        return .accepted(readings: answerReadings)
    }

    // MARK: Behaviour

    var status: Status {
        if trapped { .trapped } else if !faults.isEmpty { .fault } else if fire { .fire } else if maintenance { .maintenance } else { .normal }
    }

    /// Why calls are refused now; nil in normal service.
    private var callsRefused: String? {
        switch status {
        case .normal: nil
        case .fire: "elevator in fire mode"
        case .maintenance: "elevator in maintenance"
        case .fault: "elevator in fault"
        case .trapped: "passengers trapped"
        }
    }

    private var floorReading: PluginReading { PluginReading("floor", .int(floor)) }
    private var doorReading: PluginReading { PluginReading("door", .string(door.rawValue)) }
    private var statusReading: PluginReading { PluginReading("status", .string(status.rawValue)) }
    private var answerReadings: [PluginReading] { [floorReading, statusReading] }

    private func rejected(_ reason: String) -> PluginCommandResult {
        PluginCommandResult(.rejected(reason: reason), readings: answerReadings)
    }

    private var standing: Bool { direction == .idle }

    /// Queues a call unless it is already being served or waiting; starts at once if idle.
    private func enqueue(_ called: Int64, _ context: PluginContext) {
        if !standing, target == called { return }
        if standing, floor == called, door == .opening || door == .open { return }
        if queue.contains(called) { return }
        queue.append(called)
        proceed(context)
    }

    /// The car stands with its doors closed: what next.
    private func proceed(_ context: PluginContext) {
        guard standing, door == .closed else { return }
        switch status {
        case .trapped, .fault:
            return
        case .fire:
            if floor == groundFloor { openDoors(context) } else { travel(to: groundFloor, context) }
        case .normal, .maintenance:
            guard !queue.isEmpty else { return }
            let next = queue.removeFirst()
            if next == floor {
                context.emit(event: "arrived", [floorReading])
                openDoors(context)
            } else {
                travel(to: next, context)
            }
        }
    }

    private func travel(to destination: Int64, _ context: PluginContext) {
        target = destination
        direction = destination > floor ? .up : .down
        motionGeneration &+= 1
        context.schedule(afterNanoseconds: floorTime, tag: tag(.travel))
    }

    private func travelledOneFloor(_ context: PluginContext) {
        guard let target, !standing else { return }
        floor += direction == .up ? 1 : -1
        if floor == target {
            direction = .idle
            self.target = nil
            context.emit(event: "arrived", [floorReading])
            openDoors(context)
        } else {
            // Usually the same direction; after fire homing retargeted the car, the way back.
            direction = target > floor ? .up : .down
            context.schedule(afterNanoseconds: floorTime, tag: tag(.travel))
        }
    }

    /// How far open the doors are now, 0 closed to 1 open.
    private func openness(_ context: PluginContext) -> Double {
        let elapsed = Double(context.now &- doorStart) / Double(doorTime)
        switch door {
        case .closed: return 0
        case .open: return 1
        case .opening: return min(1, doorStartOpenness + elapsed)
        case .closing: return max(0, doorStartOpenness - elapsed)
        }
    }

    private func openDoors(_ context: PluginContext) {
        let from = openness(context)
        moveDoors(.opening, from: from, context)
        context.schedule(afterNanoseconds: Self.nanoseconds((1 - from) * Double(doorTime)), tag: tag(.door))
    }

    private func closeDoors(_ context: PluginContext) {
        let from = openness(context)
        moveDoors(.closing, from: from, context)
        homed = false
        context.schedule(afterNanoseconds: Self.nanoseconds(from * Double(doorTime)), tag: tag(.door))
    }

    private func moveDoors(_ movement: Door, from: Double, _ context: PluginContext) {
        door = movement
        doorStartOpenness = from
        doorStart = context.now
        motionGeneration &+= 1
    }

    private func doorsFinished(_ context: PluginContext) {
        switch door {
        case .opening:
            door = .open
            context.emit(event: "door-opened", [floorReading])
            if fire {
                // Fire homing never stops anywhere else; should it have, the doors close again.
                if floor == groundFloor { markHomed(context) } else { closeDoors(context) }
            } else {
                motionGeneration &+= 1
                context.schedule(afterNanoseconds: dwellTime, tag: tag(.dwell))
            }
        case .closing:
            door = .closed
            context.emit(event: "door-closed", [floorReading])
            proceed(context)
        case .open, .closed:
            return
        }
    }

    private func markHomed(_ context: PluginContext) {
        guard !homed else { return }
        homed = true
        context.emit(event: "fire-homed", [floorReading, doorReading])
    }

    /// Fire homing from normal service or maintenance: calls cancelled, straight to the ground floor.
    private func startFireHoming(_ context: PluginContext) {
        fire = true
        homed = false
        queue.removeAll()
        guard standing else {
            // Keep the travel timer: the car reaches the next floor and carries on, or turns back.
            target = groundFloor
            return
        }
        switch door {
        case .closed:
            proceed(context)
        case .opening:
            // At the ground floor the doors just finish opening; elsewhere they turn round.
            if floor != groundFloor { closeDoors(context) }
        case .open:
            if floor == groundFloor {
                motionGeneration &+= 1  // no dwell: the doors stay open
                markHomed(context)
            } else {
                closeDoors(context)
            }
        case .closing:
            // Elsewhere they finish closing and the car leaves; at the ground floor they reopen.
            if floor == groundFloor { openDoors(context) }
        }
    }

    /// A trap or fault: the car stops where it is and forgets its calls.
    private func stop(doorsClosed: Bool, _ context: PluginContext) {
        if doorsClosed {
            door = .closed
        } else if door == .opening || door == .closing {
            door = openness(context) < 0.5 ? .closed : .open
        }
        if door != .open { homed = false }
        motionGeneration &+= 1
        queue.removeAll()
        target = nil
        direction = .idle
    }

    /// After a release or repair: carry on fire homing, or close the doors and wait.
    private func resume(_ context: PluginContext) {
        guard status != .trapped, status != .fault else { return }
        if door == .open {
            if fire, floor == groundFloor { markHomed(context) } else { closeDoors(context) }
        } else {
            proceed(context)
        }
    }

    /// A motion timer tag: the timer in the low byte, the current generation's low 24 bits above it.
    private func tag(_ timer: Timer) -> UInt32 {
        timer.rawValue | (motionGeneration & Self.generationMask) << 8
    }

    private static func nanoseconds(_ value: Double) -> UInt64 {
        value.isFinite && value > 0 ? UInt64(value.rounded()) : 0
    }
}
