import Foundation
import ParkMQTT
import Synchronization

/// How a reference platform takes part in an active/standby pair on one broker.
///
/// The active node renews a lease every second: a retained message on ``leaseTopic`` naming it.
/// The standby takes every device message too, so its state (device status, latest values, open
/// alarms) is as current as the active's, but says nothing northbound. Each alarm it would raise
/// it holds until it sees the active raise the same one (by `msg_id`) on the alarm topic. When
/// the lease has not been renewed for ``takeoverAfter``, the standby takes over: it renews the
/// lease itself and raises the alarms the active never did — so a primary that dies between a
/// device's alarm and its own publication loses nothing (003 L627, second-level backup).
///
/// The standby keeps its state hot from the broker rather than recovering it from a shared
/// database: SQLite files are not shared between live writers, and a takeover that must first
/// read a database is slower than one that need not.
public struct StandbySettings: Sendable, Hashable {
    /// This node's name in the lease (unique per node).
    public var node: String
    /// Starts as the standby (false: starts active and holds the lease).
    public var startsAsStandby: Bool
    public var leaseTopic: String
    /// How long the lease may go unrenewed before the standby takes over.
    public var takeoverAfter: Duration

    public init(node: String, startsAsStandby: Bool, leaseTopic: String = "platform/lease", takeoverAfter: Duration = .seconds(3)) {
        self.node = node
        self.startsAsStandby = startsAsStandby
        self.leaseTopic = leaseTopic
        self.takeoverAfter = takeoverAfter
    }
}

/// The fault switches of a standby pair: the ways real failovers go wrong.
public struct StandbyFaults: Sendable, Hashable {
    /// The standby waits this long for the lease instead of ``StandbySettings/takeoverAfter``.
    public var slowTakeover: Duration?
    /// At takeover the standby forgets the alarms it held: whatever the active never raised is lost.
    public var forgetsHeldAlarms = false
    /// The standby never waits: both nodes are active at once, and every alarm is raised twice.
    public var splitBrain = false
    /// An active node never fences itself: woken from a pause longer than its lease it goes on as
    /// the active, raising again what the standby raised meanwhile, and hearing another node's
    /// lease it keeps going — two actives until one dies.
    public var zombiePrimary = false

    public init(slowTakeover: Duration? = nil, forgetsHeldAlarms: Bool = false, splitBrain: Bool = false, zombiePrimary: Bool = false) {
        self.slowTakeover = slowTakeover
        self.forgetsHeldAlarms = forgetsHeldAlarms
        self.splitBrain = splitBrain
        self.zombiePrimary = zombiePrimary
    }
}

/// A node's part in the pair, on its clock.
struct StandbyState: Sendable {
    var settings: StandbySettings?
    var faults = StandbyFaults()
    var active = true
    /// When the other node's lease was last renewed (platform clock), or when watching began.
    var leaseSeenAt: UInt64 = 0
    var leaseHolder: String?
    /// Alarms the standby would have raised, by `msg_id`, until the active raises them.
    var held: [String: (alarm: PlatformAlarm, at: UInt64)] = [:]
    /// `msg_id`s of alarms the active raised before this node's own core got to them.
    var raisedByActive: [String] = []
    var tookOverAt: UInt64?
    /// How long the lease had gone unrenewed when this node took over.
    var leaseLapse: Duration?
    /// When this node, active, last renewed its lease (platform clock).
    var renewedAt: UInt64 = 0
    /// This node's term while active: one more than any it had seen when it took over. A lease
    /// carries its holder's term, so a stale lease (sent late by a node that was cut off) is told
    /// from a newer active's.
    var term: UInt64 = 0
    /// The highest term seen in another node's lease.
    var seenTerm: UInt64 = 0
    /// Times this node, active, stood down: its own lease had lapsed (it was paused), or it heard
    /// another node's.
    var stoodDown = 0
    /// Whether it would fence itself (not under ``StandbyFaults/splitBrain`` or ``StandbyFaults/zombiePrimary``).
    var fences: Bool { !faults.splitBrain && !faults.zombiePrimary }
    /// Whether this node is connected to the broker. A lease that lapses while this node cannot
    /// hear the broker says nothing of the active (the broker may be what is down), so it is not
    /// counted: a standby that took over then would be a second active once the broker is back.
    var brokerUp = true

