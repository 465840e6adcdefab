/// Runs devices on a ``ManualClock``, on the caller's thread, as fast as the CPU allows.
///
/// Hours of device time pass in milliseconds, and the same seed gives the same ledger byte for
/// byte, which is what behaviour tests and `parkbench simulate --virtual` use. Time moves only
/// through ``advance(by:)`` and ``advance(to:)``, firing every timer due on the way in deadline
/// order, with the clock set to each deadline as it fires.
public final class VirtualTimeEngine {
    public let clock: ManualClock
    public let ledger: Ledger
    private let shard: DeviceShard
    private var started = false
    /// How fast the devices' timers run (1: as their profiles say).
    public let pace = DevicePace()

    public init(ledger: Ledger = Ledger(), clock: ManualClock = ManualClock(), observer: (any EmissionObserver)? = nil) {
        self.clock = clock
        self.ledger = ledger
        self.shard = DeviceShard(clock: clock, ledger: ledger, observer: observer, pace: pace)
    }

    /// Current device time.
    public var now: MonotonicInstant { clock.now().monotonic }
    public var deviceCount: Int { shard.deviceCount }
    public var pendingTimers: Int { shard.pendingTimers }
    /// When the next device timer falls due; nil when none is pending.
    public var nextDeadline: MonotonicInstant? { shard.timers.nextDeadline }

    /// Creates the planned device; if the engine is running, starts it at once.
    public func add(_ plan: PlannedDevice) throws(EngineError) {
        let behavior: any DeviceBehavior
        do { behavior = try plan.kind.makeDevice(plan.setup) } catch { throw .device(id: plan.id, error) }
        try add(behavior, id: plan.id, kind: plan.kind.descriptor.name)
    }

    /// Adds a device that was created by hand (tests); if the engine is running, starts it.
    public func add(_ behavior: any DeviceBehavior, id: String, kind: String) throws(EngineError) {
        guard shard.slot(of: id) == nil else { throw .duplicateDevice(id) }
        shard.add(id: id, kind: kind, behavior: behavior)
        if started {
            behavior.start(context: DeviceContext(shard: shard, slot: UInt32(shard.deviceCount - 1), now: now))
        }
    }

    /// Starts every device added so far, at the current time.
    public func start() {
        guard !started else { return }
        started = true
        shard.startAll(at: now)
    }

    /// Runs device time forward by `duration`.
    public func advance(by duration: DeviceDuration) {
        advance(to: now.advanced(by: duration))
    }

    /// Runs device time forward to `target`, firing every timer due up to and including it.
    public func advance(to target: MonotonicInstant) {
        start()
        while let deadline = shard.timers.nextDeadline, deadline <= target {
            clock.advance(to: deadline)
            _ = shard.runDueTimers(at: deadline, measureLateness: false)
        }
        clock.advance(to: target)
    }

    /// Applies a stimulus to a device now; returns its ledger record.
    @discardableResult
    public func apply(_ stimulus: Stimulus, to deviceID: String) throws(EngineError) -> LedgerRecord {
        guard let slot = shard.slot(of: deviceID) else { throw .unknownDevice(deviceID) }
        do { return try shard.apply(stimulus, to: slot, at: now) } catch { throw .device(id: deviceID, error) }
    }

    /// Sends a command to a device now and returns its answer.
    public func send(_ command: DeviceCommand, to deviceID: String) throws(EngineError) -> CommandResult {
        try sendRecorded(command, to: deviceID).result
    }

    /// Sends a command to a device now; returns its answer and the ledger record of both.
    public func sendRecorded(_ command: DeviceCommand, to deviceID: String) throws(EngineError) -> CommandReceipt {
        guard let slot = shard.slot(of: deviceID) else { throw .unknownDevice(deviceID) }
        let (result, record) = shard.handle(command, to: slot, at: now)
        return CommandReceipt(result: result, record: record)
    }
}
