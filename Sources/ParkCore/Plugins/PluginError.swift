/// Why a device-kind plugin could not be loaded; always names the library's path.
public struct PluginError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, for code that wants to react to a particular failure.
    public enum Problem: Hashable, Sendable {
        /// Nothing exists at the path.
        case fileMissing
        /// A search directory could not be listed.
        case unreadableDirectory(reason: String)
        /// `dlopen` refused the file (not a shared library, missing dependency, wrong
        /// architecture); carries `dlerror()`'s text.
        case notLoadable(dlerror: String)
        /// The library has no `parkbench_plugin_v1`; `otherVersions` lists the ABI versions of
        /// any other `parkbench_plugin_v<N>` entry points it does export.
        case noEntryPoint(otherVersions: [UInt32])
        /// `parkbench_plugin_v1` returned a non-zero status: the plugin refused to load.
        case entryRefused(status: Int32)
        /// The plugin filled in a different `abi_version` than this host speaks.
        case abiMismatch(pluginVersion: UInt32)
        /// The plugin's `pb_plugin_v1` is smaller than this host's: built against another header.
        case structTooSmall(size: UInt32, required: UInt32)
        /// Callbacks the plugin left NULL.
        case missingCallbacks([String])
        /// The kind descriptor JSON is missing, malformed, or describes an unusable kind.
        case invalidDescriptor(String)
    }

    /// The library (or search directory) the error is about.
    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let abi = PluginLoader.abiVersion
        switch problem {
        case .fileMissing:
            return "plugin '\(path)': no such file or directory"
        case .unreadableDirectory(let reason):
            return "plugin directory '\(path)' cannot be listed: \(reason)"
        case .notLoadable(let reason):
            return "plugin '\(path)' cannot be loaded: \(reason)"
        case .noEntryPoint(let versions) where versions.isEmpty:
            return "plugin '\(path)' is not a ParkBench device-kind plugin: it exports no '\(PluginLoader.entryPointName)' "
                + "function (declare one with @_cdecl(\"\(PluginLoader.entryPointName)\") that calls PluginExport.install)"
        case .noEntryPoint(let versions):
            let names = versions.map { "parkbench_plugin_v\($0)" }.joined(separator: ", ")
            let age = versions.allSatisfy { $0 > abi } ? "a newer" : "another"
            return "plugin '\(path)' was built for \(age) ParkBench plugin ABI (it exports \(names), not "
                + "\(PluginLoader.entryPointName)); this parkbench speaks plugin ABI \(abi). Rebuild the plugin "
                + "against this ParkBench's ParkPluginKit, or use a parkbench that speaks its ABI"
        case .entryRefused(let status):
            return "plugin '\(path)' refused to load: \(PluginLoader.entryPointName) returned \(status) "
                + "(its log messages, if any, say why)"
        case .abiMismatch(let version):
            return "plugin '\(path)' was built for plugin ABI \(version); this parkbench speaks \(abi)"
        case .structTooSmall(let size, let required):
            return "plugin '\(path)' filled a pb_plugin_v1 of \(size) bytes; this parkbench needs at least \(required) "
                + "(it was compiled against a different parkbench_plugin.h)"
        case .missingCallbacks(let names):
            return "plugin '\(path)' leaves these pb_plugin_v1 callbacks NULL: \(names.joined(separator: ", "))"
        case .invalidDescriptor(let detail):
            return "plugin '\(path)' has an unusable kind descriptor: \(detail)"
        }
    }
}
