import Histogram
import NIOCore
import NIOPosix

/// Runs devices in real time on SwiftNIO event loops: one shard of devices per loop, one loop
/// per core, never a thread per device.
///
/// Each shard keeps its devices' timers in its own ``TimerQueue`` and asks its event loop for a
/// single wake-up at the earliest deadline (NIO arms a `timerfd`, so wake-ups are accurate to
/// microseconds). On waking it runs every device whose timer is due, records how late each ran,
/// and re-arms. Stimuli and commands from other threads hop onto the device's loop.
///
/// Wake-ups are aligned up to multiples of `timerResolution` (1 ms by default): every timer
/// due by then runs in one batch. Without that, 100,000 devices on random phases wake each loop
/// about 7,000 times a second, and re-arming the kernel timer each time cost a fifth of the
/// engine's CPU (measured with perf); a millisecond of alignment cuts wake-ups to at most 1,000
/// a second per loop for at most 1 ms of added lateness. Resolution zero wakes exactly.
///
/// Devices are assigned to shards round-robin in plan order and created on their own loop.
public final class RealTimeEngine: Sendable {
    public let clock: SystemClock
    public let ledger: Ledger
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let drivers: [NIOLoopBound<ShardDriver>]
    private let shardOfDevice: [String: Int]
    /// How fast the devices' timers run (1: as their profiles say); every loop's shard shares it.
    public let pace: DevicePace

    /// Creates every planned device on its loop.
    ///
    /// - Parameters:
    ///   - plan: the devices; ids must be unique.
    ///   - threads: event loops to use; defaults to one per core.
    ///   - timerResolution: wake-ups are aligned up to multiples of this; zero wakes exactly.
    ///   - observer: sees every emission, on the emitting loop.
    /// - Throws: ``EngineError`` for a duplicate id or a device its kind could not create.
    public init(
        plan: [PlannedDevice], threads: Int = RealTimeEngine.defaultThreads, ledger: Ledger = Ledger(),
        timerResolution: DeviceDuration = .milliseconds(1), observer: (any EmissionObserver)? = nil
    ) async throws(EngineError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let clock = SystemClock()
        let pace = DevicePace()
        self.pace = pace
        self.clock = clock
        self.ledger = ledger
        self.group = group
        self.ownsGroup = true

        var shardOfDevice: [String: Int] = [:]
        var slices = Array(repeating: [PlannedDevice](), count: max(1, threads))
        for (index, device) in plan.enumerated() {
            guard shardOfDevice[device.id] == nil else {
                try? await group.shutdownGracefully()
                throw .duplicateDevice(device.id)
            }
            shardOfDevice[device.id] = index % slices.count
            slices[index % slices.count].append(device)
        }
        self.shardOfDevice = shardOfDevice

        var drivers: [NIOLoopBound<ShardDriver>] = []
        var creationError: EngineError?
        for slice in slices {
            let loop = group.next()
            let made = try? await loop.submit {
                ShardDriver.make(
                    loop: loop, shard: DeviceShard(clock: clock, ledger: ledger, observer: observer, pace: pace),
                    resolution: timerResolution.nanoseconds, devices: slice)
            }.get()
            switch made {
            case .success(let driver): drivers.append(driver)
            case .failure(let error): creationError = error
            case nil: creationError = .notRunning
            }
            if creationError != nil { break }
        }
        if let creationError {
            try? await group.shutdownGracefully()
            throw creationError
        }
        self.drivers = drivers
    }

    public var deviceCount: Int { shardOfDevice.count }

    /// Starts every device and begins running timers.
    public func start() async {
        for driver in drivers {
            try? await driver.eventLoop.submit { driver.value.start() }.get()
        }
    }

