import ParkBindings
import Synchronization
import ParkCore
import ParkWire

/// A running park in real time: one engine and its ledger, the protocol bindings the park's
/// devices are on, and the commands those bindings route back into the engine.
///
/// `simulate` and the harness (`test`, `demo`) both run a park through a session, so the engine ↔
/// binding wiring, the order things start and stop in, and the stimulus script runner exist once.
/// Start-up is in steps the caller orders (the harness waits for every device to connect before
/// the devices start; `simulate` opens its endpoints first so it can print where they are).
public final class ParkSession: Sendable {
    /// The protocol bindings of a session; each is optional.
    public struct Bindings: Sendable {
        /// One MQTT client per device it was given.
        public var mqtt: MQTTDeviceBinding?
        /// Modbus endpoints for the devices whose model has a register map.
        public var modbus: ModbusDeviceBinding?
        /// DL/T 645 buses for the meters whose model has a `dlt645:` section.
        public var dlt645: DLT645DeviceBinding?
        /// GB/T 28181 for the cameras and NVRs whose model has a `gb28181:` section.
        public var gb28181: GB28181DeviceBinding?
        /// OCPP 1.6J for the EV chargers whose model has an `ocpp:` section.
        public var ocpp: OCPPDeviceBinding?
        /// HTTP push of the events whose model's `http_push:` section names them.
        public var httpPush: HTTPPushDeviceBinding?
        /// VDA 5050 for the robots whose model has a `vda5050:` section (on the run's broker).
        public var robots: VDA5050RobotBinding?
        /// Where polled devices (meters) publish the live state `modbus` and `dlt645` answer from,
        /// and video devices the state (guard, faults) `gb28181` reads.
        public var registry: PolledStateRegistry?

        public init(mqtt: MQTTDeviceBinding? = nil, modbus: ModbusDeviceBinding? = nil, dlt645: DLT645DeviceBinding? = nil,
                    gb28181: GB28181DeviceBinding? = nil, ocpp: OCPPDeviceBinding? = nil, registry: PolledStateRegistry? = nil) {
            self.mqtt = mqtt
            self.ocpp = ocpp
            self.modbus = modbus
            self.dlt645 = dlt645
            self.gb28181 = gb28181
            self.registry = registry
        }

        /// Whether a device is served by a polled binding (and so need not be on MQTT).
        public func polls(_ deviceID: String) -> Bool {
            (modbus?.serves(deviceID) ?? false) || (dlt645?.serves(deviceID) ?? false)
        }

        /// Whether a device is on a protocol of its own (polled, GB/T 28181, OCPP) rather than MQTT.
        public func carriesOffMQTT(_ deviceID: String) -> Bool {
            polls(deviceID) || (gb28181?.serves(deviceID) ?? false) || (ocpp?.serves(deviceID) ?? false)
                || (robots?.serves(deviceID) ?? false)
        }
    }

    /// Where the polled endpoints answer, once open.
    public struct EndpointAddresses: Sendable {
        public var modbus: [ModbusDeviceBinding.Address] = []
        public var dlt645: [DLT645DeviceBinding.Address] = []
        public var gb28181: [GB28181DeviceBinding.Address] = []

        public init(modbus: [ModbusDeviceBinding.Address] = [], dlt645: [DLT645DeviceBinding.Address] = [],
                    gb28181: [GB28181DeviceBinding.Address] = []) {
            self.modbus = modbus
            self.dlt645 = dlt645
            self.gb28181 = gb28181
        }

        public var isEmpty: Bool { modbus.isEmpty && dlt645.isEmpty && gb28181.isEmpty }
        public var count: Int { modbus.count + dlt645.count + gb28181.count }
    }

    public let engine: RealTimeEngine
    public let ledger: Ledger
    public let bindings: Bindings
    /// The run's ground truth as it happens, for checks to query; nil unless asked for.
    public let truth: GroundTruthIndex?
    private let stopped = Atomic<Bool>(false)

