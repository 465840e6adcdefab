import ParkCore

/// One charging station: the state machine behind ``EVChargerKind``.
///
/// Each connector's OCPP status is derived from facts (EV plugged, session, fault,
/// availability, limit, the EV's charge) rather than stored, and after every stimulus, command
/// or timer the charger reports each status that differs from the one last reported. So a
/// transition needs no bookkeeping of its own, and the platform sees every change exactly once.
///
/// Energy is integrated lazily: each call first brings every connector's register and EV up to
/// the call's time (``ChargingConnector/integrate(to:_:limitW:)``), and power only changes at
/// calls, so the integral is exact on the flat part of the curve. An EV that fills between two
/// calls is seen full at the next one (the next meter sample at the latest), as a real charger
/// sees its current fall.
///
/// While the station has no power (or has not booted yet) it says nothing and refuses commands;
/// what happens to it physically (a plug, a fault) still changes its state and shows in the
/// statuses it sends when power returns.
final class EVCharger: DeviceBehavior {
    typealias Timer = EVChargerKind.Timer

    private enum Power { case booting, on, off }

    /// A status as last reported for one connector (index 0: the station).
    private struct Reported: Equatable {
        let status: ConnectorStatus
        let errorCode: ChargePointErrorCode
    }

    /// A session the last power loss cut, reported stopped when power returns.
    private struct CutSession {
        let connector: Int
        let session: ChargingSession
        let meterStopWh: Double
    }

    private let curve: ChargingCurve
    private let dc: Bool
    private let phases: Double
    private let voltage: Double
    private let connectionTimeout: DeviceDuration
    private let startSpread: DeviceDuration
    private let evBatteryWh: Double
    private let arrivalSOC: ClosedRange<Double>
    private var random: SeededRandom

    private var connectors: [ChargingConnector]
    private var power = Power.on
    private var boot = TimerChain(Timer.boot)
    /// The station's limit (connector 0), shared equally by the connectors; nil when none.
    private var stationLimitW: Double?
    /// False while ChangeAvailability on connector 0 has made the station inoperative.
    private var stationOperative = true
    private var nextSession: Int64 = 1
    private var cutSessions: [CutSession] = []
    /// Index 0 is the station; nil before the first report.
    private var reported: [Reported?]

    init(setup: DeviceSetup) throws(DeviceError) {
        let p = setup.parameters
        let phases = p.int("phases")
        guard phases == 1 || phases == 3 else { throw DeviceError("phases must be 1 or 3, got \(phases)") }
        self.phases = Double(phases)
        dc = p.bool("dc")
        voltage = p.double("voltage_v")
        curve = ChargingCurve(maxPowerW: p.double("max_power_kw") * 1000, taperSOC: p.double("taper_soc"))
        connectionTimeout = p.duration("connection_timeout")
        startSpread = p.duration("start_spread")
        evBatteryWh = p.double("ev_battery_kwh") * 1000
        arrivalSOC = try Self.socRange(p.string("ev_arrival_soc"))
        random = setup.random
        let meterInterval = p.duration("meter_interval")
        let count = Int(p.int("connectors"))
        connectors = (1 ... count).map { ChargingConnector(number: $0, meterInterval: meterInterval) }
        reported = Array(repeating: nil, count: count + 1)
    }

