import Foundation
import ParkEventLoop
import ParkOCPP
import ParkProfiles
import ParkReport
import Synchronization

/// Certifies a real OCPP 1.6J charge point against its model profile (issue 17, the CSMS role),
/// case by case as the OCA's test tool reports: ParkBench is the central system the charge point
/// connects to, and judges what it does — its boot, the heartbeat interval the central system
/// sets, configuration, an unknown action answered NotImplemented, a remote session (start,
/// Charging, meter values with the session's transactionId, stop), meter values plausible and
/// monotonic, the offline queue replayed in order and whole after the connection is cut
/// mid-session, TriggerMessage, ChangeAvailability and Reset doing what they ask, every status
/// transition legal, and every message well formed.
///
/// Blocking, one run per call; the WebSocket server runs on its own event loop and this waits on
/// what it records. A charge point that never boots is an error (exit 3 in the CLI), not a
/// failed check.
public struct ChargerCertification: Sendable {
    public struct Configuration: Sendable {
        /// Where the central system listens (the address the charge point is configured with).
        public var host: String
        public var port: Int
        /// The charge point's id: the last segment of the path it connects to.
        public var chargePointID: String
        /// Its basic-auth password (security profile 1); nil: none asked.
        public var password: String?
        public var profile: ModelProfile
        /// The interval BootNotification.conf gives, in seconds; the heartbeat check holds the
        /// charge point to it.
        public var heartbeatInterval = 10
        /// The MeterValueSampleInterval the run sets, in seconds.
        public var sampleInterval = 2
        /// How long the charge point has to connect and boot.
        public var bootTimeout: Duration = .seconds(120)
        /// How long the charge point may take to restart and boot again after a Reset.
        public var rebootTimeout: Duration = .seconds(120)
        /// How long each answer, and each thing a call should make happen, may take.
        public var answerTimeout: Duration = .seconds(15)
        /// How long the connection stays cut in the offline-queue case.
        public var outage: Duration = .seconds(8)
        public var idTag = "PARKBENCH-CERT"
        public var waived: Set<String> = []
        /// Told what the run is doing and waiting for.
        public var progress: @Sendable (String) -> Void = { _ in }

        public init(host: String, port: Int, chargePointID: String, password: String?, profile: ModelProfile) {
            self.host = host
            self.port = port
            self.chargePointID = chargePointID
            self.password = password
            self.profile = profile
        }
    }

    /// The checks in the order they run.
    public static let checkIDs = [
        "boot", "configuration", "heartbeat-interval", "unknown-action", "trigger-message", "change-availability", "remote-start",
        "meter-values", "offline-queue", "remote-stop", "reset", "status-transitions", "messages-valid",
    ]

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    public func run() throws(ChargerCertificationError) -> [CheckResult] {
        let c = configuration
        let log = CertificationLog(heartbeat: c.heartbeatInterval, callTimeout: c.answerTimeout)
        let expected = c.chargePointID, password = c.password
        let server: OCPPWebSocketServer
        do {
            server = try OCPPWebSocketServer(configuration: .init(host: c.host, port: c.port) { id, credentials in
                guard id == expected else { return .refuse(404) }
                guard !log.refusing else { return .refuse(503) }
                if let password, credentials?.user != id || !PasswordComparison.same(credentials?.password ?? "", password) { return .refuse(401) }
                return .admit
            }) { _, _ in CertificationConnection(log: log) }
        } catch {
            throw .configuration("cannot serve OCPP on ws://\(c.host):\(c.port): \(error)")
        }
        defer { server.stop() }
        var run = CertificationRun(configuration: c, log: log, port: server.port)
        return try run.all().waiving(c.waived)
    }
}

/// Why a charger certification could not judge the charge point.
public enum ChargerCertificationError: Error, Sendable, CustomStringConvertible {
    /// The options or the local address are wrong (exit 2).
    case configuration(String)
    /// The charge point never connected or booted (exit 3).
    case noBoot(String)

    public var description: String {
        switch self {
        case .configuration(let text), .noBoot(let text): text
        }
    }

    public var unreachable: Bool { if case .noBoot = self { true } else { false } }
}

/// One thing the charge point sent: a call of its own, or the answer to one of ours.
struct LoggedMessage: Sendable {
    enum Kind: Sendable { case call, answered, refused, timedOut }
    var kind: Kind
    var action: String
    var payload: JSONValue
    /// Our call's tag, for answers.
    var tag: Int
    /// Monotonic nanoseconds and wall time on arrival.
    var at: UInt64
    var wall: Date
    /// Which connection (1, 2, …) it came on.
    var connection: Int
}

/// What the central system has heard and the calls the run wants made; shared between the
/// server's event loop and the run's thread.
final class CertificationLog: Sendable {
    private struct State {
        var messages: [LoggedMessage] = []
        var badFrames: [String] = []
        var connections = 0
        var current: CertificationConnection?
        var refusing = false
        var nextTag = 1
        var nextTransaction: Int64 = 1
    }

    private let state = Mutex(State())
    let heartbeat: Int
    /// How long a call of ours waits for the charge point's answer (the run's answer timeout).
    let callTimeout: Duration

    init(heartbeat: Int, callTimeout: Duration) {
        self.heartbeat = heartbeat
        self.callTimeout = callTimeout
    }

    var refusing: Bool { state.withLock { $0.refusing } }
    var messages: [LoggedMessage] { state.withLock { $0.messages } }
    var badFrames: [String] { state.withLock { $0.badFrames } }
    var connections: Int { state.withLock { $0.connections } }
    var isConnected: Bool { state.withLock { $0.current != nil } }

    func opened(_ connection: CertificationConnection) -> Int {
        state.withLock {
            $0.connections += 1
            $0.current = connection
            return $0.connections
        }
    }

