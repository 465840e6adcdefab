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
