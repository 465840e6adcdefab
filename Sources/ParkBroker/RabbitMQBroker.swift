import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private RabbitMQ node with its MQTT plugin on free loopback ports: the second broker the
/// harness is proven through (Debian's `rabbitmq-server`, MQTT 3.1.1 only).
///
/// Everything the node writes lives in its own ``TemporaryDirectory``: `rabbitmq.conf`, the
/// offline `enabled_plugins` file (`[rabbitmq_mqtt].`), the Mnesia database, logs and the Erlang
/// cookie (`HOME`). The node has a unique name (`parkbench-<pid>-<n>@localhost`) and its own
/// `epmd` on a free port (`ERL_EPMD_PORT`; the node is told `-start_epmd false`), so nothing
/// listens on 4369 and several runs never meet. Ports: AMQP, MQTT, Erlang distribution and epmd,
/// all on 127.0.0.1. MQTT clients log in anonymously as `guest` (`mqtt.allow_anonymous`,
/// `loopback_users.guest = false`).
///
/// A node takes several seconds to boot (≈10 s on an idle two-core machine); ``startupTime``
/// says how long this one took. `stop()` (and `deinit`) end the node with SIGTERM to its start
/// script (which stops the Erlang VM), SIGKILL to the VM (its pid file) if it outlives that, and
/// then its epmd. Node and epmd stay in our process group, so a Ctrl-C reaches them too.
public final class RabbitMQBroker {
    /// The node's start script (Debian's; `/usr/sbin/rabbitmq-server` would `su` to `rabbitmq`).
    public static let executable = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    public static let epmdExecutable = "/usr/bin/epmd"

    public let directory: TemporaryDirectory
    /// The MQTT listener's port.
    public let port: Int
    public let amqpPort: Int
    public let distributionPort: Int
    public let epmdPort: Int
    public let nodeName: String
    /// How long the last `start()` took until the MQTT port accepted connections.
    public private(set) var startupTime: Duration?
    private var node: ChildProcess?
    private var epmd: ChildProcess?
    /// The Erlang VM's own pid (the start script's child), from the node's pid file.
    public private(set) var vmPID: pid_t?

    private static let started = Atomic<Int>(0)

