import ParkCore
import Synchronization

/// What a camera or NVR is *now*, readable from any thread: power, guard, which channels have
/// lost video, and the wire faults the harness switched on.
///
/// The SIP binding (next step of issue 14) runs on its own event loop and must ask, before each
/// REGISTER refresh, Keepalive or Alarm it sends, whether the harness has broken that message on
/// purpose. Such faults are not emissions: they change how the binding speaks, not what the
/// device says. So the device keeps them here and registers this state in ``DeviceSetup/polled``;
/// the binding calls `registry.state(of: id)?.readings(at:)` and reads the bool readings
/// `keepalives_stopped`, `refuse_reregister`, `alarm_in_wrong_field` and `malformed_xml`
/// (``Fault``), as the Modbus binding reads a meter's registers.
final class VideoDeviceState: PolledState {
    /// A fault the binding implements on the wire; the raw value is the reading's point name.
    enum Fault: String, CaseIterable, Sendable {
        /// Keepalive MESSAGEs stop while the registration stays (the platform must mark it offline).
        case keepalivesStopped = "keepalives_stopped"
        /// The device answers its refresh time by not re-registering.
        case refuseReregister = "refuse_reregister"
        /// Alarms carry the channel id in DeviceID's place and vice versa (a real field bug).
        case alarmInWrongField = "alarm_in_wrong_field"
        /// MANSCDP bodies are cut short so they are not well-formed XML.
        case malformedXML = "malformed_xml"
    }

    private struct Values {
        var online = true
        var guarded: Bool
        var lost: Set<Int> = []
        var faults: Set<Fault> = []
    }

    let channels: Int
    private let values: Mutex<Values>

    init(channels: Int, guarded: Bool) {
        self.channels = channels
        values = Mutex(Values(guarded: guarded))
    }

    var online: Bool { values.withLock { $0.online } }
    var guarded: Bool { values.withLock { $0.guarded } }

    func isLost(_ channel: Int) -> Bool { values.withLock { $0.lost.contains(channel) } }

    func isSet(_ fault: Fault) -> Bool { values.withLock { $0.faults.contains(fault) } }

    func setOnline(_ online: Bool) { values.withLock { $0.online = online } }
    func setGuarded(_ guarded: Bool) { values.withLock { $0.guarded = guarded } }

    /// Marks a channel's video lost or back; false when it already was.
    func setVideoLost(_ lost: Bool, channel: Int) -> Bool {
        values.withLock { lost ? $0.lost.insert(channel).inserted : $0.lost.remove(channel) != nil }
    }

    /// Switches a fault on or off; false when it already was.
    func set(_ fault: Fault, _ on: Bool) -> Bool {
        values.withLock { on ? $0.faults.insert(fault).inserted : $0.faults.remove(fault) != nil }
    }

    /// `lost_channels` as a reading: the channel numbers without video, "3,7", or "" when none.
    var lostChannelsReading: Reading { Self.lostReading(values.withLock { $0.lost }) }

    private static func lostReading(_ lost: Set<Int>) -> Reading {
        Reading("lost_channels", .string(lost.sorted().map(String.init).joined(separator: ",")))
    }

    func readings(at instant: MonotonicInstant) -> [Reading] {
        let v = values.withLock { $0 }
        return [
            Reading("online", .bool(v.online)),
            Reading("guard", .bool(v.guarded)),
            Reading("channels", .int(Int64(channels))),
            Self.lostReading(v.lost),
        ] + Fault.allCases.map { Reading($0.rawValue, .bool(v.faults.contains($0))) }
    }
}
