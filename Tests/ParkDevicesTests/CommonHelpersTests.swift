import Testing
@testable import ParkCore
@testable import ParkDevices

/// The helpers every built-in kind shares (`Common/`): the battery, timer chains, periodic
/// timers, argument reading and the analog gauge descriptions. The kinds' own tests cover
/// them in use; these pin down the contract each kind now relies on.
@Suite struct CommonHelpersTests {
    /// A device that does nothing but drive the helpers from stimuli, so a test can watch what
    /// they schedule and emit on the virtual clock.
    final class Probe: DeviceBehavior {
        enum Timer: UInt32 { case tick = 1, once }

        var battery = Battery(level: 20, life: .seconds(100), lowThreshold: 15)
        var tick = PeriodicTimer(Timer.tick, interval: .seconds(10))
        var once = TimerChain(Timer.once)
        var tamper = TamperSwitch()
        var fault = FaultLatch()

        func start(context: DeviceContext) {
            battery.update(context)
            tick.start(after: .seconds(1), context)
        }

        func timerFired(tag: UInt32, context: DeviceContext) {
            switch Timer(rawValue: tag & 0xFF) {
            case .tick:
                guard tick.fire(tag, context) else { return }
                battery.update(context)
                context.emit(event: "tick", [battery.reading])
            case .once:
                guard once.isCurrent(tag) else { return }
                context.emit(event: "once")
            case nil:
                return
            }
        }

        func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
            let arguments = Arguments(stimulus)
            switch stimulus.name {
            case "battery-set": battery.force(try arguments.required(arguments.number("level"), "level"), context)
            case "arm": once.start(after: .fromSeconds(try arguments.required(arguments.number("after"), "after")), context)
            case "disarm": once.cancel()
            case "period": tick.change(interval: .fromSeconds(try arguments.required(arguments.number("s"), "s")), context)
            case "stop": tick.stop()
            case "tamper": tamper.open(context, [Reading("n", .int(1))])
            case "tamper-restore": tamper.close(context)
            case "fault": fault.raise(arguments.string("code", default: "sensor"), context)
            case "fault-clear": fault.clear(context)
            default: throw DeviceError("no stimulus '\(stimulus.name)'")
            }
        }

