import Foundation
import Synchronization

/// What the reference platform remembers for its northbound API: the latest alarms (bounded)
/// and the commands it sent with their acknowledgements.
final class PlatformRecords: Sendable {
    /// A command the platform sent, and what became of it.
    struct Command: Sendable {
        var id: String
        var device: String
        var command: String
        var sentNanoseconds: UInt64
        var origin: String
        var ack: (accepted: Bool, reason: String?, nanoseconds: UInt64)?
    }

    private struct State {
        var alarms: [PlatformAlarm] = []
        var commands: [String: Command] = [:]
        var commandOrder: [String] = []
        var nextCommand = 0
    }

    private let state = Mutex(State())
    static let keptAlarms = 10_000
    static let keptCommands = 10_000

    func add(_ alarm: PlatformAlarm) {
        state.withLock { state in
            state.alarms.append(alarm)
            if state.alarms.count > Self.keptAlarms { state.alarms.removeFirst(state.alarms.count - Self.keptAlarms) }
        }
    }

    /// Alarms with an id above `since`, oldest first.
    func alarms(since: Int = 0) -> [PlatformAlarm] { state.withLock { $0.alarms.filter { $0.id > since } } }

    /// Records a command about to be sent and returns its id (`api-N`), or records one with the given id.
    func sent(device: String, command: String, origin: String, id: String? = nil, at now: UInt64) -> String {
        state.withLock { state in
            state.nextCommand += 1
            let commandID = id ?? "api-\(state.nextCommand)"
            state.commands[commandID] = Command(id: commandID, device: device, command: command, sentNanoseconds: now, origin: origin)
            state.commandOrder.append(commandID)
            if state.commandOrder.count > Self.keptCommands {
                let old = state.commandOrder.removeFirst()
                state.commands[old] = nil
            }
            return commandID
        }
    }

    func acknowledged(id: String, accepted: Bool, reason: String?, at now: UInt64) {
        state.withLock { state in
            guard state.commands[id] != nil, state.commands[id]?.ack == nil else { return }
            state.commands[id]?.ack = (accepted, reason, now)
        }
    }

    func command(_ id: String) -> Command? { state.withLock { $0.commands[id] } }
}

extension PlatformAlarm {
    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "alarm_id": id, "device": device, "kind": kind, "event": event, "received_ns": receivedNanoseconds, "values": values,
        ]
        if let messageID { object["msg_id"] = messageID }
        if let deviceTimeNanoseconds { object["device_ts_ns"] = deviceTimeNanoseconds }
        return object
    }
}

extension PlatformCore.DeviceState {
    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "device": id, "kind": kind, "status": status.rawValue, "last_seen_ns": lastSeen, "messages": messages,
            "lost": gaps, "duplicates": duplicates, "values": values,
        ]
        if let zone { object["zone"] = zone }
        if let valuesMessageID { object["values_msg_id"] = valuesMessageID }
        if let valuesTimestampNanoseconds { object["values_ts_ns"] = valuesTimestampNanoseconds }
        return object
    }
}
