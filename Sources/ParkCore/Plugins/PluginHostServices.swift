import ParkPluginJSON
import CParkPlugin
import Logging

/// What the host knows during one plugin callback; the `pb_call *` a plugin sees points at it.
///
/// It lives on the host's stack for exactly one callback (see ``PluginBackedDevice``), which is
/// what the header promises: a `pb_call` is valid only until the callback returns. Keeping it on
/// the stack rather than in a heap box saves an allocation per timer.
struct PluginCallFrame {
    let library: PluginLibrary
    let deviceID: String
    /// Nil during `create`, when the device is not yet in a shard and can neither emit nor schedule.
    let context: DeviceContext?
    /// The device's random stream, copied in for the call and back out after it.
    var random: SeededRandom
    let expectsReply: Bool
    var reply: String?
    var failure: String?
    /// The name of the callback in progress, for log messages.
    let callback: StaticString

    init(library: PluginLibrary, deviceID: String, context: DeviceContext?, random: SeededRandom,
         callback: StaticString, expectsReply: Bool = false) {
        self.library = library
        self.deviceID = deviceID
        self.context = context
        self.random = random
        self.callback = callback
        self.expectsReply = expectsReply
    }
}

/// The `pb_host_v1` table handed to every plugin, and the C functions in it.
enum PluginHostServices {
    /// Allocated once and never freed or changed: the header lets plugins keep the pointer for
    /// as long as they are loaded, which is the life of the process. `nonisolated(unsafe)`
    /// because a raw pointer is not Sendable; the table is only ever read after initialization.
    nonisolated(unsafe) static let table: UnsafePointer<pb_host_v1> = {
        let table = UnsafeMutablePointer<pb_host_v1>.allocate(capacity: 1)
        table.initialize(to: pb_host_v1(
            abi_version: PB_PLUGIN_ABI_VERSION,
            struct_size: UInt32(MemoryLayout<pb_host_v1>.size),
            emit: { call, json, length in PluginHostServices.emit(call, json, length) },
            schedule: { call, delay, tag in PluginHostServices.schedule(call, delay, tag) },
            now_ns: { call in PluginHostServices.now(call) },
            random_u64: { call in PluginHostServices.random(call) },
            reply: { call, json, length in PluginHostServices.reply(call, json, length) },
            fail: { call, message, length in PluginHostServices.fail(call, message, length) },
            log: { call, level, message, length in PluginHostServices.log(call, level, message, length) }))
        return UnsafePointer(table)
    }()

    /// Logs for calls that arrive without a `pb_call` (e.g. from a plugin's entry point).
    static let logger = Logger(label: "parkbench.plugin")

    /// The library whose entry point is running on this thread, so that what it logs before
    /// it has any `pb_call` (typically why it refuses to load) still names the plugin.
    @TaskLocal static var loadingPath: String?

    /// Logs something a plugin did without a `pb_call`, naming the plugin when it is known.
    private static func logUnattributed(_ level: Logger.Level, _ message: String) {
        if let path = loadingPath {
            logger.log(level: level, "plugin '\(path)': \(message)", metadata: ["plugin": .string(path)])
        } else {
            logger.log(level: level, "\(message)")
        }
    }

    private static func frame(_ call: OpaquePointer?) -> UnsafeMutablePointer<PluginCallFrame>? {
        call.map { UnsafeMutablePointer<PluginCallFrame>($0) }
    }

    private static func text(_ bytes: UnsafePointer<CChar>?, _ length: Int) -> String {
        guard let bytes, length > 0 else { return "" }
        let raw = UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self)
        return String(decoding: UnsafeBufferPointer(start: raw, count: length), as: UTF8.self)
    }

    /// Logs a plugin's misuse of the ABI: the device keeps running, the user learns why
    /// something it did had no effect.
    private static func misuse(_ frame: UnsafeMutablePointer<PluginCallFrame>, _ message: String) {
        let library = frame.pointee.library
        library.logger.error(
            "plugin kind '\(library.descriptor.name)' device '\(frame.pointee.deviceID)' in \(frame.pointee.callback): \(message)")
    }

    static func emit(_ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int) {
        guard let frame = frame(call) else {
            logUnattributed(.error, "emit called without a pb_call; the emission is dropped")
            return
        }
        guard let context = frame.pointee.context else {
            misuse(frame, "emit is not available while a device is being created; the emission is dropped")
            return
        }
        do {
            let value = try PluginJSONParser.parse(json, length: length)
            context.emit(try frame.pointee.library.emission(from: value))
        } catch {
            let excerpt = String(text(json, length).prefix(200))
            misuse(frame, "malformed emission dropped (\(error.message)): \(excerpt)")
        }
    }

    static func schedule(_ call: OpaquePointer?, _ delay: UInt64, _ tag: UInt32) {
        guard let frame = frame(call) else {
            logUnattributed(.error, "schedule called without a pb_call; no timer is set")
            return
        }
        guard let context = frame.pointee.context else {
            misuse(frame, "schedule is not available while a device is being created; schedule timers in start")
            return
        }
        context.schedule(after: DeviceDuration(nanoseconds: delay), tag: tag)
    }

    static func now(_ call: OpaquePointer?) -> UInt64 {
        frame(call)?.pointee.context?.now.nanoseconds ?? 0
    }

    static func random(_ call: OpaquePointer?) -> UInt64 {
        guard let frame = frame(call) else {
            logUnattributed(.error, "random_u64 called without a pb_call; returning 0")
            return 0
        }
        return frame.pointee.random.next()
    }

    static func reply(_ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int) {
        guard let frame = frame(call) else {
            logUnattributed(.error, "reply called without a pb_call; ignored")
            return
        }
        guard frame.pointee.expectsReply else {
            misuse(frame, "reply is only valid inside the command callback; ignored")
            return
        }
        guard frame.pointee.reply == nil, frame.pointee.failure == nil else {
            misuse(frame, "the command was already answered; the first answer stands")
            return
        }
        frame.pointee.reply = text(json, length)
    }

    static func fail(_ call: OpaquePointer?, _ message: UnsafePointer<CChar>?, _ length: Int) {
        let message = text(message, length)
        guard let frame = frame(call) else {
            logUnattributed(.error, "fail called without a pb_call: \(message)")
            return
        }
        guard frame.pointee.failure == nil, frame.pointee.reply == nil else {
            misuse(frame, "the call was already answered; ignoring a later fail: \(message)")
            return
        }
        frame.pointee.failure = message.isEmpty ? "the plugin rejected the call without a message" : message
    }

    static func log(_ call: OpaquePointer?, _ level: Int32, _ message: UnsafePointer<CChar>?, _ length: Int) {
        let message = text(message, length)
        let swiftLevel: Logger.Level = switch level {
        case Int32(PB_LOG_DEBUG): .debug
        case Int32(PB_LOG_WARNING): .warning
        case Int32(PB_LOG_ERROR)...: .error
        default: .info
        }
        guard let frame = frame(call) else {
            logUnattributed(swiftLevel, message)
            return
        }
        frame.pointee.library.logger.log(
            level: swiftLevel, "\(message)", metadata: ["device": .string(frame.pointee.deviceID)])
    }
}
