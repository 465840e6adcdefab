import ParkVDA5050

/// Mobile robots in the platform's rules, as a fleet manager sees them over VDA 5050: the
/// `connection` topic says online (ONLINE) or offline (OFFLINE, or the broker's CONNECTIONBROKEN
/// will), and every `state` keeps them online. A new error in a state is an alarm on the alarm
/// path (linkage, the alarm-delay and drop-alarms switches, `platform/alarms`) named by its
/// `errorType` — every FATAL error (a motor fault, lost localisation, an empty battery) and the
/// warnings a park wants raised (a low battery: 004 L1795, L2075) — once per appearance; the
/// battery and position are telemetry.
extension PlatformCore {
    /// The device kind robots are shown and matched by linkage rules as.
    public static let robotKind = "mobile-robot"
    /// WARNING-level robot errors that are alarms all the same.
    public static let robotWarningAlarms: Set<String> = ["lowBattery"]

    /// A robot's `connection` message.
    public mutating func robotConnection(_ id: String, state: VDA5050Connection.State, now: UInt64) -> [Action] {
        switch state {
        case .online: return robotHeard(id, now: now)
        case .offline, .broken:
            guard var device = devices[id], device.status != .offline, !faults.offlineDetectionDisabled else { return [] }
            let before = device.status
            device.status = .offline
            devices[id] = device
            return [.statusChanged(device: id, from: before, to: .offline)]
        }
    }

    /// A robot's `state`: online; new alarm-worthy errors raised; battery and position shown.
    public mutating func robotState(_ id: String, _ message: VDA5050State, now: UInt64) -> [Action] {
        var actions = robotHeard(id, now: now)
        guard var device = devices[id] else { return actions }
        let showing = Set(message.errors.filter { $0.errorLevel == .fatal || Self.robotWarningAlarms.contains($0.errorType) }.map(\.errorType))
        let fresh = showing.subtracting(device.robotErrors).sorted()
        device.robotErrors = showing
        let before = device.status
        device.status = message.errors.contains { $0.errorLevel == .fatal } ? .abnormal : .online
        var values: [String: Double] = ["battery": message.batteryState.batteryCharge, "driving": message.driving ? 1 : 0]
        if let position = message.agvPosition {
            values["x"] = position.x
            values["y"] = position.y
        }
        device.values.merge(values) { $1 }
        devices[id] = device
        if before != device.status { actions.append(.statusChanged(device: id, from: before, to: device.status)) }
        for type in fresh {
            actions += deviceAlarm(id, event: type, values: ["battery": message.batteryState.batteryCharge], now: now)
        }
        actions.append(.showTelemetry(PlatformTelemetry(
            device: id, kind: Self.robotKind, messageID: nil, deviceTimeNanoseconds: nil, receivedNanoseconds: now, values: values)))
        return actions
    }

    private mutating func robotHeard(_ id: String, now: UInt64) -> [Action] {
        var state = devices[id] ?? DeviceState(
            id: id, kind: Self.robotKind, status: .unknown, lastSeen: now, lastSequence: 0, gaps: 0, duplicates: 0, messages: 0)
        let before = devices[id]?.status
        state.viaVDA5050 = true
        state.lastSeen = now
        state.messages += 1
        if state.status == .unknown || state.status == .offline { state.status = .online }
        devices[id] = state
        return before == state.status ? [] : [.statusChanged(device: id, from: before, to: state.status)]
    }
}
