import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParkBindings
import ParkCore
import ParkFaults
import ParkGB28181
import ParkRuntime

/// What a check may use while it runs: the park's virtual devices (stimuli, direct commands,
/// connection faults), the ground truth they record, what the observers saw of the system under
/// test, and the platform profile (to ask the platform to do things).
public final class HarnessContext: Sendable {
    public let devices: [ParkFile.ParkDevice]
    public let kinds: DeviceKindRegistry
    public let profile: PlatformProfile
    public let truth: GroundTruthIndex
    public let observations: ObservationLog
    /// The devices' secrets, when the broker authenticates them.
    public let secrets: DeviceSecrets?
    /// What the park's meters answered to every read, when they are behind a gateway.
    public let meterReads: MeterReadLog
    /// At least this many samples per latency check (`--samples`): it repeats its rounds until
    /// its devices have given that many.
    public let minimumSamples: Int?
    /// The park's cameras and NVRs on GB/T 28181, by device id: their ids and channels' ids.
    public let videoIDs: [String: GB28181DeviceBinding.Address]
    /// How actions reach the park and how time passes: the live park on the wall clock, or a
    /// ``VirtualPark`` on virtual time.
    let driver: any HarnessDriver
    /// Where a load check posts its figures as it runs (the terminal and `/metrics` read them).
    public let liveFigures: LoadFiguresBoard

    package init(
        devices: [ParkFile.ParkDevice], kinds: DeviceKindRegistry, profile: PlatformProfile, truth: GroundTruthIndex,
        observations: ObservationLog, driver: any HarnessDriver, secrets: DeviceSecrets? = nil,
        meterReads: MeterReadLog = MeterReadLog(), minimumSamples: Int? = nil, videoIDs: [String: GB28181DeviceBinding.Address] = [:],
        liveFigures: LoadFiguresBoard = LoadFiguresBoard()
    ) {
        self.liveFigures = liveFigures
        self.videoIDs = videoIDs
        self.minimumSamples = minimumSamples
        self.secrets = secrets
        self.meterReads = meterReads
        self.devices = devices
        self.kinds = kinds
        self.profile = profile
        self.truth = truth
        self.observations = observations
        self.driver = driver
    }

    /// Wall-clock nanoseconds (virtual ones on a virtual park), the time base of ledger records
    /// and observations alike.
    public func wallNow() -> Int64 { driver.wallNow() }

    /// The park's devices a selector picks; an error message when it picks none.
    public func select(_ selector: DeviceSelector) -> Result<[ParkFile.ParkDevice], CheckFailure> {
        let chosen = selector.select(from: devices)
        return chosen.isEmpty ? .failure(CheckFailure("no device in the park matches \(selector)")) : .success(chosen)
    }

    /// Performs `actions` in order on the devices they name (a check's `before:` and `after:`
    /// lists): the failures, in order, none when every one went through. Stopping at the first
    /// failure suits setup that what follows relies on; cleanup goes on, so one stuck device
    /// does not leave the others as the check left them.
    public func perform(
        _ actions: [(device: String, action: DeviceAction)], stoppingAtFailure: Bool = false
    ) async -> [CheckFailure] {
        var failures: [CheckFailure] = []
        for (id, action) in actions {
            let failure: CheckFailure?
            if let device = devices.first(where: { $0.id == id }) {
                if case .failure(let error) = await perform(action, on: device) { failure = error } else { failure = nil }
            } else {
                failure = CheckFailure("no device '\(id)' in the park")
            }
            guard let failure else { continue }
            failures.append(failure)
            if stoppingAtFailure { break }
        }
        return failures
    }

