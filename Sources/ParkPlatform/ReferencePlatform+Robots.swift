import Foundation
import ParkVDA5050

/// The reference platform's fleet-manager ears: VDA 5050 `connection` and `state` from the park's
/// robots (`<interface>/v2/<manufacturer>/<serial>/<topic>`; the serial number is the robot's id),
/// read with the protocol module's bounded decoder and handed to ``PlatformCore``.
extension ReferencePlatform {
    /// Takes `topic` if it is a robot's; false for everything else.
    func receivedRobotMessage(topic: String, payload: [UInt8], now: UInt64) -> Bool {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        // The interface level is the robots' filter's first (`uagv` of `uagv/#`), compared in place per message.
        guard levels.count == 5, levels[1] == Substring(VDA5050.majorVersion),
              levels[0] == endpoints.robotFilter.prefix(while: { $0 != "/" }) else { return false }
        let serial = String(levels[3])
        guard !serial.isEmpty else { return true }
        let actions: [PlatformCore.Action]
        switch levels[4] {
        case "connection":
            guard let message = try? VDA5050.decode(VDA5050Connection.self, from: payload) else {
                core.withLock { $0.countMalformed() }
                return true
            }
            actions = core.withLock { $0.robotConnection(serial, state: message.connectionState, now: now) }
        case "state":
            guard let message = try? VDA5050.decode(VDA5050State.self, from: payload) else {
                core.withLock { $0.countMalformed() }
                return true
            }
            actions = core.withLock { $0.robotState(serial, message, now: now) }
        case "visualization":
            // The position between states (a state may be 30 s apart): where a task starts.
            guard let message = try? VDA5050.decode(VDA5050Visualization.self, from: payload) else {
                core.withLock { $0.countMalformed() }
                return true
            }
            actions = core.withLock { $0.robotVisualization(serial, message, now: now) }
        default:
            // order and instantActions are the fleet manager's own (or another's); the factsheet
            // says nothing the platform keeps.
            return true
        }
        perform(standingBy(actions, now: now))
        return true
    }

    /// A request of the REST API for a robot: `goto` {node} makes it a task of the fleet manager
    /// (``PlatformCore/robotTask(_:to:commandID:now:)``); its id is the request's, and its end a
    /// `task-completed` record naming it.
    func robotCommand(_ deviceID: String, command: String, arguments: [String: Any]) -> Result<String, PlatformError> {
        guard command == "goto" else { return .failure(PlatformError("a robot takes the command goto {\"node\": <a node of the park's map>}, not \(command)")) }
        guard let node = arguments["node"] as? String, !node.isEmpty else { return .failure(PlatformError("goto needs node, a node of the park's map")) }
        let sentAt = clock.now()
        let id = "api-robot-\(deviceID)-\(sentAt)"
        // Accepted and forgotten, as the switch does to every command.
        guard !core.withLock({ $0.faults.commandsDropped }) else { return .success(id) }
        switch core.withLock({ $0.robotTask(deviceID, to: node, commandID: id, now: sentAt) }) {
        case .failure(let error): return .failure(error)
        case .success(let actions):
            _ = records.sent(device: deviceID, command: command, origin: "api", id: id, at: sentAt)
            perform(standingBy(actions, now: sentAt))
            return .success(id)
        }
    }
}
