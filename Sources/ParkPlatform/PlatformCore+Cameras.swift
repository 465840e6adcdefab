/// GB/T 28181 cameras in the platform's rules: their SIP server says when they are online or
/// offline, and their alarms take the MQTT devices' alarm path (linkage, the alarm-delay and
/// drop-alarms fault switches, `platform/alarms`).
extension PlatformCore {
    /// The device kind cameras are shown and matched by linkage rules as.
    public static let cameraKind = "camera"
    /// The event a camera's alarm raises when neither its description nor its method and type
    /// name one.
    public static let cameraAlarmEvent = "alarm"

    /// A camera registered or came back (`online`), or went silent or unregistered.
    public mutating func camera(_ id: String, online: Bool, now: UInt64) -> [Action] {
        var state = devices[id] ?? DeviceState(
            id: id, kind: Self.cameraKind, status: .unknown, lastSeen: now, lastSequence: 0, gaps: 0, duplicates: 0, messages: 0)
        let before = devices[id]?.status
        state.viaSIP = true
        if online {
            state.lastSeen = now
            if state.status != .abnormal { state.status = .online }
        } else if !faults.offlineDetectionDisabled {
            state.status = .offline
        }
        devices[id] = state
        return before == state.status ? [] : [.statusChanged(device: id, from: before, to: state.status)]
    }

    /// A camera's alarm `event` (`values`: its priority, method and type), raised as an MQTT
    /// device's alarm event is. A GB/T 28181 Alarm is an alarm whatever its name, so it is not
    /// held to the configured alarm events.
    public mutating func cameraAlarm(_ id: String, event: String, values: [String: Double], now: UInt64) -> [Action] {
        camera(id, online: true, now: now) + deviceAlarm(id, event: event, values: values, now: now)
    }

    /// An alarm from a device on a protocol of its own (a camera, a charger): counted as a
    /// message, linked, and raised through the same fault switches as an MQTT device's.
    mutating func deviceAlarm(_ id: String, event: String, values: [String: Double], now: UInt64) -> [Action] {
        devices[id]?.messages += 1
        guard let state = devices[id] else { return [] }
        var actions = linkage(for: event, from: state)
        if faults.dropAlarms {
            alarmsDropped += 1
            return actions
        }
        alarmsRaised += 1
        actions.append(.raiseAlarm(
            PlatformAlarm(
                id: alarmsRaised, device: id, kind: state.kind, event: event, messageID: nil, deviceTimeNanoseconds: nil,
                receivedNanoseconds: now, values: values),
            delay: faults.alarmDelay))
        return actions
    }
}
