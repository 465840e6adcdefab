@testable import ParkCore

/// A minimal kind for engine tests: emits a `tick` event every `period`, at a phase drawn from
/// its stream, and records the deadline it was scheduled for so lateness can be checked.
struct TickerKind: DeviceKind {
    var descriptor: KindDescriptor {
        KindDescriptor(
            name: "ticker", summary: "Emits a tick every period",
            events: [EventDescriptor(name: "tick", severity: .info, summary: "A tick")],
            commands: [CommandDescriptor(name: "ping", summary: "Answer pong")],
            stimuli: [StimulusDescriptor(name: "poke", summary: "Emit a poked event")],
            parameters: [
                ParameterDescriptor(name: "period", type: .duration, defaultValue: "1s", summary: "Tick period"),
                ParameterDescriptor(name: "emit", type: .bool, defaultValue: "true", summary: "Record ticks in the ledger"),
            ])
    }

    func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        Ticker(period: setup.parameters.duration("period"), emit: setup.parameters.bool("emit"), random: setup.random)
    }
}

final class Ticker: DeviceBehavior {
    let period: DeviceDuration
    let emit: Bool
    var random: SeededRandom
    var ticks = 0

    init(period: DeviceDuration, emit: Bool, random: SeededRandom) {
        self.period = period
        self.emit = emit
        self.random = random
    }

    func start(context: DeviceContext) {
        context.schedule(after: DeviceDuration(nanoseconds: random.next() % period.nanoseconds), tag: 1)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        ticks += 1
        if emit { context.emit(event: "tick", [Reading("n", .int(Int64(ticks)))]) }
        context.schedule(after: period, tag: 1)
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        guard stimulus.name == "poke" else { throw DeviceError("ticker has no stimulus '\(stimulus.name)'") }
        context.emit(event: "poked")
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        command.name == "ping" ? CommandResult(.accepted, readings: [Reading("reply", .string("pong"))]) : .rejected("unknown command")
    }
}

func tickerPlan(count: Int, period: String = "1s", emit: Bool = true, seed: UInt64 = 1, prefix: String = "t") -> [PlannedDevice] {
    let kind = TickerKind()
    let parameters = try! DeviceParameters(descriptor: kind.descriptor, overrides: ["period": period, "emit": String(emit)])
    return (0..<count).map { index in
        let id = "\(prefix)\(index)"
        return PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: seed)))
    }
}