    /// Builds the engine for `plan` with every binding wired to it: emissions go to `observers`
    /// and the MQTT binding, commands from every binding go to the engine. Nothing runs yet.
    /// - Parameter indexGroundTruth: also keep every record in ``truth`` (conformance runs; a
    ///   long or large run leaves it off, the ledger holds the records either way).
    /// - Throws: ``EngineError`` for a duplicate device id or a device its kind could not create.
    ///   - threads: event loops the devices' timers run on (one per core by default).
    ///   - timerResolution: how finely timers' wake-ups are aligned (coarser: fewer wake-ups).
    public init(
        plan: [PlannedDevice], bindings: Bindings, ledger: Ledger = Ledger(), observers: [any EmissionObserver] = [],
        indexGroundTruth: Bool = false, threads: Int = RealTimeEngine.defaultThreads, timerResolution: DeviceDuration = .milliseconds(1)
    ) async throws(EngineError) {
        var plan = plan
        if let registry = bindings.registry {
            for index in plan.indices { plan[index].setup.polled = registry }
        }
        // The binding first: its publish is the one a platform's latency is measured on.
        let truth = indexGroundTruth ? GroundTruthIndex() : nil
        var wire: [any EmissionObserver] = []
        if let mqtt = bindings.mqtt { wire.append(mqtt) }
        if let gb28181 = bindings.gb28181 { wire.append(gb28181) }
        if let ocpp = bindings.ocpp { wire.append(ocpp) }
        if let httpPush = bindings.httpPush { wire.append(httpPush) }
        if let robots = bindings.robots { wire.append(robots) }
        let everyone: [any EmissionObserver] = wire + (truth.map { [$0] } ?? []) + observers
        let observer: (any EmissionObserver)? = switch everyone.count {
        case 0: nil
        case 1: everyone[0]
        default: MulticastEmissionObserver(everyone)
        }
        engine = try await RealTimeEngine(plan: plan, threads: threads, ledger: ledger, timerResolution: timerResolution, observer: observer)
        self.ledger = ledger
        self.bindings = bindings
        self.truth = truth
        bindings.mqtt?.routeCommands(to: engine)
        bindings.modbus?.routeCommands(to: engine)
        bindings.dlt645?.routeCommands(to: engine)
        bindings.gb28181?.routeCommands(to: engine)
        bindings.ocpp?.routeCommands(to: engine)
        bindings.httpPush?.routeCommands(to: engine)
        bindings.robots?.routeCommands(to: engine)
    }

    /// Opens the Modbus endpoints and DL/T 645 buses and registers the GB/T 28181 devices (they
    /// register in the background); on failure, none stays open.
    public func openEndpoints() throws(BindingError) -> EndpointAddresses {
        var addresses = EndpointAddresses()
        if let modbus = bindings.modbus { addresses.modbus = try modbus.start() }
        do {
            if let dlt645 = bindings.dlt645 { addresses.dlt645 = try dlt645.start() }
            if let gb28181 = bindings.gb28181 { addresses.gb28181 = try gb28181.start() }
            bindings.ocpp?.start()
        } catch {
            bindings.modbus?.stop()
            bindings.dlt645?.stop()
            throw error
        }
        return addresses
    }

    /// Starts connecting the MQTT clients (they connect in the background, a window at a time),
    /// the robots' VDA 5050 clients among them.
    public func connectMQTT() throws(BindingError) {
        try bindings.mqtt?.connect()
        try bindings.robots?.start()
    }

    /// Starts every device's timers.
    public func start() async {
        await engine.start()
    }

