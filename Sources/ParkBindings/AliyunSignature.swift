import Crypto
import Foundation

/// The Alibaba-Cloud-IoT-style MQTT login: one secret per device (004 L754) that never goes on
/// the wire. The device signs its identity and a timestamp with HMAC-SHA256 under its
/// `deviceSecret`; the broker (or its auth plugin) recomputes the signature.
///
/// - client id: `{clientId}|securemode=3,signmethod=hmacsha256,timestamp={ms}|`
/// - user name: `{deviceName}&{productKey}`
/// - password: lowercase hex of HMAC-SHA256(deviceSecret,
///   `clientId{clientId}deviceName{deviceName}productKey{productKey}timestamp{ms}`)
public struct AliyunSignature: Sendable, Hashable {
    public var clientID: String
    public var username: String
    public var password: String

    public init(productKey: String, deviceName: String, deviceSecret: String, clientID: String? = nil, timestampMilliseconds: Int64) {
        let id = clientID ?? deviceName
        let content = "clientId\(id)deviceName\(deviceName)productKey\(productKey)timestamp\(timestampMilliseconds)"
        let key = SymmetricKey(data: Data(deviceSecret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(content.utf8), using: key)
        password = mac.map { String(format: "%02x", $0) }.joined()
        self.clientID = "\(id)|securemode=3,signmethod=hmacsha256,timestamp=\(timestampMilliseconds)|"
        username = "\(deviceName)&\(productKey)"
    }
}
