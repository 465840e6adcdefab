import ParkCore
import Synchronization

/// The smart water meter (智能水表) of remote meter reading: polled over RS-485/M-Bus, reads the
/// dial optically (004 L3462–3476). Cumulative volume integrates the flow to the instant of each
/// poll; the battery runs down over `battery_life` and reports under-voltage (L3474); the valve
/// opens and closes on command (L3476) and a closed valve stops the flow.
public struct WaterMeterKind: DeviceKind {
    public static let name = "water-meter"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        WaterMeter(setup: setup)
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Smart water meter (RS-485/M-Bus, polled): cumulative volume, flow, battery with under-voltage event, remote valve",
        sources: ["004_5e9061d643d5fb41.txt L3462-3476", "004_5e9061d643d5fb41.txt L723"],
        points: [
            PointDescriptor(name: "volume", type: .double, unit: "m3", summary: "Cumulative volume (the dial)"),
            PointDescriptor(name: "flow", type: .double, unit: "m3/h", summary: "Instantaneous flow"),
            PointDescriptor(name: "battery_voltage", type: .double, unit: "V", summary: "Battery voltage, 3.6 V new"),
            PointDescriptor(name: "valve", type: .bool, summary: "Valve open"),
        ],
        events: [
            EventDescriptor(name: "under-voltage", severity: .warning, summary: "Battery below under_voltage_threshold (欠压, L3474)"),
            EventDescriptor(name: "valve-open", severity: .info, summary: "Valve opened"),
            EventDescriptor(name: "valve-close", severity: .info, summary: "Valve closed"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive"),
        ],
        commands: [
            CommandDescriptor(name: "read", summary: "Answer with every reading now (L723)"),
            CommandDescriptor(name: "valve-open", summary: "Open the valve (远程阀门控制, L3476)"),
            CommandDescriptor(name: "valve-close", summary: "Close the valve; the flow stops"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "flow-set",
                arguments: [ArgumentDescriptor(name: "m3h", type: .double, summary: "Flow in m³/h")],
                summary: "Hold the flow at a value (a burst pipe, a tap left open)"),
            StimulusDescriptor(name: "flow-release", summary: "Let the flow follow its demand again"),
        ],
        parameters: [
            ParameterDescriptor(name: "mean_flow", type: .double, defaultValue: "0.4", minimum: 0, maximum: 10_000, unit: "m3/h", summary: "Average demand while drawing"),
            ParameterDescriptor(name: "draw_share", type: .double, defaultValue: "0.3", minimum: 0, maximum: 1, summary: "Share of flow intervals with water drawn at all"),
            ParameterDescriptor(name: "flow_interval", type: .duration, defaultValue: "30s", minimum: 0.1, maximum: 86_400, summary: "How often the flow changes"),
            ParameterDescriptor(name: "initial_volume", type: .double, defaultValue: "100", minimum: 0, maximum: 1e9, unit: "m3", summary: "Dial reading at the start"),
            ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "2", minimum: 0, maximum: 20, unit: "%", summary: "Each quantity reads within ± half of this of the truth (a fixed error per meter)"),
            ParameterDescriptor(name: "battery_life", type: .duration, defaultValue: "2190d", minimum: 1, maximum: 1e9, summary: "From 3.6 V to 3.0 V"),
            ParameterDescriptor(name: "under_voltage_threshold", type: .double, defaultValue: "3.2", minimum: 0, maximum: 5, unit: "V", summary: "Below this the meter reports under-voltage"),
            ParameterDescriptor(name: "heartbeat_interval", type: .duration, defaultValue: "6h", minimum: 1, maximum: 864_000, summary: "Heartbeat period"),
        ])
}

final class WaterMeter: DeviceBehavior {
    private enum Timer: UInt32 { case flow = 1, heartbeat = 2 }

    private let state: WaterMeterState
    private var random: SeededRandom
    private let meanFlow: Double, drawShare: Double
    private let flowInterval: DeviceDuration, heartbeatInterval: DeviceDuration
    private let underVoltage: Double
    private var heldFlow: Double?
    private var underVoltageRaised = false

    init(setup: DeviceSetup) {
        let p = setup.parameters
        meanFlow = p.double("mean_flow")
        drawShare = p.double("draw_share")
        flowInterval = p.duration("flow_interval")
        heartbeatInterval = p.duration("heartbeat_interval")
        underVoltage = p.double("under_voltage_threshold")
        random = setup.random
        let accuracy = p.double("accuracy") / 100
        let volumeError = random.nextDouble(in: -accuracy / 2 ... accuracy / 2)
        let flowError = random.nextDouble(in: -accuracy / 2 ... accuracy / 2)
        state = WaterMeterState(volume: p.double("initial_volume"), batteryLife: p.duration("battery_life"),
                                volumeError: volumeError, flowError: flowError)
        setup.polled?.register(setup.id, state)
    }

