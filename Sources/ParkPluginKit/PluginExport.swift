// ParkPluginKit: write a ParkBench device-kind plugin in ordinary Swift.
//
// A plugin describes its kind (PluginKindDescription), implements one class per device
// (PluginDevice), and exports `parkbench_plugin_v1`, which calls PluginExport.install. The kit
// turns the C ABI of parkbench_plugin.h into those Swift calls: it decodes the JSON the host
// sends (device config, stimuli, commands) and encodes what the device says (emissions,
// command results). It depends on nothing from ParkBench but the C header, because Swift
// types cannot cross between host and plugin (each links its own copy of them).
//
// Device parameters arrive as text, already validated and with defaults filled in; durations
// as whole nanoseconds with an `ns` suffix (see PluginDeviceConfig for every type).

// Plugin authors write the @_cdecl entry point, whose signature names pb_host_v1 and
// pb_plugin_v1; re-exporting the C module spares them a second import.
@_exported import CParkPlugin
import Foundation

/// Turns a ``PluginDevice`` type into a ParkBench plugin: fills the C `pb_plugin_v1` table
/// with trampolines that decode JSON, call your Swift device and encode its answers.
///
/// Call it from the one entry point a plugin exports:
///
/// ```swift
/// @_cdecl("parkbench_plugin_v1")
/// public func parkbenchPluginV1(
///     _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
/// ) -> Int32 {
///     PluginExport.install(kind: MyKind.description, device: MyDevice.self, host: host, into: plugin)
/// }
/// ```
///
/// The trampolines are C function pointers, which cannot capture anything, so the kind and
/// device type are kept in storage private to this copy of the kit (each plugin library links
/// its own copy). One library therefore exports one kind.
public enum PluginExport {
    /// Why ``install(kind:device:host:into:)`` refused; the host reports the number.
    public enum Refusal: Int32, Sendable, CaseIterable {
        /// The host passed a null pointer.
        case missingPointers = 1
        /// The host speaks another plugin ABI version (its struct layout cannot be trusted).
        case hostABIMismatch = 2
        /// The host's service table is smaller than this kit expects, or lacks a function.
        case incompleteHost = 3
        /// The kind description could not be encoded as JSON.
        case unencodableKind = 4
    }

    /// Registers `kind`, implemented by `device`, with the host and fills `plugin`.
    /// - Returns: 0 on success, else a ``Refusal`` raw value (after logging why, when the
    ///   host's log can be trusted).
    public static func install<Device: PluginDevice>(
        kind: PluginKindDescription, device: Device.Type,
        host: UnsafePointer<pb_host_v1>?, into plugin: UnsafeMutablePointer<pb_plugin_v1>?
    ) -> Int32 {
        guard let host, let plugin else { return Refusal.missingPointers.rawValue }
        // Only the first two fields are common to every ABI version; nothing else in the
        // host's table may be touched (not even log) until the version matches.
        guard host.pointee.abi_version == PB_PLUGIN_ABI_VERSION else { return Refusal.hostABIMismatch.rawValue }
        let hostContext = PluginContext(host: host, call: nil)
        let services = host.pointee
        let missing = [
            ("emit", services.emit == nil), ("schedule", services.schedule == nil), ("now_ns", services.now_ns == nil),
            ("random_u64", services.random_u64 == nil), ("reply", services.reply == nil),
            ("fail", services.fail == nil), ("log", services.log == nil),
        ].filter(\.1).map(\.0)
        guard Int(services.struct_size) >= MemoryLayout<pb_host_v1>.size, missing.isEmpty else {
            if services.log != nil {
                hostContext.log(
                    "plugin '\(kind.name)' needs a complete pb_host_v1 (\(MemoryLayout<pb_host_v1>.size) bytes); "
                        + "the host gave \(services.struct_size) bytes, missing: \(missing.joined(separator: ", "))",
                    level: .error)
            }
            return Refusal.incompleteHost.rawValue
        }

        let kindJSON: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            kindJSON = try encoder.encode(kind)
        } catch {
            hostContext.log("plugin '\(kind.name)' cannot encode its kind description: \(error)", level: .error)
            return Refusal.unencodableKind.rawValue
        }
        // The header requires kind_json to stay valid while the library is loaded, and a
        // library is never unloaded, so this buffer is deliberately never freed.
        // NUL-terminated as well, so a C debugger can print it.
        let kindBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: kindJSON.count + 1, alignment: 1)
        kindJSON.copyBytes(to: kindBuffer)
        kindBuffer[kindJSON.count] = 0

        PluginRegistration.current = PluginRegistration(host: host, kind: kind, deviceType: device)

        plugin.pointee = pb_plugin_v1()
        plugin.pointee.abi_version = PB_PLUGIN_ABI_VERSION
        plugin.pointee.struct_size = UInt32(MemoryLayout<pb_plugin_v1>.size)
        plugin.pointee.kind_json = UnsafePointer(kindBuffer.baseAddress?.assumingMemoryBound(to: CChar.self))
        plugin.pointee.kind_json_length = kindJSON.count
        plugin.pointee.create = { call, json, length in PluginTrampolines.create(call, json, length) }
        plugin.pointee.destroy = { device in PluginTrampolines.destroy(device) }
        plugin.pointee.start = { device, call in PluginTrampolines.start(device, call) }
        plugin.pointee.timer = { device, call, tag in PluginTrampolines.timer(device, call, tag) }
        plugin.pointee.stimulus = { device, call, json, length in PluginTrampolines.stimulus(device, call, json, length) }
        plugin.pointee.command = { device, call, json, length in PluginTrampolines.command(device, call, json, length) }
        return 0
    }
}

