import Foundation
import ParkMQTT
import ParkSpool
import Synchronization

/// Where a gateway keeps the readings its uplink has not taken yet, and how many it may keep.
public struct GatewaySpoolSettings: Sendable, Hashable {
    /// The spool's directory (created if missing; what an earlier run left there is sent first).
    public var directory: String
    /// The most readings kept; beyond it the oldest are dropped, counted.
    public var capacity: Int

    public init(directory: String, capacity: Int = 100_000) {
        self.directory = directory
        self.capacity = capacity
    }
}

/// The gateway's store-and-forward (000 L637–640: a gateway buffers while offline; 004 L3064:
/// ≥ 10,000 events kept through power loss): every reading goes to a ``DiskSpool`` first and is
/// published from it, oldest first, at most ``window`` unacknowledged at a time; a reading leaves
/// the spool only when the broker acknowledged it (PUBACK). While the uplink is down the spool
/// grows on disk instead of in memory, and a gateway started again on the same directory — after
/// a crash or a power loss — sends what the last one could not, with its original timestamps.
/// A reading sent twice (acknowledged, but the acknowledgement lost) keeps its `msg_id`, so a
/// platform shows it once.
final class GatewayOutbox: Sendable {
    private struct State: ~Copyable {
        var spool: DiskSpool
        /// Records from the spool's head handed to the client and not yet acknowledged, by tag.
        var inFlight: [UInt64] = []
        var acknowledged: Set<UInt64> = []
        var nextTag: UInt64 = 1
        var delivered = 0
    }

    /// The most readings handed to the MQTT client at once: well inside its offline queue, so a
    /// publish is never refused for room while the uplink is down.
    static let window = 100

    /// Hands one message to the client; false when it refused it.
    typealias Publish = @Sendable (_ topic: String, _ payload: [UInt8], _ tag: UInt64) -> Bool

    private let state: Mutex<State>
    /// Keeps drains in order: two drains interleaving their publishes would reorder readings.
    private let draining = NSRecursiveLock()
    private let publish: Publish

    init(_ settings: GatewaySpoolSettings, publish: @escaping Publish) throws(SpoolError) {
        state = Mutex(State(spool: try DiskSpool(directory: settings.directory, capacity: settings.capacity)))
        self.publish = publish
    }

    /// Figures for the gateway's statistics.
    var figures: (queued: Int, delivered: Int, dropped: Int, recovered: Int) {
        state.withLock { ($0.spool.count, $0.delivered, $0.spool.dropped, $0.spool.recovered) }
    }

    /// Keeps a reading (written through to the disk), then sends what the window allows.
    func append(topic: String, payload: [UInt8]) throws(SpoolError) {
        try state.withLock { (state: inout State) throws(SpoolError) in
            // Full, the spool drops its oldest record: if that one was in flight, its tag goes too.
            if state.spool.count >= state.spool.capacity, !state.inFlight.isEmpty {
                state.acknowledged.remove(state.inFlight.removeFirst())
            }
            try state.spool.append(Array(topic.utf8) + [0] + payload)
        }
        drain()
    }

    /// A publish's outcome: acknowledged readings leave the spool (in order); a refused one, and
    /// every one after it, is sent again — at the next drain, not now: what refused it (a stopped
    /// client) would refuse it again at once.
    func completed(tag: UInt64, acknowledged: Bool) {
        let progressed = state.withLock { state -> Bool in
            guard state.inFlight.contains(tag) else { return false }
            guard acknowledged else {
                state.inFlight = []
                state.acknowledged = []
                return false
            }
            state.acknowledged.insert(tag)
            var done = 0
            while let first = state.inFlight.first, state.acknowledged.remove(first) != nil {
                state.inFlight.removeFirst()
                done += 1
            }
            guard done > 0 else { return false }
            try? state.spool.removeFirst(done)
            state.delivered += done
            return true
        }
        if progressed { drain() }
    }

    /// Flushes the spool to the disk itself (once per polling round: what a power loss cannot take).
    func sync() { state.withLock { $0.spool.sync() } }

    /// Sends the records after those in flight, up to the window.
    func drain() {
        draining.lock()
        defer { draining.unlock() }
        let batch = state.withLock { state -> [(tag: UInt64, record: [UInt8])] in
            let room = Self.window - state.inFlight.count
            guard room > 0 else { return [] }
            let records = state.spool.peek(skip: state.inFlight.count, limit: room)
            let tags = (0..<UInt64(records.count)).map { state.nextTag + $0 }
            state.nextTag += UInt64(records.count)
            state.inFlight += tags
            return Array(zip(tags, records))
        }
        for (tag, record) in batch {
            guard let split = record.firstIndex(of: 0) else { continue }
            let topic = String(decoding: record[..<split], as: UTF8.self)
            if !publish(topic, Array(record[(split + 1)...]), tag) {
                // Refused at once (the client stopped): these go again at the next drain.
                completed(tag: tag, acknowledged: false)
                return
            }
        }
    }
}
