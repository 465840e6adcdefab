import Foundation
import ParkBindings
import ParkCore
import ParkMQTT
import ParkTestSupport
import ParkWire
import Testing

/// The Alibaba-Cloud-style signed login, checked against Python's own hmac, and accepted by a
/// mosquitto whose password file holds the signature Python computed.
@Suite(.serialized) struct AliyunSignatureTests {
    /// Python computes the documented signature independently.
    func pythonSignature(productKey: String, deviceName: String, secret: String, timestamp: Int64) throws -> String {
        let directory = try TemporaryDirectory()
        let output = directory.path("sig.out")
        let process = try ChildProcess(try executablePath("python3"), ["-c", """
            import hmac, hashlib, sys
            pk, name, secret, ts = sys.argv[1:5]
            content = "clientId%sdeviceName%sproductKey%stimestamp%s" % (name, name, pk, ts)
            print(hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest())
            """, productKey, deviceName, secret, String(timestamp)], output: output)
        #expect(process.waitForExit(timeout: .seconds(20)))
        return try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func signatureMatchesAnIndependentHMAC() throws {
        let signature = AliyunSignature(productKey: "a1PK", deviceName: "smoke-1", deviceSecret: "s3cr3t", timestampMilliseconds: 1_790_000_000_123)
        #expect(signature.password == (try pythonSignature(productKey: "a1PK", deviceName: "smoke-1", secret: "s3cr3t", timestamp: 1_790_000_000_123)))
        #expect(signature.clientID == "smoke-1|securemode=3,signmethod=hmacsha256,timestamp=1790000000123|")
        #expect(signature.username == "smoke-1&a1PK")
        #expect(signature.password.count == 64 && !signature.password.contains("s3cr3t"))
        let other = AliyunSignature(productKey: "a1PK", deviceName: "smoke-1", deviceSecret: "s3cr3t", timestampMilliseconds: 1_790_000_000_124)
        #expect(other.password != signature.password, "the timestamp is signed")
    }

    @Test func signedDeviceIsAcceptedAndAWrongSecretIsNot() async throws {
        let timestamp: Int64 = 1_790_000_000_000
        let expected = try pythonSignature(productKey: "a1PK", deviceName: "smoke-1", secret: "right", timestamp: timestamp)
        let directory = try TemporaryDirectory()
        let options = try MosquittoAuth(users: ["smoke-1&a1PK": expected], platformUsers: []).write(into: directory)
        let broker = try MosquittoBroker(options: options, directory: directory)
        defer { broker.stop() }
        let device = BoundDevice(id: "smoke-1", kind: "smoke-detector", model: "acme-sd100", zone: "A", floor: 1)
        for (secret, accepted) in [("right", true), ("wrong", false)] {
            let login = MQTTAuthScheme.aliyunHMAC.login(for: device, secret: secret, productKey: "a1PK", timestampMilliseconds: timestamp)
            #expect(login.clientID.hasPrefix("smoke-1|securemode=3"))
            let probe = Probe()
            let pool = try MQTTClientPool(delegate: probe)
            defer { pool.shutdown() }
            try pool.addClient(MQTTClientConfiguration(
                clientID: login.clientID, port: broker.port, credentials: login.credentials,
                reconnect: MQTTReconnectPolicy(base: .seconds(30), cap: .seconds(30), onAuthenticationFailure: .stop)))
            try waitFor("an answer from the broker", seconds: 20) { probe.answer != nil }
            #expect(probe.answer == accepted, "secret \(secret)")
        }
    }

    final class Probe: MQTTClientPoolDelegate, @unchecked Sendable {
        private let lock = NSLock()
        private var value: Bool?
        var answer: Bool? { lock.withLock { value } }
        func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) { lock.withLock { value = true } }
        func mqttClientDidFailToConnect(_ client: MQTTClientHandle, error: MQTTError, failures: Int, retryIn: Duration?) {
            lock.withLock { value = false }
        }
    }
}