    /// Applies a stimulus (or hands a command straight to the device) and returns the ledger
    /// record of it: the ground-truth start of whatever the check times.
    public func perform(_ action: DeviceAction, on device: ParkFile.ParkDevice) async -> Result<LedgerRecord, CheckFailure> {
        guard let kind = kinds.kind(named: device.kind) else { return .failure(CheckFailure("unknown kind '\(device.kind)'")) }
        let declared: [ParameterDescriptor]
        switch action.form {
        case .stimulus:
            guard let stimulus = kind.descriptor.stimulus(named: action.name) else {
                return .failure(CheckFailure(
                    "kind '\(device.kind)' has no stimulus '\(action.name)'; known: \(kind.descriptor.stimuli.map(\.name).joined(separator: ", "))"))
            }
            declared = stimulus.arguments.map { ParameterDescriptor(name: $0.name, type: $0.type, defaultValue: "", summary: "") }
        case .command:
            guard let command = kind.descriptor.commands.first(where: { $0.name == action.name }) else {
                return .failure(CheckFailure(
                    "kind '\(device.kind)' has no command '\(action.name)'; known: \(kind.descriptor.commands.map(\.name).joined(separator: ", "))"))
            }
            declared = command.arguments.map { ParameterDescriptor(name: $0.name, type: $0.type, defaultValue: "", summary: "") }
        }
        var arguments: [String: PointValue] = [:]
        for (name, text) in action.arguments {
            guard let parameter = declared.first(where: { $0.name == name }) else {
                return .failure(CheckFailure("\(action) at \(device.id) has no argument '\(name)'"))
            }
            switch parameter.parse(text) {
            // Durations travel as text ("30s"), as they would from a platform's JSON; numbers
            // there mean seconds.
            case .success where parameter.type == .duration: arguments[name] = .string(text)
            case .success(let value): arguments[name] = value
            case .failure(let error): return .failure(CheckFailure("\(action) at \(device.id): \(error.message)"))
            }
        }
        do throws(EngineError) {
            switch action.form {
            case .stimulus: return .success(try await driver.apply(Stimulus(action.name, arguments: arguments), to: device.id))
            case .command: return .success(try await driver.sendRecorded(DeviceCommand(action.name, arguments: arguments), to: device.id))
            }
        } catch {
            return .failure(CheckFailure("\(action) at \(device.id): \(error)"))
        }
    }

    /// Cuts a device's connection without a DISCONNECT (the broker publishes its last will); a
    /// meter behind a gateway falls silent on its bus instead.
    public func disconnect(_ deviceID: String) -> Result<Int64, CheckFailure> { setConnected(deviceID, false) }

    /// Connects a device again (a silent meter answers again).
    public func reconnect(_ deviceID: String) -> Result<Int64, CheckFailure> { setConnected(deviceID, true) }

    private func setConnected(_ deviceID: String, _ connected: Bool) -> Result<Int64, CheckFailure> {
        let at = wallNow()
        do throws(BindingError) { try driver.setConnected(deviceID, connected) } catch {
            return .failure(CheckFailure(error.description))
        }
        return .success(at)
    }

    /// Puts the links of `deviceIDs` to the system under test under `condition` (``LinkCondition/healthy``
    /// heals them); the wall time it took effect.
    public func setLink(_ condition: LinkCondition, of deviceIDs: [String]) -> Result<Int64, CheckFailure> {
        do throws(CheckFailure) { try driver.setLink(condition, of: deviceIDs) } catch {
            return .failure(error)
        }
        return .success(wallNow())
    }

    /// Runs the devices' own timers `factor` times as fast (``DevicePace``): a load stage's
    /// `rate:`. 1 puts them back.
    public func setPace(_ factor: Double) { driver.setPace(factor) }

    /// Kills the platform's active node (``PlatformProcessFaults``); what was done.
    public func killPlatform() async -> Result<String, CheckFailure> { await driver.killPlatform() }

    /// Brings a killed platform node back, when the run knows how; what was done, nil when it does not.
    public func restorePlatform() async -> Result<String, CheckFailure>? { await driver.restorePlatform() }

    /// Pauses the platform's active node (SIGSTOP) or resumes it (``PlatformProcessFaults``); what was done.
    public func freezePlatform(_ frozen: Bool) async -> Result<String, CheckFailure> { await driver.freezePlatform(frozen) }

    /// Stops the broker the devices and the platform meet on (``BrokerProcessFaults``); what was done.
    public func stopBroker() async -> Result<String, CheckFailure> { await driver.stopBroker() }

    /// Starts the stopped broker again; what was done, once it takes connections.
    public func startBroker() async -> Result<String, CheckFailure> { await driver.startBroker() }

    /// Whether a device is a meter the harness serves behind the system's gateway.
    public func isBehindGateway(_ deviceID: String) -> Bool { driver.isBehindGateway(deviceID) }

    /// Whether a device reaches the platform over the park's MQTT device connections — the links a
    /// failover check breaks — rather than another road (a gateway's polls, SIP, OCPP, VDA 5050).
    public func isOnMQTTLink(_ deviceID: String) -> Bool { driver.isOnMQTTLink(deviceID) }

