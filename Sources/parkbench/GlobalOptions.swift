import ArgumentParser
import Foundation
import Logging

/// Options every command takes: where devices and plugins are, how to log, how to print.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("devices"), help: ArgumentHelp("Directory of device model profiles.", valueName: "dir"))
    var devicesDirectory: String = "devices"

    @Option(
        name: .customLong("plugin"),
        help: ArgumentHelp(
            "A device-kind plugin (shared library) to load; repeat for more.",
            discussion: "Plugins named libParkPlugin*.so are also found next to the parkbench binary and in the directories of PARKBENCH_PLUGIN_PATH.",
            valueName: "path"))
    var plugins: [String] = []

    @Option(help: "How much to log to standard error.")
    var logLevel: LogLevelArgument = .warning

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    /// Sets up swift-log once, writing to standard error so standard output stays clean for
    /// tables and JSON.
    func bootstrapLogging() {
        let level = logLevel.level
        LoggingBootstrap.once(level: level)
    }
}

/// A swift-log level as a command-line choice.
enum LogLevelArgument: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .warning }
}

/// Bootstraps swift-log exactly once per process.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
