/// A device waiting to be created by an engine: its kind and everything needed to build it.
///
/// Engines create devices on the thread that will run them, which is why they take plans
/// rather than ready-made ``DeviceBehavior`` objects.
public struct PlannedDevice: Sendable {
    public var kind: any DeviceKind
    public var setup: DeviceSetup

    public init(kind: any DeviceKind, setup: DeviceSetup) {
        self.kind = kind
        self.setup = setup
    }

    public var id: String { setup.id }
}

/// Why an engine refused a request.
public enum EngineError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownDevice(String)
    case duplicateDevice(String)
    case device(id: String, DeviceError)
    case notRunning

    public var description: String {
        switch self {
        case .unknownDevice(let id): "no device with id '\(id)' in this run"
        case .duplicateDevice(let id): "device id '\(id)' is used twice; ids must be unique in a park"
        case .device(let id, let error): "device '\(id)': \(error.message)"
        case .notRunning: "the engine is not running"
        }
    }
}

/// Timer figures of an engine, for progress lines and the benchmark.
public struct EngineStatistics: Sendable {
    public var devices: Int
    public var pendingTimers: Int
    public var firedTimers: UInt64
    /// Nanoseconds between a timer's deadline and the moment its device ran.
    public var lateness: TimerLateness
}

/// A summary of timer lateness (jitter), in nanoseconds.
public struct TimerLateness: Sendable, Hashable {
    public var count: UInt64
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
}
