import ParkCore
import Synchronization

/// One electricity meter: the behaviour behind ``ElectricMeterKind``.
///
/// Its electrical state lives in an ``ElectricMeterState`` that a poll may read from any thread.
/// The meter's own loop changes the load every `load_interval` (power is constant in between, so
/// energy integrates exactly), and settles prepayment: the balance falls with imported energy,
/// and when it reaches zero the relay opens at the next load change.
final class ElectricMeter: DeviceBehavior {
    private enum Timer: UInt32 { case load = 1, heartbeat = 2 }

    private let state: ElectricMeterState
    private var random: SeededRandom
    private let baseLoad: Double, peakLoad: Double, circuit2Load: Double
    private let nominalVoltage: Double, voltageSigma: Double
    private let loadInterval: DeviceDuration, heartbeatInterval: DeviceDuration
    private let lowBalance: Double
    /// Where the load sits between base and peak (0…1), wandering at each change.
    private var loadLevel: Double
    private var heldLoad: Double?
    private var heldVoltage: Double?
    private var lowBalanceRaised = false

    init(setup: DeviceSetup) throws(DeviceError) {
        let p = setup.parameters
        baseLoad = p.double("base_load")
        peakLoad = p.double("peak_load")
        guard peakLoad >= baseLoad else {
            throw DeviceError("peak_load (\(JSONText.number(peakLoad)) kW) must not be below base_load (\(JSONText.number(baseLoad)) kW)")
        }
        circuit2Load = p.double("circuit2_load")
        nominalVoltage = p.double("nominal_voltage")
        voltageSigma = p.double("voltage_sigma")
        loadInterval = p.duration("load_interval")
        heartbeatInterval = p.duration("heartbeat_interval")
        lowBalance = p.double("low_balance_threshold")
        random = setup.random
        loadLevel = random.nextUnit()
        let accuracy = p.double("accuracy") / 100
        var errors: [Double] = []
        for _ in 0 ..< ElectricMeterState.Quantity.allCases.count {
            errors.append(random.nextDouble(in: -accuracy / 2 ... accuracy / 2))
        }
        state = ElectricMeterState(
            phases: Int(p.int("phases")), powerFactor: p.double("power_factor"), frequency: p.double("frequency"),
            energyImport1: p.double("initial_energy"), balance: p.double("balance"), tariff: p.double("tariff"),
            errors: errors)
        setup.polled?.register(setup.id, state)
    }

    func start(context: DeviceContext) {
        changeLoad(context)
        // Spread first heartbeats over the interval so a park's meters do not beat in step.
        context.schedule(after: DeviceDuration(nanoseconds: UInt64(random.nextUnit() * Double(heartbeatInterval.nanoseconds))),
                         tag: Timer.heartbeat.rawValue)
        context.schedule(after: loadInterval, tag: Timer.load.rawValue)
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        switch Timer(rawValue: tag) {
        case .load:
            changeLoad(context)
            context.schedule(after: loadInterval, tag: Timer.load.rawValue)
        case .heartbeat:
            context.emit(event: "heartbeat", readings(context, points: ["balance", "relay"]))
            context.schedule(after: heartbeatInterval, tag: Timer.heartbeat.rawValue)
        case nil:
            return
        }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        switch stimulus.name {
        case "load-set":
            guard case .double(let kw)? = stimulus.arguments["kw"].flatMap({ $0.asDouble.map(PointValue.double) }), kw >= 0 else {
                throw DeviceError("stimulus 'load-set' needs argument 'kw' ≥ 0")
            }
            heldLoad = kw
        case "load-release":
            heldLoad = nil
        case "voltage-set":
            guard let volts = stimulus.arguments["volts"]?.asDouble, volts >= 0 else {
                throw DeviceError("stimulus 'voltage-set' needs argument 'volts' ≥ 0")
            }
            heldVoltage = volts
        default:
            throw DeviceError("electric-meter has no stimulus '\(stimulus.name)'")
        }
        changeLoad(context)
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch command.name {
        case "read":
            return CommandResult(.accepted, readings: readings(context, points: nil))
        case "relay-open":
            setRelay(false, reason: "command", context)
            return CommandResult(.accepted, readings: [Reading("relay", .bool(false))])
        case "relay-close":
            let balance = state.settle(at: context.now).balance
            guard !state.prepaid || balance > 0 else {
                return .rejected("the balance is \(JSONText.number(balance)) CNY; recharge first")
            }
            setRelay(true, reason: "command", context)
            return CommandResult(.accepted, readings: [Reading("relay", .bool(true))])
        case "recharge":
            guard let amount = command.arguments["amount"]?.asDouble, amount > 0 else {
                return .rejected("recharge needs amount > 0")
            }
            let balance = state.recharge(amount, at: context.now)
            if balance > lowBalance { lowBalanceRaised = false }
            context.emit(event: "recharged", [Reading("amount", .double(amount)), Reading("balance", .double(balance))])
            return CommandResult(.accepted, readings: [Reading("balance", .double(balance))])
        case "sync-time":
            context.emit(event: "time-synced")
            return CommandResult(.accepted, readings: [])
        default:
            return .rejected("electric-meter has no command '\(command.name)'")
        }
    }

