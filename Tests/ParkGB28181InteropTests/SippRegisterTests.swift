import Foundation
import ParkGB28181
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Our REGISTER, digest and parser against sipp as an independent GB/T 28181 registrar: sipp's
/// own `verifyauth` decides whether our Authorization is right (issue 14, "Real peers").
@Suite(.serialized) struct SippRegisterTests {
    static let device = "34020000001320000001"
    static let server = "34020000002000000001"
    static let password = "12345678"

    @Test(arguments: [false, true])
    func theRightPasswordRegistersAndAWrongOneIsRefused(qopAuth: Bool) throws {
        let registrar = try SippRegistrar(device: Self.device, password: Self.password, qopAuth: qopAuth, calls: 2)
        defer { registrar.stop() }
        let socket = try UDPSocket(timeoutSeconds: 5)
        defer { socket.close() }

        #expect(try register(through: socket, to: registrar.port, password: Self.password, callID: "gb-right@127.0.0.1", qopAuth: qopAuth) == 200)
        #expect(try register(through: socket, to: registrar.port, password: "not-the-password", callID: "gb-wrong@127.0.0.1", qopAuth: qopAuth) == 403)

        // Both calls done, sipp ends by itself with 0 (every call ran its scenario to the end).
        #expect(registrar.process.waitForExit(timeout: .seconds(10)), "sipp did not exit: \(registrar.logs())")
        #expect(registrar.process.status == 0, "sipp exit status \(String(describing: registrar.process.status)): \(registrar.logs())")
        let logged = try String(contentsOfFile: registrar.directory.path("messages.log"), encoding: .utf8)
        #expect(logged.contains("SIP/2.0 403 Forbidden") && logged.contains("SIP/2.0 200 OK"))
        let scenarios = try FileManager.default.contentsOfDirectory(atPath: SippRegistrar.scenarioDirectory)
        #expect(Set(scenarios) == SippRegistrar.scenarioFiles, "sipp wrote into the repository: \(scenarios)")
    }

