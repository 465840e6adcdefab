import ParkPluginKit

/// One access-controlled door: the state machine behind ``DoorKind``.
///
/// Two things are tracked apart, as a real door controller sees them: the lock (`locked`,
/// driven by commands, the exit button and the relock timer) and the door contact (`open`,
/// driven by the harness's `open` and `close`). The door starts locked and closed.
///
/// An unlock (the `unlock` command or the exit button) releases the lock at once and relocks
/// it after its duration. Each unlock replaces the one before: the latest decides when the
/// door relocks, and each is reported, since each says who let someone through. A lock bolt
/// cannot be thrown into an open door, so a relock (or a `lock` command) that falls due while
/// the door is open waits for it to close; an unlock in the meantime cancels the waiting relock.
///
/// The door contact opening while the lock is engaged is a forced entry: `forced-open`, then
/// the usual `opened`. Every opening starts the held-open timer; a door still open
/// `held_open_time` later raises `held-open` (once per opening), and closing it stops the timer.
///
/// Timers cannot be cancelled, so relock and held-open timers carry a generation in their tag's
/// upper bits; anything that changes the plan starts a new generation and the old timers are
/// ignored when they fire.
final class Door: PluginDevice {
    typealias Timer = DoorKind.Timer

    private let unlockTime: UInt64
    private let heldOpenTime: UInt64
    private let heartbeat: PluginHeartbeat

    private var locked = true
    private var open = false
    /// A relock fell due (or `lock` was sent) while the door was open: lock when it closes.
    private var relockWhenClosed = false
    private var relockGeneration: UInt32 = 0
    private var heldOpenGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF

    init(config: PluginDeviceConfig) throws {
        unlockTime = try config.duration("unlock_time")
        heldOpenTime = try config.duration("held_open_time")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard unlockTime > 0, heldOpenTime > 0 else {
            throw PluginDeviceError(
                "device '\(config.id)': unlock_time and held_open_time must be longer than zero")
        }
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let generation = tag >> 8
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [lockedReading, openReading])
        case .relock:
            guard generation == relockGeneration & Self.generationMask, !locked else { return }
            lockOrWait(context)
        case .heldOpen:
            guard generation == heldOpenGeneration & Self.generationMask, open else { return }
            context.emit(event: "held-open", [openReading, lockedReading])
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "open":
            // Already open: the contact cannot open twice, and the held-open timer keeps running.
            guard !open else { return }
            open = true
            if locked { context.emit(event: "forced-open", [openReading, lockedReading]) }
            context.emit(event: "opened", [openReading, lockedReading])
            heldOpenGeneration &+= 1
            context.schedule(afterNanoseconds: heldOpenTime, tag: Self.tag(.heldOpen, heldOpenGeneration))
        case "close":
            guard open else { return }
            open = false
            heldOpenGeneration &+= 1
            context.emit(event: "closed", [openReading, lockedReading])
            if relockWhenClosed { lockNow(context) }
        case "exit-button":
            unlock(for: unlockTime, by: "exit-button", context)
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("door has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        switch command.name {
        case "unlock":
            let duration: UInt64
            do throws(PluginDeviceError) {
                duration = try command.duration("duration", default: unlockTime)
            } catch {
                return PluginCommandResult(.rejected(reason: error.message), readings: state)
            }
            guard duration > 0 else {
                return PluginCommandResult(.rejected(reason: "unlock: 'duration' must be longer than 0s"), readings: state)
            }
            unlock(for: duration, by: "command", context)
        case "lock":
            // A new generation: the pending relock has nothing left to do.
            relockGeneration &+= 1
            if !locked { lockOrWait(context) }
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return .rejected("door does not know the command '\(command.name)'")
        }
        return .accepted(readings: state)
    }

    // MARK: Behaviour

    private var lockedReading: PluginReading { PluginReading("locked", .bool(locked)) }
    private var openReading: PluginReading { PluginReading("open", .bool(open)) }
    /// What a command is answered with.
    private var state: [PluginReading] { [lockedReading, openReading] }

    private func unlock(for duration: UInt64, by: String, _ context: PluginContext) {
        locked = false
        relockWhenClosed = false
        relockGeneration &+= 1
        context.emit(event: "unlocked", [lockedReading, PluginReading("by", .string(by))])
        context.schedule(afterNanoseconds: duration, tag: Self.tag(.relock, relockGeneration))
    }

    /// Locks now if the door is closed, else as soon as it closes.
    private func lockOrWait(_ context: PluginContext) {
        if open {
            relockWhenClosed = true
        } else {
            lockNow(context)
        }
    }

    private func lockNow(_ context: PluginContext) {
        relockWhenClosed = false
        guard !locked else { return }
        locked = true
        context.emit(event: "locked", [lockedReading])
    }

    /// A timer tag: the timer in the low byte, the generation's low 24 bits above it.
    private static func tag(_ timer: Timer, _ generation: UInt32) -> UInt32 {
        timer.rawValue | (generation & generationMask) << 8
    }
}