    func start(context: DeviceContext) {
        state.begin(at: context.now)
        changeFlow(context)
        context.schedule(after: flowInterval, tag: Timer.flow.rawValue)
        context.schedule(after: PeriodicTimer.phase(within: heartbeatInterval, random: &random),
                         tag: Timer.heartbeat.rawValue)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag) {
        case .flow:
            changeFlow(context)
            context.schedule(after: flowInterval, tag: Timer.flow.rawValue)
        case .heartbeat:
            context.emit(event: "heartbeat", state.readings(at: context.now).filter { $0.point == "battery_voltage" })
            context.schedule(after: heartbeatInterval, tag: Timer.heartbeat.rawValue)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        switch stimulus.name {
        case "flow-set":
            guard let flow = stimulus.arguments["m3h"]?.asDouble, flow >= 0 else { throw DeviceError("stimulus 'flow-set' needs argument 'm3h' ≥ 0") }
            heldFlow = flow
        case "flow-release":
            heldFlow = nil
        default:
            throw DeviceError("water-meter has no stimulus '\(stimulus.name)'")
        }
        changeFlow(context)
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "read":
            return CommandResult(.accepted, readings: state.readings(at: context.now))
        case "valve-open", "valve-close":
            let open = command.name == "valve-open"
            if state.setValve(open, at: context.now) { context.emit(event: command.name) }
            return CommandResult(.accepted, readings: [Reading("valve", .bool(open))])
        default:
            return .rejected("water-meter has no command '\(command.name)'")
        }
    }

    private func changeFlow(_ context: DeviceContext) {
        let demand = random.nextUnit() < drawShare ? random.nextExponential(mean: meanFlow / max(drawShare, 0.01)) : 0
        let battery = state.setFlow(heldFlow ?? demand, at: context.now)
        if battery < underVoltage, !underVoltageRaised {
            underVoltageRaised = true
            context.emit(event: "under-voltage", [Reading("battery_voltage", .double(battery))])
        }
    }
}

/// A water meter's state, readable from any thread at the instant of a poll.
final class WaterMeterState: PolledState {
    private struct Values {
        var startedAt: UInt64 = 0, updatedAt: UInt64 = 0
        /// Set by `begin`: device time may start at 0 (a virtual clock), so `updatedAt` cannot say it.
        var begun = false
        var volume: Double, flow = 0.0
        var valveOpen = true
    }

    private let values: Mutex<Values>
    private let batteryLifeSeconds: Double
    private let volumeError: Double, flowError: Double

    init(volume: Double, batteryLife: DeviceDuration, volumeError: Double, flowError: Double) {
        values = Mutex(Values(volume: volume))
        batteryLifeSeconds = max(batteryLife.seconds, 1)
        self.volumeError = volumeError
        self.flowError = flowError
    }

    func begin(at instant: MonotonicInstant) {
        values.withLock {
            $0.startedAt = instant.nanoseconds
            $0.updatedAt = instant.nanoseconds
            $0.begun = true
        }
    }

    private static func advance(_ v: inout Values, to now: UInt64) {
        if v.begun, now > v.updatedAt, v.valveOpen { v.volume += v.flow * Double(now - v.updatedAt) / 3.6e12 }
        v.updatedAt = max(v.updatedAt, now)
    }

    /// Returns the battery voltage then.
    func setFlow(_ flow: Double, at instant: MonotonicInstant) -> Double {
        values.withLock { v in
            Self.advance(&v, to: instant.nanoseconds)
            v.flow = flow
            return battery(v)
        }
    }

    func setValve(_ open: Bool, at instant: MonotonicInstant) -> Bool {
        values.withLock { v in
            Self.advance(&v, to: instant.nanoseconds)
            guard v.valveOpen != open else { return false }
            v.valveOpen = open
            return true
        }
    }

    private func battery(_ v: Values) -> Double {
        let used = Double(v.updatedAt &- v.startedAt) / 1e9 / batteryLifeSeconds
        return max(0, 3.6 - 0.6 * used)
    }

    func readings(at instant: MonotonicInstant) -> [Reading] {
        let v = values.withLock { v in
            Self.advance(&v, to: instant.nanoseconds)
            return v
        }
        let flow = v.valveOpen ? v.flow : 0
        return [
            Reading("volume", .double(v.volume * (1 + volumeError)), truth: .double(v.volume)),
            Reading("flow", .double(flow * (1 + flowError)), truth: .double(flow)),
            Reading("battery_voltage", .double(battery(v))),
            Reading("valve", .bool(v.valveOpen)),
        ]
    }
}
