import ParkProfiles
import Synchronization

/// How fast the devices' own timers run, shared by every shard of an engine: at pace 2 a device
/// that reports every 10 s reports every 5 s, its heartbeats and every other delay it asks for
/// halve too. What a load run's stages turn (`rate: 2`) to multiply the park's traffic without
/// changing a single device's behaviour or its profile.
///
/// A new pace applies to timers asked for from then on; one already set keeps its deadline, so a
/// change takes at most one period of each device to show.
public final class DevicePace: Sendable {
    private let bits = Atomic<UInt64>(1.0.bitPattern)

    public init() {}

    /// The factor device time is sped up by (1: as the profiles say).
    public var factor: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }

    /// Sets the factor; values outside 0.01…10,000 are clamped (a zero or negative pace would stop time).
    public func set(_ factor: Double) {
        let clamped = factor.isFinite ? min(max(factor, 0.01), 10_000) : 1
        bits.store(clamped.bitPattern, ordering: .relaxed)
    }

    /// `delay` as the devices live it at the current pace.
    func scaled(_ delay: DeviceDuration) -> DeviceDuration {
        let factor = self.factor
        guard factor != 1 else { return delay }
        return .nanoseconds(UInt64(Double(delay.nanoseconds) / factor))
    }
}
