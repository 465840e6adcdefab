/// How the link between some devices and the system under test is broken: what the fault proxy
/// does to their connections, and what a virtual park does to their messages. Each is a way real
/// networks break, chosen for what it tests in the ends.
public enum LinkCondition: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Bytes flow both ways.
    case healthy
    /// Nothing moves either way and nothing is closed: packets vanish, connections stay
    /// half-open, and only the ends' own keepalives or silence timers can tell. Once healed the
    /// held bytes flow, in order, as TCP's retransmissions deliver them after a real outage.
    case partition
    /// Only the way back breaks: what devices send still arrives, the system's answers
    /// (acknowledgements, commands) do not. Healing resets the connections — what the devices'
    /// keepalives would end up doing — so what they sent but never saw acknowledged is sent again.
    case acksLost = "acks-lost"
    /// Every connection is reset (RST) at once, and new ones are reset as they come, until healed.
    case reset

    public var description: String { rawValue }
}
