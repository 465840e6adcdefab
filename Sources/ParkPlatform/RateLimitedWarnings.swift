import Logging
import Synchronization

/// Warnings about what devices sent, at most one line per kind of problem per `interval`: a
/// device that sends a bad message a thousand times a second must neither flood the log nor
/// slow the platform down writing it. Lines held back are counted and the count goes with the
/// next line of that kind; the platform's statistics count every one regardless.
final class RateLimitedWarnings: Sendable {
    private struct Slot {
        var lastLogged: UInt64
        var heldBack: Int
    }

    private let interval: UInt64
    private let sink: @Sendable (String) -> Void
    private let slots = Mutex<[PlatformInputProblem.Kind: Slot]>([:])

    /// - Parameters:
    ///   - interval: nanoseconds between two lines of the same kind.
    ///   - sink: where a line goes (the logger; tests collect them).
    init(interval: UInt64 = 10_000_000_000, sink: @escaping @Sendable (String) -> Void) {
        self.interval = interval
        self.sink = sink
    }

    convenience init(logger: Logger) {
        self.init { line in logger.warning("\(line)") }
    }

    /// Logs `problem` unless a line of its kind went out less than `interval` before `now` (ns).
    func warn(_ problem: PlatformInputProblem, now: UInt64) {
        let line: String? = slots.withLock { slots in
            if let slot = slots[problem.kind], now >= slot.lastLogged, now - slot.lastLogged < interval {
                slots[problem.kind]?.heldBack += 1
                return nil
            }
            let heldBack = slots[problem.kind]?.heldBack ?? 0
            slots[problem.kind] = Slot(lastLogged: now, heldBack: 0)
            return "platform: \(problem)" + (heldBack > 0 ? " (\(heldBack) more like it since the last such line, not logged)" : "")
        }
        if let line { sink(line) }
    }
}