    // MARK: -

    private func changeLoad(_ context: DeviceContext) {
        // A bounded random walk: loads drift, they do not jump from base to peak.
        loadLevel = min(1, max(0, loadLevel + random.nextGaussian(standardDeviation: 0.15)))
        let load = heldLoad ?? (baseLoad + (peakLoad - baseLoad) * loadLevel)
        let circuit2 = circuit2Load == 0 ? 0 : circuit2Load * (0.8 + 0.4 * random.nextUnit())
        var voltages: [Double] = []
        for _ in 0 ..< 3 { voltages.append(heldVoltage ?? max(0, nominalVoltage + random.nextGaussian(standardDeviation: voltageSigma))) }
        var shares: [Double] = []
        for _ in 0 ..< 3 { shares.append(0.9 + 0.2 * random.nextUnit()) }
        let settled = state.setLoad(load, circuit2: circuit2, voltages: voltages, phaseShares: shares, at: context.now)
        settlePrepayment(settled.balance, context)
    }

    private func settlePrepayment(_ balance: Double, _ context: DeviceContext) {
        guard state.prepaid else { return }
        if balance <= lowBalance, !lowBalanceRaised {
            lowBalanceRaised = true
            context.emit(event: "low-balance", [Reading("balance", .double(balance))])
        }
        if balance <= 0, state.relayClosed {
            context.emit(event: "balance-exhausted", [Reading("balance", .double(balance))])
            setRelay(false, reason: "balance", context)
        }
    }

    private func setRelay(_ closed: Bool, reason: String, _ context: DeviceContext) {
        guard state.setRelay(closed, at: context.now) else { return }
        context.emit(event: closed ? "relay-close" : "relay-open", [Reading("reason", .string(reason))])
    }

    private func readings(_ context: DeviceContext, points: Set<String>?) -> [Reading] {
        let all = state.readings(at: context.now)
        guard let points else { return all }
        return all.filter { points.contains($0.point) }
    }
}

/// An electricity meter's state, guarded so that a poll on another thread reads it at the instant
/// it asks: energies and balance are integrated up to that instant.
final class ElectricMeterState: PolledState {
    enum Quantity: Int, CaseIterable { case voltage, current, power, reactive, powerFactor, frequency, energy }

    struct Values {
        var updatedAt: UInt64 = 0
        var load = 0.0, circuit2 = 0.0
        var voltages = [0.0, 0.0, 0.0], shares = [1.0, 1.0, 1.0]
        var energyImport1: Double, energyExport1 = 0.0, energyImport2 = 0.0, energyExport2 = 0.0
        var balance: Double
        var relayClosed = true
    }

    let phases: Int
    let powerFactor: Double
    let frequency: Double
    let tariff: Double
    /// Fixed relative error of each ``Quantity`` (the meter's accuracy).
    let errors: [Double]
    private let values: Mutex<Values>

    static let voltageNames = ["voltage_a", "voltage_b", "voltage_c"]
    static let currentNames = ["current_a", "current_b", "current_c"]

    var prepaid: Bool { tariff > 0 }
    var relayClosed: Bool { values.withLock { $0.relayClosed } }

    init(phases: Int, powerFactor: Double, frequency: Double, energyImport1: Double, balance: Double, tariff: Double, errors: [Double]) {
        self.phases = phases
        self.powerFactor = powerFactor
        self.frequency = frequency
        self.tariff = tariff
        self.errors = errors
        values = Mutex(Values(energyImport1: energyImport1, balance: balance))
    }

