import ParkCore

/// A primary cell drained linearly over `battery_life`, brought up to date whenever the
/// device speaks, with the low-battery / battery-ok reporting battery devices share.
///
/// One value type for every battery kind, so the drain formula, the `battery` reading's
/// rounding and the once-per-crossing events cannot drift apart between kinds. A kind whose
/// battery does more (the smoke detector drains faster while sounding, goes silent at 0 % and
/// chirps) uses ``drain(to:extraPerSecond:)`` and ``set(_:)`` and reports its own events.
///
/// Reads the parameters `initial_battery` (%), `battery_life` and `low_battery_threshold` (%).
struct Battery {
    private(set) var level: Double
    /// Percent per second at rest: a full cell empties over `battery_life`.
    let drainPerSecond: Double
    let lowThreshold: Double
    /// Whether low-battery has been reported and battery-ok not since.
    private(set) var isLow = false
    private var measuredAt: MonotonicInstant?

    init(_ parameters: DeviceParameters) {
        self.init(
            level: parameters.double("initial_battery"), life: parameters.duration("battery_life"),
            lowThreshold: parameters.double("low_battery_threshold"))
    }

    init(level: Double, life: DeviceDuration, lowThreshold: Double) {
        self.level = level
        drainPerSecond = 100 / life.seconds
        self.lowThreshold = lowThreshold
    }

    /// The `battery` reading, rounded as it goes on the wire.
    var reading: Reading { Reading("battery", .double(readingRounded(level))) }

    /// Drains to `now` without reporting anything; the first call only starts the clock.
    /// `extraPerSecond` is a load on top of the resting drain since the last call (a sounder).
    mutating func drain(to now: MonotonicInstant, extraPerSecond: Double = 0) {
        if let measuredAt {
            level = max(0, level - now.duration(since: measuredAt).seconds * (drainPerSecond + extraPerSecond))
        }
        measuredAt = now
    }

    /// Restarts the drain clock at `now` without draining (a device powering up again).
    mutating func restartClock(at now: MonotonicInstant) { measuredAt = now }

    /// Sets the level, clamped to 0…100 %, without reporting (the caller reports).
    mutating func set(_ newLevel: Double) { level = min(100, max(0, newLevel)) }

    /// Drains to `context.now` and reports a low-battery threshold crossed.
    mutating func update(_ context: DeviceContext) {
        drain(to: context.now)
        reportCrossing(context)
    }

    /// Forces the level (fault injection, or a new battery) and reports a crossing: the drain
    /// up to now first, then the forced level.
    mutating func force(_ newLevel: Double, _ context: DeviceContext) {
        update(context)
        set(newLevel)
        reportCrossing(context)
    }

    /// Emits `low-battery` once when the level is at or below the threshold, and `battery-ok`
    /// once when it is above it again.
    private mutating func reportCrossing(_ context: DeviceContext) {
        if level <= lowThreshold, !isLow {
            isLow = true
            context.emit(event: "low-battery", [reading])
        } else if level > lowThreshold, isLow {
            // Only a forced level rises; re-arming the flag lets the next crossing report.
            isLow = false
            context.emit(event: "battery-ok", [reading])
        }
    }
}
