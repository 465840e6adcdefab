import ParkCore

/// One camera (one channel) or NVR (`channels` channels): the state machine behind
/// ``CameraKind`` and ``NVRKind``.
///
/// The device side of a GB/T 28181 device only: what happens to it and what it reports. The
/// SIP binding turns `keepalive` statuses into Keepalive MESSAGEs, events into Alarm
/// NOTIFYs/MESSAGEs and reads the wire faults from ``VideoDeviceState``.
///
/// Analytic alarms (motion, tripwire, AI) are raised only while the device is guarded (布防,
/// 004 L2772), as GB/T 28181's SetGuard/ResetGuard gate alarm reporting; tamper and video loss
/// are the device's own health and are always reported. `reset-alarm` clears the alarm output
/// the way DeviceControl's ResetAlarm does. A reboot takes the device offline for
/// `reboot_duration`: nothing is seen or sent meanwhile, and it comes back with its guard and
/// lost channels as they were.
final class VideoDevice: DeviceBehavior {
    typealias Timer = VideoDeviceKinds.Timer

    private let state: VideoDeviceState
    private let startSpread: DeviceDuration
    private let rebootDuration: DeviceDuration
    private var random: SeededRandom
    private var keepalive: PeriodicTimer
    private var rebootEnd = TimerChain(Timer.rebootEnd)
    private var tamper = TamperSwitch()
    /// Alarms raised since the last `reset-alarm`, by name; empty when the output is idle.
    private var activeAlarms: [String: Int64] = [:]

    init(setup: DeviceSetup, channels: Int) {
        let parameters = setup.parameters
        state = VideoDeviceState(channels: channels, guarded: parameters.bool("guard_at_start"))
        keepalive = PeriodicTimer(Timer.keepalive, interval: parameters.duration("keepalive_interval"))
        startSpread = parameters.duration("start_spread")
        rebootDuration = parameters.duration("reboot_duration")
        random = setup.random
        setup.polled?.register(setup.id, state)
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        keepalive.start(spread: startSpread, random: &random, context)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag & 0xFF) {
        case .keepalive:
            guard keepalive.fire(tag, context), state.online, !state.isSet(.keepalivesStopped) else { return }
            context.emit(Emission(channel: .status, name: "keepalive", readings: statusReadings))
        case .rebootEnd:
            guard rebootEnd.isCurrent(tag), !state.online else { return }
            state.setOnline(true)
            context.emit(Emission(channel: .status, name: "online", readings: statusReadings))
            // A booted device registers and then keeps alive from its own boot, not the old phase.
            keepalive.start(after: keepalive.interval, context)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        let arguments = Arguments(stimulus)
        if let fault = VideoDeviceKinds.faultStimuli[stimulus.name] {
            let on = stimulus.name == "resume-keepalives" ? false : arguments.bool("enabled", default: true)
            guard state.set(fault, on) else { return }
            // Ground truth for the ledger: the wire is broken on purpose from here.
            context.emit(Emission(channel: .local, name: "wire-fault", readings: [
                Reading("fault", .string(fault.rawValue)), Reading("enabled", .bool(on)),
            ]))
            return
        }
        let channel = try self.channel(arguments)
        switch stimulus.name {
        case "motion":
            raise("motion", channel: channel, context)
        case "intrusion":
            raise("intrusion-line", channel: channel, context)
        case "ai":
            let type = arguments.string("type", default: "")
            guard let alarm = VideoAlarm.ai.first(where: { $0.name == type }) else {
                throw DeviceError("stimulus 'ai' needs argument 'type', one of: " + VideoAlarm.ai.map(\.name).joined(separator: ", "))
            }
            raise(alarm.name, channel: channel, context)
        case "tamper":
            guard state.online else { return }
            tamper.open(context, [Reading("channel", .int(Int64(channel)))])
        case "tamper-restore":
            tamper.close(context)
        case "video-loss", "video-restore":
            let lost = stimulus.name == "video-loss"
            // The state changes even while rebooting: the cable is cut whether or not anyone looks.
            guard state.setVideoLost(lost, channel: channel), state.online else { return }
            context.emit(event: lost ? "video-loss" : "video-restored", [Reading("channel", .int(Int64(channel))), state.lostChannelsReading])
        default:
            throw DeviceError("\(VideoDeviceKinds.name(channels: state.channels)) has no stimulus '\(stimulus.name)'; known: "
                + VideoDeviceKinds.stimuli(nvr: state.channels > 1).map(\.name).joined(separator: ", "))
        }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        guard state.online else { return .rejected("rebooting") }
        let arguments = Arguments(command)
        let channel: Int
        do { channel = try self.channel(arguments) } catch { return .rejected(error.message) }
        switch command.name {
        case "ptz":
            return ptz(arguments, channel: channel, context)
        case "guard":
            let action = arguments.string("action", default: "set")
            guard action == "set" || action == "reset" else { return .rejected("guard action must be set or reset, got '\(action)'") }
            state.setGuarded(action == "set")
            return CommandResult(.accepted, readings: [Reading("guard", .bool(state.guarded))])
        case "reset-alarm":
            guard !activeAlarms.isEmpty else { return .rejected("no alarm is active") }
            let readings = [
                Reading("alarms", .string(activeAlarms.keys.sorted().joined(separator: ","))),
                Reading("count", .int(activeAlarms.values.reduce(0, +))),
            ]
            activeAlarms = [:]
            context.emit(event: "alarm-reset", readings)
            return CommandResult(.accepted, readings: readings)
        case "reboot":
            state.setOnline(false)
            keepalive.stop()
            context.emit(Emission(channel: .status, name: "offline", readings: [Reading("reason", .string("reboot"))]))
            rebootEnd.start(after: rebootDuration, context)
            return CommandResult(.accepted, readings: [Reading("rebooting", .bool(true)), Reading("duration_s", .double(rebootDuration.seconds))])
        default:
            return .rejected("unknown command '\(command.name)'")
        }
    }

