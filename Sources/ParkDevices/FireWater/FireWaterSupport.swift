import ParkCore

/// What the fire-water kinds (pressure gauge, level gauge, hydrant) share beyond the module's
/// common helpers (``Battery``, ``PeriodicTimer``, ``Arguments``): a threshold alarm with
/// hysteresis, the true value of a water quantity, the instrument that measures it, and the
/// sample/report/heartbeat timers with their `set-intervals` command.
///
/// Namespaced so these helpers cannot collide with those of other built-in kinds in the module.
enum FireWater {
    /// The low byte of a timer tag; the bits above carry the chain's generation.
    enum TimerID: UInt32 {
        case heartbeat = 1, report, sample
    }

    /// A threshold alarm that raises on crossing and clears only once the value is
    /// `hysteresis` back on the safe side.
    ///
    /// Without the dead band a value sitting at the threshold would raise and clear at every
    /// sample as measurement noise moves it across, flooding the duty officer with alarms.
    struct ThresholdAlarm {
        enum Side { case below, above }
        enum Change { case raised, cleared }

        let side: Side
        /// nil switches the alarm off (an active alarm then clears at the next evaluation).
        var threshold: Double?
        let hysteresis: Double
        private(set) var isActive = false

        init(_ side: Side, threshold: Double?, hysteresis: Double) {
            self.side = side
            self.threshold = threshold
            self.hysteresis = hysteresis
        }

        mutating func evaluate(_ value: Double) -> Change? {
            guard let threshold else {
                guard isActive else { return nil }
                isActive = false
                return .cleared
            }
            let beyond = side == .below ? value < threshold : value > threshold
            let safe = side == .below ? value >= threshold + hysteresis : value <= threshold - hysteresis
            if !isActive, beyond {
                isActive = true
                return .raised
            }
            if isActive, safe {
                isActive = false
                return .cleared
            }
            return nil
        }
    }

    /// The true value of a water quantity (pipe pressure, pool level) over device time.
    ///
    /// At rest it wanders within `nominal ± fluctuation` (pumps cycling, demand, evaporation);
    /// the harness can hold it at a value or move it toward a target at a rate (a leak, a drain,
    /// a refill). The ambient walk keeps running underneath, so `restore` returns to wherever
    /// the network would be now.
    struct Quantity {
        enum Regime: Equatable {
            case ambient
            case held(Double)
            case moving(from: Double, since: MonotonicInstant, perSecond: Double, toward: Double)
        }

        private var ambient: RandomWalkGenerator
        private(set) var regime = Regime.ambient

        init(nominal: Double, fluctuation: Double) {
            // A full sweep of the band takes about an hour: σ·√3600 = band.
            ambient = RandomWalkGenerator(
                start: nominal, minimum: max(0, nominal - fluctuation), maximum: nominal + fluctuation,
                volatilityPerSecond: fluctuation / 60)
        }

        mutating func value(at now: MonotonicInstant, random: inout SeededRandom) -> Double {
            let ambientValue = ambient.value(at: now, random: &random)
            switch regime {
            case .ambient:
                return ambientValue
            case .held(let value):
                return value
            case .moving(let from, let since, let perSecond, let target):
                let travelled = min(perSecond * now.duration(since: since).seconds, abs(target - from))
                return target >= from ? from + travelled : from - travelled
            }
        }

        mutating func hold(_ value: Double) { regime = .held(value) }

        /// Moves from the present true value toward `target` at `perSecond`, then stays there.
        mutating func move(toward target: Double, perSecond: Double, at now: MonotonicInstant, random: inout SeededRandom) {
            let from = value(at: now, random: &random)
            regime = .moving(from: from, since: now, perSecond: perSecond, toward: target)
        }

        mutating func restore() { regime = .ambient }
    }

    /// A gauge's sensor: an error uniformly within ± accuracy (in % of full scale, as gauge
    /// accuracy classes are specified), and a reading clipped to `0...fullScale`.
    ///
    /// Uniform rather than Gaussian because an accuracy class is a guaranteed bound, and a
    /// conformance check compares the platform's value with the truth against that bound.
    struct Instrument {
        let fullScale: Double
        let maxError: Double

        init(fullScale: Double, accuracyPercent: Double) {
            self.fullScale = fullScale
            maxError = fullScale * accuracyPercent / 100
        }

        /// The value the device reports, rounded as it goes on the wire; alarms are decided on
        /// this value so a platform can check each decision against what it received.
        func measure(_ truth: Double, random: inout SeededRandom) -> Double {
            var measured = truth
            if maxError > 0 { measured += random.nextDouble(in: -maxError...maxError) }
            return readingRounded(min(fullScale, max(0, measured)))
        }
    }

    /// A fire-water device's heartbeat, report and sample timers: every such device measures
    /// every `sample_interval`, uploads every `report_interval` and beats every
    /// `heartbeat_interval`, each started at its own random phase within `start_spread`, and a
    /// platform may change any of the three periods with `set-intervals`.
    struct Timers {
        private(set) var heartbeat: PeriodicTimer
        private(set) var report: PeriodicTimer
        private(set) var sample: PeriodicTimer
        let startSpread: DeviceDuration