    /// Waits until `condition` holds or `timeout` passes; true if it held. Every figure comes
    /// from the timestamps taken where things happened, not from when the wait noticed.
    public func waitUntil(timeout: DeviceDuration, _ condition: () -> Bool) async -> Bool {
        await driver.waitUntil(deadline: wallNow() + Int64(timeout.nanoseconds), condition)
    }

    /// Lets the system run for `duration` (a measurement window, not a wait for a result).
    public func run(for duration: DeviceDuration) async {
        _ = await driver.waitUntil(deadline: wallNow() + Int64(duration.nanoseconds)) { false }
    }

    /// Sends an HTTP request to the system under test (the platform's command API): its status
    /// and body, or why there was no answer.
    public func request(method: String, url: URL, body: [UInt8]) async -> Result<HTTPAnswer, CheckFailure> {
        await driver.request(method: method, url: url, body: body)
    }
}

/// What the system under test answered to an HTTP request.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var body: [UInt8]
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// How a check's actions reach the park and how its time passes: the seam between the checks
/// and what runs them. ``LiveHarnessDriver`` acts on a running park (engine, MQTT binding,
/// meters behind a gateway) on the wall clock; ``VirtualPark`` simulates the park and an
/// in-process system under test on virtual time, so a suite's verdicts can be proven in
/// milliseconds.
package protocol HarnessDriver: Sendable {
    /// Wall-clock nanoseconds since the epoch (virtual ones on a virtual park).
    func wallNow() -> Int64
    /// Applies a stimulus now; its ledger record.
    func apply(_ stimulus: Stimulus, to deviceID: String) async throws(EngineError) -> LedgerRecord
    /// Hands a command straight to a device now; the ledger record of it.
    func sendRecorded(_ command: DeviceCommand, to deviceID: String) async throws(EngineError) -> LedgerRecord
    /// Cuts a device's connection (or silences a meter) and restores it.
    func setConnected(_ deviceID: String, _ connected: Bool) throws(BindingError)
    /// Whether the device is a meter served behind the system's gateway.
    func isBehindGateway(_ deviceID: String) -> Bool
    /// Whether the device is one of the MQTT device binding's (its link can be broken).
    func isOnMQTTLink(_ deviceID: String) -> Bool
    /// Breaks (or heals) the network between these devices and the system under test.
    func setLink(_ condition: LinkCondition, of deviceIDs: [String]) throws(CheckFailure)
    /// Sets how fast the devices' timers run (1: as their profiles say).
    func setPace(_ factor: Double)
    /// Kills the system's active node; what was done.
    func killPlatform() async -> Result<String, CheckFailure>
    /// Brings it back, when the run knows how; nil when it does not.
    func restorePlatform() async -> Result<String, CheckFailure>?
    /// Pauses (or resumes) the system's active node; what was done.
    func freezePlatform(_ frozen: Bool) async -> Result<String, CheckFailure>
    /// Stops the broker; what was done.
    func stopBroker() async -> Result<String, CheckFailure>
    /// Starts it again; what was done.
    func startBroker() async -> Result<String, CheckFailure>
    /// Lets time pass until `condition` holds or the wall clock reaches `deadline`; true if it held.
    func waitUntil(deadline: Int64, _ condition: () -> Bool) async -> Bool
    /// An HTTP request to the system under test.
    func request(method: String, url: URL, body: [UInt8]) async -> Result<HTTPAnswer, CheckFailure>
}

/// The running park on the wall clock: stimuli and commands through the real-time engine,
/// connection faults through the MQTT binding (or the meters' endpoints), network faults through
/// the fault proxy the devices reach the broker by, HTTP over the network.
struct LiveHarnessDriver: HarnessDriver {
    let engine: RealTimeEngine
    let binding: MQTTDeviceBinding
    let meters: GatewayMeters?
    var video: GB28181DeviceBinding? = nil
    var chargers: OCPPDeviceBinding? = nil
    /// Between the MQTT devices and the broker when the suite breaks links; nil: they connect straight.
    var proxy: FaultProxy? = nil
    /// How to kill and restore the platform, when the run knows.
    var platformFaults: PlatformProcessFaults? = nil
    /// How to stop and start the broker, when the run knows.
    var brokerFaults: BrokerProcessFaults? = nil

