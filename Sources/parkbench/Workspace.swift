import Foundation
import Logging
import ParkCore
import ParkDevices

/// What a command works with: the device kinds (built-in and plugins) and the model catalog.
///
/// Loading problems are collected, not thrown one at a time, so a command can print them all
/// with their file:line:column and exit 2.
struct Workspace {
    var kinds: DeviceKindRegistry
    /// Where each kind came from: `built-in` or the plugin's path.
    var origins: [String: String]
    var catalog: ModelCatalog
    var problems: [String]
    /// Where plugins were looked for, for the hint when none was found.
    var pluginSearchPaths: [String]

    static func load(_ options: GlobalOptions, requireCatalog: Bool = true) -> Workspace {
        options.bootstrapLogging()
        let logger = Logger(label: "parkbench")
        var problems: [String] = []
        var registry = DeviceKindRegistry()
        var origins: [String: String] = [:]
        for kind in BuiltInKinds.all {
            do { try registry.register(kind) } catch { problems.append(error.message) }
            origins[kind.descriptor.name] = "built-in"
        }

        let searchPaths = PluginLoader.defaultSearchPaths() + options.plugins
        let discovery = PluginLoader.discover(searchPaths: searchPaths)
        for failure in discovery.failures {
            problems.append(failure.description)
        }
        for plugin in discovery.kinds {
            do {
                try registry.register(plugin)
                origins[plugin.descriptor.name] = plugin.path
                logger.debug("loaded plugin kind \(plugin.descriptor.name) from \(plugin.path)")
            } catch {
                problems.append("\(plugin.path): \(error.message)")
            }
        }

        var catalog = ModelCatalog()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: options.devicesDirectory, isDirectory: &isDirectory), isDirectory.boolValue {
            do { catalog = try ModelCatalog.load(directory: options.devicesDirectory, kinds: registry) } catch {
                problems += error.issues.map(\.description)
            }
        } else if requireCatalog {
            problems.append(
                "no device profile directory '\(options.devicesDirectory)'; run from the ParkBench checkout or pass --devices <dir>")
        }
        return Workspace(
            kinds: registry, origins: origins, catalog: catalog, problems: problems, pluginSearchPaths: searchPaths)
    }
}
