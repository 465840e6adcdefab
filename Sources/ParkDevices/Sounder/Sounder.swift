import ParkCore

/// One sounder: the state machine behind ``SounderKind``.
final class Sounder: DeviceBehavior {
    typealias Timer = SounderKind.Timer

    private var heartbeat: PeriodicTimer
    private let startSpread: DeviceDuration
    private let defaultDuration: DeviceDuration
    private var random: SeededRandom
    private var sounding = false
    /// A new `sound` or a `stop` makes a pending end of sounding stale.
    private var soundEnd = TimerChain(Timer.soundEnd)

    init(setup: DeviceSetup) {
        heartbeat = PeriodicTimer(Timer.heartbeat, interval: setup.parameters.duration("heartbeat_interval"))
        startSpread = setup.parameters.duration("start_spread")
        defaultDuration = setup.parameters.duration("sound_duration")
        random = setup.random
    }

    func start(context: DeviceContext) {
        heartbeat.start(spread: startSpread, random: &random, context)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            guard heartbeat.fire(tag, context) else { return }
            context.emit(event: "heartbeat", [Reading("sounding", .bool(sounding))])
        case .soundEnd:
            guard soundEnd.isCurrent(tag), sounding else { return }
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
            if !sounding {
                sounding = true
                context.emit(Emission(channel: .local, name: "siren-on"))
            }
            var readings = [Reading("sounding", .bool(true)), Reading("duration_s", .double(duration.seconds))]
            if let id = command.id { readings.append(Reading("by", .string(id))) }
            context.emit(event: "sounding", readings)
            // A new sounding replaces the end of the one before; without a duration it has none.
            if duration > .zero { soundEnd.start(after: duration, context) } else { soundEnd.cancel() }
            return CommandResult(.accepted, readings: [Reading("sounding", .bool(true))])
        case "stop":
            guard sounding else { return CommandResult(.rejected(reason: "not sounding")) }
            soundEnd.cancel()
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
