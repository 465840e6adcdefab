import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real mosquitto broker on a free loopback port, private to one test or one demo run.
///
/// The configuration lives in its own temporary directory (with the log, password file,
/// persistence database and certificates a test puts there). `deinit` stops the broker and removes
/// the directory, so a failing `#require` cannot leak a broker process. It may be stopped and
/// started again from any thread (a failover check restarts it): its process sits behind a lock.
public final class MosquittoBroker: @unchecked Sendable {
    public static let executable = "/usr/sbin/mosquitto"

    public let directory: TemporaryDirectory
    public let port: Int
    public let configurationPath: String
    /// The settings this broker runs with that latency figures depend on (`set_tcp_nodelay true`
    /// unless the caller gave its own), for a report to say.
    public let tuning: [String]
    private var process: ChildProcess? {
        get { processLock.withLock { runningProcess } }
        set { processLock.withLock { runningProcess = newValue } }
    }
    private var runningProcess: ChildProcess?
    private let processLock = NSLock()

    /// What every broker started here sets unless told otherwise: without it a default mosquitto
    /// adds up to ~40 ms at p99 (Nagle's algorithm meeting the peer's delayed ACK).
    public static let latencyTuning = "set_tcp_nodelay true"

    /// The lines that make the broker keep its sessions, retained and queued messages in
    /// `directory` across a restart (written on a clean stop, read back on start).
    public static func persistence(in directory: TemporaryDirectory, maxQueuedMessages: Int = 100_000) -> [String] {
        ["persistence true", "persistence_location \(directory.path(""))/", "max_queued_messages \(maxQueuedMessages)"]
    }

    /// - Parameters:
    ///   - listenerOptions: lines placed right after `listener <port> 127.0.0.1` (TLS files, …).
    ///   - options: further global lines (`allow_anonymous`, `password_file`, `persistence`, …).
    ///     `allow_anonymous true` is added unless a line mentions `allow_anonymous`.
    public init(
        listenerOptions: [String] = [], options: [String] = [], directory: TemporaryDirectory? = nil,
        start: Bool = true
    ) throws {
        let givenTuning = options.filter { $0.hasPrefix("set_tcp_nodelay") }
        tuning = givenTuning.isEmpty ? [Self.latencyTuning] : givenTuning
        self.directory = try directory ?? TemporaryDirectory()
        port = try freeLoopbackPort()
        var lines = ["listener \(port) 127.0.0.1"] + listenerOptions
        if !options.contains(where: { $0.hasPrefix("allow_anonymous") }) { lines.append("allow_anonymous true") }
        // Without it mosquitto's small writes wait on Nagle's algorithm and the peer's delayed ACK
        // (~40 ms on Linux) whenever a second message follows the first: latency measurements
        // would time the TCP stack, not the platform.
        if !options.contains(where: { $0.hasPrefix("set_tcp_nodelay") }) { lines.append(Self.latencyTuning) }
        lines += options
        // Not `log_type all`: debug logs a line per packet, which would slow the broker under load.
        lines += ["log_dest file \(self.directory.path("mosquitto.log"))"]
        lines += ["error", "warning", "notice", "information"].map { "log_type \($0)" }
        // Run as root (CI), mosquitto would drop to the `mosquitto` user and then fail to read our
        // root-owned files or write its persistence database; keep it as it is.
        if geteuid() == 0 { lines.append("user root") }
        configurationPath = self.directory.path("mosquitto.conf")
        try lines.joined(separator: "\n").appending("\n").write(toFile: configurationPath, atomically: true, encoding: .utf8)
        if start { try self.start() }
    }

    public var address: String { "127.0.0.1" }

    /// Starts mosquitto and waits (polling, 10 s deadline) until the port accepts connections.
    public func start() throws {
        precondition(process == nil, "broker already running")
        let process = try ChildProcess(
            Self.executable, ["-c", configurationPath], output: directory.path("mosquitto.out"))
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while !loopbackPortAccepts(port) {
            guard process.isRunning else {
                self.process = nil
                throw BrokerError("mosquitto exited (wait status \(process.status ?? -1)); log:\n\(log)")
            }
            guard ContinuousClock.now < deadline else {
                stop()
                throw BrokerError("mosquitto did not accept connections on port \(port) within 10 s; log:\n\(log)")
            }
            usleep(5_000)
        }
    }

    /// SIGTERM (mosquitto saves its persistence database on the way out), SIGKILL after 5 s.
    public func stop() {
        process?.stop()
        process = nil
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// The broker's process id while it runs (benchmarks read its CPU time from /proc).
    public var pid: pid_t? { process?.pid }

    public var log: String { (try? String(contentsOfFile: directory.path("mosquitto.log"), encoding: .utf8)) ?? "" }

    deinit { stop() }
}

/// A test fixture (broker, child process, temporary directory) could not be set up.
public struct BrokerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A directory under the system temp directory, removed (with its contents) at deinit.
public final class TemporaryDirectory {
    public let url: URL

    public init() throws {
        var template = Array((NSTemporaryDirectory() + "parkbench-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw BrokerError("mkdtemp failed: errno \(errno)") }
        url = URL(fileURLWithPath: String(cString: created), isDirectory: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Asks the kernel for a free port by binding port 0 on 127.0.0.1, then releases it for the broker.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BrokerError("socket failed: errno \(errno)") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BrokerError("bind failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw BrokerError("getsockname failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// True when something accepts a TCP connection on 127.0.0.1:`port`.
public func loopbackPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopbackAddress(port: port)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}

/// 127.0.0.1:`port` as a socket address.
public func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