    /// One registration as a camera makes it: REGISTER, the 401's challenge, REGISTER with
    /// credentials on the same Call-ID; the final status. Every datagram sipp sends must parse.
    private func register(through socket: UDPSocket, to port: Int, password: String, callID: String, qopAuth: Bool) throws -> Int {
        var random = SystemRandomNumberGenerator()
        let local = "127.0.0.1:\(socket.port)"
        let uri = "sip:\(Self.server)@3402000000"
        let fromTag = SIPIdentifiers.tag(using: &random)
        func request(cseq: Int, authorization: String?) -> SIPMessage {
            var headers = [
                SIPHeader("Via", "SIP/2.0/UDP \(local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
                SIPHeader("From", "<sip:\(Self.device)@3402000000>;tag=\(fromTag)"),
                SIPHeader("To", "<sip:\(Self.device)@3402000000>"),
                SIPHeader("Call-ID", callID),
                SIPHeader("CSeq", "\(cseq) REGISTER"),
                SIPHeader("Contact", "<sip:\(Self.device)@\(local)>"),
                SIPHeader("Max-Forwards", "70"),
                SIPHeader("User-Agent", "ParkBench GB28181"),
                SIPHeader("Expires", "3600"),
            ]
            if let authorization { headers.append(SIPHeader("Authorization", authorization)) }
            return .request(method: "REGISTER", uri: uri, headers: headers)
        }

        try socket.send(request(cseq: 1, authorization: nil).serialized(), toPort: port)
        let challenge = try SIPParser().parse(try socket.receive())
        try #require(challenge.status == 401, "expected 401, got \(String(describing: challenge.startLine))")
        #expect(challenge.callID == callID && challenge.toTag != nil && challenge.cseq?.number == 1)
        let digest = try DigestChallenge(headerValue: try #require(challenge.headers["WWW-Authenticate"]))
        #expect(digest.realm == "3402000000" && digest.qopAuth == qopAuth)

        let credentials = DigestCredentials.answering(
            digest, method: "REGISTER", uri: uri, username: Self.device, password: password,
            cnonce: SIPIdentifiers.token(8, using: &random))
        try socket.send(request(cseq: 2, authorization: credentials.headerValue).serialized(), toPort: port)
        let final = try SIPParser().parse(try socket.receive())
        #expect(final.callID == callID && final.cseq?.number == 2 && final.cseq?.method == "REGISTER")
        if final.status == 200 { #expect(final.expires == 3600) }
        return try #require(final.status)
    }
}

/// sipp on a free loopback UDP port, running a scenario of `Scenarios/` from a temporary
/// directory where its logs also land: a UAS (the registrar scenario and the platform ones) or,
/// given a `remote`, a UAC that calls it. Stopped (killed if need be) by `stop()` or at deinit.
final class SippRegistrar {
    static let scenarioDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scenarios").path
    static let scenarioFiles: Set = [
        "gb28181-registrar-uas.xml", "gb28181-platform-uas.xml", "gb28181-platform-uas-drop-first.xml", "gb28181-camera-uac.xml",
        "gb28181-camera-uac-wrong-password.xml", "gb28181-camera-uac-catalog.xml", "gb28181-platform-subscribe-uac.xml",
    ]
    let port: Int
    let directory: TemporaryDirectory
    let process: ChildProcess

    convenience init(device: String, password: String, qopAuth: Bool, calls: Int) throws {
        try self.init(scenario: "gb28181-registrar-uas.xml", arguments: [
            "-m", String(calls), "-key", "device", device, "-key", "password", password, "-key", "qop", qopAuth ? ", qop=\"auth\"" : "",
        ])
    }

    /// sipp running `scenario` (a file of `Scenarios/`) with `arguments` added to the common ones;
    /// `outOfCall` (also a file of `Scenarios/`) answers requests that belong to no call of it.
    /// With `remote` (a loopback port) sipp is a UAC calling it, and is not waited for: a short
    /// scenario may be over before its port could be seen bound.
    init(scenario name: String, outOfCall: String? = nil, remote: Int? = nil, arguments: [String]) throws {
        directory = try TemporaryDirectory()
        let scenario = directory.path(name)
        try FileManager.default.copyItem(atPath: Self.scenarioDirectory + "/" + name, toPath: scenario)
        var extra: [String] = remote.map { ["127.0.0.1:\($0)"] } ?? []
        if let outOfCall {
            try FileManager.default.copyItem(atPath: Self.scenarioDirectory + "/" + outOfCall, toPath: directory.path(outOfCall))
            extra += ["-oocsf", directory.path(outOfCall)]
        }
        port = try freeLoopbackPort()
        process = try ChildProcess(
            try executablePath("sipp"),
            extra + [
                "-sf", scenario, "-i", "127.0.0.1", "-p", String(port), "-t", "u1", "-nostdin", "-timeout", "30", "-timeout_error",
                "-trace_msg", "-message_file", directory.path("messages.log"),
                "-trace_err", "-error_file", directory.path("errors.log"),
                "-trace_screen", "-screen_file", directory.path("screen.log"),
            ] + arguments,
            output: directory.path("sipp.out"))
        guard remote == nil else { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while !loopbackUDPPortBound(port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.stop()
                throw BrokerError("sipp did not bind UDP port \(port): \(logs())")
            }
            usleep(20_000)
        }
    }

    func stop() { process.stop(grace: .seconds(2)) }

    func logs() -> String {
        ["sipp.out", "errors.log"].map { (try? String(contentsOfFile: directory.path($0), encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    deinit { stop() }
}

/// A loopback UDP socket with a receive timeout: enough of a transport for one test's datagrams.
struct UDPSocket {
    let fd: Int32
    let port: Int

    init(timeoutSeconds: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            Glibc.close(fd)
            throw BrokerError("bind: errno \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func send(_ bytes: [UInt8], toPort port: Int) throws {
        var address = loopbackAddress(port: port)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == bytes.count else { throw BrokerError("sendto: errno \(errno)") }
    }

    func receive() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_535)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw BrokerError("no datagram within the timeout (errno \(errno))") }
        return Array(buffer[0..<count])
    }

    func close() { _ = Glibc.close(fd) }
}
