import CMosquitto
import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Why an MQTT operation failed: a libmosquitto return code, a broker's refusal, or a limit of the pool.
///
/// libmosquitto return codes become cases in exactly one place, ``init(mosquittoReturnCode:errno:)``.
/// Broker reason codes (CONNACK, PUBACK, DISCONNECT) are worded by libmosquitto's own
/// `mosquitto_connack_string` / `mosquitto_reason_string`, so messages match what the mosquitto
/// command-line clients print for the same situation.
public enum MQTTError: Error, Sendable, Hashable {
    /// The broker answered CONNECT with a refusal: MQTT 3.1.1 CONNACK return code 1–5, or an
    /// MQTT 5 reason code ≥ 128. `reason` is libmosquitto's text for the code.
    case connectionRefused(reasonCode: Int, reason: String)
    /// The TCP connection closed or reset underneath the client.
    case connectionLost(String)
    /// The broker did not answer a PINGREQ within a keep-alive period (libmosquitto's `loop_misc` check).
    case keepAliveTimeout
    /// No CONNACK within the pool's connect timeout.
    case connectTimeout(milliseconds: Int)
    /// The TLS handshake or a TLS record failed (bad CA, missing client certificate, wrong host name).
    case tls(String)
    /// A system call failed; `errno` as reported by libmosquitto's MOSQ_ERR_ERRNO.
    case system(errno: Int32, message: String)
    /// The broker or the client broke the MQTT protocol (malformed packet, unexpected reason code).
    case protocolViolation(String)
    /// An argument was rejected before anything was sent (bad topic, payload too large, QoS).
    case invalidArgument(String)
    /// The client has no network connection.
    case notConnected
    /// An MQTT 5 broker sent DISCONNECT with this reason code (e.g. 142, session taken over).
    case serverDisconnected(reasonCode: Int, reason: String)
    /// An MQTT 5 broker acknowledged a QoS 1/2 publish with a failure reason code (≥ 128).
    case publishRejected(reasonCode: Int, reason: String)
    /// Any other libmosquitto return code, with `mosquitto_strerror`'s text.
    case library(code: Int32, message: String)
    /// The I/O thread's publish queue already holds `limit` messages; the caller should slow down.
    case queueFull(limit: Int)
    /// The client is (re)connecting and already holds `limit` messages for when it is back.
    case offlineQueueFull(limit: Int)
    /// The handle does not name a client of this pool (or the client was removed).
    case unknownClient
    /// The client was disconnected or removed on request before the message could go out.
    case clientStopped
    /// The pool has been shut down.
    case poolShutDown

    /// Maps a libmosquitto return code (`MOSQ_ERR_*`); nil for success. The only such mapping.
    ///
    /// - Parameters:
    ///   - rc: what a libmosquitto call returned, or the `rc` an `on_disconnect` callback received.
    ///   - errno: `errno` read right after the call; used only for `MOSQ_ERR_ERRNO`.
    init?(mosquittoReturnCode rc: Int32, errno: Int32) {
        let text = String(cString: mosquitto_strerror(rc))
        switch mosq_err_t(rawValue: rc) {
        case MOSQ_ERR_SUCCESS:
            return nil
        case MOSQ_ERR_CONN_LOST:
            self = .connectionLost(text)
        case MOSQ_ERR_KEEPALIVE:
            self = .keepAliveTimeout
        case MOSQ_ERR_TLS, MOSQ_ERR_TLS_HANDSHAKE, MOSQ_ERR_OCSP:
            self = .tls(text)
        case MOSQ_ERR_ERRNO:
            self = .system(errno: errno, message: String(cString: strerror(errno)))
        case MOSQ_ERR_NO_CONN:
            self = .notConnected
        case MOSQ_ERR_CONN_REFUSED:
            // The CONNACK code itself arrives through on_connect; this is the bare library code.
            self = .connectionRefused(reasonCode: -1, reason: text)
        case MOSQ_ERR_PROTOCOL, MOSQ_ERR_MALFORMED_PACKET, MOSQ_ERR_DUPLICATE_PROPERTY:
            self = .protocolViolation(text)
        case MOSQ_ERR_INVAL, MOSQ_ERR_MALFORMED_UTF8, MOSQ_ERR_PAYLOAD_SIZE, MOSQ_ERR_OVERSIZE_PACKET,
            MOSQ_ERR_QOS_NOT_SUPPORTED, MOSQ_ERR_RETAIN_NOT_SUPPORTED, MOSQ_ERR_TOPIC_ALIAS_INVALID,
            MOSQ_ERR_NOT_SUPPORTED:
            self = .invalidArgument(text)
        default:
            self = .library(code: rc, message: text)
        }
    }