    /// Stops the devices, closes the endpoints and disconnects the MQTT clients (their last will
    /// is not sent: a clean stop). Safe to call more than once.
    public func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        await engine.stop()
        bindings.modbus?.stop()
        bindings.dlt645?.stop()
        bindings.gb28181?.stop()
        bindings.ocpp?.stop()
        bindings.httpPush?.stop()
        bindings.robots?.stop()
        bindings.mqtt?.shutdown()
    }

    /// Runs in real time for `duration`, applying each scripted stimulus at its time and handing
    /// the ledger's held records to its writer every second; returns how many were applied.
    /// - Parameters:
    ///   - progress: told the device time so far, about four times a second.
    ///   - warning: a stimulus the engine refused (its device is unknown or stopped).
    ///   - shouldStop: checked as often, to end early (Ctrl-C).
    public func run(
        script: [ParkFile.ScriptedStimulus], for duration: DeviceDuration,
        progress: (DeviceDuration) -> Void = { _ in }, warning: (String) -> Void = StandardError.writeLine,
        shouldStop: () -> Bool = { RunInterruption.received }
    ) async -> Int {
        let start = engine.clock.now().monotonic
        var lastSpill = start
        let end = start.advanced(by: duration)
        var pending = script.filter { $0.at <= duration }[...]
        var applied = 0
        while true {
            let now = engine.clock.now().monotonic
            while let next = pending.first, start.advanced(by: next.at) <= now {
                pending = pending.dropFirst()
                do {
                    _ = try await engine.apply(next.stimulus, to: next.deviceID)
                    applied += 1
                } catch { warning("warning: \(error)") }
            }
            if now >= end || shouldStop() { break }
            progress(now.duration(since: start))
            if now >= lastSpill.advanced(by: .seconds(1)) {
                ledger.spillHeldRecords()
                lastSpill = now
            }
            // Short naps so Ctrl-C ends the run within a quarter of a second.
            let wake = [end, pending.first.map { start.advanced(by: $0.at) }, now.advanced(by: .milliseconds(250))]
                .compactMap { $0 }.min() ?? end
            try? await Task.sleep(nanoseconds: wake.duration(since: now).nanoseconds)
        }
        return applied
    }
}

/// A park run on a virtual clock: the whole duration passes as fast as the CPU allows, and one
/// seed gives one ledger, byte for byte. No protocol binding runs on virtual time.
public enum VirtualParkRun {
    /// Runs `plan` for `duration` of device time with the scripted stimuli at their times;
    /// returns how many were applied.
    /// - Parameters:
    ///   - progress: told the device time so far, 200 times over the run.
    /// - Throws: ``EngineError`` for a duplicate device id or a device its kind could not create.
    public static func run(
        plan: [PlannedDevice], script: [ParkFile.ScriptedStimulus], for duration: DeviceDuration, ledger: Ledger,
        observer: (any EmissionObserver)?, progress: (DeviceDuration) -> Void = { _ in },
        warning: (String) -> Void = StandardError.writeLine, shouldStop: () -> Bool = { RunInterruption.received }
    ) throws(EngineError) -> Int {
        let engine = VirtualTimeEngine(ledger: ledger, observer: observer)
        for device in plan { try engine.add(device) }
        engine.start()
        let end = MonotonicInstant.zero.advanced(by: duration)
        var pending = script.filter { $0.at <= duration }[...]
        var applied = 0
        // Advance in slices so a long virtual run can say how far it has got.
        let slice = DeviceDuration(nanoseconds: max(duration.nanoseconds / 200, 1))
        while engine.now < end, !shouldStop() {
            let sliceEnd = min(engine.now.advanced(by: slice), end)
            while let next = pending.first, MonotonicInstant.zero.advanced(by: next.at) <= sliceEnd {
                pending = pending.dropFirst()
                engine.advance(to: MonotonicInstant.zero.advanced(by: next.at))
                do {
                    _ = try engine.apply(next.stimulus, to: next.deviceID)
                    applied += 1
                } catch { warning("warning: \(error)") }
            }
            engine.advance(to: sliceEnd)
            progress(engine.now.duration(since: .zero))
        }
        return applied
    }
}