    static let remembered = 1_024
}

extension ReferencePlatform {
    /// Whether this node speaks for the pair now (always, for a platform without a standby).
    public var isActive: Bool { standby.withLock { $0.active } }

    /// When this node took over from the other (platform clock, ns), if it has.
    public var tookOverAt: UInt64? { standby.withLock { $0.tookOverAt } }

    /// How long the other node's lease had gone unrenewed when this node took over, if it has.
    public var leaseLapseAtTakeover: Duration? { standby.withLock { $0.leaseLapse } }

    /// Alarms held for the active to raise.
    public var heldAlarms: Int { standby.withLock { $0.held.count } }

    /// Times this node stood down from active (its lease lapsed while it was paused, or it heard
    /// another node's).
    public var timesStoodDown: Int { standby.withLock { $0.stoodDown } }

    /// An active node whose own lease has lapsed — it could not renew it for longer than a standby
    /// waits, so it was paused (SIGSTOP, a long stall) and may have been replaced — stands by
    /// before it says anything more: what it raised now the standby may have raised already. It
    /// then acts as a standby does: holds its alarms until it sees them raised, and takes over
    /// again only if no other node's lease is heard within ``StandbySettings/takeoverAfter``.
    func fenceIfLeaseLapsed(now: UInt64) {
        let lapse = standby.withLock { state -> Duration? in
            guard let settings = state.settings, state.active, state.fences else { return nil }
            let age = Duration.nanoseconds(Int64(clamping: now &- state.renewedAt))
            guard age > settings.takeoverAfter else { return nil }
            state.active = false
            state.leaseSeenAt = now
            state.stoodDown += 1
            return age
        }
        if let lapse {
            logger.warning("this node's own lease lapsed \(lapse) ago (it was paused): standing by until a lease says who is active")
        }
    }

    /// Joins a pair (before ``start()``): subscribes to the lease and the alarm topic too.
    public func joinPair(_ settings: StandbySettings, faults: StandbyFaults = StandbyFaults()) {
        let now = clock.now()
        standby.withLock { state in
            state.settings = settings
            state.faults = faults
            state.active = !settings.startsAsStandby || faults.splitBrain
            state.leaseSeenAt = now
            state.renewedAt = now
        }
    }

    /// Stops the node as `kill -9` would: it takes nothing in, says nothing, and its lease lapses
    /// (its broker connection stays up, as a killed process's would until the broker notices).
    public func kill() {
        crash()
    }

    /// The node's broker connection went down or came back. Back, the standby gives the active a
    /// whole ``StandbySettings/takeoverAfter`` to be heard renewing its lease again. A node on a
    /// real broker starts down (``start()``), so a slow first connect is not taken for a lapse.
    package func brokerConnectionChanged(up: Bool) {
        let now = clock.now()
        standby.withLock { state in
            guard state.settings != nil, state.brokerUp != up else { return }
            state.brokerUp = up
            if up { state.leaseSeenAt = now }
        }
    }

    /// Topics a node of a pair listens on besides the devices'.
    var pairTopics: [String] {
        standby.withLock { state in state.settings.map { [$0.leaseTopic, endpoints.alarmTopic] } ?? [] }
    }