        func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult { .rejected("none") }
    }

    struct ProbeKind: DeviceKind {
        var descriptor: KindDescriptor { KindDescriptor(name: "probe", summary: "Test probe for the common helpers") }
        func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior { Probe() }
    }

    static func engine() throws -> VirtualTimeEngine {
        let engine = VirtualTimeEngine()
        try engine.add(PlannedDevice(kind: ProbeKind(), setup: DeviceSetup(
            id: "p-1", parameters: DeviceParameters(values: [:]), random: .forDevice("p-1", runSeed: 1))))
        engine.start()
        return engine
    }

    static func emissions(_ engine: VirtualTimeEngine) throws -> [(name: String, seconds: Double)] {
        try engine.ledger.records().filter { $0.entry == .emission }.map { ($0.name, Double($0.time.monotonic.nanoseconds) / 1e9) }
    }

    static func at(_ seconds: UInt64) -> MonotonicInstant { MonotonicInstant.zero.advanced(by: .seconds(seconds)) }

    // MARK: Battery

    /// The drain is linear over the life, extra load adds to it, and the level stops at 0.
    @Test func batteryDrainsLinearly() {
        var battery = Battery(level: 100, life: .seconds(1_000), lowThreshold: 15)
        battery.drain(to: Self.at(10))
        #expect(battery.level == 100, "the first call only starts the clock")
        battery.drain(to: Self.at(110))
        #expect(battery.level == 90)
        battery.drain(to: Self.at(120), extraPerSecond: 0.9)
        #expect(battery.level == 80)
        battery.restartClock(at: Self.at(500))
        battery.drain(to: Self.at(500))
        #expect(battery.level == 80, "a restarted clock does not charge for the time before")
        battery.drain(to: Self.at(5_000))
        #expect(battery.level == 0)
        battery.set(120)
        #expect(battery.level == 100)
        battery.set(-3)
        #expect(battery.level == 0)
        battery.set(12.345678)
        #expect(battery.reading == Reading("battery", .double(12.3457)), "rounded to four decimals on the wire")
    }

    /// Battery parameters come from the descriptor's three names.
    @Test func batteryReadsItsParameters() throws {
        let descriptor = KindDescriptor(name: "b", summary: "b", parameters: CommonDescriptors.batteryParameters(life: "100s"))
        let battery = Battery(try DeviceParameters(descriptor: descriptor, overrides: ["initial_battery": "40"]))
        #expect(battery.level == 40)
        #expect(battery.drainPerSecond == 1)
        #expect(battery.lowThreshold == 15)
    }

    /// low-battery is reported once per crossing, battery-ok once when a forced level rises
    /// above the threshold, and a second crossing is reported again.
    @Test func batteryReportsEachCrossingOnce() throws {
        let engine = try Self.engine()
        engine.advance(by: .seconds(30))
        var names = try Self.emissions(engine).map(\.name).filter { $0 != "tick" }
        #expect(names == ["low-battery"], "20 % at 1 %/s crosses 15 % at 5 s, seen at the 11 s tick")
        let low = try engine.ledger.records().first { $0.name == "low-battery" }
        #expect(low?.readings == [Reading("battery", .double(9))])
        _ = try engine.apply(Stimulus("battery-set", arguments: ["level": .double(50)]), to: "p-1")
        _ = try engine.apply(Stimulus("battery-set", arguments: ["level": .double(60)]), to: "p-1")
        engine.advance(by: .seconds(60))
        names = try Self.emissions(engine).map(\.name).filter { $0 != "tick" }
        #expect(names == ["low-battery", "battery-ok", "low-battery"])
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("battery-set"), to: "p-1") }
    }

    // MARK: Timers

    /// A periodic timer keeps its exact period; a new period restarts the chain one new period
    /// from now and the old chain dies; stop ends it.
    @Test func periodicTimerRestartsAndStops() throws {
        let engine = try Self.engine()
        engine.advance(by: .seconds(25))
        _ = try engine.apply(Stimulus("period", arguments: ["s": .double(4)]), to: "p-1")
        engine.advance(by: .seconds(10))
        _ = try engine.apply(Stimulus("stop"), to: "p-1")
        engine.advance(by: .seconds(60))
        let ticks = try Self.emissions(engine).filter { $0.name == "tick" }.map(\.seconds)
        #expect(ticks == [1, 11, 21, 29, 33])
    }

    /// A cancelled or superseded one-shot never fires; the current one fires once.
    @Test func timerChainCancelsAndSupersedes() throws {
        let engine = try Self.engine()
        _ = try engine.apply(Stimulus("arm", arguments: ["after": .double(5)]), to: "p-1")
        _ = try engine.apply(Stimulus("disarm"), to: "p-1")
        _ = try engine.apply(Stimulus("arm", arguments: ["after": .double(7)]), to: "p-1")
        _ = try engine.apply(Stimulus("arm", arguments: ["after": .double(3)]), to: "p-1")
        engine.advance(by: .seconds(20))
        #expect(try Self.emissions(engine).filter { $0.name == "once" }.map(\.seconds) == [3])
    }

    /// The tag keeps the timer's id in the low byte and the generation above it, and the
    /// generation wraps within its 24 bits instead of losing the high ones.
    @Test func timerChainTagLayout() {
        var chain = TimerChain(Probe.Timer.once)
        #expect(chain.tag == 2)
        chain.cancel()
        chain.cancel()
        #expect(chain.tag == 2 | 2 << 8)
        #expect(chain.isCurrent(2 | 2 << 8))
        #expect(!chain.isCurrent(1 | 2 << 8), "another timer's tag with the same generation is not this one")
        #expect(!chain.isCurrent(2 | 1 << 8))
    }

    /// The start phase is below the shorter of period and spread, and draws nothing when
    /// either is zero, so a park with start_spread 0 keeps its random streams.
    @Test func startPhase() {
        var random = SeededRandom(seed: 3)
        for _ in 0..<100 {
            let phase = PeriodicTimer.phase(within: .seconds(60), spread: .seconds(10), random: &random)
            #expect(phase < .seconds(10))
        }
        var untouched = SeededRandom(seed: 3)
        #expect(PeriodicTimer.phase(within: .seconds(60), spread: .zero, random: &untouched) == .zero)
        var fresh = SeededRandom(seed: 3)
        #expect(untouched.next() == fresh.next())
    }

    // MARK: Arguments

    /// Every kind words a bad or missing argument the same way.
    @Test func argumentsWordErrorsAlike() throws {
        let stimulus = Arguments(Stimulus("drain", arguments: ["rate": .double(5_000), "code": .string("x"), "text": .string("a")]))
        #expect(throws: DeviceError("stimulus 'drain' argument 'rate' must be a number from 0.001 to 1000 m/h, got 5000")) {
            try stimulus.number("rate", range: 0.001...1_000, unit: "m/h")
        }
        #expect(throws: DeviceError("stimulus 'drain' argument 'text' must be a number, got \"a\"")) {
            try stimulus.number("text")
        }
        #expect(try stimulus.number("absent") == nil)
        #expect(throws: DeviceError("stimulus 'drain' needs argument 'level'")) {
            try stimulus.required(stimulus.number("level"), "level")
        }
        #expect(stimulus.string("code", default: "sensor") == "x")
        #expect(stimulus.string("other", default: "sensor") == "sensor")
        let command = Arguments(DeviceCommand("set-thresholds", arguments: ["low": .double(0.2)]))
        #expect(try command.number("low", range: 0...1, unit: "MPa") == 0.2)
        #expect(command.owner == "command 'set-thresholds'")
    }

    // MARK: Tamper and fault

    /// Tamper and fault are each reported once per change, however often the stimulus comes,
    /// and the first fault's code stays until it is cleared.
    @Test func tamperAndFaultReportEachChangeOnce() throws {
        let engine = try Self.engine()
        for name in ["tamper", "tamper", "tamper-restore", "tamper-restore", "fault-clear"] {
            _ = try engine.apply(Stimulus(name), to: "p-1")
        }
        _ = try engine.apply(Stimulus("fault", arguments: ["code": .string("probe")]), to: "p-1")
        _ = try engine.apply(Stimulus("fault", arguments: ["code": .string("other")]), to: "p-1")
        _ = try engine.apply(Stimulus("fault-clear"), to: "p-1")
        _ = try engine.apply(Stimulus("fault"), to: "p-1")
        let records = try engine.ledger.records().filter { $0.entry == .emission && $0.name != "tick" }
        #expect(records.map(\.name) == ["tamper", "tamper-clear", "fault", "fault-clear", "fault"])
        #expect(records[0].readings == [Reading("n", .int(1))])
        #expect(records[2].readings == [Reading("code", .string("probe"))])
        #expect(records[4].readings == [Reading("code", .string("sensor"))])
    }

    // MARK: Analog gauges

    /// The two fire-water gauges are one Swift kind with two descriptions; every stimulus that
    /// holds or fills takes the argument named after the quantity, as the device reads it.
    @Test func analogGaugeDescriptionsAgreeWithTheirStimuli() {
        for kind in [AnalogGaugeKind.fireWaterPressure, AnalogGaugeKind.fireWaterLevel] {
            let gauge = kind.gauge
            #expect(kind.descriptor.name == kind.name)
            #expect(kind.descriptor.points.first?.name == gauge.quantity)
            for stimulus in gauge.stimuli {
                let names = stimulus.descriptor.arguments.map(\.name)
                switch stimulus.action {
                case .fall: #expect(names == ["rate"], "\(stimulus.descriptor.name)")
                case .fill: #expect(names == ["rate", gauge.quantity], "\(stimulus.descriptor.name)")
                case .hold(let fallback):
                    #expect(names == [gauge.quantity], "\(stimulus.descriptor.name)")
                    #expect(stimulus.descriptor.arguments.first?.required == (fallback == nil))
                case .restore: #expect(names.isEmpty)
                }
            }
            let parameters = Set(kind.descriptor.parameters.map(\.name))
            let names = gauge.parameterNames
            #expect(parameters.isSuperset(of: [names.nominal, names.fluctuation, names.low, names.high, names.hysteresis]))
        }
        #expect(BuiltInKinds.all.map(\.descriptor.name).filter { $0.hasPrefix("fire-water") } == ["fire-water-pressure", "fire-water-level"])
    }

    /// Threshold errors still name each gauge's own parameters and unit, as the two separate
    /// kinds did.
    @Test func analogGaugeThresholdErrors() throws {
        func error(_ kind: AnalogGaugeKind, _ overrides: [String: String]) throws -> String? {
            let setup = DeviceSetup(
                id: "g-1", parameters: try DeviceParameters(descriptor: kind.descriptor, overrides: overrides),
                random: .forDevice("g-1", runSeed: 1))
            do throws(DeviceError) {
                _ = try kind.makeDevice(setup)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(try error(.fireWaterLevel, ["high_level_threshold": "2"])
            == "level thresholds must satisfy low_level_threshold < high_level_threshold < range_max, got 2.5 m, 2 m, 5 m")
        #expect(try error(.fireWaterPressure, ["low_pressure_threshold": "3"])
            == "low_pressure_threshold (3 MPa) must be below range_max (2.5 MPa)")
        #expect(try error(.fireWaterPressure, ["high_pressure_threshold": "0.1"])
            == "high_pressure_threshold (0.1 MPa) must be 0 (off) or between low_pressure_threshold and range_max")
        #expect(try error(.fireWaterPressure, ["high_pressure_threshold": "0"]) == nil, "0 switches the pressure alarm off")
    }
}
