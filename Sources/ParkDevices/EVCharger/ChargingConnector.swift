import ParkCore

/// How much power an EV accepts at a given state of charge: the charger's maximum up to
/// `taperSOC`, then falling linearly to 10 % of it just below 100 %, and nothing when full.
///
/// Batteries take full power while their cells are far from their top voltage and then taper
/// (constant current, then constant voltage); a straight line is the shape platforms need to
/// see sessions slow down near the end without modelling cell chemistry.
struct ChargingCurve: Sendable {
    let maxPowerW: Double
    /// Percent of charge above which power tapers.
    let taperSOC: Double

    /// The fraction of maximum power left at the very top of the taper.
    static let floorFraction = 0.1

    /// Watts the EV accepts at `soc` percent.
    func power(atSOC soc: Double) -> Double {
        guard soc < 100 else { return 0 }
        guard soc > taperSOC else { return maxPowerW }
        return maxPowerW * (1 - (1 - Self.floorFraction) * (soc - taperSOC) / (100 - taperSOC))
    }
}

/// The EV plugged into a connector: its battery and how full it is.
struct PluggedEV: Sendable {
    var batteryWh: Double
    /// State of charge in percent, 0…100.
    var soc: Double
    /// False after `ev-not-responding`: the EV draws nothing until it is unplugged.
    var responding = true

    var isFull: Bool { soc >= 100 }
}

/// One charging session (an OCPP transaction) as the charger keeps it.
struct ChargingSession: Sendable {
    /// The device's own session number, from 1, unique per device.
    let number: Int64
    let idTag: String
    /// The energy register when the session started, Wh.
    let meterStartWh: Double
    /// A limit that holds for this session only (a remote start's TxProfile), W; nil when none.
    let limitW: Double?
}

/// An authorised start waiting for the EV to be plugged in.
struct PendingStart: Sendable {
    let idTag: String
    /// The session's own limit, W, when the remote start carried one.
    let limitW: Double?
}

/// One connector of a charger: what is plugged in, the session it runs, its energy register
/// and the things that decide its OCPP status.
///
/// The status is not stored but derived from these facts (`EVCharger.status(of:)`), so no
/// transition can leave it disagreeing with them; the charger reports it whenever it changes.
struct ChargingConnector {
    /// 1-based, as OCPP numbers connectors (0 is the station).
    let number: Int
    var ev: PluggedEV?
    var session: ChargingSession?
    /// Monotonic energy register, Wh: never reset, only integrated up.
    private(set) var energyWh: Double = 0
    /// The connector's own charging limit, W; nil when none is set.
    var limitW: Double?
    /// The active fault; nil when healthy.
    var fault: ChargePointErrorCode?
    /// False while ChangeAvailability has made (or scheduled) the connector inoperative.
    var operative = true
    /// The session ended with the EV still plugged: Finishing until it is unplugged.
    var finishing = false
    /// An authorised start (remote start, or a swipe the platform accepted) waiting for the EV
    /// to be plugged in; the id tag the session will carry.
    var awaitingPlug: PendingStart?
    /// A swiped card the platform has been asked about (`authorize`) and not yet answered.
    var awaitingAuthorization: String?
    /// MeterValues while a session runs.
    var meterTimer: PeriodicTimer
    /// How long a start waits for a plug (`connection_timeout`).
    var plugTimer: TimerChain
    /// Where the energy integral stands.
    private var integratedAt: MonotonicInstant?

    /// Steps of at most this long keep the SoC, and with it the tapering power, consistent with
    /// the energy delivered; within a step power is held at its value at the step's start.
    static let integrationStep = 10.0

    init(number: Int, meterInterval: DeviceDuration) {
        self.number = number
        meterTimer = PeriodicTimer(EVChargerKind.Timer.meter(number), interval: meterInterval)
        plugTimer = TimerChain(EVChargerKind.Timer.plugWait(number))
    }

    /// The power flowing now, W: what the curve allows at the EV's SoC, capped by `limitW`; zero
    /// without a session, or with an EV that is full or does not respond.
    func power(_ curve: ChargingCurve, limitW: Double) -> Double {
        guard session != nil, let ev, ev.responding else { return 0 }
        return max(0, min(curve.power(atSOC: ev.soc), limitW))
    }

    /// Integrates power into the register and the EV's SoC up to `now`, in steps of at most
    /// ``integrationStep``. The last step before full charge delivers only what fits.
    mutating func integrate(to now: MonotonicInstant, _ curve: ChargingCurve, limitW: Double) {
        defer { integratedAt = now }
        guard let since = integratedAt, session != nil, var ev else { return }
        var remaining = now.duration(since: since).seconds
        while remaining > 0, ev.responding {
            let step = min(remaining, Self.integrationStep)
            let watts = max(0, min(curve.power(atSOC: ev.soc), limitW))
            guard watts > 0 else { break }
            let room = (100 - ev.soc) / 100 * ev.batteryWh
            let delivered = watts * step / 3600
            if delivered >= room {
                energyWh += room
                ev.soc = 100
                break
            }
            energyWh += delivered
            ev.soc += delivered / ev.batteryWh * 100
            remaining -= step
        }
        self.ev = ev
    }

    /// Restarts the integral at `now` without integrating (power came back: nothing flowed).
    mutating func restartIntegral(at now: MonotonicInstant) { integratedAt = now }
}
