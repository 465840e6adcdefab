import Foundation
import ParkTestSupport

/// A throw-away PKI made with the openssl command line at test time: a CA, a server certificate for
/// 127.0.0.1 signed by it, a client certificate signed by it, and an unrelated "rogue" CA.
/// EC P-256 keys keep generation fast (well under a second in all).
struct TestCertificates {
    let caFile: String
    let serverCertificate: String
    let serverKey: String
    let clientCertificate: String
    let clientKey: String
    let rogueCAFile: String

    init(in directory: TemporaryDirectory) throws {
        let openssl = try executablePath("openssl")
        func run(_ arguments: [String]) throws {
            let log = directory.path("openssl.log")
            let process = try ChildProcess(openssl, arguments, output: log)
            guard process.waitForExit(timeout: .seconds(30)), process.status == 0 else {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw BrokerError("openssl \(arguments.joined(separator: " ")) failed:\n\(output)")
            }
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func path(_ name: String) -> String { directory.path(name) }

        try run(["req", "-x509"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=ParkBench test CA"])
        try run(["req", "-x509"] + ec + ["-keyout", path("rogue.key"), "-out", path("rogue.crt"), "-days", "2", "-subj", "/CN=Rogue CA"])

        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try run(["req"] + ec + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        try run([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("server.crt"), "-days", "2", "-extfile", path("server.ext"),
        ])
        try run(["req"] + ec + ["-keyout", path("client.key"), "-out", path("client.csr"), "-subj", "/CN=tls-device-01"])
        try run([
            "x509", "-req", "-in", path("client.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("client.crt"), "-days", "2",
        ])

        caFile = path("ca.crt")
        serverCertificate = path("server.crt")
        serverKey = path("server.key")
        clientCertificate = path("client.crt")
        clientKey = path("client.key")
        rogueCAFile = path("rogue.crt")
    }
}
