import ParkEventLoop

/// An I/O thread's pending deadlines (reconnects, connect timeouts) on ParkEventLoop's
/// ``DeadlineHeap``. Entries are never removed early; each carries the client's timer serial at
/// arming time, and a fired entry whose serial is stale is ignored. That keeps cancel O(1).
struct MQTTTimerQueue {
    enum Kind: UInt8 { case reconnect, connectTimeout }

    struct Entry {
        var deadline: UInt64
        var slot: Int
        var serial: UInt32
        var kind: Kind
    }

    private var heap = DeadlineHeap<Entry>()

    var isEmpty: Bool { heap.isEmpty }
    var nextDeadline: UInt64? { heap.earliest }

    mutating func schedule(_ entry: Entry) { heap.push(entry.deadline, entry) }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: UInt64) -> Entry? { heap.popDue(now)?.key }

    mutating func removeAll() { heap.removeAll() }
}
