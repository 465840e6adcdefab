/// The state machine of one virtual device.
///
/// A device reacts to four things: its own timers, stimuli from the harness, commands from the
/// platform, and being started. It never blocks, sleeps or spawns threads: it answers each call
/// at once and asks for a timer if it wants to act later. Everything it says goes through the
/// ``DeviceContext`` it is handed, which records it in the ground-truth ledger and passes it
/// to the protocol binding.
///
/// The engine calls a device from one thread at a time, so a device needs no locks; it is a
/// class so that 100,000 of them can live in one array without copying their state around.
public protocol DeviceBehavior: AnyObject {
    /// The device is powered on. Typically schedules its first heartbeat or sample.
    func start(context: DeviceContext)

    /// A timer the device asked for with ``DeviceContext/schedule(after:tag:)`` is due.
    ///
    /// Timers are not cancellable: a device that no longer wants a timer ignores it when it
    /// fires (keep a generation counter in `tag` if you need to tell them apart).
    func timerFired(tag: UInt32, context: DeviceContext)

    /// The harness makes something happen to the device (see ``KindDescriptor/stimuli``).
    /// - Throws: ``DeviceError`` if the device does not know the stimulus or its arguments.
    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError)

    /// The platform sends a command; the answer is recorded in the ledger with its latency.
    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult
}

/// Everything a device needs to be created.
public struct DeviceSetup: Sendable {
    /// The device's unique id in the park, e.g. `smoke-A-1-007`.
    public var id: String
    /// The model profile's parameters, validated and with defaults filled in.
    public var parameters: DeviceParameters
    /// The device's own random stream, derived from `(run seed, id)`.
    public var random: SeededRandom
    /// Where the device is: zone, floor and free-form labels from the park file.
    public var placement: Placement
    /// Where a device that can be read at any moment (a meter polled over Modbus) registers its
    /// ``PolledState``; nil when nothing polls this run.
    public var polled: PolledStateRegistry?

    public init(id: String, parameters: DeviceParameters, random: SeededRandom, placement: Placement = Placement(),
                polled: PolledStateRegistry? = nil) {
        self.id = id
        self.parameters = parameters
        self.random = random
        self.placement = placement
        self.polled = polled
    }
}

/// A kind of device: its descriptor and a factory for instances.
///
/// Built-in kinds (ParkDevices) conform directly; kinds loaded from a plugin are wrapped in
/// ``PluginDeviceKind``, so the engine cannot tell them apart.
public protocol DeviceKind: Sendable {
    var descriptor: KindDescriptor { get }
    /// Creates one device. Throws ``DeviceError`` if the setup is unusable.
    func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior
}
