import Foundation
import ParkCore
import Synchronization

/// One electricity meter: the behaviour behind ``ElectricMeterKind``.
///
/// Its electrical state lives in an ``ElectricMeterState`` that a poll may read from any thread.
/// The meter's own loop changes the load every `load_interval` (power is constant in between, so
/// energy integrates exactly), and settles prepayment: the balance falls with imported energy,
/// and when it reaches zero the relay opens at the next load change.
///
/// Its own clock starts at `clock_start` and runs with device time. On that clock it freezes its
/// energy registers on the hour (整点冻结, last 254 kept), at midnight (日冻结, last 62) and at
/// 00:00 on the 1st (月结算, last 12 months: 004 L3484–3488), and reports each settled month.
/// With a `tariff_schedule` (分时计费, L3482) the same clock says which of the four tariffs
/// imported energy is counted under and priced at.
final class ElectricMeter: DeviceBehavior {
    private enum Timer: UInt32 { case load = 1, heartbeat = 2, hourFreeze = 3, dayFreeze = 4, monthFreeze = 5 }

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
    private let clock: MeterClock
    /// Device time at start: the meter clock's `clock_start`.
    private var startedAt = MonotonicInstant.zero

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
        guard let clock = MeterClock(p.string("clock_start")) else {
            throw DeviceError("clock_start must be a date and time with its offset, such as 2026-01-01T00:00:00+08:00; got '\(p.string("clock_start"))'")
        }
        self.clock = clock
        let schedule = try TariffSchedule(schedule: p.string("tariff_schedule"), prices: p.string("tariff_prices"), defaultPrice: p.double("tariff"))
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
            schedule: schedule, errors: errors)
        setup.polled?.register(setup.id, state)
    }

    func start(context: DeviceContext) {
        startedAt = context.now
        state.startClock(localSecondsAtStart: clock.startLocalSeconds, at: context.now)
        for period in FreezePeriod.allCases { scheduleFreeze(period, after: context.now, context) }
        changeLoad(context)
        // Spread first heartbeats over the interval so a park's meters do not beat in step.
        context.schedule(after: PeriodicTimer.phase(within: heartbeatInterval, random: &random),
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
        case .hourFreeze: freeze(.hour, context)
        case .dayFreeze: freeze(.day, context)
        case .monthFreeze: freeze(.month, context)
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

    // MARK: - Freezes

    private func scheduleFreeze(_ period: FreezePeriod, after instant: MonotonicInstant, _ context: DeviceContext) {
        let elapsed = instant.duration(since: startedAt)
        let wait = clock.secondsToNextBoundary(period, elapsedNanoseconds: elapsed.nanoseconds)
        let tag: Timer = switch period { case .hour: .hourFreeze; case .day: .dayFreeze; case .month: .monthFreeze }
        context.schedule(at: instant.advanced(by: DeviceDuration(nanoseconds: wait)), tag: tag.rawValue)
    }

    private func freeze(_ period: FreezePeriod, _ context: DeviceContext) {
        let time = clock.time(elapsedNanoseconds: context.now.duration(since: startedAt).nanoseconds)
        let record = state.freeze(period, time: time, at: context.now)
        if period == .month {
            // 月结算: the settled month is what a platform bills; the other freezes stay in the meter.
            context.emit(event: "month-settled", [Reading("month", .string(String(time.description.prefix(7))))] + record.readings)
        }
        scheduleFreeze(period, after: context.now, context)
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
        /// Set at the first update: device time may start at 0 (a virtual clock), so `updatedAt`
        /// cannot say it.
        var integrating = false
        var load = 0.0, circuit2 = 0.0
        var voltages = [0.0, 0.0, 0.0], shares = [1.0, 1.0, 1.0]
        var energyImport1: Double, energyExport1 = 0.0, energyImport2 = 0.0, energyExport2 = 0.0
        /// Circuit 1's forward energy under each tariff (sharp, peak, flat, valley); zeros for a
        /// one-rate meter.
        var importByTariff = [0.0, 0.0, 0.0, 0.0]
        var balance: Double
        var relayClosed = true
        /// Local nanoseconds (meter clock, since 1970) at device-time zero; set when the meter starts.
        var localOrigin: Int64 = 0
    }

    let phases: Int
    let powerFactor: Double
    let frequency: Double
    let tariff: Double
    /// The time-of-use tariffs; nil: one rate (`tariff`).
    let schedule: TariffSchedule?
    /// Fixed relative error of each ``Quantity`` (the meter's accuracy).
    let errors: [Double]
    private let values: Mutex<Values>
    /// Freezes by period, oldest first.
    private let freezes = Mutex<[FreezePeriod: [FrozenReadings]]>([:])
    /// How many of each a meter keeps (DL/T 645-2007: 254 hourly, 62 daily, 12 settlements).
    static let freezeCapacity: [FreezePeriod: Int] = [.hour: 254, .day: 62, .month: 12]

    static let voltageNames = ["voltage_a", "voltage_b", "voltage_c"]
    static let currentNames = ["current_a", "current_b", "current_c"]
    static let tariffNames = TariffSchedule.names.map { "energy_import_1_\($0)" }
    /// What a freeze keeps: the four energy registers and circuit 1's forward energy per tariff.
    static let frozenPoints = Set(["energy_import_1", "energy_export_1", "energy_import_2", "energy_export_2"] + tariffNames)

    var prepaid: Bool { tariff > 0 }
    var relayClosed: Bool { values.withLock { $0.relayClosed } }

    init(phases: Int, powerFactor: Double, frequency: Double, energyImport1: Double, balance: Double, tariff: Double,
         schedule: TariffSchedule? = nil, errors: [Double]) {
        self.phases = phases
        self.powerFactor = powerFactor
        self.frequency = frequency
        self.tariff = tariff
        self.schedule = schedule
        self.errors = errors
        var initial = Values(energyImport1: energyImport1, balance: balance)
        // Energy already on the meter is shared among the tariffs as the day is, so they add up to the total.
        if let schedule { initial.importByTariff = schedule.dailyShares.map { $0 * energyImport1 } }
        values = Mutex(initial)
    }

    /// Ties device time to the meter's clock: `localSecondsAtStart` is the clock's reading at `instant`.
    func startClock(localSecondsAtStart: Int64, at instant: MonotonicInstant) {
        values.withLock { $0.localOrigin = localSecondsAtStart * 1_000_000_000 - Int64(instant.nanoseconds) }
    }

    /// Integrates energy and balance up to `instant`; returns the values then.
    @discardableResult
    func settle(at instant: MonotonicInstant) -> Values {
        values.withLock { advance(&$0, to: instant.nanoseconds) }
    }

    func setLoad(_ load: Double, circuit2: Double, voltages: [Double], phaseShares: [Double], at instant: MonotonicInstant) -> Values {
        values.withLock { v in
            _ = advance(&v, to: instant.nanoseconds)
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
            _ = advance(&v, to: instant.nanoseconds)
            guard v.relayClosed != closed else { return false }
            v.relayClosed = closed
            return true
        }
    }

    /// Freezes the energy registers as the meter shows them now.
    func freeze(_ period: FreezePeriod, time: FrozenReadings.MeterTime, at instant: MonotonicInstant) -> FrozenReadings {
        let record = FrozenReadings(period: period, time: time, readings: readings(at: instant).filter { Self.frozenPoints.contains($0.point) })
        freezes.withLock { all in
            all[period, default: []].append(record)
            if all[period]!.count > Self.freezeCapacity[period]! { all[period]!.removeFirst() }
        }
        return record
    }

    func frozen(_ period: FreezePeriod, back: Int) -> FrozenReadings? {
        freezes.withLock { all in
            guard let list = all[period], back >= 1, back <= list.count else { return nil }
            return list[list.count - back]
        }
    }

    func recharge(_ amount: Double, at instant: MonotonicInstant) -> Double {
        values.withLock { v in
            _ = advance(&v, to: instant.nanoseconds)
            v.balance += amount
            return v.balance
        }
    }

    private func advance(_ v: inout Values, to now: UInt64) -> Values {
        if v.integrating, now > v.updatedAt {
            let hours = Double(now - v.updatedAt) / 3.6e12
            let load = v.relayClosed ? v.load : 0
            v.energyImport1 += load * hours
            if v.circuit2 >= 0 { v.energyImport2 += v.circuit2 * hours } else { v.energyExport2 -= v.circuit2 * hours }
            if let schedule {
                // Cut the interval where the tariff changes: each piece is counted and priced under its own.
                var from = v.updatedAt
                while from < now {
                    let local = Int64(from) + v.localOrigin
                    let secondOfDay = Double(((local % 86_400_000_000_000) + 86_400_000_000_000) % 86_400_000_000_000) / 1e9
                    let (index, left) = schedule.tariff(atSecondOfDay: secondOfDay)
                    let to = min(now, from + max(1, UInt64((left * 1e9).rounded(.up))))
                    let energy = load * Double(to - from) / 3.6e12
                    v.importByTariff[index] += energy
                    if prepaid { v.balance -= energy * schedule.prices[index] }
                    from = to
                }
            } else {
                v.balance -= load * hours * tariff
            }
        }
        v.updatedAt = max(v.updatedAt, now)
        v.integrating = true
        return v
    }

    func readings(at instant: MonotonicInstant) -> [Reading] {
        let v = settle(at: instant)
        func measured(_ truth: Double, _ quantity: Quantity) -> Reading.Pair { (truth * (1 + errors[quantity.rawValue]), truth) }
        let load = v.relayClosed ? v.load : 0
        var result: [Reading] = []
        result.reserveCapacity(23)
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
        for index in 0 ..< 4 { result.append(Reading(pair: measured(v.importByTariff[index], .energy), Self.tariffNames[index])) }
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

/// A meter's own calendar clock: `clock_start` plus the device time since the meter started, in
/// the offset `clock_start` was written with (meters keep local time).
struct MeterClock {
    /// Local seconds (UTC seconds + offset) at start.
    let startLocalSeconds: Int64
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    init?(_ text: String) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) else { return nil }
        // The offset as written: "+08:00" at the end, or Z.
        var offset = 0
        if !text.hasSuffix("Z"), text.count >= 6 {
            let tail = Array(text.suffix(6))
            if tail[0] == "+" || tail[0] == "-", tail[3] == ":", let hours = Int(String(tail[1 ... 2])), let minutes = Int(String(tail[4 ... 5])) {
                offset = (hours * 3600 + minutes * 60) * (tail[0] == "-" ? -1 : 1)
            }
        }
        startLocalSeconds = Int64(date.timeIntervalSince1970.rounded()) + Int64(offset)
    }

    private func localDate(_ elapsedNanoseconds: UInt64) -> Date {
        Date(timeIntervalSince1970: Double(startLocalSeconds) + Double(elapsedNanoseconds) / 1e9)
    }

    func time(elapsedNanoseconds: UInt64) -> FrozenReadings.MeterTime {
        // Freezes fire on a boundary; a timer a hair late must not read as the minute before.
        let parts = Self.calendar.dateComponents([.year, .month, .day, .hour, .minute], from: localDate(elapsedNanoseconds + 1_000_000))
        return .init(year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: parts.hour ?? 0, minute: parts.minute ?? 0)
    }

    /// Nanoseconds from `elapsedNanoseconds` to the next hour, midnight or first of the month.
    func secondsToNextBoundary(_ period: FreezePeriod, elapsedNanoseconds: UInt64) -> UInt64 {
        let now = startLocalSeconds * 1_000_000_000 + Int64(elapsedNanoseconds)
        let next: Int64
        switch period {
        case .hour: next = (now / 3_600_000_000_000 + 1) * 3_600_000_000_000
        case .day: next = (now / 86_400_000_000_000 + 1) * 86_400_000_000_000
        case .month:
            let date = Date(timeIntervalSince1970: Double(now / 1_000_000_000))
            let start = Self.calendar.date(from: Self.calendar.dateComponents([.year, .month], from: date)) ?? date
            let following = Self.calendar.date(byAdding: .month, value: 1, to: start) ?? date.addingTimeInterval(2_592_000)
            next = Int64(following.timeIntervalSince1970) * 1_000_000_000
        }
        return UInt64(max(1, next - now))
    }
}
