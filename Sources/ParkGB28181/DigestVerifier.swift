import Crypto

/// A registrar's side of digest authentication: issues nonces and checks answers.
///
/// Nonces are stateless — the issue time and an HMAC of it under the verifier's secret — so a
/// registrar holding 50,000 cameras keeps no table of outstanding nonces, and a nonce it never
/// issued is told apart from one that is merely old. Replay within the lifetime (the same `nc`
/// twice) is not tracked here.
public struct DigestVerifier: Sendable {
    public let realm: String
    /// Seconds a nonce stays current; an answer to an older one is `stale` (§3.2.1: the client
    /// retries with the fresh nonce, without asking the user again).
    public var nonceLifetime: UInt64
    /// Kept as bytes: swift-crypto's SymmetricKey is not Sendable.
    private let secret: [UInt8]

    /// What an Authorization header proved.
    public enum Verdict: Sendable, Equatable {
        case valid
        case wrongResponse
        case staleNonce
        case unknownNonce
        case wrongRealm
        case uriMismatch
    }

    public init(realm: String, secret: [UInt8], nonceLifetime: UInt64 = 3_600) {
        self.realm = realm
        self.nonceLifetime = nonceLifetime
        self.secret = secret
    }

    /// A challenge with a nonce issued at `now` (seconds on any clock the verifier is also given).
    public func challenge(now: UInt64, qopAuth: Bool = false, stale: Bool = false) -> DigestChallenge {
        DigestChallenge(realm: realm, nonce: nonce(issuedAt: now), qopAuth: qopAuth, stale: stale)
    }

    /// Checks `credentials` from a request with `method` and Request-URI `requestURI` against the
    /// device's `password`.
    public func verify(_ credentials: DigestCredentials, method: String, requestURI: String? = nil, password: String, now: UInt64) -> Verdict {
        guard credentials.realm == realm else { return .wrongRealm }
        if let requestURI, credentials.uri != requestURI { return .uriMismatch }
        guard let issued = issueTime(of: credentials.nonce) else { return .unknownNonce }
        let expected = Digest.response(
            username: credentials.username, password: password, realm: realm, method: method, uri: credentials.uri,
            nonce: credentials.nonce, qop: credentials.qop)
        guard expected == credentials.response.lowercased() else { return .wrongResponse }
        guard issued <= now, now - issued <= nonceLifetime else { return .staleNonce }
        return .valid
    }

    func nonce(issuedAt time: UInt64) -> String {
        let stamp = hexStamp(time)
        return stamp + tag(stamp)
    }

    /// The issue time of a nonce this verifier made, nil for any other string.
    func issueTime(of nonce: String) -> UInt64? {
        guard nonce.utf8.count == 48 else { return nil }
        let stamp = String(nonce.prefix(16))
        guard let time = UInt64(stamp, radix: 16), tag(stamp) == String(nonce.dropFirst(16)) else { return nil }
        return time
    }

    private func tag(_ stamp: String) -> String {
        Digest.hex(HMAC<SHA256>.authenticationCode(for: Array(stamp.utf8), using: SymmetricKey(data: secret)).prefix(16))
    }

    private func hexStamp(_ time: UInt64) -> String {
        let hex = String(time, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
