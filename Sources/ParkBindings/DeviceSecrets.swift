import Foundation
import ParkMQTT
import ParkWire

/// One secret per device (004 L754: reject illegal access), read from a file the operator keeps
/// outside the profiles.
///
/// Format: one `device-id=secret` per line; blank lines and lines starting with `#` are ignored.
/// Secrets never come from YAML and are never printed: errors name the file, line and device,
/// not the value.
public struct DeviceSecrets: Sendable {
    private let secrets: [String: String]
    /// Where they came from, for messages.
    public let source: String

    public init(_ secrets: [String: String], source: String) {
        self.secrets = secrets
        self.source = source
    }

    /// The device's secret, if the file has one.
    public func secret(for deviceID: String) -> String? { secrets[deviceID] }

    /// Device ids among `ids` that have no secret.
    public func missing(among ids: [String]) -> [String] { ids.filter { secrets[$0] == nil } }

    /// Reads a secrets file. - Throws: ``BindingError`` naming the file and line of a bad entry.
    public static func load(file: String) throws(BindingError) -> DeviceSecrets {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw BindingError("cannot read the secrets file \(file): \(error.localizedDescription)")
        }
        var secrets: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw BindingError("\(file):\(index + 1): expected 'device-id=secret'")
            }
            let id = line[..<equals].trimmingCharacters(in: .whitespaces)
            let secret = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty, !secret.isEmpty else {
                throw BindingError("\(file):\(index + 1): expected 'device-id=secret' with both parts non-empty")
            }
            guard secrets[id] == nil else { throw BindingError("\(file):\(index + 1): device '\(id)' has a second secret") }
            secrets[id] = secret
        }
        return DeviceSecrets(secrets, source: file)
    }
}

/// How a device logs in to the broker, as real park platforms ask.
public enum MQTTAuthScheme: String, Sendable, CaseIterable {
    /// Anonymous.
    case none
    /// User name = device id, password = the device's secret (mosquitto password files, EMQX).
    case password
    /// ThingsBoard style: user name = the device's access token, no password.
    case token
    /// Alibaba Cloud IoT style: an HMAC-SHA256 signature of the device's identity and a timestamp
    /// under its secret (see ``AliyunSignature``); needs a product key.
    case aliyunHMAC = "aliyun-hmac"

    /// The credentials of `device` under this scheme, given its secret.
    public func credentials(for device: BoundDevice, secret: String?) -> MQTTCredentials? {
        switch self {
        case .none: nil
        case .password: secret.map { MQTTCredentials(username: device.id, password: $0) }
        case .token: secret.map { MQTTCredentials(username: $0, password: nil) }
        case .aliyunHMAC: login(for: device, secret: secret, productKey: "", timestampMilliseconds: 0).credentials
        }
    }

    /// The client id and credentials `device` logs in with: the client id is the device id
    /// except under `aliyun-hmac`, which signs it.
    public func login(for device: BoundDevice, secret: String?, productKey: String, timestampMilliseconds: Int64) -> (clientID: String, credentials: MQTTCredentials?) {
        guard self == .aliyunHMAC else { return (device.id, credentials(for: device, secret: secret)) }
        guard let secret else { return (device.id, nil) }
        let signature = AliyunSignature(productKey: productKey, deviceName: device.id, deviceSecret: secret, timestampMilliseconds: timestampMilliseconds)
        return (signature.clientID, MQTTCredentials(username: signature.username, password: signature.password))
    }
}
