import Foundation

/// How the harness breaks the platform itself rather than its network: kill its active node (as
/// `kill -9` would) and, after the check, bring it back. A demo does it to its in-process
/// reference platform; against any other platform, the profile's `failover:` commands do.
public struct PlatformProcessFaults: Sendable {
    /// Kills the active node; what was done, for the check's findings.
    public var kill: @Sendable () async throws -> String
    /// Brings the killed node back after the check (nil: it stays down).
    public var restore: (@Sendable () async throws -> String)?
    /// Pauses the active node (SIGSTOP, `docker pause`) and resumes it; nil: the run cannot.
    public var freeze: (@Sendable () async throws -> String)?
    public var thaw: (@Sendable () async throws -> String)?

    /// A run that can kill the active node, and perhaps restore, freeze and thaw it.
    public init(
        kill: (@Sendable () async throws -> String)?, restore: (@Sendable () async throws -> String)? = nil,
        freeze: (@Sendable () async throws -> String)? = nil, thaw: (@Sendable () async throws -> String)? = nil
    ) {
        self.kill = kill ?? { throw ShellCommand.Failure(description: "the run does not know how to kill the platform: give its profile failover.kill_command") }
        self.restore = restore
        self.freeze = freeze
        self.thaw = thaw
    }

    /// The profile's `kill_command`, `restart_command`, `freeze_command` and `thaw_command`, run
    /// with `/bin/sh -c`; nil without a kill or a freeze command.
    public static func commands(_ hooks: PlatformProfile.FailoverHooks?) -> PlatformProcessFaults? {
        guard let hooks, hooks.killCommand != nil || hooks.freezeCommand != nil else { return nil }
        func run(_ command: String?) -> (@Sendable () async throws -> String)? {
            guard let command else { return nil }
            return { try await ShellCommand.run(command) }
        }
        return PlatformProcessFaults(
            kill: run(hooks.killCommand), restore: run(hooks.restartCommand), freeze: run(hooks.freezeCommand), thaw: run(hooks.thawCommand))
    }
}

/// How the harness stops the broker the park and the platform meet on, and starts it again: a
/// broker restart, as an upgrade or a crash-and-respawn makes one. A demo does it to the
/// mosquitto it started (its persistence on); against any other system, the profile's
/// `failover:` commands do.
public struct BrokerProcessFaults: Sendable {
    /// Stops the broker; what was done, for the check's findings.
    public var stop: @Sendable () async throws -> String
    /// Starts it again, returning once it takes connections; what was done.
    public var start: @Sendable () async throws -> String

    public init(stop: @escaping @Sendable () async throws -> String, start: @escaping @Sendable () async throws -> String) {
        self.stop = stop
        self.start = start
    }

    /// The profile's `broker_stop_command` and `broker_start_command`, run with `/bin/sh -c`; nil
    /// unless it has both.
    public static func commands(_ hooks: PlatformProfile.FailoverHooks?) -> BrokerProcessFaults? {
        guard let stop = hooks?.brokerStopCommand, let start = hooks?.brokerStartCommand else { return nil }
        return BrokerProcessFaults(stop: { try await ShellCommand.run(stop) }, start: { try await ShellCommand.run(start) })
    }
}

/// One shell command of a platform profile, with a time limit; its output is kept short.
enum ShellCommand {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let timeout: TimeInterval = 30

    static func run(_ command: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            guard Date() < deadline else {
                process.terminate()
                throw Failure(description: "`\(command)` did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile().prefix(2_000), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "`\(command)` exited \(process.terminationStatus)\(text.isEmpty ? "" : ": \(text)")")
        }
        return "ran `\(command)`"
    }
}
