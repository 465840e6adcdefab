@testable import ParkGB28181
import Testing

/// RFC 2617 digest as GB/T 28181 registrars use it: the RFC's own vector, headers both ways, and
/// a verifier that refuses what it should.
@Suite struct SIPDigestTests {
    /// RFC 2617 §3.5.
    @Test func theRFC2617Vector() throws {
        let challenge = try DigestChallenge(headerValue: """
            Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """)
        #expect(challenge.qopAuth && challenge.opaque == "5ccc069c403ebaf9f0171e9517f40e41")
        let credentials = DigestCredentials.answering(
            challenge, method: "GET", uri: "/dir/index.html", username: "Mufasa", password: "Circle Of Life", cnonce: "0a4f113b")
        #expect(credentials.response == "6629fae49393a05397450978507c4ef1")
        #expect(credentials.headerValue.contains("qop=auth, nc=00000001"))
        #expect(try DigestCredentials(headerValue: credentials.headerValue) == credentials)
    }

    @Test func withoutQopTheResponseSkipsNcAndCnonce() throws {
        let challenge = DigestChallenge(realm: "3402000000", nonce: "abc")
        let credentials = DigestCredentials.answering(
            challenge, method: "REGISTER", uri: "sip:34020000002000000001@3402000000", username: "34020000001320000001", password: "12345678", cnonce: "unused")
        let ha1 = Digest.md5Hex("34020000001320000001:3402000000:12345678")
        let ha2 = Digest.md5Hex("REGISTER:sip:34020000002000000001@3402000000")
        #expect(credentials.qop == nil && credentials.response == Digest.md5Hex("\(ha1):abc:\(ha2)"))
        #expect(!credentials.headerValue.contains("cnonce"))
        #expect(try DigestChallenge(headerValue: challenge.headerValue) == challenge)
    }

    @Test func quotedStringsWithEscapesAndMissingCommas() throws {
        let parameters = try DigestParameters(headerValue: #"Digest realm="a \"b\" c\\d" nonce=xyz,algorithm=MD5"#)
        #expect(parameters["realm"] == #"a "b" c\d"# && parameters["NONCE"] == "xyz" && parameters["algorithm"] == "MD5")
        let written = DigestChallenge(realm: #"a "b" c\d"#, nonce: "n").headerValue
        #expect(try DigestChallenge(headerValue: written).realm == #"a "b" c\d"#)
    }

    @Test(arguments: [
        ("Basic realm=\"x\"", DigestError.notDigest(scheme: "Basic")),
        ("Digest realm=\"x", .malformed(offset: 15, reason: "parameter realm's quoted string is not closed")),
        ("Digest realm", .malformed(offset: 12, reason: "parameter realm has no '='")),
        ("Digest nonce=\"n\"", .missing(parameter: "realm")),
        ("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256", .unsupportedAlgorithm("SHA-256")),
        ("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"", .unsupportedQop("auth-int")),
    ])
    func badChallengesAreTypedErrors(header: String, expected: DigestError) {
        #expect(throws: expected) { try DigestChallenge(headerValue: header) }
    }

    @Test func tooManyParametersAreRefused() {
        let header = "Digest " + (0..<40).map { "p\($0)=v" }.joined(separator: ", ")
        #expect(throws: DigestError.tooManyParameters(limit: 32)) { try DigestParameters(headerValue: header) }
    }

    @Test func theVerifierAcceptsTheRightPasswordOnly() throws {
        let verifier = DigestVerifier(realm: "3402000000", secret: Array("test secret".utf8), nonceLifetime: 60)
        for qop in [false, true] {
            let challenge = verifier.challenge(now: 1_000, qopAuth: qop)
            let uri = "sip:34020000002000000001@3402000000"
            func answer(_ password: String) throws -> DigestCredentials {
                let header = DigestCredentials.answering(
                    challenge, method: "REGISTER", uri: uri, username: "34020000001320000001", password: password, cnonce: "c0ffee").headerValue
                return try DigestCredentials(headerValue: header)
            }
            let right = try answer("12345678")
            #expect(verifier.verify(right, method: "REGISTER", requestURI: uri, password: "12345678", now: 1_030) == .valid)
            #expect(verifier.verify(try answer("wrong"), method: "REGISTER", password: "12345678", now: 1_030) == .wrongResponse)
            #expect(verifier.verify(right, method: "REGISTER", password: "12345678", now: 1_061) == .staleNonce)
            #expect(verifier.verify(right, method: "MESSAGE", password: "12345678", now: 1_030) == .wrongResponse)
            #expect(verifier.verify(right, method: "REGISTER", requestURI: "sip:other", password: "12345678", now: 1_030) == .uriMismatch)
            var forged = right
            forged.nonce = "00000000000003e7" + String(forged.nonce.dropFirst(16))  // issued at 999 by its stamp, not by its HMAC
            #expect(verifier.verify(forged, method: "REGISTER", password: "12345678", now: 1_030) == .unknownNonce)
            forged = right
            forged.realm = "other"
            #expect(verifier.verify(forged, method: "REGISTER", password: "12345678", now: 1_030) == .wrongRealm)
        }
        let other = DigestVerifier(realm: "3402000000", secret: Array("another".utf8))
        #expect(other.issueTime(of: verifier.challenge(now: 5).nonce) == nil)
        #expect(verifier.issueTime(of: verifier.challenge(now: 5).nonce) == 5)
    }
}