    /// A message on the lease or the alarm topic; true when it was one (the core never sees them).
    func receivedPairMessage(topic: String, payload: [UInt8], now: UInt64) -> Bool {
        standby.withLock { state in
            guard let settings = state.settings, topic == settings.leaseTopic || topic == endpoints.alarmTopic else { return false }
            let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
            if topic == settings.leaseTopic {
                let term = (object?["term"] as? NSNumber)?.uint64Value ?? 0
                // A lease older than one already seen (a cut-off node's, sent late) says nothing.
                if let holder = object?["holder"] as? String, holder != settings.node, term >= state.seenTerm {
                    state.seenTerm = term
                    state.leaseHolder = holder
                    state.leaseSeenAt = now
                    // Another node holds a newer lease (or, at the same term, the one of the two
                    // whose name sorts later does): it took over while this one could not be heard.
                    // Two actives would raise everything twice; this one stands by.
                    if state.active, state.fences, term > state.term || (term == state.term && holder > settings.node) {
                        state.active = false
                        state.stoodDown += 1
                    }
                }
            } else if !state.active, let id = object?["msg_id"] as? String {
                if state.held.removeValue(forKey: id) == nil {
                    state.raisedByActive.append(id)
                    if state.raisedByActive.count > StandbyState.remembered { state.raisedByActive.removeFirst() }
                }
            }
            return true
        }
    }

    /// While standing by, the actions the core decided are kept to itself: alarms are held for
    /// the active, everything else it publishes is the active's to publish. Returns what is
    /// still to be done (the database record, warnings) — everything, on the active node.
    func standingBy(_ actions: [PlatformCore.Action], now: UInt64) -> [PlatformCore.Action] {
        standby.withLock { state in
            guard !state.active else { return actions }
            return actions.filter { action in
                switch action {
                case .raiseAlarm(let alarm, _):
                    let key = alarm.messageID ?? "\(alarm.device)|\(alarm.event)|\(alarm.receivedNanoseconds)"
                    if let index = state.raisedByActive.firstIndex(of: key) {
                        state.raisedByActive.remove(at: index)
                    } else {
                        state.held[key] = (alarm, now)
                    }
                    return false
                case .record, .refused: return true
                case .sendCommand, .sendRobotMessage, .statusChanged, .showTelemetry, .showRecord, .showCatalog: return false
                }
            }
        }
    }

    /// Once a second: the active renews its lease; the standby takes over when it has lapsed.
    func standbyTick(now: UInt64) {
        let (renew, takeover) = standby.withLock { state -> (String?, [PlatformAlarm]?) in
            guard let settings = state.settings else { return (nil, nil) }
            if state.active {
                // Counted while the broker is away too: after a broker restart both nodes were cut
                // off alike, and an active that stood down then would leave the pair without one.
                state.renewedAt = now
                return (settings.leaseTopic, nil)
            }
            guard state.brokerUp else { return (nil, nil) }
            // Alarms held this long were raised by an active this node never heard: not news any more.
            state.held = state.held.filter { now &- $0.value.at < 300_000_000_000 }
            let wait = state.faults.slowTakeover ?? settings.takeoverAfter
            let waited = Duration.nanoseconds(Int64(clamping: now &- state.leaseSeenAt))
            guard waited > wait else { return (nil, nil) }
            state.active = true
            state.renewedAt = now
            state.term = max(state.term, state.seenTerm) + 1
            state.tookOverAt = now
            state.leaseLapse = waited
            let held = state.faults.forgetsHeldAlarms ? [] : state.held.values.sorted { $0.at < $1.at }.map(\.alarm)
            state.held = [:]
            return (settings.leaseTopic, held)
        }
        guard let leaseTopic = renew, let publish = publisher() else { return }
        let (node, term) = standby.withLock { ($0.settings?.node ?? "", $0.term) }
        if let takeover {
            logger.warning("the active platform's lease lapsed: \(node) takes over, raising \(takeover.count) alarms it never raised")
            perform(takeover.map { .raiseAlarm($0, delay: .zero) })
        }
        let lease = (try? JSONSerialization.data(withJSONObject: ["holder": node, "ts_ns": now, "term": term], options: [.sortedKeys])).map(Array.init) ?? []
        try? publish(leaseTopic, lease, .atLeastOnce)
    }
}
