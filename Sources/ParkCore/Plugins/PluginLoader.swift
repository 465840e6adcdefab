import ParkPluginJSON
import CParkPlugin
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads device kinds from plugin libraries at run time, through the C ABI in
/// `parkbench_plugin.h`.
///
/// A plugin is a shared library exporting one function, `parkbench_plugin_v1`. Only C data
/// crosses between host and plugin (pointers, integers, JSON text), never Swift types: SwiftPM
/// links Swift modules statically into both sides, so each has its own type metadata and a
/// Swift type passed across would not be the same type on the other side.
///
/// Libraries are opened `RTLD_NOW | RTLD_LOCAL` (every symbol resolved up front, and two
/// plugins' private copies of ParkPluginKit kept apart) and never closed: devices hold
/// pointers into them, and unloading Swift code is not supported by the runtime.
public enum PluginLoader {
    /// The plugin ABI version this host speaks (`PB_PLUGIN_ABI_VERSION`).
    public static let abiVersion: UInt32 = PB_PLUGIN_ABI_VERSION
    /// The symbol a plugin of this ABI exports (`PB_PLUGIN_ENTRY_V1`).
    public static let entryPointName: String = PB_PLUGIN_ENTRY_V1
    /// The environment variable listing plugin directories (or files), colon-separated.
    public static let searchPathVariable = "PARKBENCH_PLUGIN_PATH"
    /// Plugin files in a search directory are named `<prefix>*<suffix>`.
    public static let fileNamePrefix = "libParkPlugin"
    #if canImport(Darwin)
    public static let fileNameSuffix = ".dylib"
    #else
    public static let fileNameSuffix = ".so"
    #endif

    /// Libraries loaded so far, by canonical path: a library's entry point runs once, and
    /// loading the same file again returns the same kind.
    private static let loaded = Mutex<[String: PluginDeviceKind]>([:])

    /// Loads the plugin at `path` and returns its kind.
    /// - Throws: ``PluginError`` naming `path` and saying what is wrong.
    public static func load(path: String) throws(PluginError) -> PluginDeviceKind {
        guard FileManager.default.fileExists(atPath: path) else { throw PluginError(path: path, problem: .fileMissing) }
        // An absolute path also stops dlopen from searching LD_LIBRARY_PATH for a bare name.
        let canonical = canonicalPath(path)
        return try loaded.withLock { (cache) throws(PluginError) -> PluginDeviceKind in
            if let kind = cache[canonical] { return kind }
            let kind = PluginDeviceKind(library: try openLibrary(canonical))
            cache[canonical] = kind
            return kind
        }
    }

