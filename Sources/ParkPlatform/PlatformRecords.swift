import Foundation
import ParkWire
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
            // Kept in id order, so pages by `since` neither skip nor repeat one: alarms held back
            // by the delay fault can be raised slightly out of order.
            if let last = state.alarms.last, last.id > alarm.id {
                state.alarms.insert(alarm, at: state.alarms.lastIndex { $0.id < alarm.id }.map { $0 + 1 } ?? 0)
            } else {
                state.alarms.append(alarm)
            }
            if state.alarms.count > Self.keptAlarms { state.alarms.removeFirst(state.alarms.count - Self.keptAlarms) }
        }
    }

    /// Alarms with an id above `since`, oldest first: at most `limit`, and whether more follow.
    func alarms(since: Int = 0, limit: Int = Int.max) -> (alarms: [PlatformAlarm], more: Bool) {
        state.withLock { state in
            // Ids rise with the array, so the first one past `since` starts the page.
            let start = state.alarms.firstIndex { $0.id > since } ?? state.alarms.endIndex
            let end = start + min(limit, state.alarms.count - start)
            return (Array(state.alarms[start ..< end]), end < state.alarms.count)
        }
    }

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

/// The listings' JSON, written by hand: `JSONSerialization` took 23 s over a 10 MB `/devices`
/// (during which no other request was answered); this is the same text, keys sorted.
enum ListingJSON {
    static func alarm(_ alarm: PlatformAlarm, into out: inout String) {
        out += "{\"alarm_id\":\(alarm.id),\"device\":\(JSONText.quoted(alarm.device))"
        if let time = alarm.deviceTimeNanoseconds { out += ",\"device_ts_ns\":\(time)" }
        out += ",\"event\":\(JSONText.quoted(alarm.event)),\"kind\":\(JSONText.quoted(alarm.kind))"
        if let id = alarm.messageID { out += ",\"msg_id\":\(JSONText.quoted(id))" }
        out += ",\"received_ns\":\(alarm.receivedNanoseconds),\"values\":"
        values(alarm.values, into: &out)
        out += "}"
    }

    static func device(_ device: PlatformCore.DeviceState, into out: inout String) {
        out += "{\"device\":\(JSONText.quoted(device.id)),\"duplicates\":\(device.duplicates),\"kind\":\(JSONText.quoted(device.kind))"
        out += ",\"last_seen_ns\":\(device.lastSeen),\"lost\":\(device.gaps),\"messages\":\(device.messages)"
        out += ",\"status\":\(JSONText.quoted(device.status.rawValue)),\"values\":"
        values(device.values, into: &out)
        if let id = device.valuesMessageID { out += ",\"values_msg_id\":\(JSONText.quoted(id))" }
        if let time = device.valuesTimestampNanoseconds { out += ",\"values_ts_ns\":\(time)" }
        if let zone = device.zone { out += ",\"zone\":\(JSONText.quoted(zone))" }
        if !device.connectors.isEmpty {
            out += ",\"connectors\":{"
            out += device.connectors.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\(JSONText.quoted($0.value))" }.joined(separator: ",")
            out += "}"
        }
        out += "}"
    }

    static func array<Item>(_ items: some Sequence<Item>, _ write: (Item, inout String) -> Void) -> [UInt8] {
        var out = "["
        var first = true
        for item in items {
            if !first { out += "," }
            first = false
            write(item, &out)
        }
        out += "]"
        return Array(out.utf8)
    }

    private static func values(_ values: [String: Double], into out: inout String) {
        out += "{"
        var first = true
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            if !first { out += "," }
            first = false
            out += JSONText.quoted(key) + ":" + JSONText.number(value)
        }
        out += "}"
    }
}