    func closed(_ connection: CertificationConnection) {
        state.withLock { if $0.current === connection { $0.current = nil } }
    }

    func record(_ message: LoggedMessage) { state.withLock { $0.messages.append(message) } }
    func bad(_ reason: String) { state.withLock { if $0.badFrames.count < 50 { $0.badFrames.append(reason) } } }
    func transactionID() -> Int64 {
        state.withLock { state in
            defer { state.nextTransaction += 1 }
            return state.nextTransaction
        }
    }

    /// Sends a call on the current connection; its tag, or nil when none is open.
    func call(_ action: String, _ payload: JSONValue) -> Int? {
        let (connection, tag) = state.withLock { state -> (CertificationConnection?, Int) in
            defer { state.nextTag += 1 }
            return (state.current, state.nextTag)
        }
        guard let connection else { return nil }
        connection.call(action, payload, tag: tag)
        return tag
    }

    /// Cuts the connection without a close frame and refuses new ones (503) until `refuse(false)`.
    func cut() {
        let connection = state.withLock { state -> CertificationConnection? in
            state.refusing = true
            return state.current
        }
        connection?.abort()
    }

    func acceptAgain() { state.withLock { $0.refusing = false } }
}

/// One connection of the charge point: answers its calls as a central system does, sends ours.
final class CertificationConnection: OCPPWebSocketDelegate, @unchecked Sendable {
    private let log: CertificationLog
    private var session: OCPPCentralSystemSession
    private var connection: OCPPWebSocketConnection?
    private var number = 0

    init(log: CertificationLog) {
        self.log = log
        let timeout = log.callTimeout.components
        session = OCPPCentralSystemSession(
            callTimeout: UInt64(max(0, timeout.seconds)) * 1_000_000_000 + UInt64(max(0, timeout.attoseconds) / 1_000_000_000), idPrefix: "cert-")
    }

    func opened(_ connection: OCPPWebSocketConnection) {
        self.connection = connection
        number = log.opened(self)
    }

    func closed(_ connection: OCPPWebSocketConnection, reason: String) {
        session.connectionLost()
        record(session.takeEvents())
        log.closed(self)
        self.connection = nil
    }

    func abort() {
        let connection = connection
        connection?.eventLoop.execute { connection?.abort() }
    }

    func call(_ action: String, _ payload: JSONValue, tag: Int) {
        guard let connection else { return }
        connection.eventLoop.execute { [self] in
            session.call(action, payload, context: .int(Int64(tag)))
            flush()
            // Settle it when its time is up even if the charge point says nothing more.
            connection.eventLoop.scheduleTask(in: .nanoseconds(Int64(session.callTimeout) + 50_000_000)) { [self] in
                flush()
                record(session.takeEvents())
            }
        }
    }

    func received(_ text: String, on connection: OCPPWebSocketConnection) {
        let before = session.counters.badFrames
        session.receive(text, now: MonotonicClock.now())
        if session.counters.badFrames > before { log.bad("not an OCPP-J frame: \(text.prefix(120))") }
        record(session.takeEvents())
        flush()
    }

    private func flush() {
        guard let connection else { return }
        for frame in session.poll(now: MonotonicClock.now()) { connection.send(frame.text) }
    }

    private func record(_ events: [OCPPCentralSystemSession.Event]) {
        let now = MonotonicClock.now(), wall = Date()
        for event in events {
            switch event {
            case .call(let id, let action, let payload):
                // A StartTransaction's entry keeps, as its tag, the transactionId it was given.
                let given = answer(id, action: action, payload: payload)
                log.record(LoggedMessage(kind: .call, action: action, payload: payload, tag: Int(given ?? 0), at: now, wall: wall, connection: number))
            case .answered(let action, let payload, let context):
                log.record(LoggedMessage(kind: .answered, action: action, payload: payload, tag: Int(context.int ?? 0), at: now, wall: wall, connection: number))
            case .refused(let action, let code, let description, let context):
                log.record(LoggedMessage(kind: .refused, action: action, payload: ["errorCode": .string(code.rawValue), "errorDescription": .string(description)],
                                         tag: Int(context.int ?? 0), at: now, wall: wall, connection: number))
            case .timedOut(let action, let context):
                log.record(LoggedMessage(kind: .timedOut, action: action, payload: .null, tag: Int(context.int ?? 0), at: now, wall: wall, connection: number))
            }
        }
    }

    /// Answers the charge point's call as a central system does; a StartTransaction's transactionId.
    private func answer(_ id: String, action: String, payload: JSONValue) -> Int64? {
        let now = JSONValue.string(ISO8601DateFormatter.withMilliseconds.string(from: Date()))
        switch action {
        case "BootNotification": session.answer(id, payload: ["status": "Accepted", "currentTime": now, "interval": .int(Int64(log.heartbeat))])
        case "Heartbeat": session.answer(id, payload: ["currentTime": now])
        case "Authorize": session.answer(id, payload: ["idTagInfo": ["status": "Accepted"]])
        case "StartTransaction":
            let transaction = log.transactionID()
            session.answer(id, payload: ["transactionId": .int(transaction), "idTagInfo": ["status": "Accepted"]])
            return transaction
        case "StopTransaction": session.answer(id, payload: ["idTagInfo": ["status": "Accepted"]])
        case "StatusNotification", "MeterValues", "DiagnosticsStatusNotification", "FirmwareStatusNotification": session.answer(id, payload: [:])
        case "DataTransfer": session.answer(id, payload: ["status": "UnknownVendorId"])
        default: session.answerError(id, code: .notImplemented, description: "unknown action \(action.prefix(40))")
        }
        return nil
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with milliseconds, UTC: what OCPP's date-time fields carry.
    nonisolated(unsafe) static let withMilliseconds: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
