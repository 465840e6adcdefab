import Foundation
import ParkCore
import ParkEventLoop
import ParkMQTT
import ParkReport
import ParkVDA5050
import Synchronization

/// Certifies a mobile robot (or another simulator) on VDA 5050 2.x (issue 19): ParkBench is the
/// fleet controller the robot answers to over the MQTT broker both reach, and judges what it
/// does, case by case — the `connection` topic, `stateRequest` and `factsheetRequest`, an order
/// accepted and driven to its end with a node action's states in order, an order update stitched
/// on, a stale update and a broken stitch rejected with `orderUpdateError`, a new order while
/// busy rejected, `startPause`/`stopPause`, `cancelOrder`, header ids rising per topic, `state` at
/// least every 30 s, the last will (CONNECTIONBROKEN when a `cutConnection` cuts the robot off),
/// and every message it sent valid by the standard's field tables.
///
/// The orders are laid out from where the robot says it stands: nodes `leg` metres apart along
/// its map's x axis, one order forward and the next back, so a real robot stays near its start;
/// give it room. Blocking, one run per call. A robot never heard within `connectTimeout` is an
/// error (exit 3 in the CLI), not a failed check.
public struct RobotCertification: Sendable {
    public struct Configuration: Sendable {
        /// The broker the robot is connected to.
        public var host: String
        public var port: Int
        /// The topic levels of the robot: `<interface>/v2/<manufacturer>/<serialNumber>/…`.
        public var manufacturer: String
        public var serialNumber: String
        public var interface = VDA5050.interfaceName
        public var credentials: MQTTCredentials?
        /// How long the robot has to be heard (its retained `connection`, or a `state`).
        public var connectTimeout: Duration = .seconds(60)
        /// How long an answer (a state after a request, an order accepted or rejected) may take.
        public var answerTimeout: Duration = .seconds(10)
        /// How long one order may take to drive.
        public var driveTimeout: Duration = .seconds(120)
        /// Metres between the nodes of the run's orders.
        public var leg = 2.0
        /// How long, from the first state, the robot is watched for the 30 s state rule (the run
        /// waits out what is left of it at the end); under 30 s the rule is not judged.
        public var stateWindow: Duration = .seconds(35)
        /// Cuts the robot's connection the way a network fault would (the CLI's `--cut-command`),
        /// for the `last-will` case; nil: that case is not run.
        public var cutConnection: (@Sendable () throws -> Void)?
        /// How long after the cut the broker's CONNECTIONBROKEN may take (a robot that only stops
        /// answering is noticed after 1.5 × its keep-alive).
        public var willTimeout: Duration = .seconds(90)
        public var waived: Set<String> = []
        /// Told what the run is doing and waiting for.
        public var progress: @Sendable (String) -> Void = { _ in }

        public init(host: String, port: Int, manufacturer: String, serialNumber: String) {
            self.host = host
            self.port = port
            self.manufacturer = manufacturer
            self.serialNumber = serialNumber
        }
    }

    /// The checks in the order they run.
    public static let checkIDs = [
        "connection", "state-request", "factsheet", "order-accepted", "order-completed", "action-states", "order-update",
        "stale-update-rejected", "broken-stitch-rejected", "busy-order-rejected", "pause", "cancel-order", "header-ids",
        "state-interval", "last-will", "messages-valid",
    ]

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// A `cutConnection` that runs `command` with `/bin/sh -c` and waits for it (the CLI's
    /// `--cut-command`); an exit status other than 0 is an error naming it and the last line the
    /// command wrote to stderr.
    public static func shellCut(_ command: String) -> @Sendable () throws -> Void {
        {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            // Its output stays out of the run's (--json); its stderr goes to a file, not a pipe a
            // child it leaves running could hold open.
            let said = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-cut-\(UUID()).err")
            FileManager.default.createFile(atPath: said.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: said) }
            let errors = try FileHandle(forWritingTo: said)
            defer { try? errors.close() }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let text = (try? String(contentsOf: said, encoding: .utf8)) ?? ""
                let last = text.split(whereSeparator: \.isNewline).last.map { ": \($0.prefix(200))" } ?? ""
                throw RobotCertificationError.configuration("--cut-command exited \(process.terminationStatus)\(last)")
            }
        }
    }

    public func run() throws(RobotCertificationError) -> [CheckResult] {
        let c = configuration
        let base = "\(c.interface)/\(VDA5050.majorVersion)/\(c.manufacturer)/\(c.serialNumber)"
        let log = RobotLog(base: base)
        let pool: MQTTClientPool
        do {
            pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: log)
        } catch {
            throw .configuration("cannot start an MQTT client: \(error)")
        }
        defer { pool.shutdown() }
        let topics: [VDA5050.Topic] = [.connection, .state, .visualization, .factsheet]
        let handle: MQTTClientHandle
        // Unique per run: a broker drops the older of two clients with one id.
        let clientID = "pbcert-\(getpid())-\(String(UInt32.random(in: .min ... .max), radix: 36))"
        let template = MQTTClientConfiguration(clientID: clientID, host: c.host, port: c.port, credentials: c.credentials)
        do {
            var main = template
            main.subscriptions = topics.map { MQTTSubscription("\(base)/\($0.rawValue)", qos: .atLeastOnce) }
            handle = try pool.addClient(main)
        } catch {
            throw .configuration("cannot connect to mqtt://\(c.host):\(c.port): \(error)")
        }
        log.attach(pool: pool, handle: handle, template: template)
        var run = RobotCertificationRun(configuration: c, log: log)
        return try run.all().waiving(c.waived)
    }
}

