import Foundation
import ParkBindings
import ParkCore
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
    let engine: RealTimeEngine
    let binding: MQTTDeviceBinding
    let meters: GatewayMeters?

    init(
        devices: [ParkFile.ParkDevice], kinds: DeviceKindRegistry, profile: PlatformProfile, truth: GroundTruthIndex,
        observations: ObservationLog, engine: RealTimeEngine, binding: MQTTDeviceBinding, secrets: DeviceSecrets? = nil,
        meters: GatewayMeters? = nil, meterReads: MeterReadLog = MeterReadLog(), minimumSamples: Int? = nil
    ) {
        self.minimumSamples = minimumSamples
        self.secrets = secrets
        self.meters = meters
        self.meterReads = meterReads
        self.devices = devices
        self.kinds = kinds
        self.profile = profile
        self.truth = truth
        self.observations = observations
        self.engine = engine
        self.binding = binding
    }

    /// Wall-clock nanoseconds, the time base of ledger records and observations alike.
    public func wallNow() -> Int64 { SystemClock.wallNow().nanosecondsSinceEpoch }

    /// The park's devices a selector picks; an error message when it picks none.
    public func select(_ selector: DeviceSelector) -> Result<[ParkFile.ParkDevice], CheckFailure> {
        let chosen = selector.select(from: devices)
        return chosen.isEmpty ? .failure(CheckFailure("no device in the park matches \(selector)")) : .success(chosen)
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
            case .stimulus: return .success(try await engine.apply(Stimulus(action.name, arguments: arguments), to: device.id))
            case .command: return .success(try await engine.sendRecorded(DeviceCommand(action.name, arguments: arguments), to: device.id).record)
            }
        } catch {
            return .failure(CheckFailure("\(action) at \(device.id): \(error)"))
        }
    }

    /// Cuts a device's connection without a DISCONNECT (the broker publishes its last will); a
    /// meter behind a gateway falls silent on its bus instead.
    public func disconnect(_ deviceID: String) -> Result<Int64, CheckFailure> {
        let at = wallNow()
        do throws(BindingError) {
            if let meters, meters.serves(deviceID) { try meters.setSilent(deviceID, true) } else {
                try binding.dropConnection(of: deviceID, reconnect: false)
            }
        } catch {
            return .failure(CheckFailure(error.description))
        }
        return .success(at)
    }

    /// Connects a device again (a silent meter answers again).
    public func reconnect(_ deviceID: String) -> Result<Int64, CheckFailure> {
        let at = wallNow()
        do throws(BindingError) {
            if let meters, meters.serves(deviceID) { try meters.setSilent(deviceID, false) } else { try binding.reconnect(deviceID) }
        } catch { return .failure(CheckFailure(error.description)) }
        return .success(at)
    }

    /// Whether a device is a meter the harness serves behind the system's gateway.
    public func isBehindGateway(_ deviceID: String) -> Bool { meters?.serves(deviceID) ?? false }

    /// Waits until `condition` holds or `timeout` passes; true if it held. Polls every 5 ms:
    /// this only decides when to stop waiting — every figure comes from the timestamps taken
    /// where things happened, not from when the poll noticed.
    public func waitUntil(timeout: DeviceDuration, _ condition: () -> Bool) async -> Bool {
        let deadline = wallNow() + Int64(timeout.nanoseconds)
        while true {
            if condition() { return true }
            if wallNow() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Lets the system run for `duration` (a measurement window, not a wait for a result).
    public func run(for duration: DeviceDuration) async {
        try? await Task.sleep(nanoseconds: duration.nanoseconds)
    }
}

/// Why a check could not do what it set out to do.
public struct CheckFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