/// The kind this plugin library registered, read by every `create`.
///
/// Immutable once made; `@unchecked Sendable` because it holds the host's C table pointer,
/// which the host keeps valid and unchanged for as long as the library is loaded.
final class PluginRegistration: @unchecked Sendable {
    let host: UnsafePointer<pb_host_v1>
    let kind: PluginKindDescription
    let deviceType: any PluginDevice.Type
    let stimulusNames: Set<String>
    let commandNames: Set<String>

    init(host: UnsafePointer<pb_host_v1>, kind: PluginKindDescription, deviceType: any PluginDevice.Type) {
        self.host = host
        self.kind = kind
        self.deviceType = deviceType
        self.stimulusNames = Set(kind.stimuli.map(\.name))
        self.commandNames = Set(kind.commands.map(\.name))
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: PluginRegistration?

    /// Set by the entry point, read by `create` on whichever thread creates devices.
    static var current: PluginRegistration? {
        get { lock.withLock { registered } }
        set { lock.withLock { registered = newValue } }
    }
}

/// A live device as the host holds it: an opaque, retained pointer to this box.
///
/// The box carries the host pointer so the per-call trampolines need no global lookups.
final class PluginDeviceBox {
    let device: any PluginDevice
    let registration: PluginRegistration

    init(device: any PluginDevice, registration: PluginRegistration) {
        self.device = device
        self.registration = registration
    }

    func context(_ call: OpaquePointer?) -> PluginContext { PluginContext(host: registration.host, call: call) }
}

/// The Swift bodies behind the C function pointers in `pb_plugin_v1`.
///
/// No Swift error may unwind through a C frame, so every failure ends here as `host.fail`.
enum PluginTrampolines {
    static func create(_ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int) -> UnsafeMutableRawPointer? {
        guard let registration = PluginRegistration.current else { return nil }
        let context = PluginContext(host: registration.host, call: call)
        let config: PluginDeviceConfig
        do {
            config = try JSONDecoder().decode(PluginDeviceConfig.self, from: data(json, length))
        } catch {
            context.fail("plugin '\(registration.kind.name)' cannot read its device config: \(describe(error))")
            return nil
        }
        do {
            let device = try registration.deviceType.init(config: config)
            let box = PluginDeviceBox(device: device, registration: registration)
            return Unmanaged.passRetained(box).toOpaque()
        } catch {
            context.fail(describe(error))
            return nil
        }
    }

    static func destroy(_ device: UnsafeMutableRawPointer?) {
        guard let device else { return }
        Unmanaged<PluginDeviceBox>.fromOpaque(device).release()
    }

    static func start(_ device: UnsafeMutableRawPointer?, _ call: OpaquePointer?) {
        guard let box = box(device) else { return }
        box.device.start(box.context(call))
    }

    static func timer(_ device: UnsafeMutableRawPointer?, _ call: OpaquePointer?, _ tag: UInt32) {
        guard let box = box(device) else { return }
        box.device.timerFired(tag: tag, box.context(call))
    }

    static func stimulus(
        _ device: UnsafeMutableRawPointer?, _ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int
    ) {
        guard let box = box(device) else { return }
        let context = box.context(call)
        let registration = box.registration
        do {
            let stimulus = try PluginMessage(json: json, length: length)
            guard registration.stimulusNames.contains(stimulus.name) else {
                context.fail(unknown("stimulus", stimulus.name, registration.kind.stimuli.map(\.name), registration))
                return
            }
            try box.device.apply(stimulus: stimulus, context)
        } catch {
            context.fail(describe(error))
        }
    }

    static func command(
        _ device: UnsafeMutableRawPointer?, _ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int
    ) {
        guard let box = box(device) else { return }
        let context = box.context(call)
        let registration = box.registration
        let command: PluginMessage
        do {
            command = try PluginMessage(json: json, length: length)
        } catch {
            context.fail("plugin '\(registration.kind.name)' cannot read the command: \(describe(error))")
            return
        }
        let result = registration.commandNames.contains(command.name)
            ? box.device.handle(command: command, context)
            : .rejected(unknown("command", command.name, registration.kind.commands.map(\.name), registration))
        context.reply(PluginJSONWriter.commandResult(result))
    }

    private static func box(_ device: UnsafeMutableRawPointer?) -> PluginDeviceBox? {
        guard let device else { return nil }
        return Unmanaged<PluginDeviceBox>.fromOpaque(device).takeUnretainedValue()
    }

    private static func data(_ bytes: UnsafePointer<CChar>?, _ length: Int) -> Data {
        guard let bytes, length > 0 else { return Data() }
        return Data(bytes: bytes, count: length)
    }

    private static func unknown(_ what: String, _ name: String, _ known: [String], _ registration: PluginRegistration) -> String {
        let list = known.isEmpty ? "it has none" : "known: " + known.joined(separator: ", ")
        return "kind '\(registration.kind.name)' has no \(what) '\(name)'; \(list)"
    }

    /// A message for the ParkBench user: the device's own words if it threw a
    /// ``PluginDeviceError``, a readable path for a JSON problem, else the error's description.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PluginDeviceError:
            return error.message
        case let DecodingError.keyNotFound(key, context):
            return "missing '\(path(context.codingPath + [key]))'"
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context):
            let location = context.codingPath.isEmpty ? "" : "'\(path(context.codingPath))': "
            return location + context.debugDescription
        default:
            return String(describing: error)
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce(into: "") { text, key in
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
    }
}