    /// True when Debian's `rabbitmq-server` is installed (`scripts/deps.sh test` installs it).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: executable) && FileManager.default.isExecutableFile(atPath: epmdExecutable)
    }

    /// - Parameter options: further `rabbitmq.conf` lines (`mqtt.retained_message_store = …`, …).
    public init(options: [String] = [], start: Bool = true) throws {
        directory = try TemporaryDirectory()
        port = try freeLoopbackPort()
        amqpPort = try freeLoopbackPort()
        distributionPort = try freeLoopbackPort()
        epmdPort = try freeLoopbackPort()
        let n = Self.started.add(1, ordering: .relaxed).newValue
        nodeName = "parkbench-\(getpid())-\(n)@localhost"
        let configuration = [
            "listeners.tcp.1 = 127.0.0.1:\(amqpPort)",
            "mqtt.listeners.tcp.1 = 127.0.0.1:\(port)",
            "mqtt.allow_anonymous = true",
            "mqtt.default_user = guest",
            "mqtt.default_pass = guest",
            "loopback_users.guest = false",
            // As mosquitto's `set_tcp_nodelay true` (MosquittoBroker.latencyTuning); RabbitMQ's
            // default already, said here so it stays so.
            "mqtt.tcp_listen_options.nodelay = true",
        ] + options
        try (configuration.joined(separator: "\n") + "\n").write(toFile: directory.path("rabbitmq.conf"), atomically: true, encoding: .utf8)
        try "[rabbitmq_mqtt].\n".write(toFile: directory.path("enabled_plugins"), atomically: true, encoding: .utf8)
        if start { try self.start() }
    }

    public var address: String { "127.0.0.1" }

    /// The environment the start script reads (see `rabbitmq-env` and `rabbitmq-defaults`).
    private var environment: [String: String] {
        [
            "HOME": directory.url.path,  // the Erlang cookie
            "ERL_EPMD_PORT": String(epmdPort),
            "RABBITMQ_NODENAME": nodeName,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": String(amqpPort),
            "RABBITMQ_DIST_PORT": String(distributionPort),
            "RABBITMQ_MNESIA_BASE": directory.path("mnesia"),
            "RABBITMQ_LOG_BASE": directory.path("log"),
            "RABBITMQ_CONFIG_FILE": directory.path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": directory.path("advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": directory.path("enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": directory.path("rabbitmq-env.conf"),  // not /etc/rabbitmq's
            "RABBITMQ_PID_FILE": directory.path("rabbitmq.pid"),
            // Our own epmd runs already; the distribution listener stays on loopback.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}",
        ]
    }

    /// Starts epmd and the node and waits (polling, 90 s deadline: a busy machine boots slowly)
    /// until the MQTT port accepts connections.
    public func start() throws {
        precondition(node == nil, "broker already running")
        let began = ContinuousClock.now
        let epmd = try ChildProcess(
            Self.epmdExecutable, ["-port", String(epmdPort), "-address", "127.0.0.1"], output: directory.path("epmd.out"))
        self.epmd = epmd
        while !loopbackPortAccepts(epmdPort) {
            guard epmd.isRunning, ContinuousClock.now < began + .seconds(10) else {
                stop()
                throw BrokerError("epmd did not listen on port \(epmdPort)")
            }
            usleep(5_000)
        }
        let node = try ChildProcess(
            Self.executable, [], output: directory.path("rabbitmq.out"), environment: environment)
        self.node = node
        let deadline = began + .seconds(90)
        while !loopbackPortAccepts(port) {
            guard node.isRunning else {
                let status = node.status ?? -1
                stop()
                throw BrokerError("RabbitMQ exited (wait status \(status)); output:\n\(log)")
            }
            guard ContinuousClock.now < deadline else {
                stop()
                throw BrokerError("RabbitMQ did not accept MQTT connections on port \(port) within 90 s; output:\n\(log)")
            }
            usleep(20_000)
        }
        startupTime = ContinuousClock.now - began
        vmPID = (try? String(contentsOfFile: directory.path("rabbitmq.pid"), encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// SIGTERM to the start script (it stops the Erlang VM gracefully); SIGKILL to script and VM
    /// after 15 s, or to a VM that outlived its script; then epmd.
    public func stop() {
        if let node {
            if node.isRunning {
                node.signal(SIGTERM)
                if !node.waitForExit(timeout: .seconds(15)) { node.stop(grace: .zero) }
            }
            if let vmPID, kill(vmPID, 0) == 0 {
                kill(vmPID, SIGKILL)
                let deadline = ContinuousClock.now + .seconds(5)
                while kill(vmPID, 0) == 0, ContinuousClock.now < deadline { usleep(10_000) }
            }
        }
        node = nil
        vmPID = nil
        epmd?.stop()
        epmd = nil
    }

    public var isRunning: Bool { node?.isRunning ?? false }

    /// The start script's and the node's console output (the node logs under `log/` too).
    public var log: String {
        (try? String(contentsOfFile: directory.path("rabbitmq.out"), encoding: .utf8)) ?? ""
    }

    /// RabbitMQ's version as Debian installed it (`dpkg-query`), e.g. `3.10.8-1.1+deb12u1`.
    public static var installedVersion: String? {
        guard let process = try? ChildProcess("/usr/bin/dpkg-query", ["-W", "-f=${Version}", "rabbitmq-server"], pipingOutput: true),
              let fd = process.standardOutput
        else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            data += buffer[0..<count]
        }
        if let errors = process.standardError { close(errors) }
        process.waitForExit(timeout: .seconds(10))
        let version = String(decoding: data, as: UTF8.self)
        return version.isEmpty ? nil : version
    }

    deinit { stop() }
}

extension RabbitMQBroker: LoopbackBroker {
    public var brokerName: String { "RabbitMQ \(Self.installedVersion ?? "?") (MQTT plugin)" }
}
