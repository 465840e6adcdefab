import ParkPluginKit

/// One boom barrier: the state machine behind ``BarrierKind``.
///
/// The arm's height is a fraction, 0 down and 1 up, that moves linearly: a full rise takes
/// `rise_time`, a full fall `fall_time`. A movement that starts part way (open while falling,
/// close while rising, an obstacle reversing a fall) takes the proportional remaining time,
/// because a real arm reverses from where it is rather than starting its travel again; from
/// fully down, `raised` comes exactly `rise_time` after `open`.
///
/// Once up, the arm lowers by itself `auto_close` after it was raised, or after the last
/// vehicle passed under it, or after an `open` while up, whichever is latest: a lane must not
/// stay open after the vehicle it was opened for has gone.
///
/// An `obstacle` while falling reverses the arm at once. One that arrives at any other time
/// stays pending and reverses the next lowering halfway down, as a loop or photo-eye stops an
/// arm coming down onto a car; it is used up by that one reversal, so the following auto-close
/// lowers the arm (the harness sends `obstacle` again if something is still there).
///
/// A ram or motor fault stops the arm; it is reported at the nearer end (down or up), since
/// it will not move again until repaired. In fault `open` and `close` are rejected; `repair`
/// leaves the arm down.
///
/// Timers cannot be cancelled, so movement and auto-close timers carry a generation in their
/// tag's upper bits; anything that changes the arm's course starts a new generation and the
/// old timers are ignored when they fire.
final class Barrier: PluginDevice {
    typealias Timer = BarrierKind.Timer

    /// Where the arm is, as reported in `position`.
    enum Position: String {
        case down, rising, up, falling
    }

    private let riseTime: UInt64
    private let fallTime: UInt64
    private let autoClose: UInt64
    private let heartbeat: PluginHeartbeat

    private var position = Position.down
    /// The arm's height when the current movement started, and when it started (ns).
    private var movementStartHeight: Double = 0
    private var movementStart: UInt64 = 0
    private var inFault = false
    private var obstaclePending = false
    private var opens: Int64 = 0
    private var vehiclesPassed: Int64 = 0
    private var motionGeneration: UInt32 = 0
    private var autoCloseGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF

    init(config: PluginDeviceConfig) throws {
        riseTime = try config.duration("rise_time")
        fallTime = try config.duration("fall_time")
        autoClose = try config.duration("auto_close")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard riseTime > 0, fallTime > 0 else {
            throw PluginDeviceError("device '\(config.id)': rise_time and fall_time must be longer than zero")
        }
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let generation = tag >> 8
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [positionReading])
        case .motion:
            guard generation == motionGeneration & Self.generationMask else { return }
            finishMovement(context)
        case .obstacle:
            guard generation == motionGeneration & Self.generationMask, position == .falling else { return }
            reverse(context)
        case .autoClose:
            guard generation == autoCloseGeneration & Self.generationMask, position == .up, !inFault else { return }
            startFalling(context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "pass":
            vehiclePassed(context)
        case "obstacle":
            if position == .falling, !inFault {
                reverse(context)
            } else {
                obstaclePending = true
            }
        case "ram":
            // Nothing to break through while the arm is up: the vehicle simply drives through.
            guard position != .up else {
                vehiclePassed(context)
                return
            }
            vehiclesPassed += 1
            stop(context)
            // Reported even when already in fault: each break-through is damage someone must see.
            inFault = true
            context.emit(event: "rammed", [positionReading, PluginReading("vehicles_passed", .int(vehiclesPassed))])
        case "fault":
            // A second fault while in fault says nothing new; the platform already has one.
            guard !inFault else { return }
            stop(context)
            inFault = true
            context.emit(event: "fault", [positionReading])
        case "repair":
            guard inFault else { return }
            inFault = false
            obstaclePending = false
            position = .down
            movementStartHeight = 0
            context.emit(event: "fault-cleared", [positionReading])
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("barrier has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        guard command.name == "open" || command.name == "close" else {
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return .rejected("barrier does not know the command '\(command.name)'")
        }
        guard !inFault else { return PluginCommandResult(.rejected(reason: "barrier in fault"), readings: [positionReading]) }
        switch (command.name, position) {
        case ("open", .down), ("open", .falling):
            startRising(context)
        case ("open", .up):
            // No second `raised`: the platform asked again (a retry, or the next car in a queue),
            // so the lane stays open auto_close from now.
            startAutoClose(context)
        case ("close", .up), ("close", .rising):
            startFalling(context)
        default:
            // open while rising, close while down or falling: already on its way.
            break
        }
        return .accepted(readings: [positionReading])
    }