    /// Stops running timers and shuts the event loops down. Devices stay in memory for queries.
    public func stop() async {
        for driver in drivers {
            try? await driver.eventLoop.submit { driver.value.stop() }.get()
        }
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// Applies a stimulus to a device on its loop; returns its ledger record (the harness times
    /// from it, without searching the ground truth for it).
    @discardableResult
    public func apply(_ stimulus: Stimulus, to deviceID: String) async throws(EngineError) -> LedgerRecord {
        try await onDeviceLoop(deviceID) { $0.apply(stimulus, to: deviceID) }
    }

    /// Sends a command to a device on its loop and returns the device's answer.
    public func send(_ command: DeviceCommand, to deviceID: String) async throws(EngineError) -> CommandResult {
        try await sendRecorded(command, to: deviceID).result
    }

    /// Sends a command to a device on its loop; returns its answer and the ledger record of both.
    public func sendRecorded(_ command: DeviceCommand, to deviceID: String) async throws(EngineError) -> CommandReceipt {
        try await onDeviceLoop(deviceID) { $0.send(command, to: deviceID) }
    }

    /// Runs `body` on the loop that owns `deviceID`.
    private func onDeviceLoop<Value: Sendable>(
        _ deviceID: String, _ body: @escaping @Sendable (ShardDriver) -> Result<Value, EngineError>
    ) async throws(EngineError) -> Value {
        let driver = try self.driver(for: deviceID)
        let result: Result<Value, EngineError>
        do {
            result = try await driver.eventLoop.submit { body(driver.value) }.get()
        } catch {
            throw .notRunning
        }
        return try result.get()
    }

    /// Device and timer figures across all shards.
    public func statistics() async -> EngineStatistics {
        var devices = 0, pending = 0
        var fired: UInt64 = 0
        var lateness = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for driver in drivers {
            guard let part = try? await driver.eventLoop.submit({
                (driver.value.shard.deviceCount, driver.value.shard.pendingTimers, driver.value.firedTimers,
                 driver.value.shard.lateness)
            }).get() else { continue }
            devices += part.0
            pending += part.1
            fired += part.2
            lateness.add(part.3)
        }
        return EngineStatistics(
            devices: devices, pendingTimers: pending, firedTimers: fired,
            lateness: TimerLateness(
                count: lateness.totalCount, p50: lateness.valueAtPercentile(50), p99: lateness.valueAtPercentile(99),
                p999: lateness.valueAtPercentile(99.9), max: lateness.max))
    }

    /// Forgets the lateness recorded so far (e.g. after a warm-up).
    public func resetLateness() async {
        for driver in drivers {
            try? await driver.eventLoop.submit { driver.value.shard.lateness.reset() }.get()
        }
    }

    private func driver(for deviceID: String) throws(EngineError) -> NIOLoopBound<ShardDriver> {
        guard let index = shardOfDevice[deviceID] else { throw .unknownDevice(deviceID) }
        return drivers[index]
    }
}

/// Drives one shard from its event loop: keeps exactly one NIO wake-up armed at the earliest
/// device deadline. Lives on its loop only.
final class ShardDriver {
    let loop: any EventLoop
    let shard: DeviceShard
    /// Wake-ups are rounded up to a multiple of this many nanoseconds (0: exact).
    let resolution: UInt64
    private var wakeTask: Scheduled<Void>?
    private var wakeDeadline: UInt64?
    private var running = false
    private(set) var firedTimers: UInt64 = 0

    init(loop: any EventLoop, shard: DeviceShard, resolution: UInt64) {
        self.loop = loop
        self.shard = shard
        self.resolution = resolution
    }

    /// Creates `devices` into `shard`; must run on `loop`.
    static func make(
        loop: any EventLoop, shard: DeviceShard, resolution: UInt64, devices: [PlannedDevice]
    ) -> Result<NIOLoopBound<ShardDriver>, EngineError> {
        for device in devices {
            do {
                let behavior = try device.kind.makeDevice(device.setup)
                shard.add(id: device.id, kind: device.kind.descriptor.name, behavior: behavior)
            } catch {
                return .failure(.device(id: device.id, error))
            }
        }
        return .success(NIOLoopBound(ShardDriver(loop: loop, shard: shard, resolution: resolution), eventLoop: loop))
    }

    func start() {
        guard !running else { return }
        running = true
        shard.startAll(at: shard.clock.now().monotonic)
        arm()
    }

    func stop() {
        running = false
        wakeTask?.cancel()
        wakeTask = nil
        wakeDeadline = nil
    }

    func apply(_ stimulus: Stimulus, to deviceID: String) -> Result<LedgerRecord, EngineError> {
        guard let slot = shard.slot(of: deviceID) else { return .failure(.unknownDevice(deviceID)) }
        defer { arm() }
        do {
            return .success(try shard.apply(stimulus, to: slot, at: shard.clock.now().monotonic))
        } catch {
            return .failure(.device(id: deviceID, error))
        }
    }

    func send(_ command: DeviceCommand, to deviceID: String) -> Result<CommandReceipt, EngineError> {
        guard let slot = shard.slot(of: deviceID) else { return .failure(.unknownDevice(deviceID)) }
        defer { arm() }
        let (result, record) = shard.handle(command, to: slot, at: shard.clock.now().monotonic)
        return .success(CommandReceipt(result: result, record: record))
    }

    private func wake() {
        wakeTask = nil
        wakeDeadline = nil
        guard running else { return }
        firedTimers += UInt64(shard.runDueTimers(at: shard.clock.now().monotonic, measureLateness: true))
        arm()
    }

    private func arm() {
        guard running, var next = shard.timers.nextDeadline?.nanoseconds else { return }
        if resolution > 1 {
            let remainder = next % resolution
            if remainder != 0 { next += resolution - remainder }
        }
        if let wakeDeadline, wakeDeadline <= next { return }
        wakeTask?.cancel()
        wakeDeadline = next
        let bound = NIOLoopBound(self, eventLoop: loop)
        wakeTask = loop.scheduleTask(deadline: .uptimeNanoseconds(next)) { bound.value.wake() }
    }
}

extension RealTimeEngine {
    /// One event loop per core: the engine's default, for callers that pass the count on.
    public static var defaultThreads: Int { System.coreCount }
}
