/// A binary min-heap of deadlines (monotonic nanoseconds), each with a key saying whose it is:
/// the one timer structure behind every client of an event loop (MQTT reconnects and connect
/// timeouts, SIP transactions and registrations), so 50,000 clients cost 50,000 array slots,
/// not 50,000 timers.
///
/// Entries are never removed early: an owner whose deadline moved pushes a new entry and
/// recognises the stale one when it comes out (by a serial, or because its current deadline no
/// longer equals it). That keeps a push O(log n) and a cancel free.
public struct DeadlineHeap<Key> {
    private var entries: [(deadline: UInt64, key: Key)] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// The earliest deadline, stale or not (a stale one only costs an early wake-up).
    public var earliest: UInt64? { entries.first?.deadline }

    public mutating func push(_ deadline: UInt64, _ key: Key) {
        entries.append((deadline, key))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry whose deadline is at or before `now`.
    public mutating func popDue(_ now: UInt64) -> (deadline: UInt64, key: Key)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        guard !entries.isEmpty else { return first }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    public mutating func removeAll() { entries.removeAll() }
}

extension DeadlineHeap: Sendable where Key: Sendable {}
