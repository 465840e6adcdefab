import Crypto

/// A registrar's challenge (`WWW-Authenticate: Digest realm=…, nonce=…, algorithm=MD5`), as GB/T
/// 28181-2016 §9.1.2 registration uses RFC 2617: MD5, with `qop=auth` offered by some
/// platforms and not others.
public struct DigestChallenge: Sendable, Equatable {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    /// Whether the server offers `qop=auth` (then the client must use it).
    public var qopAuth: Bool
    public var stale: Bool

    public init(realm: String, nonce: String, opaque: String? = nil, qopAuth: Bool = false, stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.qopAuth = qopAuth
        self.stale = stale
    }

    public init(headerValue: String) throws(DigestError) {
        let parameters = try DigestParameters(headerValue: headerValue)
        realm = try parameters.required("realm")
        nonce = try parameters.required("nonce")
        opaque = parameters["opaque"]
        stale = parameters["stale"]?.lowercased() == "true"
        if let algorithm = parameters["algorithm"], algorithm.uppercased() != "MD5" { throw .unsupportedAlgorithm(algorithm) }
        if let qop = parameters["qop"] {
            let options = qop.split(separator: ",").map { SIPParser.trimmed(String($0)).lowercased() }
            guard options.contains("auth") else { throw .unsupportedQop(qop) }
            qopAuth = true
        } else {
            qopAuth = false
        }
    }

    public var headerValue: String {
        var text = "Digest realm=\(DigestParameters.quoted(realm)), nonce=\(DigestParameters.quoted(nonce))"
        if let opaque { text += ", opaque=\(DigestParameters.quoted(opaque))" }
        if stale { text += ", stale=TRUE" }
        text += ", algorithm=MD5"
        if qopAuth { text += ", qop=\"auth\"" }
        return text
    }
}

/// A client's answer (`Authorization: Digest username=…, response=…`), built by `answering` or
/// parsed from a request a registrar received.
public struct DigestCredentials: Sendable, Equatable {
    public var username: String
    public var realm: String
    public var nonce: String
    public var uri: String
    public var response: String
    public var opaque: String?
    /// `qop=auth` with its nonce count and client nonce, nil without qop.
    public var qop: QopAuth?

    /// The nonce count (`nc`, 8 hex digits on the wire) and client nonce of a `qop=auth` answer.
    public struct QopAuth: Sendable, Equatable {
        public var nonceCount: UInt32
        public var cnonce: String

        public init(nonceCount: UInt32, cnonce: String) {
            self.nonceCount = nonceCount
            self.cnonce = cnonce
        }

        var nc: String {
            let hex = String(nonceCount, radix: 16)
            return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        }
    }

    public init(username: String, realm: String, nonce: String, uri: String, response: String, opaque: String? = nil, qop: QopAuth? = nil) {
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        self.opaque = opaque
        self.qop = qop
    }

    /// The credentials answering `challenge` for a request (`method`, `uri` as in the request
    /// line). `qop` is used when the challenge offers it (RFC 2617 §3.2.2: then it must be).
    public static func answering(
        _ challenge: DigestChallenge, method: String, uri: String, username: String, password: String,
        cnonce: String, nonceCount: UInt32 = 1
    ) -> DigestCredentials {
        let qop = challenge.qopAuth ? QopAuth(nonceCount: nonceCount, cnonce: cnonce) : nil
        let response = Digest.response(
            username: username, password: password, realm: challenge.realm, method: method, uri: uri, nonce: challenge.nonce, qop: qop)
        return DigestCredentials(
            username: username, realm: challenge.realm, nonce: challenge.nonce, uri: uri, response: response, opaque: challenge.opaque, qop: qop)
    }

    public init(headerValue: String) throws(DigestError) {
        let parameters = try DigestParameters(headerValue: headerValue)
        username = try parameters.required("username")
        realm = try parameters.required("realm")
        nonce = try parameters.required("nonce")
        uri = try parameters.required("uri")
        response = try parameters.required("response")
        opaque = parameters["opaque"]
        if let algorithm = parameters["algorithm"], algorithm.uppercased() != "MD5" { throw .unsupportedAlgorithm(algorithm) }
        if let qopValue = parameters["qop"] {
            guard qopValue.lowercased() == "auth" else { throw .unsupportedQop(qopValue) }
            let nc = try parameters.required("nc")
            guard nc.utf8.count <= 8, let count = UInt32(nc, radix: 16) else { throw .malformed(offset: 0, reason: "nc \(nc.prefix(20).debugDescription) is not 8 hex digits") }
            qop = QopAuth(nonceCount: count, cnonce: try parameters.required("cnonce"))
        } else {
            qop = nil
        }
    }

    public var headerValue: String {
        var text = "Digest username=\(DigestParameters.quoted(username)), realm=\(DigestParameters.quoted(realm))"
        text += ", nonce=\(DigestParameters.quoted(nonce)), uri=\(DigestParameters.quoted(uri))"
        text += ", response=\(DigestParameters.quoted(response)), algorithm=MD5"
        if let qop { text += ", cnonce=\(DigestParameters.quoted(qop.cnonce)), qop=auth, nc=\(qop.nc)" }
        if let opaque { text += ", opaque=\(DigestParameters.quoted(opaque))" }
        return text
    }
}

/// RFC 2617 §3.2.2's request-digest with MD5 (`Insecure.MD5`: the protocol fixes the hash).
public enum Digest {
    public static func response(
        username: String, password: String, realm: String, method: String, uri: String, nonce: String,
        qop: DigestCredentials.QopAuth?
    ) -> String {
        let ha1 = md5Hex("\(username):\(realm):\(password)")
        let ha2 = md5Hex("\(method):\(uri)")
        guard let qop else { return md5Hex("\(ha1):\(nonce):\(ha2)") }
        return md5Hex("\(ha1):\(nonce):\(qop.nc):\(qop.cnonce):auth:\(ha2)")
    }

    static func md5Hex(_ text: String) -> String {
        hex(Insecure.MD5.hash(data: Array(text.utf8)))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
