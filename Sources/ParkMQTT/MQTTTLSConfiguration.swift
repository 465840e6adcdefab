/// TLS for one client (`mosquitto_tls_set`, `mosquitto_tls_insecure_set`, `mosquitto_tls_opts_set`).
///
/// The broker certificate is always verified against the CA; its host name is verified against
/// ``MQTTClientConfiguration/host`` unless ``verifyHostname`` is turned off, which only a test
/// against a certificate for another name should do.
public struct MQTTTLSConfiguration: Sendable, Hashable {
    /// PEM file of the CA(s) that signed the broker certificate.
    public var caFile: String?
    /// Directory of hashed CA certificates (`c_rehash`), as an alternative or addition to `caFile`.
    public var caDirectory: String?
    /// PEM client certificate, for brokers with `require_certificate true`.
    public var certificateFile: String?
    /// PEM private key of `certificateFile` (unencrypted: there is no pass-phrase prompt on an I/O thread).
    public var privateKeyFile: String?
    /// Checks the broker certificate's name against the host connected to (off = `tls_insecure`).
    public var verifyHostname: Bool
    /// `tlsv1.3`, `tlsv1.2` or `tlsv1.1`; nil lets OpenSSL negotiate.
    public var version: String?

    public init(
        caFile: String? = nil,
        caDirectory: String? = nil,
        certificateFile: String? = nil,
        privateKeyFile: String? = nil,
        verifyHostname: Bool = true,
        version: String? = nil
    ) {
        self.caFile = caFile
        self.caDirectory = caDirectory
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.verifyHostname = verifyHostname
        self.version = version
    }

    func problems() -> [String] {
        var problems: [String] = []
        if caFile == nil && caDirectory == nil { problems.append("TLS needs caFile or caDirectory") }
        if (certificateFile == nil) != (privateKeyFile == nil) {
            problems.append("TLS client certificate and private key go together")
        }
        return problems
    }
}
