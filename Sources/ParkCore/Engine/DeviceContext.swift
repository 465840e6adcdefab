/// A device's window on the engine during one call: where it emits and asks for timers.
///
/// Valid only for the duration of the call it is handed to; do not store it.
public struct DeviceContext {
    unowned let shard: DeviceShard
    let slot: UInt32

    /// The device's time for this call: the deadline of the timer being handled, or the moment
    /// a stimulus or command arrived. Schedule relative to it and periodic timers never drift.
    public let now: MonotonicInstant

    /// The device's id.
    public var deviceID: String { shard.slots[Int(slot)].id }

    /// Sends `emission`: records it in the ledger and passes it to the protocol binding.
    public func emit(_ emission: Emission) {
        shard.record(emission: emission, slot: slot)
    }

    /// Sends an event with the given readings.
    public func emit(event name: String, _ readings: [Reading] = []) {
        emit(Emission(channel: .event, name: name, readings: readings))
    }

    /// Sends telemetry.
    public func emit(telemetry readings: [Reading]) {
        emit(Emission(channel: .telemetry, name: "telemetry", readings: readings))
    }

    /// Asks for ``DeviceBehavior/timerFired(tag:context:)`` `delay` after ``now`` (divided by
    /// the engine's ``DevicePace``).
    public func schedule(after delay: DeviceDuration, tag: UInt32) {
        shard.timers.insert(deadline: now.advanced(by: shard.pace.scaled(delay)), slot: slot, tag: tag)
    }

    /// Asks for a timer at an absolute device time.
    public func schedule(at deadline: MonotonicInstant, tag: UInt32) {
        shard.timers.insert(deadline: max(deadline, now), slot: slot, tag: tag)
    }
}
