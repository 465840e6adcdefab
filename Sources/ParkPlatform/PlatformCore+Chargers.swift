/// EV chargers in the platform's rules: their OCPP central system says what they report — boot
/// and heartbeats keep them online, a closed WebSocket or a silence past the heartbeat timeout
/// takes them offline, a connector's Faulted status is an alarm on the alarm path (linkage, the
/// alarm-delay and drop-alarms switches, `platform/alarms`), and meter values are telemetry.
extension PlatformCore {
    /// The device kind chargers are shown and matched by linkage rules as.
    public static let chargerKind = "ev-charger"

    /// The alarm event a Faulted status with OCPP 1.6 `errorCode` raises: the charger kind's own
    /// fault event names where one fits, `charger-fault` otherwise.
    public static func chargerFaultEvent(errorCode: String) -> String {
        switch errorCode {
        case "GroundFailure": "ground-fault"
        case "HighTemperature": "over-temperature"
        case "ConnectorLockFailure": "connector-lock-failure"
        default: "charger-fault"
        }
    }

    /// The charger said something: it is online (and stays abnormal while a connector is Faulted).
    public mutating func chargerHeard(_ id: String, now: UInt64) -> [Action] {
        heard(id, kind: Self.chargerKind, via: \.viaOCPP, now: now) { $0 != .abnormal }
    }

    /// The charger's WebSocket closed: offline at once, as a central system sees it (unless the
    /// offline-detection fault switch blinds the platform).
    public mutating func chargerDisconnected(_ id: String, now: UInt64) -> [Action] {
        guard var state = devices[id], state.status != .offline, !faults.offlineDetectionDisabled else { return [] }
        let before = state.status
        state.status = .offline
        devices[id] = state
        return [.statusChanged(device: id, from: before, to: .offline)]
    }

    /// A StatusNotification: the connector's status is kept, entering Faulted raises the alarm its
    /// errorCode names (once per fault, not per repeated notification), and leaving every
    /// Faulted state makes the charger online again.
    public mutating func chargerStatus(_ id: String, connector: Int, status: String, errorCode: String, now: UInt64) -> [Action] {
        var actions = chargerHeard(id, now: now)
        guard var state = devices[id] else { return actions }
        let before = state.connectors[connector]
        state.connectors[connector] = status
        let wasStatus = state.status
        if status == "Faulted" {
            state.status = .abnormal
        } else if !state.connectors.values.contains("Faulted"), state.status == .abnormal {
            state.status = .online
        }
        devices[id] = state
        if wasStatus != state.status { actions.append(.statusChanged(device: id, from: wasStatus, to: state.status)) }
        if status == "Faulted", before != "Faulted" {
            actions += deviceAlarm(id, event: Self.chargerFaultEvent(errorCode: errorCode), values: ["connector": Double(connector)], now: now)
        }
        return actions
    }

    /// Meter values (already named as the platform shows them: `energy_wh`, `power_w`, …, with
    /// `_c<n>` after the name for connectors past the first) become the charger's latest values
    /// and telemetry.
    public mutating func chargerValues(_ id: String, values: [String: Double], deviceTimeNanoseconds: Int64?, now: UInt64) -> [Action] {
        var actions = chargerHeard(id, now: now)
        guard var state = devices[id], !values.isEmpty else { return actions }
        let scaled = values.mapValues { $0 * faults.valueScaling }
        for (point, value) in scaled where state.values[point] != nil || state.values.count < configuration.limits.maxValues {
            state.values[point] = value
        }
        state.valuesTimestampNanoseconds = deviceTimeNanoseconds
        devices[id] = state
        actions.append(.showTelemetry(PlatformTelemetry(
            device: id, kind: state.kind, messageID: nil, deviceTimeNanoseconds: deviceTimeNanoseconds, receivedNanoseconds: now, values: scaled)))
        return actions
    }
}