    /// `ev_arrival_soc`: `10-60` (a range in %) or one value.
    static func socRange(_ text: String) throws(DeviceError) -> ClosedRange<Double> {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "–" }).map { Double(String($0.filter { $0 != " " })) }
        guard (1 ... 2).contains(parts.count), let low = parts.first ?? nil, let high = parts.last ?? nil,
              0 <= low, low <= high, high <= 100
        else { throw DeviceError("ev_arrival_soc must be a range of percent such as 10-60 (0 to 100, low first) or one value, got '\(text)'") }
        return low ... high
    }

    // MARK: DeviceBehavior

    func start(context: DeviceContext) {
        for index in connectors.indices { connectors[index].restartIntegral(at: context.now) }
        let phase = PeriodicTimer.phase(within: startSpread, spread: startSpread, random: &random)
        if phase == .zero {
            bootUp(context)
        } else {
            power = .booting
            boot.start(after: phase, context)
        }
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        integrateAll(context.now)
        let id = tag & 0xFF
        if id == Timer.boot.rawValue {
            guard boot.isCurrent(tag), power == .booting else { return }
            bootUp(context)
            return
        }
        let index = Int(id & 0x0F) - 1
        guard connectors.indices.contains(index) else { return }
        switch id & 0xF0 {
        case Timer.meterBase:
            guard connectors[index].meterTimer.fire(tag, context), power == .on, connectors[index].session != nil else { return }
            emitMeter(index, context)
        case Timer.plugWaitBase:
            guard connectors[index].plugTimer.isCurrent(tag), connectors[index].awaitingPlug != nil else { return }
            // Nobody plugged in within connection_timeout: the start lapses (OCPP ConnectionTimeOut).
            connectors[index].awaitingPlug = nil
        default:
            return
        }
        reportStatuses(context)
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        integrateAll(context.now)
        let arguments = Arguments(stimulus)
        switch stimulus.name {
        case "power-loss":
            powerLoss(context)
        case "power-restore":
            powerRestore(context)
        case "plug-in":
            try plugIn(try connectorIndex(arguments), arguments, context)
        case "unplug":
            unplug(try connectorIndex(arguments), context)
        case "swipe":
            swipe(try connectorIndex(arguments), idTag: try arguments.requiredString("id_tag"), context)
        case "fault-clear":
            let index = try connectorIndex(arguments)
            guard connectors[index].fault != nil else { return }
            connectors[index].fault = nil
            say("fault-clear", [connectorReading(index)], context)
        case "ev-not-responding":
            let index = try connectorIndex(arguments)
            guard connectors[index].ev != nil else { throw DeviceError("connector \(index + 1) has no EV plugged in") }
            connectors[index].ev?.responding = false
        default:
            guard let fault = ChargePointErrorCode.faultStimuli.first(where: { $0.stimulus == stimulus.name }) else {
                throw DeviceError("ev-charger has no stimulus '\(stimulus.name)'; known: "
                    + EVChargerKind.kindDescriptor.stimuli.map(\.name).joined(separator: ", "))
            }
            raise(fault.code, event: fault.stimulus, on: try connectorIndex(arguments), context)
        }
        reportStatuses(context)
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        switch power {
        case .on: break
        case .booting: return .rejected("the station is booting")
        case .off: return .rejected("the station has no power")
        }
        integrateAll(context.now)
        let arguments = Arguments(command)
        let result: CommandResult
        do {
            switch command.name {
            case "remote-start": result = try remoteStart(arguments, context)
            case "remote-stop": result = try remoteStop(arguments, context)
            case "authorized": result = try authorized(arguments, context)
            case "set-charging-limit": result = try setLimit(arguments)
            case "clear-charging-limit": result = try clearLimit(arguments)
            case "set-meter-interval": result = try setMeterInterval(arguments, context)
            case "change-availability": result = changeAvailability(arguments, context)
            case "unlock-connector": result = try unlock(arguments, context)
            case "reset": result = try reset(arguments, context)
            default:
                return .rejected("unknown command '\(command.name)'; known: "
                    + EVChargerKind.kindDescriptor.commands.map(\.name).joined(separator: ", "))
            }
        } catch {
            return .rejected(error.message)
        }
        reportStatuses(context)
        return result
    }

    // MARK: Stimuli

    private func plugIn(_ index: Int, _ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) {
        guard connectors[index].ev == nil else { throw DeviceError("connector \(index + 1) already has an EV plugged in; unplug it first") }
        let battery = try arguments.number("battery_kwh", range: 1 ... 300, unit: "kWh").map { $0 * 1000 } ?? evBatteryWh
        let soc = try arguments.number("soc", range: 0 ... 100, unit: "%") ?? random.nextDouble(in: arrivalSOC)
        connectors[index].ev = PluggedEV(batteryWh: battery, soc: soc)
        if let pending = connectors[index].awaitingPlug { startSession(index, pending, context) }
    }

    private func unplug(_ index: Int, _ context: DeviceContext) {
        guard connectors[index].ev != nil else { return }
        stopSession(index, .evDisconnected, context)
        dropPendingStart(index)
        connectors[index].ev = nil
        connectors[index].finishing = false
    }

    private func swipe(_ index: Int, idTag: String, _ context: DeviceContext) {
        // A dead station's card reader reads nothing.
        guard power == .on else { return }
        if let session = connectors[index].session {
            // Only the card that started a session may end it at the charger; another card is
            // ignored, as it would be on a real one.
            if session.idTag == idTag { stopSession(index, .local, context) }
            return
        }
        guard canStart(index) else { return }
        connectors[index].awaitingAuthorization = idTag
        say("authorize", [connectorReading(index), Reading("id_tag", .string(idTag))], context)
    }

    /// Latches a fault: alarm, the session (if any) stops with reason Other, and any start
    /// waiting on the connector is dropped. A second fault on a faulted connector is not reported.
    private func raise(_ code: ChargePointErrorCode, event: String, on index: Int, _ context: DeviceContext) {
        guard connectors[index].fault == nil else { return }
        connectors[index].fault = code
        say(event, [connectorReading(index), Reading("error_code", .string(code.rawValue))], context)
        stopSession(index, .other, context)
        dropPendingStart(index)
    }

    private func powerLoss(_ context: DeviceContext) {
        switch power {
        case .off:
            return
        case .booting:
            boot.cancel()
        case .on:
            for index in connectors.indices {
                if let session = connectors[index].session {
                    cutSessions.append(CutSession(connector: index + 1, session: session, meterStopWh: connectors[index].energyWh))
                    connectors[index].meterTimer.stop()
                    connectors[index].session = nil
                    connectors[index].finishing = connectors[index].ev != nil && connectors[index].fault == nil
                }
                dropPendingStart(index)
            }
            context.emit(Emission(channel: .status, name: "offline", readings: [Reading("reason", .string("power-loss"))]))
        }
        power = .off
    }

    private func powerRestore(_ context: DeviceContext) {
        guard power == .off else { return }
        power = .on
        for index in connectors.indices { connectors[index].restartIntegral(at: context.now) }
        context.emit(Emission(channel: .status, name: "online", readings: [Reading("reason", .string("power-restore"))]))
        // The transactions were cut when the power went, so they stop at the register as it was
        // then; no meter values follow, since none were taken in the dark.
        for cut in cutSessions {
            say("session-stop", [
                Reading("connector", .int(Int64(cut.connector))),
                Reading("session", .int(cut.session.number)),
                Reading("id_tag", .string(cut.session.idTag)),
                Reading("meter_stop_wh", .int(Int64(cut.meterStopWh.rounded()))),
                Reading("session_wh", .double(readingRounded(cut.meterStopWh - cut.session.meterStartWh))),
                Reading("reason", .string(StopReason.powerLoss.rawValue)),
            ], context)
        }
        cutSessions = []
        reportStatuses(context, all: true)
    }

    // MARK: Commands

    private func remoteStart(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let idTag = try arguments.requiredString("id_tag")
        let index: Int
        if let number = try connectorNumber(arguments, station: false) {
            index = number - 1
            guard canStart(index) else {
                if let waiting = connectors[index].awaitingPlug { return .rejected("connector \(number) is already waiting for a plug for '\(waiting.idTag)'") }
                return .rejected("connector \(number) is \(status(of: index).rawValue)")
            }
        } else {
            guard let first = connectors.indices.first(where: canStart) else { return .rejected("no connector is Available or Preparing") }
            index = first
        }
        let limit = try arguments.number("limit_w", range: 0 ... 10_000_000, unit: "W")
        return CommandResult(.accepted, readings: begin(index, PendingStart(idTag: idTag, limitW: limit), context))
    }

    private func remoteStop(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let index: Int
        if let number = try arguments.number("session") {
            guard let found = connectors.indices.first(where: { connectors[$0].session?.number == Int64(number) }) else {
                return .rejected("no session \(JSONText.number(number)) is running")
            }
            index = found
        } else if let number = try connectorNumber(arguments, station: false) {
            guard connectors[number - 1].session != nil else { return .rejected("connector \(number) has no session running") }
            index = number - 1
        } else {
            return .rejected("command 'remote-stop' needs argument 'session' or 'connector'")
        }
        let session = connectors[index].session?.number ?? 0
        stopSession(index, .remote, context)
        return CommandResult(.accepted, readings: [connectorReading(index), Reading("session", .int(session))])
    }

    private func authorized(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let index = try requiredConnectorNumber(arguments, station: false) - 1
        let idTag = try arguments.requiredString("id_tag")
        let accepted = try arguments.requiredBool("accepted")
        guard connectors[index].awaitingAuthorization == idTag else {
            return .rejected("no authorization is pending for '\(idTag)' on connector \(index + 1)")
        }
        connectors[index].awaitingAuthorization = nil
        guard accepted else {
            // A refused card changes nothing: the connector stays as it was for the next card.
            return CommandResult(.accepted, readings: [connectorReading(index), Reading("id_tag", .string(idTag)), Reading("accepted", .bool(false))])
        }
        guard canStart(index) else { return .rejected("connector \(index + 1) is \(status(of: index).rawValue)") }
        return CommandResult(.accepted, readings: begin(index, PendingStart(idTag: idTag, limitW: nil), context))
    }

    private func setLimit(_ arguments: Arguments) throws(DeviceError) -> CommandResult {
        let number = try requiredConnectorNumber(arguments, station: true)
        let limit = try arguments.required(arguments.number("limit_w", range: 0 ... 10_000_000, unit: "W"), "limit_w")
        if number == 0 { stationLimitW = limit } else { connectors[number - 1].limitW = limit }
        return CommandResult(.accepted, readings: [Reading("connector", .int(Int64(number))), Reading("limit_w", .double(limit))])
    }

    private func clearLimit(_ arguments: Arguments) throws(DeviceError) -> CommandResult {
        let number = try requiredConnectorNumber(arguments, station: true)
        if number == 0 { stationLimitW = nil } else { connectors[number - 1].limitW = nil }
        return CommandResult(.accepted, readings: [Reading("connector", .int(Int64(number)))])
    }

    /// MeterValueSampleInterval changed by the central system: running sessions sample one new
    /// interval from now, later sessions at the new interval.
    private func setMeterInterval(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let seconds = try arguments.required(arguments.number("seconds", range: 1 ... 86_400, unit: "s"), "seconds")
        let interval = DeviceDuration.fromSeconds(seconds)
        for index in connectors.indices {
            if connectors[index].session != nil {
                connectors[index].meterTimer.change(interval: interval, context)
            } else {
                connectors[index].meterTimer.set(interval: interval)
            }
        }
        return CommandResult(.accepted, readings: [Reading("seconds", .double(seconds))])
    }

    /// Inoperative takes effect at once on a connector without a session and is Scheduled on
    /// one with a session: the derived status turns Unavailable when the session ends.
    private func changeAvailability(_ arguments: Arguments, _ context: DeviceContext) -> CommandResult {
        let number: Int
        let operative: Bool
        do {
            number = try requiredConnectorNumber(arguments, station: true)
            operative = try arguments.requiredBool("operative")
        } catch {
            return CommandResult(.rejected(reason: error.message), readings: [Reading("status", .string("Rejected"))])
        }
        let targets = number == 0 ? Array(connectors.indices) : [number - 1]
        if number == 0 { stationOperative = operative }
        for index in targets where !operative && connectors[index].session == nil {
            // A start waiting for its plug is dropped: Preparing goes back to Available first, as
            // OCPP 1.6's state table has no Preparing → Unavailable.
            dropPendingStart(index)
            reportStatuses(context)
        }
        for index in targets { connectors[index].operative = operative }
        let scheduled = !operative && targets.contains { connectors[$0].session != nil }
        return CommandResult(.accepted, readings: [
            Reading("connector", .int(Int64(number))), Reading("status", .string(scheduled ? "Scheduled" : "Accepted")),
        ])
    }

    private func unlock(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let index = try requiredConnectorNumber(arguments, station: false) - 1
        guard connectors[index].fault != .connectorLockFailure else {
            return CommandResult(.rejected(reason: "the connector lock has failed"),
                                 readings: [connectorReading(index), Reading("status", .string("UnlockFailed"))])
        }
        // Releasing the cable ends the session; OCPP 1.6 would say UnlockCommand, the binding's
        // Reason vocabulary here says Other.
        stopSession(index, .other, context)
        return CommandResult(.accepted, readings: [connectorReading(index), Reading("status", .string("Unlocked"))])
    }

    private func reset(_ arguments: Arguments, _ context: DeviceContext) throws(DeviceError) -> CommandResult {
        let type = try arguments.requiredString("type")
        let reason: StopReason
        switch type {
        case "Hard": reason = .hardReset
        case "Soft": reason = .softReset
        default: return .rejected("reset type must be Hard or Soft, got '\(type)'")
        }
        for index in connectors.indices {
            stopSession(index, reason, context)
            dropPendingStart(index)
        }
        // After a reset the station tells the central system every status afresh, as after a boot.
        reportStatuses(context, all: true)
        return CommandResult(.accepted, readings: [Reading("type", .string(type))])
    }

    // MARK: Sessions

    /// An authorised start: the session begins now if an EV is plugged, else the connector waits
    /// connection_timeout for one (Preparing). Returns the result readings.
    private func begin(_ index: Int, _ start: PendingStart, _ context: DeviceContext) -> [Reading] {
        connectors[index].awaitingAuthorization = nil
        guard connectors[index].ev != nil else {
            connectors[index].awaitingPlug = start
            connectors[index].plugTimer.start(after: connectionTimeout, context)
            return [connectorReading(index)]
        }
        startSession(index, start, context)
        return [connectorReading(index), Reading("session", .int(connectors[index].session?.number ?? 0))]
    }

    /// Starts a session: `session-start`, the status change, and the first meter values.
    private func startSession(_ index: Int, _ start: PendingStart, _ context: DeviceContext) {
        let idTag = start.idTag
        dropPendingStart(index)
        connectors[index].finishing = false
        connectors[index].restartIntegral(at: context.now)
        let session = ChargingSession(number: nextSession, idTag: idTag, meterStartWh: connectors[index].energyWh, limitW: start.limitW)
        nextSession += 1
        connectors[index].session = session
        say("session-start", [
            connectorReading(index),
            Reading("session", .int(session.number)),
            Reading("id_tag", .string(idTag)),
            Reading("meter_start_wh", .int(Int64(session.meterStartWh.rounded()))),
        ], context)
        reportStatuses(context)
        emitMeter(index, context)
        connectors[index].meterTimer.start(after: connectors[index].meterTimer.interval, context)
    }

    /// Stops the connector's session, if it runs: last meter values, then `session-stop`. An EV
    /// still plugged leaves the connector Finishing, unless a fault stopped it (then Preparing
    /// once the fault clears).
    private func stopSession(_ index: Int, _ reason: StopReason, _ context: DeviceContext) {
        guard let session = connectors[index].session else { return }
        connectors[index].meterTimer.stop()
        emitMeter(index, context)
        let register = connectors[index].energyWh
        say("session-stop", [
            connectorReading(index),
            Reading("session", .int(session.number)),
            Reading("id_tag", .string(session.idTag)),
            Reading("meter_stop_wh", .int(Int64(register.rounded()))),
            Reading("session_wh", .double(readingRounded(register - session.meterStartWh))),
            Reading("reason", .string(reason.rawValue)),
        ], context)
        connectors[index].session = nil
        connectors[index].finishing = connectors[index].ev != nil && connectors[index].fault == nil
    }

    /// Forgets a start waiting for a plug or for the platform's authorisation.
    private func dropPendingStart(_ index: Int) {
        connectors[index].awaitingPlug = nil
        connectors[index].plugTimer.cancel()
        connectors[index].awaitingAuthorization = nil
    }

    private func emitMeter(_ index: Int, _ context: DeviceContext) {
        let connector = connectors[index]
        guard let session = connector.session, let ev = connector.ev else { return }
        let watts = connector.power(curve, limitW: limit(index))
        let amps = dc ? watts / voltage : watts / (voltage * phases)
        say("meter", [
            connectorReading(index),
            Reading("session", .int(session.number)),
            Reading("energy_wh", .double(readingRounded(connector.energyWh))),
            Reading("session_wh", .double(readingRounded(connector.energyWh - session.meterStartWh))),
            Reading("power_w", .double(readingRounded(watts))),
            Reading("current_a", .double(readingRounded(amps))),
            Reading("voltage_v", .double(readingRounded(voltage))),
            Reading("soc", .double(readingRounded(ev.soc))),
        ], context)
    }

    // MARK: Status

    /// A connector's OCPP status, from what is true of it now. A fault outranks everything; a
    /// running session outranks unavailability (which is then Scheduled).
    private func status(of index: Int) -> ConnectorStatus {
        let connector = connectors[index]
        if connector.fault != nil { return .faulted }
        if connector.session != nil {
            if limit(index) <= 0 { return .suspendedEVSE }
            if let ev = connector.ev, !ev.responding || ev.isFull { return .suspendedEV }
            return .charging
        }
        if !connector.operative { return .unavailable }
        if connector.finishing { return .finishing }
        if connector.ev != nil || connector.awaitingPlug != nil { return .preparing }
        return .available
    }

    /// The station (connector 0) is Unavailable once ChangeAvailability made it so and no
    /// session still runs.
    private var stationStatus: ConnectorStatus {
        !stationOperative && connectors.allSatisfy({ $0.session == nil }) ? .unavailable : .available
    }

    /// Whether a new session may be authorised on the connector: it is Available or Preparing
    /// and no start is already waiting there for a plug.
    private func canStart(_ index: Int) -> Bool {
        let status = status(of: index)
        return (status == .available || status == .preparing) && connectors[index].awaitingPlug == nil
    }

    /// Emits `status` for each connector (0 first) whose status or error code differs from the
    /// one last reported, or for every connector with `all`. Nothing while the station is off.
    private func reportStatuses(_ context: DeviceContext, all: Bool = false) {
        guard power == .on else { return }
        let current = [Reported(status: stationStatus, errorCode: .noError)] + connectors.indices.map {
            Reported(status: status(of: $0), errorCode: connectors[$0].fault ?? .noError)
        }
        for (number, now) in current.enumerated() where all || reported[number] != now {
            reported[number] = now
            context.emit(event: "status", [
                Reading("connector", .int(Int64(number))),
                Reading("status", .string(now.status.rawValue)),
                Reading("error_code", .string(now.errorCode.rawValue)),
            ])
        }
    }

    private func bootUp(_ context: DeviceContext) {
        power = .on
        reportStatuses(context, all: true)
    }

    // MARK: Helpers

    /// The limit on a connector's power, W: its own, its session's, and its equal share of the
    /// station's.
    private func limit(_ index: Int) -> Double {
        let share = stationLimitW.map { $0 / Double(connectors.count) } ?? .infinity
        return min(connectors[index].limitW ?? .infinity, connectors[index].session?.limitW ?? .infinity, share)
    }

    private func integrateAll(_ now: MonotonicInstant) {
        for index in connectors.indices { connectors[index].integrate(to: now, curve, limitW: limit(index)) }
    }

    /// Emits an event, unless the station is off: a charger without power says nothing.
    private func say(_ name: String, _ readings: [Reading], _ context: DeviceContext) {
        guard power == .on else { return }
        context.emit(event: name, readings)
    }

    private func connectorReading(_ index: Int) -> Reading { Reading("connector", .int(Int64(index + 1))) }

    /// A stimulus's connector as an index into `connectors`; connector 1 when it names none.
    private func connectorIndex(_ arguments: Arguments) throws(DeviceError) -> Int {
        (try connectorNumber(arguments, station: false) ?? 1) - 1
    }

    /// The connector an argument list names, 1…connectors (0 too with `station`); nil if none.
    private func connectorNumber(_ arguments: Arguments, station: Bool) throws(DeviceError) -> Int? {
        let lowest = station ? 0.0 : 1.0
        let unit = station ? "(its connectors, 0 for the station)" : "(its connectors)"
        guard let number = try arguments.number("connector", range: lowest ... Double(connectors.count), unit: unit) else { return nil }
        guard number == number.rounded() else { throw DeviceError("\(arguments.owner) argument 'connector' must be a whole number, got \(number)") }
        return Int(number)
    }

    private func requiredConnectorNumber(_ arguments: Arguments, station: Bool) throws(DeviceError) -> Int {
        guard let number = try connectorNumber(arguments, station: station) else { throw DeviceError("\(arguments.owner) needs argument 'connector'") }
        return number
    }
}