    /// Integrates energy and balance up to `instant`; returns the values then.
    @discardableResult
    func settle(at instant: MonotonicInstant) -> Values {
        values.withLock { Self.advance(&$0, to: instant.nanoseconds, tariff: tariff) }
    }

    func setLoad(_ load: Double, circuit2: Double, voltages: [Double], phaseShares: [Double], at instant: MonotonicInstant) -> Values {
        values.withLock { v in
            _ = Self.advance(&v, to: instant.nanoseconds, tariff: tariff)
            v.load = load
            v.circuit2 = circuit2
            v.voltages = voltages
            v.shares = phaseShares
            return v
        }
    }

    /// Returns whether the relay changed.
    func setRelay(_ closed: Bool, at instant: MonotonicInstant) -> Bool {
        values.withLock { v in
            _ = Self.advance(&v, to: instant.nanoseconds, tariff: tariff)
            guard v.relayClosed != closed else { return false }
            v.relayClosed = closed
            return true
        }
    }

    func recharge(_ amount: Double, at instant: MonotonicInstant) -> Double {
        values.withLock { v in
            _ = Self.advance(&v, to: instant.nanoseconds, tariff: tariff)
            v.balance += amount
            return v.balance
        }
    }

    private static func advance(_ v: inout Values, to now: UInt64, tariff: Double) -> Values {
        if v.updatedAt != 0, now > v.updatedAt {
            let hours = Double(now - v.updatedAt) / 3.6e12
            let load = v.relayClosed ? v.load : 0
            v.energyImport1 += load * hours
            if v.circuit2 >= 0 { v.energyImport2 += v.circuit2 * hours } else { v.energyExport2 -= v.circuit2 * hours }
            v.balance -= load * hours * tariff
        }
        v.updatedAt = max(v.updatedAt, now)
        return v
    }

    func readings(at instant: MonotonicInstant) -> [Reading] {
        let v = settle(at: instant)
        func measured(_ truth: Double, _ quantity: Quantity) -> Reading.Pair { (truth * (1 + errors[quantity.rawValue]), truth) }
        let load = v.relayClosed ? v.load : 0
        var result: [Reading] = []
        result.reserveCapacity(19)
        let shareSum = v.shares.prefix(phases).reduce(0, +)
        for index in 0 ..< 3 {
            let present = index < phases
            let voltage = present ? v.voltages[index] : 0
            let phasePower = present && shareSum > 0 ? load * v.shares[index] / shareSum : 0
            let current = voltage > 0 ? phasePower * 1000 / (voltage * powerFactor) : 0
            // Names from constants: a poll builds these readings, and interpolating would allocate.
            result.append(Reading(pair: measured(voltage, .voltage), Self.voltageNames[index]))
            result.append(Reading(pair: measured(current, .current), Self.currentNames[index]))
        }
        let reactive = load * (1 / (powerFactor * powerFactor) - 1).squareRoot()
        result.append(Reading(pair: measured(load, .power), "active_power"))
        result.append(Reading(pair: measured(reactive, .reactive), "reactive_power"))
        result.append(Reading(pair: measured(load > 0 ? powerFactor : 1, .powerFactor), "power_factor"))
        result.append(Reading(pair: measured(frequency, .frequency), "frequency"))
        result.append(Reading(pair: measured(v.circuit2, .power), "active_power_2"))
        result.append(Reading(pair: measured(v.energyImport1, .energy), "energy_import_1"))
        result.append(Reading(pair: measured(v.energyExport1, .energy), "energy_export_1"))
        result.append(Reading(pair: measured(v.energyImport2, .energy), "energy_import_2"))
        result.append(Reading(pair: measured(v.energyExport2, .energy), "energy_export_2"))
        result.append(Reading("balance", .double(v.balance)))
        result.append(Reading("relay", .bool(v.relayClosed)))
        return result
    }
}

extension Reading {
    typealias Pair = (measured: Double, truth: Double)

    init(pair: Pair, _ point: String) {
        self.init(point, .double(pair.measured), truth: .double(pair.truth))
    }
}

extension PointValue {
    /// The value as a number, for arguments given as int or double.
    var asDouble: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }
}
