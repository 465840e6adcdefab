/// An I/O thread's pending deadlines (reconnects, connect timeouts): a binary min-heap of plain
/// values. Entries are never removed early; each carries the client's timer serial at arming time,
/// and a fired entry whose serial is stale is ignored. That keeps cancel O(1) and the heap simple.
struct MQTTTimerQueue {
    enum Kind: UInt8 { case reconnect, connectTimeout }

    struct Entry {
        var deadline: UInt64
        var slot: Int
        var serial: UInt32
        var kind: Kind
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }
    var nextDeadline: UInt64? { heap.first?.deadline }

    mutating func schedule(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: UInt64) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            let right = left + 1
            let smaller = right < heap.count && heap[right].deadline < heap[left].deadline ? right : left
            guard heap[smaller].deadline < heap[parent].deadline else { break }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
        return first
    }

    mutating func removeAll() { heap.removeAll() }
}
