/// Messages a second a platform takes in, over whole seconds, and what each costs to process
/// under the `slow-under-load` fault switch: `cost × rate / 1,000`. The time one second's intake
/// takes is then `cost × rate² / 1,000`, so the platform saturates at `rate = √(1,000 / cost)`
/// (cost 100 µs: about 3,160 messages a second; 400 µs: about 1,580) — a knee a capacity search
/// must find, and one that moves when the cost does.
package struct IntakeMeter: Sendable {
    private var second: UInt64 = 0
    private var countThisSecond = 0
    /// Messages taken in during the last whole second.
    package private(set) var lastSecond = 0

    /// Counts a message arriving at `now` (monotonic ns); the rate to charge it at.
    package init() {}

    package mutating func arrived(now: UInt64) -> Int {
        let current = now / 1_000_000_000
        if current != second {
            lastSecond = current == second + 1 ? countThisSecond : 0
            second = current
            countThisSecond = 0
        }
        countThisSecond += 1
        // The busier of the last second and this one so far: a step up is charged at once.
        return max(lastSecond, countThisSecond)
    }

    /// What one message costs at `rate` messages a second.
    package static func serviceTime(cost: Duration, rate: Int) -> Duration {
        cost * (Double(rate) / 1_000)
    }
}
