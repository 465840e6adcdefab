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
        default:
            // order and instantActions are the fleet manager's own (or another's); visualization
            // and factsheet say nothing the platform keeps.
            return true
        }
        perform(standingBy(actions, now: now))
        return true
    }
}
