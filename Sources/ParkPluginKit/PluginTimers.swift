/// The keep-alive every kind sends: its `heartbeat_interval` parameter, its `heartbeat` event,
/// and the timer that beats, started at a random phase so a park of devices does not beat in
/// lock step (a broker or a platform sees them spread over the interval, as a real park's are).
///
/// ```swift
/// heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)   // init
/// heartbeat.start(context)                                                 // start
/// case .heartbeat: heartbeat.beat(context, [PluginReading("locked", .bool(locked))])
/// ```
public struct PluginHeartbeat: Hashable, Sendable {
    /// The parameter's name in the kind's description and in a model profile.
    public static let parameterName = "heartbeat_interval"

    /// Nanoseconds between beats; more than zero.
    public let interval: UInt64
    /// The tag the beat's timer fires with.
    public let tag: UInt32

    /// Reads `heartbeat_interval` from the device's configuration; an interval of zero is refused
    /// (it would beat without end at one instant).
    public init(_ config: PluginDeviceConfig, tag: UInt32) throws(PluginDeviceError) {
        interval = try config.duration(Self.parameterName)
        guard interval > 0 else {
            throw PluginDeviceError("device '\(config.id)': \(Self.parameterName) must be longer than zero")
        }
        self.tag = tag
    }

    /// Schedules the first beat, somewhere within the first interval.
    public func start(_ context: PluginContext) {
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(interval)), tag: tag)
    }

    /// Emits the `heartbeat` event with `readings` and schedules the next beat: call it when the
    /// beat's timer fires.
    public func beat(_ context: PluginContext, _ readings: [PluginReading] = []) {
        context.emit(event: "heartbeat", readings)
        context.schedule(afterNanoseconds: interval, tag: tag)
    }

    /// The `heartbeat_interval` parameter, for the kind's description.
    public static func parameter(defaultValue: String = "1m") -> PluginParameterDescription {
        PluginParameterDescription(
            name: parameterName, type: .duration, defaultValue: defaultValue, minimum: 0.001, summary: "Time between heartbeats")
    }

    /// The `heartbeat` event, for the kind's description; `readings` names what it carries.
    public static func event(readings: String? = nil) -> PluginEventDescription {
        PluginEventDescription(
            name: "heartbeat", severity: .info,
            summary: "Periodic keep-alive, every heartbeat_interval" + (readings.map { "; reading \($0)" } ?? ", without readings"))
    }
}

/// Work in flight, each piece with its own timer: a camera's reads, a terminal's presentations.
/// Vehicles and people may follow each other faster than the work takes, so one timer per
/// kind would lose all but the last; here each piece is numbered, its number rides in the
/// timer's tag above the byte that names the timer (24 bits: 16 million pieces in flight before
/// a number comes round again), and the piece is found again when its timer fires.
public struct PluginPendingWork<Item> {
    /// The byte that names this work's timer in a tag.
    public let timer: UInt32
    /// The number the last piece got (1 for the first): a device may show it (an image name).
    public private(set) var lastSequence: UInt64 = 0
    private var items: [UInt32: Item] = [:]

    private static var sequenceMask: UInt64 { 0xFF_FFFF }

    /// `timer`: the low byte of the tags this work's timers fire with (the kind's own name for it).
    public init(timer: UInt32) {
        precondition(timer <= 0xFF, "a timer's name is the low byte of its tag")
        self.timer = timer
    }

    /// Numbers the next piece, keeps the item `make` builds from that number, and schedules its
    /// timer `nanoseconds` from now. Returns the number.
    @discardableResult
    public mutating func add(after nanoseconds: UInt64, _ context: PluginContext, _ make: (UInt64) -> Item) -> UInt64 {
        lastSequence += 1
        let key = UInt32(lastSequence & Self.sequenceMask)
        items[key] = make(lastSequence)
        context.schedule(afterNanoseconds: nanoseconds, tag: timer | key << 8)
        return lastSequence
    }

    /// The piece whose timer fired with `tag`, taken out; nil when the tag is not one of this
    /// work's or the piece is gone.
    public mutating func take(firedTag tag: UInt32) -> Item? {
        guard tag & 0xFF == timer else { return nil }
        return items.removeValue(forKey: tag >> 8)
    }

    /// How many pieces are in flight.
    public var count: Int { items.count }
}
