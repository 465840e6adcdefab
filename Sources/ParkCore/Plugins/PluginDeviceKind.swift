import ParkPluginJSON
/// A device kind implemented by a plugin library; the engine cannot tell it from a built-in.
///
/// Created by ``PluginLoader``. Each device it makes is a ``PluginBackedDevice`` that forwards
/// calls through the C ABI and turns the plugin's JSON back into ParkCore values.
public struct PluginDeviceKind: DeviceKind {
    let library: PluginLibrary

    init(library: PluginLibrary) { self.library = library }

    public var descriptor: KindDescriptor { library.descriptor }

    /// The plugin library's canonical path.
    public var path: String { library.path }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try PluginBackedDevice(library: library, setup: setup)
    }

    /// The device config JSON the plugin's `create` receives (see the ABI header).
    ///
    /// Parameters go back to profile-style text: int, double and bool as written in a profile,
    /// durations (stored as nanoseconds) as `<nanoseconds>ns`, which the kit and a C `strtoull`
    /// can both read exactly.
    static func configJSON(for setup: DeviceSetup, descriptor: KindDescriptor) -> String {
        let parameters = setup.parameters.values.sorted { $0.key < $1.key }.map { name, value in
            let text: String
            if descriptor.parameter(named: name)?.type == .duration, case .int(let nanoseconds) = value {
                text = "\(nanoseconds)ns"
            } else {
                text = value.description
            }
            return "\(JSONText.quoted(name)):\(JSONText.quoted(text))"
        }
        var json = "{\"id\":\(JSONText.quoted(setup.id)),\"parameters\":{\(parameters.joined(separator: ","))}"
        if let zone = setup.placement.zone { json += ",\"zone\":\(JSONText.quoted(zone))" }
        if let floor = setup.placement.floor { json += ",\"floor\":\(floor)" }
        return json + "}"
    }

    /// A stimulus or command as `{"name":..., "arguments":{...}}`.
    static func messageJSON(name: String, arguments: [String: PointValue]) -> String {
        let members = arguments.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\($0.value.jsonText)" }
        return "{\"name\":\(JSONText.quoted(name)),\"arguments\":{\(members.joined(separator: ","))}}"
    }
}

/// One device of a plugin kind, as the engine sees it: owns the plugin's device pointer (and
/// destroys it when released) and the device's random stream.
final class PluginBackedDevice: DeviceBehavior {
    private let library: PluginLibrary
    private let id: String
    private let handle: UnsafeMutableRawPointer
    // Lives here, not in the plugin, so a run is reproducible from (seed, id) alone.
    private var random: SeededRandom

    init(library: PluginLibrary, setup: DeviceSetup) throws(DeviceError) {
        var frame = PluginCallFrame(
            library: library, deviceID: setup.id, context: nil, random: setup.random, callback: "create")
        let config = PluginDeviceKind.configJSON(for: setup, descriptor: library.descriptor)
        let handle = withCString(config) { json, length in
            withUnsafeMutablePointer(to: &frame) { library.create(OpaquePointer($0), json, length) }
        }
        let kindName = library.descriptor.name
        guard let handle else {
            throw DeviceError(frame.failure ?? "plugin kind '\(kindName)' could not create device '\(setup.id)' and gave no reason")
        }
        if let failure = frame.failure {
            // The plugin both failed and returned a device; believe the failure.
            library.destroy(handle)
            throw DeviceError(failure)
        }
        self.library = library
        self.id = setup.id
        self.handle = handle
        self.random = frame.random
    }

    deinit {
        library.destroy(handle)
    }

    func start(context: DeviceContext) {
        _ = call("start", context) { library.start(handle, $0) }
    }

    func timerFired(tag: UInt32, context: DeviceContext) {
        _ = call("timer", context) { library.timer(handle, $0, tag) }
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        let json = PluginDeviceKind.messageJSON(name: stimulus.name, arguments: stimulus.arguments)
        let frame = call("stimulus", context) { call in
            withCString(json) { library.stimulus(handle, call, $0, $1) }
        }
        if let failure = frame.failure { throw DeviceError(failure) }
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        let json = PluginDeviceKind.messageJSON(name: command.name, arguments: command.arguments)
        let frame = call("command", context, expectsReply: true) { call in
            withCString(json) { library.command(handle, call, $0, $1) }
        }
        if let failure = frame.failure { return .rejected(failure) }
        guard let reply = frame.reply else {
            return .rejected("plugin kind '\(library.descriptor.name)' did not answer the command")
        }
        do {
            return try library.commandResult(from: PluginJSONParser.parse(reply))
        } catch {
            library.logger.error(
                "plugin kind '\(library.descriptor.name)' device '\(id)' answered '\(command.name)' with malformed JSON (\(error.message)): \(reply.prefix(200))")
            return .rejected("the device answered with malformed JSON: \(error.message)")
        }
    }

    /// Runs one plugin callback with a call frame on the stack, and keeps the random stream's
    /// progress; returns the frame so the caller can read a reply or failure.
    private func call(
        _ callback: StaticString, _ context: DeviceContext, expectsReply: Bool = false, _ body: (OpaquePointer) -> Void
    ) -> PluginCallFrame {
        var frame = PluginCallFrame(
            library: library, deviceID: id, context: context, random: random, callback: callback,
            expectsReply: expectsReply)
        withUnsafeMutablePointer(to: &frame) { body(OpaquePointer($0)) }
        random = frame.random
        return frame
    }
}

/// Calls `body` with the UTF-8 bytes of `text` as a C pointer and a byte count.
private func withCString<Result>(_ text: String, _ body: (UnsafePointer<CChar>?, Int) -> Result) -> Result {
    var text = text
    return text.withUTF8 { buffer in
        body(UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self), buffer.count)
    }
}