    // MARK: Behaviour

    private var positionReading: PluginReading { PluginReading("position", .string(position.rawValue)) }

    /// The arm's height now, 0 down to 1 up.
    private func height(_ context: PluginContext) -> Double {
        let elapsed = Double(context.now &- movementStart)
        switch position {
        case .down: return 0
        case .up: return 1
        case .rising: return min(1, movementStartHeight + elapsed / Double(riseTime))
        case .falling: return max(0, movementStartHeight - elapsed / Double(fallTime))
        }
    }

    private func vehiclePassed(_ context: PluginContext) {
        vehiclesPassed += 1
        if position == .up, !inFault { startAutoClose(context) }
    }

    private func startRising(_ context: PluginContext) {
        let from = height(context)
        begin(.rising, from: from, context)
        context.schedule(afterNanoseconds: Self.nanoseconds((1 - from) * Double(riseTime)), tag: Self.tag(.motion, motionGeneration))
    }

    private func startFalling(_ context: PluginContext) {
        let from = height(context)
        begin(.falling, from: from, context)
        if obstaclePending {
            obstaclePending = false
            context.schedule(afterNanoseconds: Self.nanoseconds(from / 2 * Double(fallTime)), tag: Self.tag(.obstacle, motionGeneration))
        } else {
            context.schedule(afterNanoseconds: Self.nanoseconds(from * Double(fallTime)), tag: Self.tag(.motion, motionGeneration))
        }
    }

    /// An obstacle stops the fall: the arm goes back up from where it is.
    private func reverse(_ context: PluginContext) {
        startRising(context)
        context.emit(event: "obstacle", [positionReading])
    }

    private func begin(_ movement: Position, from height: Double, _ context: PluginContext) {
        position = movement
        movementStartHeight = height
        movementStart = context.now
        motionGeneration &+= 1
        // A moving arm is not waiting to close.
        autoCloseGeneration &+= 1
    }

    private func finishMovement(_ context: PluginContext) {
        switch position {
        case .rising:
            position = .up
            opens += 1
            context.emit(event: "raised", [positionReading, PluginReading("opens", .int(opens))])
            startAutoClose(context)
        case .falling:
            position = .down
            context.emit(event: "lowered", [positionReading, PluginReading("vehicles_passed", .int(vehiclesPassed))])
        case .down, .up:
            return
        }
    }

    private func startAutoClose(_ context: PluginContext) {
        autoCloseGeneration &+= 1
        guard autoClose > 0 else { return }
        context.schedule(afterNanoseconds: autoClose, tag: Self.tag(.autoClose, autoCloseGeneration))
    }

    /// The arm stops for good (ram or fault): pending movement and auto-close timers go stale,
    /// and a moving arm is reported at the nearer end, so `position` never says "rising" about
    /// an arm that will not arrive.
    private func stop(_ context: PluginContext) {
        if position == .rising || position == .falling {
            position = height(context) < 0.5 ? .down : .up
        }
        motionGeneration &+= 1
        autoCloseGeneration &+= 1
    }

    /// A timer tag: the timer in the low byte, the generation's low 24 bits above it.
    private static func tag(_ timer: Timer, _ generation: UInt32) -> UInt32 {
        timer.rawValue | (generation & generationMask) << 8
    }

    private static func nanoseconds(_ value: Double) -> UInt64 {
        value.isFinite && value > 0 ? UInt64(value.rounded()) : 0
    }
}
