import CLinuxEvents
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process (mosquitto, python3, openssl) started with a clean signal state.
///
/// Foundation's `Process` spawns from whichever thread calls it and keeps that thread's signal
/// mask, and Swift's concurrency worker threads block SIGTERM, SIGINT and others. mosquitto then
/// never sees the SIGTERM that should make it save its persistence database and exit. Here
/// `posix_spawn` gets an empty mask and default dispositions explicitly. `deinit` kills and reaps.
public final class ChildProcess {
    public let pid: pid_t
    public let command: String
    /// Our read ends of the child's stdout and stderr when started with `pipingOutput`; the caller
    /// reads and closes them.
    public let standardOutput: Int32?
    public let standardError: Int32?
    private var exitStatus: Int32?

    /// - Parameters:
    ///   - output: file that receives stdout and stderr (created or truncated); nil for /dev/null.
    public convenience init(_ executable: String, _ arguments: [String], output: String? = nil) throws {
        try self.init(executable, arguments, output: output, pipingOutput: false)
    }

    /// - Parameters:
    ///   - output: file that receives stdout and stderr (created or truncated); nil for /dev/null.
    ///   - environment: variables set for the child on top of ours.
    public convenience init(_ executable: String, _ arguments: [String], output: String?, environment: [String: String]) throws {
        try self.init(executable, arguments, output: output, pipingOutput: false, environment: environment)
    }

    /// Starts a child whose stdout and stderr come back to us through two pipes
    /// (`standardOutput`, `standardError`), for children that report as they run.
    public convenience init(_ executable: String, _ arguments: [String], pipingOutput: Bool) throws {
        try self.init(executable, arguments, output: nil, pipingOutput: pipingOutput)
    }

    private init(
        _ executable: String, _ arguments: [String], output: String?, pipingOutput: Bool, environment: [String: String] = [:]
    ) throws {
        command = ([executable] + arguments).joined(separator: " ")
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        if pipingOutput {
            // Close-on-exec on every end: the child gets its copies through dup2 only, so other
            // children spawned later never inherit a write end and every pipe sees EOF on exit.
            // (pipe2 is not exported to Swift; a spawn racing between pipe and fcntl is harmless
            // here: it would only delay our EOF until that other child exits.)
            guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
                throw BrokerError("pipe: \(String(cString: strerror(errno)))")
            }
            for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else of ours goes to the child: a socket it inherited would outlive our close of
        // it, so its peer would never see the connection end, and an epoll registration tied to it
        // would go on reporting events under a number that by now means another socket.
        _ = parkbench_spawn_close_from(&actions, 3)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, given in given }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid = pid_t()
        let rc = environment.isEmpty
            ? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
            : posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if pipingOutput {
            close(outPipe[1])
            close(errPipe[1])
        }
        guard rc == 0 else {
            if pipingOutput {
                close(outPipe[0])
                close(errPipe[0])
            }
            throw BrokerError("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        standardOutput = pipingOutput ? outPipe[0] : nil
        standardError = pipingOutput ? errPipe[0] : nil
    }

    /// Reaps the child if it has exited; true while it runs.
    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = status
            return false
        }
        return true
    }

    /// The raw wait status once the child has exited.
    public var status: Int32? {
        _ = isRunning
        return exitStatus
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Polls until the child exits; false if it is still running after `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { return false }
            usleep(2_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`.
    public func stop(grace: Duration = .seconds(5)) {
        guard isRunning else { return }
        signal(SIGTERM)
        if !waitForExit(timeout: grace) {
            kill(pid, SIGKILL)
            waitForExit(timeout: .seconds(5))
        }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            waitForExit(timeout: .seconds(5))
        }
    }
}

/// Finds an executable on PATH, as a shell would (posix_spawn wants a path).
public func executablePath(_ name: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw BrokerError("\(name) not found on PATH")
}
