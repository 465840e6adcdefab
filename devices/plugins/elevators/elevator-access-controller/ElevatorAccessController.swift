import ParkPluginKit

/// One elevator access controller: the state machine behind ``ElevatorAccessControllerKind``.
///
/// The controller is in free mode (every floor button works) while at least one reason for it
/// holds, and controlled otherwise. There are three reasons, kept apart because each ends
/// differently:
///
/// - `fire`: the fire alarm's signal. It holds until the platform sends `restore`.
/// - `fault`: a communication fault that lasted `fallback_time` (004 L2396: "about 10 s"). It
///   ends by itself with `comm-restore`, or with `restore` once the link is back.
/// - `command`: the platform's `free-mode`. It holds until `restore`.
///
/// `free-mode` is emitted when the controller leaves controlled mode, with the reason that made
/// it; `controlled` when it returns. A reason added while already free changes no mode and emits
/// nothing, so a platform sees one event per mode change. `restore` is refused while the link is
/// down (a pending fallback included): a controller that cannot reach its server cannot be
/// controlled.
///
/// Timers cannot be cancelled, so the fallback timer carries the communication fault's
/// generation in its tag's upper bits; a `comm-restore` starts a new generation.
final class ElevatorAccessController: PluginDevice {
    typealias Timer = ElevatorAccessControllerKind.Timer

    /// Why the controller is in free mode, as reported in `reason`.
    enum Reason: String {
        case fire, fault, command
    }

    private let fallbackTime: UInt64
    private let heartbeat: PluginHeartbeat

    private var reasons: Set<Reason> = []
    /// The link to the server or board is down.
    private var commFault = false
    private var faultGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF
    /// The floors an authorisation may name.
    private static let floors: ClosedRange<Int64> = 1 ... 200

    init(config: PluginDeviceConfig) throws {
        fallbackTime = try config.duration("fallback_time")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [modeReading])
        case .fallback:
            guard tag >> 8 == faultGeneration & Self.generationMask, commFault else { return }
            enterFree(.fault, context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "fire-signal":
            enterFree(.fire, context)
        case "comm-fault":
            // Already down: the fallback from the first fault is still on its way.
            guard !commFault else { return }
            commFault = true
            faultGeneration &+= 1
            context.schedule(
                afterNanoseconds: fallbackTime, tag: Timer.fallback.rawValue | (faultGeneration & Self.generationMask) << 8)
        case "comm-restore":
            guard commFault else { return }
            commFault = false
            faultGeneration &+= 1
            guard reasons.remove(.fault) != nil, reasons.isEmpty else { return }
            context.emit(event: "controlled", [modeReading])
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("elevator-access-controller has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        switch command.name {
        case "authorize":
            let floor: Int64
            do { floor = try command.int("floor") } catch { return rejected(error.message) }
            guard Self.floors.contains(floor) else { return rejected("floor \(floor) is outside 1…200") }
            // In free mode every floor is free anyway; the authorisation is still reported.
            context.emit(event: "floor-authorized", [PluginReading("floor", .int(floor)), modeReading])
            return .accepted(readings: [PluginReading("floor", .int(floor)), modeReading])
        case "free-mode":
            enterFree(.command, context)
        case "restore":
            guard !commFault else { return rejected("communication fault: the link is still down") }
            let wasFree = !reasons.isEmpty
            reasons.removeAll()
            if wasFree { context.emit(event: "controlled", [modeReading]) }
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return rejected("elevator-access-controller does not know the command '\(command.name)'")
        }
        return .accepted(readings: [modeReading])
    }

    // MARK: Behaviour

    private var mode: String { reasons.isEmpty ? "controlled" : "free" }
    private var modeReading: PluginReading { PluginReading("mode", .string(mode)) }

    private func rejected(_ reason: String) -> PluginCommandResult {
        PluginCommandResult(.rejected(reason: reason), readings: [modeReading])
    }

    /// Adds a reason for free mode; emits `free-mode` only when that changes the mode.
    private func enterFree(_ reason: Reason, _ context: PluginContext) {
        let wasControlled = reasons.isEmpty
        reasons.insert(reason)
        guard wasControlled else { return }
        context.emit(event: "free-mode", [modeReading, PluginReading("reason", .string(reason.rawValue))])
    }
}
