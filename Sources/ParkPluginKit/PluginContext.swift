import CParkPlugin
import Foundation

/// A plugin device's window on ParkBench during one call: the device's clock, its random
/// stream, and where it emits, schedules timers and logs.
///
/// It wraps the host's C services and the `pb_call` of the call in progress, so it is valid
/// only until the call it was passed to returns. Do not store it or hand it to another thread.
public struct PluginContext {
    let host: UnsafePointer<pb_host_v1>
    let call: OpaquePointer?

    init(host: UnsafePointer<pb_host_v1>, call: OpaquePointer?) {
        self.host = host
        self.call = call
    }

    /// The device's time for this call, in nanoseconds on the run's monotonic clock: the
    /// deadline of the timer being handled, or when a stimulus or command arrived. Schedule
    /// relative to it and periodic timers never drift. Virtual runs start at 0.
    public var now: UInt64 { host.pointee.now_ns?(call) ?? 0 }

    /// Sends an emission: ParkBench records it in the ground-truth ledger and passes it to the
    /// protocol binding.
    public func emit(channel: PluginChannel, name: String, readings: [PluginReading] = []) {
        let json = PluginJSONWriter.emission(channel: channel, name: name, readings: readings)
        PluginJSONWriter.withBytes(json) { bytes, count in host.pointee.emit?(call, bytes, count) }
    }

    /// Sends telemetry (channel `telemetry`, name `telemetry`, as built-in kinds do).
    public func emit(telemetry readings: [PluginReading]) {
        emit(channel: .telemetry, name: "telemetry", readings: readings)
    }

    /// Sends an event declared in the kind description.
    public func emit(event name: String, _ readings: [PluginReading] = []) {
        emit(channel: .event, name: name, readings: readings)
    }

    /// Asks for ``PluginDevice/timerFired(tag:_:)`` `delay` nanoseconds after ``now``.
    public func schedule(afterNanoseconds delay: UInt64, tag: UInt32) {
        host.pointee.schedule?(call, delay, tag)
    }

    /// Asks for a timer `seconds` after ``now``; negative or non-finite delays mean "now".
    public func schedule(afterSeconds seconds: Double, tag: UInt32) {
        let nanoseconds = seconds * 1e9
        let delay: UInt64 = nanoseconds.isFinite && nanoseconds > 0
            ? (nanoseconds >= Double(UInt64.max) ? .max : UInt64(nanoseconds.rounded())) : 0
        schedule(afterNanoseconds: delay, tag: tag)
    }

    /// The next value of the device's own seeded random stream. Draw all randomness from here:
    /// one run seed then gives one run, byte for byte.
    public func nextRandom() -> UInt64 { host.pointee.random_u64?(call) ?? 0 }

    /// A double uniformly in [0, 1) with 53 random bits, from ``nextRandom()``.
    public func nextUnit() -> Double { Double(nextRandom() >> 11) * 0x1.0p-53 }

    /// An exponentially distributed wait with the given mean: the gap between Poisson arrivals.
    public func nextExponential(mean: Double) -> Double {
        // 1 - u is in (0, 1], so the logarithm is finite.
        -mean * log1p(-nextUnit())
    }

    /// Writes a line to ParkBench's log, tagged with the device and plugin.
    public func log(_ message: String, level: PluginLogLevel = .info) {
        PluginJSONWriter.withBytes(message) { bytes, count in host.pointee.log?(call, level.rawValue, bytes, count) }
    }

    /// Rejects the create, stimulus or command in progress (the kit calls this for thrown errors).
    func fail(_ message: String) {
        PluginJSONWriter.withBytes(message) { bytes, count in host.pointee.fail?(call, bytes, count) }
    }

    /// Answers the command in progress.
    func reply(_ json: String) {
        PluginJSONWriter.withBytes(json) { bytes, count in host.pointee.reply?(call, bytes, count) }
    }
}

/// The host log's levels (`PB_LOG_*` in the C header).
public enum PluginLogLevel: Int32, Hashable, Sendable, CaseIterable {
    case debug = 0, info = 1, warning = 2, error = 3
}
