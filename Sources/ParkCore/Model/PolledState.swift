import Synchronization

/// A device's values as they are *now*, readable from any thread.
///
/// Most devices speak when they choose (telemetry, events); a meter on an RS-485 bus speaks when
/// polled, and what it answers must be its state at the instant of the poll — energy integrated
/// up to that microsecond, not the last telemetry. Such a device keeps its electrical state in a
/// ``PolledState`` that guards itself, updates it from its event loop, and registers it in
/// ``DeviceSetup/polled``; a protocol binding reads it without going through the engine.
public protocol PolledState: AnyObject, Sendable {
    /// The readings as the device would report them at `instant`, each with its ground truth.
    func readings(at instant: MonotonicInstant) -> [Reading]
    /// The `back`-th most recent freeze of `period` (1: the last one); nil when the device keeps
    /// none that far back. Default: none (a device that does not freeze).
    func frozen(_ period: FreezePeriod, back: Int) -> FrozenReadings?
}

/// The polled states of a run's devices, by device id. Filled as devices are created.
public final class PolledStateRegistry: Sendable {
    private let states = Mutex<[String: any PolledState]>([:])

    public init() {}

    public func register(_ deviceID: String, _ state: any PolledState) {
        states.withLock { $0[deviceID] = state }
    }

    public func state(of deviceID: String) -> (any PolledState)? {
        states.withLock { $0[deviceID] }
    }

    public var count: Int { states.withLock { $0.count } }
}

/// The intervals at which a meter freezes its registers (整点冻结, 日冻结, 月结算: 004 L3484–3488).
public enum FreezePeriod: String, Sendable, Hashable, CaseIterable {
    case hour, day, month
}

/// One frozen record: the meter's own calendar time when it froze, and the values it froze.
public struct FrozenReadings: Sendable, Hashable {
    /// Meter-local time of the freeze.
    public struct MeterTime: Sendable, Hashable, CustomStringConvertible {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int

        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
            self.year = year
            self.month = month
            self.day = day
            self.hour = hour
            self.minute = minute
        }

        public var description: String {
            func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
            return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute))"
        }
    }

    public var period: FreezePeriod
    public var time: MeterTime
    public var readings: [Reading]

    public init(period: FreezePeriod, time: MeterTime, readings: [Reading]) {
        self.period = period
        self.time = time
        self.readings = readings
    }
}

extension PolledState {
    public func frozen(_ period: FreezePeriod, back: Int) -> FrozenReadings? { nil }
}
