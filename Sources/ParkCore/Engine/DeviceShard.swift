import Histogram
import Synchronization

/// Receives every emission as it happens: the seam where protocol bindings (MQTT, Modbus…)
/// and console printers attach. Called on the emitting device's event-loop thread.
public protocol EmissionObserver: Sendable {
    func deviceEmitted(_ record: LedgerRecord)
    /// A stimulus was applied to a device or a command reached it (``LedgerRecord/Entry``
    /// `.stimulus` / `.command`), already in the ledger. Bindings ignore these; a harness
    /// uses them as the ground-truth start of what it times.
    func deviceReceived(_ record: LedgerRecord)
}

extension EmissionObserver {
    public func deviceReceived(_ record: LedgerRecord) {}
}

/// Passes every emission to several observers in order (a protocol binding, a console
/// printer, a tally…).
public struct MulticastEmissionObserver: EmissionObserver {
    public var observers: [any EmissionObserver]

    public init(_ observers: [any EmissionObserver]) { self.observers = observers }

    public func deviceEmitted(_ record: LedgerRecord) {
        for observer in observers { observer.deviceEmitted(record) }
    }

    public func deviceReceived(_ record: LedgerRecord) {
        for observer in observers { observer.deviceReceived(record) }
    }
}

/// Counts emissions by `kind/name` as they happen, so a run's summary needs no pass over the
/// ledger (which may hold millions of records on disk).
public final class EmissionTally: EmissionObserver {
    private let counts = Mutex<[String: Int]>([:])

    public init() {}

    public func deviceEmitted(_ record: LedgerRecord) {
        counts.withLock { $0["\(record.kind)/\(record.name)", default: 0] += 1 }
    }

    /// Emission counts keyed by `kind/name`.
    public var snapshot: [String: Int] { counts.withLock { $0 } }
}

/// A slice of the park's devices that one thread runs: their state, their timers, their clock.
///
/// A shard is confined to one thread (an event loop, or the caller of a virtual-time engine);
/// it is not thread-safe and needs no locks. Engines own shards and decide when they run.
public final class DeviceShard {
    struct Slot {
        let id: String
        let kind: String
        let behavior: any DeviceBehavior
        var sequence: UInt64 = 0
    }

    let clock: any ParkClock
    let ledger: Ledger
    let observer: (any EmissionObserver)?
    /// The engine's pace, which every delay a device asks for is divided by.
    let pace: DevicePace
    var slots: [Slot] = []
    var timers = TimerQueue()
    /// How late timers fired, in nanoseconds (real-time engines only).
    static let latenessCeiling: UInt64 = 60_000_000_000
    var lateness = Histogram<UInt64>(highestTrackableValue: latenessCeiling, numberOfSignificantValueDigits: .three)
    private var indexByID: [String: UInt32] = [:]

    init(clock: any ParkClock, ledger: Ledger, observer: (any EmissionObserver)?, pace: DevicePace = DevicePace()) {
        self.clock = clock
        self.pace = pace
        self.ledger = ledger
        self.observer = observer
    }

    var deviceCount: Int { slots.count }
    var pendingTimers: Int { timers.count }

    func slot(of deviceID: String) -> UInt32? { indexByID[deviceID] }

    func add(id: String, kind: String, behavior: any DeviceBehavior) {
        indexByID[id] = UInt32(slots.count)
        slots.append(Slot(id: id, kind: kind, behavior: behavior))
    }

    func startAll(at now: MonotonicInstant) {
        for index in slots.indices {
            slots[index].behavior.start(context: DeviceContext(shard: self, slot: UInt32(index), now: now))
        }
    }

    /// Runs every timer due at `now`. With `measureLateness`, reads the clock before each
    /// timer and records how far past its deadline it ran.
    func runDueTimers(at now: MonotonicInstant, measureLateness: Bool) -> Int {
        var fired = 0
        while let entry = timers.popDue(at: now) {
            if measureLateness {
                let actual = clock.now().monotonic.nanoseconds
                // Beyond the histogram's range (a starved machine) a timer still counts, as 60 s late.
                lateness.record(min(actual > entry.deadline ? actual - entry.deadline : 0, Self.latenessCeiling))
            }
            let context = DeviceContext(shard: self, slot: entry.slot, now: MonotonicInstant(nanoseconds: entry.deadline))
            slots[Int(entry.slot)].behavior.timerFired(tag: entry.tag, context: context)
            fired += 1
        }
        return fired
    }

    /// Records the stimulus, then gives it to the device; returns the record (with its ledger order).
    @discardableResult
    func apply(_ stimulus: Stimulus, to slot: UInt32, at now: MonotonicInstant) throws(DeviceError) -> LedgerRecord {
        let device = slots[Int(slot)]
        var record = LedgerRecord(
            time: clock.now(), deviceID: device.id, kind: device.kind, entry: .stimulus, name: stimulus.name,
            messageID: "\(device.id)!\(stimulus.name)",
            readings: stimulus.arguments.sorted { $0.key < $1.key }.map { Reading($0.key, $0.value) })
        record.order = ledger.append(record)
        observer?.deviceReceived(record)
        try device.behavior.apply(stimulus: stimulus, context: DeviceContext(shard: self, slot: slot, now: now))
        return record
    }

    /// Gives the command to the device and records it with the answer; returns both.
    func handle(_ command: DeviceCommand, to slot: UInt32, at now: MonotonicInstant) -> (result: CommandResult, record: LedgerRecord) {
        let device = slots[Int(slot)]
        let received = clock.now()
        let result = device.behavior.handle(command: command, context: DeviceContext(shard: self, slot: slot, now: now))
        let detail: String
        switch result.outcome {
        case .accepted: detail = "accepted"
        case .rejected(let reason): detail = "rejected: \(reason)"
        }
        var record = LedgerRecord(
            time: received, deviceID: device.id, kind: device.kind, entry: .command, name: command.name,
            messageID: command.id ?? "\(device.id)!\(command.name)@\(received.monotonic.nanoseconds)",
            readings: command.arguments.sorted { $0.key < $1.key }.map { Reading($0.key, $0.value) }
                + result.readings,
            detail: detail)
        record.order = ledger.append(record)
        observer?.deviceReceived(record)
        return (result, record)
    }

    func record(emission: Emission, slot: UInt32) {
        let device: Slot
        let sequence: UInt64
        let messageID: String
        if emission.channel == .local {
            // Local emissions never reach the wire, so they must not use up wire sequence
            // numbers: a platform would count each one as a lost message.
            device = slots[Int(slot)]
            sequence = 0
            messageID = "\(device.id)!\(emission.name)"
        } else {
            slots[Int(slot)].sequence += 1
            device = slots[Int(slot)]
            sequence = device.sequence
            messageID = "\(device.id)#\(sequence)"
        }
        var record = LedgerRecord(
            time: clock.now(), deviceID: device.id, kind: device.kind, entry: .emission,
            channel: emission.channel, name: emission.name, deviceSequence: sequence,
            messageID: messageID, readings: emission.readings)
        record.order = ledger.append(record)
        observer?.deviceEmitted(record)
    }
}