    func freezePlatform(_ frozen: Bool) async -> Result<String, CheckFailure> {
        guard let action = frozen ? platformFaults?.freeze : platformFaults?.thaw else {
            return .failure(CheckFailure("the run does not know how to \(frozen ? "pause" : "resume") the platform: give its profile failover.freeze_command and thaw_command"))
        }
        do { return .success(try await action()) } catch {
            return .failure(CheckFailure("cannot \(frozen ? "pause" : "resume") the platform: \(error)"))
        }
    }

    func stopBroker() async -> Result<String, CheckFailure> {
        guard let brokerFaults else {
            return .failure(CheckFailure("the run does not know how to stop the broker: give its profile failover.broker_stop_command and broker_start_command"))
        }
        do { return .success(try await brokerFaults.stop()) } catch { return .failure(CheckFailure("cannot stop the broker: \(error)")) }
    }

    func startBroker() async -> Result<String, CheckFailure> {
        guard let brokerFaults else { return .failure(CheckFailure("the run does not know how to start the broker")) }
        let what: String
        do { what = try await brokerFaults.start() } catch { return .failure(CheckFailure("cannot start the broker: \(error)")) }
        // The devices come back the moment the broker does, before the platform can have: the
        // worst case for a platform, and what some of a large park's devices always do.
        binding.reconnectNow()
        return .success(what)
    }

    func killPlatform() async -> Result<String, CheckFailure> {
        guard let platformFaults else {
            return .failure(CheckFailure("the run does not know how to kill the platform: give its profile failover.kill_command"))
        }
        do { return .success(try await platformFaults.kill()) } catch { return .failure(CheckFailure("cannot kill the platform: \(error)")) }
    }

    func restorePlatform() async -> Result<String, CheckFailure>? {
        guard let restore = platformFaults?.restore else { return nil }
        do { return .success(try await restore()) } catch { return .failure(CheckFailure("cannot restore the platform: \(error)")) }
    }

    func wallNow() -> Int64 { SystemClock.wallNow().nanosecondsSinceEpoch }

    func apply(_ stimulus: Stimulus, to deviceID: String) async throws(EngineError) -> LedgerRecord {
        try await engine.apply(stimulus, to: deviceID)
    }

    func sendRecorded(_ command: DeviceCommand, to deviceID: String) async throws(EngineError) -> LedgerRecord {
        try await engine.sendRecorded(command, to: deviceID).record
    }

    func setConnected(_ deviceID: String, _ connected: Bool) throws(BindingError) {
        if let meters, meters.serves(deviceID) { try meters.setSilent(deviceID, !connected) }
        else if let video, video.serves(deviceID) { try video.setPowered(deviceID, connected) }
        else if let chargers, chargers.serves(deviceID) { try chargers.setPowered(deviceID, connected) }
        else if connected { try binding.reconnect(deviceID) }
        else { try binding.dropConnection(of: deviceID, reconnect: false) }
    }

    func isBehindGateway(_ deviceID: String) -> Bool { meters?.serves(deviceID) ?? false }

    func isOnMQTTLink(_ deviceID: String) -> Bool { binding.serves(deviceID) }

    func setPace(_ factor: Double) { engine.pace.set(factor) }

    func setLink(_ condition: LinkCondition, of deviceIDs: [String]) throws(CheckFailure) {
        guard let proxy else {
            throw CheckFailure("the devices reach the broker without the fault proxy, so no link can be broken")
        }
        let elsewhere = deviceIDs.filter { !binding.serves($0) }
        guard elsewhere.isEmpty else {
            throw CheckFailure("only MQTT devices' links can be broken yet; not \(elsewhere.prefix(5).joined(separator: ", "))")
        }
        // The proxy knows a connection by its MQTT client id: the device's, as the binding sets it.
        let byID = Dictionary(binding.devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        proxy.set(condition, names: Set(deviceIDs.compactMap { byID[$0].map(binding.configuration.clientID) }))
    }

    /// Polls every 5 ms: this only decides when to stop waiting.
    func waitUntil(deadline: Int64, _ condition: () -> Bool) async -> Bool {
        while true {
            if condition() { return true }
            if wallNow() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    func request(method: String, url: URL, body: [UInt8]) async -> Result<HTTPAnswer, CheckFailure> {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 5
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return .success(HTTPAnswer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: Array(data)))
        } catch {
            return .failure(CheckFailure(error.localizedDescription))
        }
    }
}

/// Why a check could not do what it set out to do.
public struct CheckFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