    // MARK: Behaviour

    /// The channel a stimulus or command names, 1 when it names none (a camera has only 1).
    private func channel(_ arguments: Arguments) throws(DeviceError) -> Int {
        guard let number = try arguments.number("channel", range: 1 ... Double(state.channels), unit: "(its channels)") else { return 1 }
        guard number == number.rounded() else { throw DeviceError("\(arguments.owner) argument 'channel' must be a whole number, got \(number)") }
        return Int(number)
    }

    /// Reports an analytic alarm if the device is on and guarded; a channel without video sees nothing.
    private func raise(_ name: String, channel: Int, _ context: DeviceContext) {
        guard state.online, state.guarded, !state.isLost(channel) else { return }
        activeAlarms[name, default: 0] += 1
        context.emit(event: name, [Reading("channel", .int(Int64(channel))), Reading("guard", .bool(true))])
    }

    /// PTZ by preset (1–255, GB/T 28181 A.3 preset range) or by direction.
    private func ptz(_ arguments: Arguments, channel: Int, _ context: DeviceContext) -> CommandResult {
        var readings = [Reading("channel", .int(Int64(channel)))]
        do {
            if let preset = try arguments.number("preset", range: 1 ... 255, unit: "(GB/T 28181 presets)") {
                readings.append(Reading("preset", .int(Int64(preset))))
            } else {
                let direction = arguments.string("direction", default: "")
                guard VideoDeviceKinds.ptzDirections.contains(direction) else {
                    return .rejected("ptz needs a preset (1-255) or a direction: " + VideoDeviceKinds.ptzDirections.joined(separator: ", "))
                }
                readings.append(Reading("direction", .string(direction)))
            }
        } catch {
            return .rejected(error.message)
        }
        // Where the camera now looks is ground truth only; GB/T 28181 acknowledges PTZ without a report.
        context.emit(Emission(channel: .local, name: "ptz", readings: readings))
        return CommandResult(.accepted, readings: readings)
    }

    private var statusReadings: [Reading] {
        [Reading("guard", .bool(state.guarded)), state.lostChannelsReading]
    }
}
