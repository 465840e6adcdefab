import ParkPluginKit

/// One video intercom indoor unit: the state machine behind ``IntercomKind``.
///
/// The unit is idle, ringing or talking. A `ring` makes an idle unit ring (`ringing`) and
/// decides at once, from the context's random stream, whether the resident will answer: with
/// probability `answer_rate` they answer `answer_time ± answer_jitter` later (uniform, never
/// under 1 ms) — `answered`, talking — unless that is no sooner than `ring_timeout`; otherwise
/// the unit rings for `ring_timeout` and gives up (`missed-call`, idle). The harness may also
/// answer at once (`answer`). A unit that is ringing or talking is busy and refuses a ring.
///
/// While talking, the resident may press unlock (`open-door`): `door-open-request` for the
/// platform, then the unit hangs up (`hung-up`, idle), as real units do once the door is
/// opened. `hang-up` ends a ringing or talking call; the lift button (`call-elevator`) works in
/// any state and reports the flat's floor.
///
/// The unit's floor is the park file's floor if it gives one, else the `floor` parameter; its
/// flat is the `flat` parameter, else the device id. Timers cannot be cancelled, so answer
/// and ring-timeout timers carry the call's generation in their tag's upper bits: every change
/// of call state starts a new generation and older timers are ignored when they fire.
final class Intercom: PluginDevice {
    typealias Timer = IntercomKind.Timer

    private enum State: String {
        case idle, ringing, talking
    }

    private let floor: Int64
    private let flat: String
    private let answerTime: Double
    private let answerJitter: Double
    private let answerRate: Double
    private let ringTimeout: UInt64
    private let heartbeat: PluginHeartbeat

    private var state = State.idle
    /// Who is calling or talking; nil when idle.
    private var caller: String?
    private var callGeneration: UInt32 = 0

    /// The shortest answer: a resident never answers in zero time, and a zero delay would let
    /// `answered` overtake the `ring` that caused it in the ledger's order.
    private static let minimumAnswer: Double = 1_000_000
    private static let generationMask: UInt32 = 0xFF_FFFF
    static let defaultCaller = "door-station"

    init(config: PluginDeviceConfig) throws {
        floor = try config.floor.map(Int64.init) ?? config.int("floor")
        let flat = try config.string("flat")
        self.flat = flat.allSatisfy(\.isWhitespace) ? config.id : flat
        answerTime = Double(try config.duration("answer_time"))
        answerJitter = Double(try config.duration("answer_jitter"))
        answerRate = try config.double("answer_rate")
        ringTimeout = try config.duration("ring_timeout")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)
        guard ringTimeout > 0 else {
            throw PluginDeviceError("device '\(config.id)': ring_timeout must be longer than zero")
        }
        guard (0 ... 1).contains(answerRate) else {
            throw PluginDeviceError("device '\(config.id)': answer_rate must be between 0 and 1")
        }
    }

    func start(_ context: PluginContext) {
        heartbeat.start(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let generation = tag >> 8
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [stateReading])
        case .answer:
            guard generation == callGeneration & Self.generationMask, state == .ringing else { return }
            answer(context)
        case .ringTimeout:
            guard generation == callGeneration & Self.generationMask, state == .ringing else { return }
            let missed = callerReading
            endCall()
            context.emit(event: "missed-call", [missed])
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "ring":
            try ring(stimulus, context)
        case "answer":
            guard state == .ringing else {
                throw PluginDeviceError("answer: the unit is not ringing (it is \(state.rawValue))")
            }
            answer(context)
        case "open-door":
            guard state == .talking else {
                throw PluginDeviceError("open-door: the resident is not talking to anyone (the unit is \(state.rawValue))")
            }
            context.emit(event: "door-open-request", [floorReading, flatReading, callerReading])
            hangUp(context)
        case "hang-up":
            // Nothing to hang up when idle: nothing happens, as with a handset already down.
            if state != .idle { hangUp(context) }
        case "call-elevator":
            context.emit(event: "elevator-call", [floorReading, flatReading])
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("intercom has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        switch command.name {
        case "message":
            // Shown on the screen: the platform is told it arrived, nothing else happens.
            guard case .string? = command.arguments["text"] else {
                return .rejected("message: needs 'text' (a string)")
            }
            return .accepted
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return .rejected("intercom does not know the command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    private var floorReading: PluginReading { PluginReading("floor", .int(floor)) }
    private var flatReading: PluginReading { PluginReading("flat", .string(flat)) }
    private var callerReading: PluginReading { PluginReading("caller", .string(caller ?? "")) }
    private var stateReading: PluginReading { PluginReading("state", .string(state.rawValue)) }

    private func ring(_ stimulus: PluginMessage, _ context: PluginContext) throws {
        let from = try stimulus.string("caller", default: Self.defaultCaller)
        guard (1 ... 64).contains(from.count) else {
            throw PluginDeviceError("ring: 'caller' must be 1-64 characters, got '\(from)'")
        }
        guard state == .idle else {
            throw PluginDeviceError("ring: the unit is busy (\(state.rawValue), with \(caller ?? "?"))")
        }
        state = .ringing
        caller = from
        callGeneration &+= 1
        context.emit(event: "ringing", [callerReading, floorReading, flatReading])
        // Two draws for every call, answered or not, so one call's outcome never shifts the
        // random stream of the calls after it.
        let answers = context.nextUnit() < answerRate
        let delay = max(Self.minimumAnswer, answerTime + (2 * context.nextUnit() - 1) * answerJitter)
        if answers, delay < Double(ringTimeout) {
            context.schedule(afterNanoseconds: UInt64(delay.rounded()), tag: Self.tag(.answer, callGeneration))
        } else {
            context.schedule(afterNanoseconds: ringTimeout, tag: Self.tag(.ringTimeout, callGeneration))
        }
    }

    private func answer(_ context: PluginContext) {
        state = .talking
        // A new generation: the pending answer or ring timeout has nothing left to do.
        callGeneration &+= 1
        context.emit(event: "answered", [floorReading, flatReading, callerReading])
    }

    private func hangUp(_ context: PluginContext) {
        let ended = callerReading
        endCall()
        context.emit(event: "hung-up", [ended])
    }

    private func endCall() {
        state = .idle
        caller = nil
        callGeneration &+= 1
    }

    /// A timer tag: the timer in the low byte, the generation's low 24 bits above it.
    private static func tag(_ timer: Timer, _ generation: UInt32) -> UInt32 {
        timer.rawValue | (generation & generationMask) << 8
    }
}