    /// A CONNACK refusal, worded by libmosquitto for the protocol that produced the code.
    static func connectRefused(code: Int32, protocolVersion: MQTTProtocolVersion) -> MQTTError {
        let text: String
        switch protocolVersion {
        case .v311: text = String(cString: mosquitto_connack_string(code))
        case .v5: text = String(cString: mosquitto_reason_string(code))
        }
        return .connectionRefused(reasonCode: Int(code), reason: text)
    }

    /// A failure reason code in an MQTT 5 PUBACK/PUBREC.
    static func publishRejected(code: Int32) -> MQTTError {
        .publishRejected(reasonCode: Int(code), reason: String(cString: mosquitto_reason_string(code)))
    }

    /// An MQTT 5 DISCONNECT from the broker.
    static func serverDisconnected(code: Int32) -> MQTTError {
        .serverDisconnected(reasonCode: Int(code), reason: String(cString: mosquitto_reason_string(code)))
    }

    /// Appends libmosquitto's own explanation (its last logged error) to the vague network errors.
    func adding(diagnostic: String?) -> MQTTError {
        guard let diagnostic, !diagnostic.isEmpty else { return self }
        switch self {
        case .tls(let text): return .tls("\(text) \(diagnostic)")
        case .connectionLost(let text): return .connectionLost("\(text) \(diagnostic)")
        case .protocolViolation(let text): return .protocolViolation("\(text) \(diagnostic)")
        default: return self
        }
    }

    /// True for refusals that mean "these credentials will not work": 3.1.1 codes 4 (bad user name or
    /// password) and 5 (not authorized); MQTT 5 codes 134, 135, 138 (banned) and 140 (bad auth method).
    public var isAuthenticationFailure: Bool {
        guard case .connectionRefused(let code, _) = self else { return false }
        return [4, 5, 134, 135, 138, 140].contains(code)
    }
}

extension MQTTError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connectionRefused(let code, let reason):
            guard code >= 0 else { return "the broker refused the connection: \(reason)" }
            let prefix = isAuthenticationFailure ? "not authorized: " : ""
            return "\(prefix)the broker refused the connection (CONNACK \(code): \(reason))"
        case .connectionLost(let text): return "connection lost: \(text)"
        case .keepAliveTimeout: return "connection lost: no answer from the broker within the keep-alive"
        case .connectTimeout(let ms): return "no CONNACK within \(ms) ms"
        case .tls(let text): return "TLS failure: \(text)"
        case .system(let code, let message): return "system error \(code): \(message)"
        case .protocolViolation(let text): return "MQTT protocol error: \(text)"
        case .invalidArgument(let text): return "invalid argument: \(text)"
        case .notConnected: return "the client is not connected"
        case .serverDisconnected(let code, let reason):
            return "the broker disconnected the client (reason \(code): \(reason))"
        case .publishRejected(let code, let reason):
            return "the broker rejected the publish (reason \(code): \(reason))"
        case .library(let code, let message): return "libmosquitto error \(code): \(message)"
        case .queueFull(let limit): return "publish queue full (\(limit) messages waiting for the I/O thread)"
        case .offlineQueueFull(let limit):
            return "offline queue full (\(limit) messages held while the client reconnects)"
        case .unknownClient: return "no such client in this pool"
        case .clientStopped: return "the client was disconnected or removed on request"
        case .poolShutDown: return "the MQTT client pool has been shut down"
        }
    }
}

extension MQTTError {
    /// An epoll, eventfd or thread call of the I/O runtime failed: a system error like any other.
    init(_ error: EventLoopError) {
        self = .system(errno: error.code, message: error.description)
    }
}
