import Foundation
import ParkMQTT
import ParkTestSupport
import Testing

extension MQTTClientPoolTests {
    /// Against a TLS listener with `require_certificate true`: a client with the CA and a client
    /// certificate connects and round-trips a message; one without a client certificate is refused,
    /// and one that trusts another CA refuses the broker.
    @Test func tlsWithClientCertificates() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestCertificates(in: directory)
        let broker = try MosquittoBroker(
            listenerOptions: [
                "cafile \(pki.caFile)", "certfile \(pki.serverCertificate)", "keyfile \(pki.serverKey)",
                "require_certificate true",
            ],
            directory: directory)

        let recorder = PoolRecorder()
        let pool = try MQTTClientPool(configuration: .forTests(), delegate: recorder)
        defer { pool.shutdown() }
        // One attempt each is enough to judge; keep the refused ones from retrying during the test.
        let patient = MQTTReconnectPolicy(base: .seconds(30), cap: .seconds(30))

        let trusted = try pool.addClient(
            .init(
                clientID: "tls-device-01", port: broker.port,
                tls: MQTTTLSConfiguration(
                    caFile: pki.caFile, certificateFile: pki.clientCertificate, privateKeyFile: pki.clientKey),
                subscriptions: [MQTTSubscription("secure/#")], reconnect: patient))
        let anonymous = try pool.addClient(
            .init(
                clientID: "tls-no-cert", port: broker.port, tls: MQTTTLSConfiguration(caFile: pki.caFile),
                reconnect: patient))
        let misled = try pool.addClient(
            .init(
                clientID: "tls-wrong-ca", port: broker.port,
                tls: MQTTTLSConfiguration(
                    caFile: pki.rogueCAFile, certificateFile: pki.clientCertificate, privateKeyFile: pki.clientKey),
                reconnect: patient))

        try await waitUntil("TLS client subscribed") { recorder.isSubscribed(trusted, to: "secure/#") }
        let payload: [UInt8] = Array("door 3 unlocked".utf8) + [0, 0xFF]
        try pool.publish(trusted, topic: "secure/door/3", payload: payload, qos: .atLeastOnce, tag: 1)
        try await waitUntil("message over TLS") { !recorder.received(by: trusted).isEmpty }
        #expect(recorder.received(by: trusted).map(\.payload) == [payload])

        try await waitUntil("both untrusted clients refused") {
            !recorder.failures(of: anonymous).isEmpty && !recorder.failures(of: misled).isEmpty
        }
        #expect(recorder.read { $0.connects[anonymous] == nil && $0.connects[misled] == nil })
        #expect(pool.statistics.connectedClients == 1)
        let noCertificate = try #require(recorder.failures(of: anonymous).first).error
        let wrongCA = try #require(recorder.failures(of: misled).first).error
        print("TLS refusals: without client certificate: \(noCertificate); trusting another CA: \(wrongCA)")
        if case .tls = wrongCA {} else { Issue.record("a broker certificate from an untrusted CA must fail TLS, got \(wrongCA)") }
        // libmosquitto's OpenSSL diagnostic travels with the error, so the refusal says why.
        #expect("\(wrongCA)".contains("certificate verify failed"))
        // In TLS 1.3 the client's half of the handshake is done before the broker checks its
        // certificate: the broker's alert is read when it arrives first, and otherwise the socket
        // fails with EPROTO (seen in 1 CI run of many). Either way the client is refused, and says how.
        let refusal = "\(noCertificate)"
        #expect(refusal.contains("alert") || refusal.contains("Protocol error"), "the broker's refusal should be named: \(noCertificate)")
    }
}
