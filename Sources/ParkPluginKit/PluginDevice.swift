/// One device of a plugin's kind, written as ordinary Swift: the plugin-side counterpart of
/// ParkBench's `DeviceBehavior`.
///
/// ParkBench creates one instance per device in the park and calls it from one thread at a
/// time (never concurrently), so a device needs no locks; different devices may run on
/// different threads at once, so devices must not share mutable state without a lock.
///
/// A device never blocks, sleeps or starts threads: it answers each call at once and asks for
/// a timer with ``PluginContext/schedule(afterNanoseconds:tag:)`` if it wants to act later.
/// The ``PluginContext`` it is handed is valid only during that call: do not store it.
public protocol PluginDevice: AnyObject {
    /// Creates the device from its configuration.
    /// - Throws: anything; the error's description is shown to the ParkBench user, so prefer
    ///   ``PluginDeviceError`` with a message saying what is wrong.
    init(config: PluginDeviceConfig) throws

    /// The device is powered on. Typically schedules its first report.
    func start(_ context: PluginContext)

    /// A timer the device asked for is due. Timers cannot be cancelled: ignore stale ones
    /// (keep a generation counter in the upper bits of `tag`).
    func timerFired(tag: UInt32, _ context: PluginContext)

    /// The harness makes something happen to the device. Only stimuli declared in the kind
    /// description arrive here; the kit rejects the rest.
    /// - Throws: to reject the stimulus (e.g. a missing argument); the message reaches the user.
    func apply(stimulus: PluginMessage, _ context: PluginContext) throws

    /// The platform sends a command. Only commands declared in the kind description arrive
    /// here; the kit rejects the rest with a reason naming the known ones.
    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult
}
