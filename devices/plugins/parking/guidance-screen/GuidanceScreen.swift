import ParkPluginKit

/// One LED parking guidance screen: the behaviour behind ``GuidanceScreenKind``.
///
/// The screen has one panel per direction, the model's first `directions` of ahead, left and
/// right. `show` and `blank` are accepted at once and the panel changes `refresh_time` later,
/// when `shown` reports what it now shows (-1 for blank). A panel shows only the latest
/// command: one that arrives before the previous one for the same panel was shown replaces it,
/// so a platform that updates faster than the screen refreshes sees only its last number
/// appear. Panels refresh independently, so a platform may update all directions at once.
///
/// A `fault` (the LED module fails) drops whatever is pending and rejects commands with
/// "screen fault" until `repair`; the screen does not report the fault itself, as a plain LED
/// screen cannot, so a platform learns of it from the rejections.
///
/// Timers cannot be cancelled, so each panel's refresh timer carries the panel's generation in
/// its tag; a newer command for the panel, or a fault, starts a new generation.
final class GuidanceScreen: PluginDevice {
    typealias Timer = GuidanceScreenKind.Timer

    private let directions: [String]
    private let refreshTime: UInt64
    private let heartbeat: PluginHeartbeat

    private var inFault = false
    /// What each panel will show when its pending refresh fires.
    private var pending: [Int64]
    /// Each panel's generation: the one its latest refresh timer carries.
    private var generations: [UInt32]

    private static let generationMask: UInt32 = 0xFFFF
    /// The numbers a panel can show (five digits).
    private static let shownRange: ClosedRange<Int64> = 0 ... 99_999
    /// What a blank panel reports as `free`.
    private static let blank: Int64 = -1

    init(config: PluginDeviceConfig) throws {
        let count = try config.int("directions")
        refreshTime = try config.duration("refresh_time")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard (1 ... 3).contains(count) else {
            throw PluginDeviceError("device '\(config.id)': directions must be between 1 and 3, got \(count)")
        }
        guard refreshTime > 0 else {
            throw PluginDeviceError("device '\(config.id)': refresh_time must be longer than zero")
        }
        directions = Array(GuidanceScreenKind.allDirections.prefix(Int(count)))
        pending = Array(repeating: Self.blank, count: Int(count))
        generations = Array(repeating: 0, count: Int(count))
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context)
        case .refresh:
            let index = Int(tag >> 8 & 0xFF)
            guard index < directions.count, tag >> 16 == generations[index] & Self.generationMask, !inFault else { return }
            context.emit(event: "shown", readings(pending[index], index))
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "fault":
            guard !inFault else { return }
            inFault = true
            // A dead module shows nothing it was still about to show.
            for index in generations.indices { generations[index] &+= 1 }
        case "repair":
            inFault = false
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("guidance-screen has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        guard command.name == "show" || command.name == "blank" else {
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return .rejected("guidance-screen does not know the command '\(command.name)'")
        }
        guard !inFault else { return .rejected("screen fault") }
        let direction: String
        let free: Int64
        do {
            direction = try command.string("direction", default: "ahead")
            free = command.name == "show" ? try command.int("free") : Self.blank
        } catch {
            return .rejected(error.message)
        }
        guard let index = directions.firstIndex(of: direction) else {
            return .rejected("\(command.name): 'direction' must be one of \(directions.joined(separator: ", ")), got '\(direction)'")
        }
        if command.name == "show", !Self.shownRange.contains(free) {
            return .rejected("show: 'free' must be between 0 and 99999, got \(free)")
        }
        pending[index] = free
        generations[index] &+= 1
        context.schedule(
            afterNanoseconds: refreshTime,
            tag: Timer.refresh.rawValue | UInt32(index) << 8 | (generations[index] & Self.generationMask) << 16)
        return .accepted(readings: readings(free, index))
    }

    // MARK: Behaviour

    private func readings(_ free: Int64, _ index: Int) -> [PluginReading] {
        [PluginReading("free", .int(free)), PluginReading("direction", .string(directions[index]))]
    }
}
