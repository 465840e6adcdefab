import ParkCore

/// One sounder: the state machine behind ``SounderKind``.
final class Sounder: DeviceBehavior {
    typealias Timer = SounderKind.Timer

    private let heartbeatInterval: DeviceDuration
    private let startSpread: DeviceDuration
    private let defaultDuration: DeviceDuration
    private var random: SeededRandom
    private var sounding = false
    // A new `sound` or a `stop` makes a pending end-of-sounding timer stale (timers cannot be
    // cancelled); the generation rides above the low byte that names the timer.
    private var soundGeneration: UInt32 = 0

    init(setup: DeviceSetup) {
        heartbeatInterval = setup.parameters.duration("heartbeat_interval")
        startSpread = setup.parameters.duration("start_spread")
        defaultDuration = setup.parameters.duration("sound_duration")
        random = setup.random
    }

    func start(context: DeviceContext) {
        let span = min(heartbeatInterval, startSpread)
        let phase = span > .zero ? DeviceDuration(nanoseconds: random.next() % span.nanoseconds) : .zero
        context.schedule(after: phase, tag: Timer.heartbeat.rawValue)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            context.emit(event: "heartbeat", [Reading("sounding", .bool(sounding))])
            context.schedule(after: heartbeatInterval, tag: Timer.heartbeat.rawValue)
        case .soundEnd:
            guard tag >> 8 == soundGeneration, sounding else { return }
            silence(reason: "time-up", context)
        case nil:
            break
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        throw DeviceError("a sounder takes no stimuli; command it with sound or stop")
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "sound":
            var duration = defaultDuration
            if case .double(let seconds)? = command.arguments["duration"] { duration = .fromSeconds(seconds) }
            if case .int(let seconds)? = command.arguments["duration"] { duration = .fromSeconds(Double(seconds)) }
            if case .string(let text)? = command.arguments["duration"] {
                guard let parsed = DeviceDuration(parsing: text) else { return CommandResult(.rejected(reason: "duration '\(text)' is not a duration such as 30s")) }
                duration = parsed
            }
            soundGeneration = (soundGeneration &+ 1) & 0xFF_FFFF
            if !sounding {
                sounding = true
                context.emit(Emission(channel: .local, name: "siren-on"))
            }
            var readings = [Reading("sounding", .bool(true)), Reading("duration_s", .double(duration.seconds))]
            if let id = command.id { readings.append(Reading("by", .string(id))) }
            context.emit(event: "sounding", readings)
            if duration > .zero { context.schedule(after: duration, tag: Timer.soundEnd.rawValue | soundGeneration << 8) }
            return CommandResult(.accepted, readings: [Reading("sounding", .bool(true))])
        case "stop":
            guard sounding else { return CommandResult(.rejected(reason: "not sounding")) }
            soundGeneration = (soundGeneration &+ 1) & 0xFF_FFFF
            silence(reason: "stopped", context)
            return CommandResult(.accepted, readings: [Reading("sounding", .bool(false))])
        case "self-test":
            let readings = [Reading("result", .string("pass")), Reading("sounding", .bool(sounding))]
            context.emit(event: "self-test", readings)
            return CommandResult(.accepted, readings: readings)
        default:
            return CommandResult(.rejected(reason: "unknown command '\(command.name)'"))
        }
    }

    private func silence(reason: String, _ context: DeviceContext) {
        sounding = false
        context.emit(Emission(channel: .local, name: "siren-off"))
        context.emit(event: "silenced", [Reading("sounding", .bool(false)), Reading("reason", .string(reason))])
    }
}
