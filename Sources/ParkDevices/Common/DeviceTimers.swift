import ParkCore

/// A device timer that can be superseded or cancelled: an entry delay, an alarm
/// confirmation, a chirp, the end of a sounding, or the chain under a ``PeriodicTimer``.
///
/// The engine cannot take a scheduled timer back, so each start stamps a new generation into
/// the tag (24 bits above the low byte that names the timer) and a firing whose generation is
/// no longer current is recognised and ignored. Every kind used to bump and compare its own
/// counter by hand; one type keeps the tag layout and the wrap-around in one place.
struct TimerChain {
    /// The low byte of the tag: which of the device's timers this is.
    let id: UInt32
    private(set) var generation: UInt32 = 0

    init<ID: RawRepresentable>(_ id: ID) where ID.RawValue == UInt32 {
        precondition(id.rawValue <= 0xFF, "a timer id must fit the tag's low byte")
        self.id = id.rawValue
    }

    /// The tag the current generation's firings carry.
    var tag: UInt32 { id | generation << 8 }

    /// Cancels whatever is pending and schedules a new firing `delay` from now.
    mutating func start(after delay: DeviceDuration, _ context: DeviceContext) {
        cancel()
        context.schedule(after: delay, tag: tag)
    }

    /// Makes every pending firing stale without scheduling another.
    mutating func cancel() {
        // Wrapping after 16 million restarts is harmless: a chain that old has long since died.
        generation = (generation &+ 1) & 0xFF_FFFF
    }

    /// Whether `tag` is a firing of the current generation (not cancelled or superseded).
    func isCurrent(_ tag: UInt32) -> Bool { tag == self.tag }

    /// Schedules one more firing of the current generation, `delay` from now (a repeating
    /// chirp, the next period).
    func `continue`(after delay: DeviceDuration, _ context: DeviceContext) {
        context.schedule(after: delay, tag: tag)
    }
}

/// A periodic timer (heartbeat, report, sample) whose period a platform may change and which
/// a power cycle may restart.
///
/// Each firing schedules the next one interval after it, so the period never drifts; a new
/// start or period begins a new ``TimerChain`` generation and the old chain dies the next time
/// it fires.
struct PeriodicTimer {
    private var chain: TimerChain
    private(set) var interval: DeviceDuration

    init<ID: RawRepresentable>(_ id: ID, interval: DeviceDuration) where ID.RawValue == UInt32 {
        chain = TimerChain(id)
        self.interval = interval
    }

    /// The random first delay of a periodic timer, so a park of devices does not report in
    /// lock step: uniform below `period` or `spread`, whichever is shorter; 0 when that is 0.
    static func phase(within period: DeviceDuration, spread: DeviceDuration, random: inout SeededRandom) -> DeviceDuration {
        let span = min(period, spread)
        guard span > .zero else { return .zero }
        return DeviceDuration(nanoseconds: random.next() % span.nanoseconds)
    }

    /// The first heartbeat of a meter, which has no `start_spread`: a uniform fraction of the
    /// whole period, so a park's meters do not beat in step.
    static func phase(within period: DeviceDuration, random: inout SeededRandom) -> DeviceDuration {
        DeviceDuration(nanoseconds: UInt64(random.nextUnit() * Double(period.nanoseconds)))
    }

    /// Starts a new chain whose first firing is `delay` from now.
    mutating func start(after delay: DeviceDuration, _ context: DeviceContext) {
        chain.start(after: delay, context)
    }

    /// Starts a new chain at a random phase (``phase(within:spread:random:)``), drawing one
    /// number from `random` (none when the span is 0).
    mutating func start(spread: DeviceDuration, random: inout SeededRandom, _ context: DeviceContext) {
        start(after: Self.phase(within: interval, spread: spread, random: &random), context)
    }

    /// Whether `tag` belongs to the live chain; if so the next firing is scheduled one
    /// interval on.
    mutating func fire(_ tag: UInt32, _ context: DeviceContext) -> Bool {
        guard chain.isCurrent(tag) else { return false }
        chain.continue(after: interval, context)
        return true
    }

    /// Whether `tag` belongs to the live chain, for a device that decides only after looking
    /// whether the chain goes on (a detector whose battery just died does not reschedule).
    func isCurrent(_ tag: UInt32) -> Bool { chain.isCurrent(tag) }

    /// Schedules the live chain's next firing one interval from now.
    func scheduleNext(_ context: DeviceContext) { chain.continue(after: interval, context) }

    /// Ends the chain: its pending firing will be ignored (power off).
    mutating func stop() { chain.cancel() }

    /// A new period for a timer that is not running now: its next start uses it.
    mutating func set(interval: DeviceDuration) { self.interval = interval }

    /// A platform changed the period: the new chain fires one new period from now.
    mutating func change(interval: DeviceDuration, _ context: DeviceContext) {
        self.interval = interval
        start(after: interval, context)
    }
}
