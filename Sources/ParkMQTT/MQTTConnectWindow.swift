import Synchronization

/// Bounds the connect attempts in flight across all of a pool's I/O threads.
///
/// A slot is taken when an attempt's TCP connect starts and given back at its CONNACK (or its
/// failure). Threads whose clients are waiting raise a flag; a thread that frees a slot wakes the
/// flagged ones, so a slot freed on one thread can start a connect on another.
final class MQTTConnectWindow: Sendable {
    let limit: Int
    private let inFlight = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var current: Int { inFlight.load(ordering: .relaxed) }

    func tryAcquire() -> Bool {
        var current = inFlight.load(ordering: .sequentiallyConsistent)
        while current < limit {
            let (exchanged, original) = inFlight.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { inFlight.subtract(1, ordering: .sequentiallyConsistent) }
}
