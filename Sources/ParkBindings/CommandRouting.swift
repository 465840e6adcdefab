import ParkCore

/// Delivers a command to a device and returns its answer: what every binding that takes commands
/// from the wire (an MQTT `cmd` topic, a Modbus coil write, a DL/T 645 relay frame) hands them to.
public typealias DeviceCommandHandler = @Sendable (_ deviceID: String, _ command: DeviceCommand) async -> Result<CommandResult, EngineError>

/// A binding that takes commands from the wire for the devices it serves.
public protocol CommandTakingBinding: AnyObject, Sendable {
    /// Sets where commands go; until set, they are refused or dropped, as the protocol allows.
    func setCommandHandler(_ handler: @escaping DeviceCommandHandler)
}

extension CommandTakingBinding {
    /// Sends every command this binding takes to `engine`, so each lands in the ledger as the
    /// device's answer: the one wiring of bindings to the engine.
    public func routeCommands(to engine: RealTimeEngine) {
        setCommandHandler { deviceID, command in
            do throws(EngineError) { return .success(try await engine.send(command, to: deviceID)) } catch { return .failure(error) }
        }
    }
}