    /// Where ``discover(searchPaths:)`` looks by default: every entry of `PARKBENCH_PLUGIN_PATH`,
    /// then the directory of the running executable (SwiftPM builds plugin products next to
    /// `parkbench`, and an install copies them alongside).
    public static func defaultSearchPaths(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        var paths = (environment[searchPathVariable] ?? "").split(separator: ":").map(String.init)
        if let directory = executableDirectory() { paths.append(directory) }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// Loads every plugin found in `searchPaths`.
    ///
    /// A directory contributes its files named `libParkPlugin*.so` (in name order); any other
    /// entry is taken as a plugin file itself. One bad library does not stop the others: each
    /// failure is returned beside the kinds that loaded. A library reached twice is loaded once.
    public static func discover(searchPaths: [String] = defaultSearchPaths()) -> PluginDiscovery {
        var discovery = PluginDiscovery()
        var seen = Set<String>()
        for entry in searchPaths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: entry, isDirectory: &isDirectory) else {
                discovery.failures.append(PluginError(path: entry, problem: .fileMissing))
                continue
            }
            var candidates = [entry]
            if isDirectory.boolValue {
                do {
                    candidates = try FileManager.default.contentsOfDirectory(atPath: entry)
                        .filter { $0.hasPrefix(fileNamePrefix) && $0.hasSuffix(fileNameSuffix) }
                        .sorted()
                        .map { (entry as NSString).appendingPathComponent($0) }
                } catch {
                    discovery.failures.append(
                        PluginError(path: entry, problem: .unreadableDirectory(reason: error.localizedDescription)))
                    continue
                }
            }
            for candidate in candidates where seen.insert(canonicalPath(candidate)).inserted {
                do { discovery.kinds.append(try load(path: candidate)) } catch { discovery.failures.append(error) }
            }
        }
        return discovery
    }

    // MARK: Loading one library

    private static func openLibrary(_ path: String) throws(PluginError) -> PluginLibrary {
        func failure(_ problem: PluginError.Problem) -> PluginError { PluginError(path: path, problem: problem) }

        _ = dlerror()
        // A library that fails a later check is not closed either: its initializers (and, for
        // a Swift plugin, its entry point) may already have registered things with the runtime.
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw failure(.notLoadable(dlerror: dlerror().map { String(cString: $0) } ?? "unknown dlopen error"))
        }
        guard let symbol = dlsym(handle, entryPointName) else {
            // Say which ABI the library was built for, if it exports another version's entry.
            let others = ([0] + Array(2 ... 16)).filter { dlsym(handle, "parkbench_plugin_v\($0)") != nil }.map(UInt32.init)
            throw failure(.noEntryPoint(otherVersions: others))
        }
        let entry = unsafeBitCast(symbol, to: pb_plugin_entry_v1.self)

        // Room for a larger struct than ours: a plugin compiled against another header version
        // may write past sizeof(pb_plugin_v1) before we get to check its abi_version.
        let room = max(4096, MemoryLayout<pb_plugin_v1>.size)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: room, alignment: MemoryLayout<pb_plugin_v1>.alignment)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: room)
        let slot = raw.bindMemory(to: pb_plugin_v1.self, capacity: 1)

        let status = PluginHostServices.$loadingPath.withValue(path) { entry(PluginHostServices.table, slot) }
        guard status == 0 else { throw failure(.entryRefused(status: status)) }
        let table = slot.pointee
        guard table.abi_version == abiVersion else { throw failure(.abiMismatch(pluginVersion: table.abi_version)) }
        let required = UInt32(MemoryLayout<pb_plugin_v1>.size)
        guard table.struct_size >= required else {
            throw failure(.structTooSmall(size: table.struct_size, required: required))
        }
        guard let create = table.create, let destroy = table.destroy, let start = table.start,
            let timer = table.timer, let stimulus = table.stimulus, let command = table.command
        else {
            let missing = [
                ("create", table.create == nil), ("destroy", table.destroy == nil), ("start", table.start == nil),
                ("timer", table.timer == nil), ("stimulus", table.stimulus == nil), ("command", table.command == nil),
            ].filter(\.1).map(\.0)
            throw failure(.missingCallbacks(missing))
        }
        let descriptor: KindDescriptor
        do { descriptor = try decodeDescriptor(table.kind_json, length: table.kind_json_length) } catch {
            throw failure(.invalidDescriptor(error.message))
        }
        return PluginLibrary(
            path: path, handle: handle, descriptor: descriptor, create: create, destroy: destroy, start: start,
            timer: timer, stimulus: stimulus, command: command)
    }

    /// Decodes and sanity-checks the kind JSON, so a broken plugin fails at load time with a
    /// precise message rather than later in a profile or a run.
    static func decodeDescriptor(_ json: UnsafePointer<CChar>?, length: Int) throws(PluginJSONError) -> KindDescriptor {
        guard let json, length > 0 else { throw PluginJSONError("kind_json is empty") }
        let data = Data(bytes: json, count: length)
        let descriptor: KindDescriptor
        do { descriptor = try JSONDecoder().decode(KindDescriptor.self, from: data) } catch {
            throw PluginJSONError(describe(error))
        }
        guard !descriptor.name.isEmpty, !descriptor.name.contains(where: \.isWhitespace) else {
            throw PluginJSONError("kind name '\(descriptor.name)' must be non-empty and without spaces")
        }
        for (what, names) in [
            ("point", descriptor.points.map(\.name)), ("event", descriptor.events.map(\.name)),
            ("command", descriptor.commands.map(\.name)), ("stimulus", descriptor.stimuli.map(\.name)),
            ("parameter", descriptor.parameters.map(\.name)),
        ] {
            var seen = Set<String>()
            if let duplicate = names.first(where: { !seen.insert($0).inserted }) {
                throw PluginJSONError("\(what) '\(duplicate)' is declared twice")
            }
        }
        for parameter in descriptor.parameters {
            if case .failure(let error) = parameter.parse(parameter.defaultValue) {
                throw PluginJSONError("the default of parameter '\(parameter.name)' is invalid: \(error.message)")
            }
        }
        return descriptor
    }

    /// A decoding error as a path and a reason, e.g. `points[1].type: ...`.
    private static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce(into: "") { text, key in
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let location = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing key '\(key.stringValue)'\(location)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
            return context.codingPath.isEmpty ? "not valid JSON (\(detail))" : "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func executableDirectory() -> String? {
        #if os(Linux)
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return (executable as NSString).deletingLastPathComponent
        }
        #endif
        return Bundle.main.executableURL.map { $0.resolvingSymlinksInPath().deletingLastPathComponent().path }
    }
}

/// What ``PluginLoader/discover(searchPaths:)`` found: the kinds that loaded, and why the
/// others did not.
public struct PluginDiscovery: Sendable {
    /// Loaded kinds, in search order.
    public var kinds: [PluginDeviceKind] = []
    /// One error per library (or search entry) that could not be used.
    public var failures: [PluginError] = []

    public init(kinds: [PluginDeviceKind] = [], failures: [PluginError] = []) {
        self.kinds = kinds
        self.failures = failures
    }
}