/// Why a robot certification could not judge the robot.
public enum RobotCertificationError: Error, Sendable, CustomStringConvertible {
    /// The options or the broker are wrong (exit 2).
    case configuration(String)
    /// The robot was never heard (exit 3).
    case unreachable(String)

    public var description: String {
        switch self {
        case .configuration(let text), .unreachable(let text): text
        }
    }

    public var unreachable: Bool { if case .unreachable = self { true } else { false } }
}

/// One message the robot sent, as it arrived.
struct HeardMessage: Sendable {
    var topic: VDA5050.Topic
    var bytes: [UInt8]
    var retained: Bool
    /// Monotonic nanoseconds on arrival.
    var at: UInt64
    /// The message read as a `state`, when it is one and reads.
    var state: VDA5050State?
}

/// What the fleet controller has heard and how it speaks; shared between the MQTT thread and
/// the run's thread.
final class RobotLog: MQTTClientPoolDelegate, Sendable {
    private struct Inner {
        var messages: [HeardMessage] = []
        var connected = false
        var connectError: String?
        var pool: MQTTClientPool?
        var handle: MQTTClientHandle?
        var template: MQTTClientConfiguration?
        var headers = VDA5050HeaderCounter()
        /// What a second, fresh subscriber heard (retained messages), by topic.
        var probed: [HeardMessage] = []
    }

    let base: String
    private let inner = Mutex(Inner())

    init(base: String) { self.base = base }

    func attach(pool: MQTTClientPool, handle: MQTTClientHandle, template: MQTTClientConfiguration) {
        inner.withLock {
            $0.pool = pool
            $0.handle = handle
            $0.template = template
        }
    }

    /// Subscribes a second client to the robot's `topic`: a retained message reaches it at once.
    /// How the run tells a retained publish from a live one its own client happened to hear.
    func probe(_ topic: VDA5050.Topic) -> Bool {
        guard let (pool, template) = inner.withLock({ inner in inner.pool.flatMap { pool in inner.template.map { (pool, $0) } } }) else { return false }
        var configuration = template
        configuration.clientID += "-probe"
        configuration.subscriptions = [MQTTSubscription("\(base)/\(topic.rawValue)", qos: .atLeastOnce)]
        return (try? pool.addClient(configuration)) != nil
    }

    var probed: [HeardMessage] { inner.withLock { $0.probed } }

    var messages: [HeardMessage] { inner.withLock { $0.messages } }
    var connectError: String? { inner.withLock { $0.connectError } }

    /// The next header of ours on `topic`.
    func header(_ topic: VDA5050.Topic, manufacturer: String, serialNumber: String) -> VDA5050Header {
        let now = SystemClock.wallNow().nanosecondsSinceEpoch
        return inner.withLock { $0.headers.header(topic, manufacturer: manufacturer, serialNumber: serialNumber, nanosecondsSinceEpoch: now) }
    }

    /// Records `heard` as the main client's (tests feed a log this way).
    func record(_ heard: HeardMessage) { inner.withLock { $0.messages.append(heard) } }

    /// Publishes `bytes` on the robot's `topic` (QoS 1); false when the client is not connected.
    func send(_ topic: VDA5050.Topic, _ bytes: [UInt8]) -> Bool {
        guard let (pool, handle) = inner.withLock({ inner in inner.pool.flatMap { pool in inner.handle.map { (pool, $0) } } }) else { return false }
        return (try? pool.publish(handle, topic: "\(base)/\(topic.rawValue)", payload: bytes, qos: .atLeastOnce)) != nil
    }

    func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        inner.withLock { $0.connected = true }
    }

    func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
        inner.withLock { $0.connectError = "\(error)" }
    }

    func mqttClientDidReceive(_ client: MQTTClientHandle, message: MQTTMessage) {
        guard message.topic.hasPrefix(base + "/"), let topic = VDA5050.Topic(rawValue: String(message.topic.dropFirst(base.count + 1))) else { return }
        let state = topic == .state ? try? VDA5050.decode(VDA5050State.self, from: message.payload) : nil
        let heard = HeardMessage(topic: topic, bytes: message.payload, retained: message.retain, at: MonotonicClock.now(), state: state)
        inner.withLock { inner in
            if inner.handle == nil || client == inner.handle { inner.messages.append(heard) } else { inner.probed.append(heard) }
        }
    }
}