        init(_ parameters: DeviceParameters) {
            heartbeat = PeriodicTimer(TimerID.heartbeat, interval: parameters.duration("heartbeat_interval"))
            report = PeriodicTimer(TimerID.report, interval: parameters.duration("report_interval"))
            sample = PeriodicTimer(TimerID.sample, interval: parameters.duration("sample_interval"))
            startSpread = parameters.duration("start_spread")
        }

        /// Starts the three chains, drawing their phases from `random` in a fixed order
        /// (heartbeat, report, sample) so a seed gives the same run.
        mutating func start(random: inout SeededRandom, _ context: DeviceContext) {
            heartbeat.start(spread: startSpread, random: &random, context)
            report.start(spread: startSpread, random: &random, context)
            sample.start(spread: startSpread, random: &random, context)
        }

        /// Which timer `tag` is, with its next firing scheduled; nil for a stale chain's.
        mutating func fire(_ tag: UInt32, _ context: DeviceContext) -> TimerID? {
            switch TimerID(rawValue: tag & 0xFF) {
            case .heartbeat?: heartbeat.fire(tag, context) ? .heartbeat : nil
            case .report?: report.fire(tag, context) ? .report : nil
            case .sample?: sample.fire(tag, context) ? .sample : nil
            case nil: nil
            }
        }

        /// Applies `set-intervals`: any of `heartbeat_s`, `report_s`, `sample_s`, all checked
        /// before any is changed so a bad argument leaves the device as it was.
        mutating func setIntervals(_ command: DeviceCommand, _ context: DeviceContext) -> CommandResult {
            let arguments = Arguments(command)
            let range = 1.0...(7 * 86_400.0)
            do throws(DeviceError) {
                let heartbeatSeconds = try arguments.number("heartbeat_s", range: range, unit: "s")
                let reportSeconds = try arguments.number("report_s", range: range, unit: "s")
                let sampleSeconds = try arguments.number("sample_s", range: range, unit: "s")
                guard heartbeatSeconds != nil || reportSeconds != nil || sampleSeconds != nil else {
                    return .rejected("set-intervals needs at least one of heartbeat_s, report_s, sample_s")
                }
                if let heartbeatSeconds { heartbeat.change(interval: .fromSeconds(heartbeatSeconds), context) }
                if let reportSeconds { report.change(interval: .fromSeconds(reportSeconds), context) }
                if let sampleSeconds { sample.change(interval: .fromSeconds(sampleSeconds), context) }
                return CommandResult(.accepted, readings: [
                    Reading("heartbeat_s", .double(heartbeat.interval.seconds)),
                    Reading("report_s", .double(report.interval.seconds)),
                    Reading("sample_s", .double(sample.interval.seconds)),
                ])
            } catch {
                return .rejected(error.message)
            }
        }
    }

    /// The parameters every fire-water kind has, in the order `devices show` lists them.
    static func commonParameters(heartbeat: String, report: String, sample: String) -> [ParameterDescriptor] {
        [
            ParameterDescriptor(name: "heartbeat_interval", type: .duration, defaultValue: heartbeat, minimum: 1, summary: "Time between heartbeats"),
            ParameterDescriptor(name: "report_interval", type: .duration, defaultValue: report, minimum: 1, summary: "Time between telemetry reports"),
            ParameterDescriptor(name: "sample_interval", type: .duration, defaultValue: sample, minimum: 1, summary: "Time between measurements; an analog alarm is noticed at the first sample after the crossing, so this bounds its latency"),
            ParameterDescriptor(name: "start_spread", type: .duration, defaultValue: "1d", summary: "Each periodic timer starts at a random phase within this span or its own period, whichever is shorter, so a park does not report in lock step; 0s starts every device at once"),
        ] + CommonDescriptors.batteryParameters(
            life: "1825d", lifeSummary: "Time for a full battery to drain (at least 5 years, 004 L3076, L3087, L3099)")
    }

    static let batteryEvents = CommonDescriptors.batteryEvents(
        low: "Battery below the low-battery threshold (004 L3081, L3093)",
        ok: "Battery back above the low-battery threshold (replaced)")

    static let commonCommands = [
        CommonDescriptors.selfTestCommand,
        CommandDescriptor(name: "read", summary: "Measure now and send telemetry at once; the answer carries the readings"),
        CommandDescriptor(
            name: "set-intervals",
            arguments: [
                ArgumentDescriptor(name: "heartbeat_s", type: .double, required: false, summary: "New heartbeat interval in seconds (1 s to 7 d)"),
                ArgumentDescriptor(name: "report_s", type: .double, required: false, summary: "New report interval in seconds (1 s to 7 d)"),
                ArgumentDescriptor(name: "sample_s", type: .double, required: false, summary: "New sample interval in seconds (1 s to 7 d)"),
            ],
            summary: "Change reporting periods from the platform; each changed timer restarts one new period from now"),
    ]

    static let batterySetStimulus = CommonDescriptors.batterySetStimulus(
        summary: "Force the battery level (fault injection, or 100 for a new battery)")
}
