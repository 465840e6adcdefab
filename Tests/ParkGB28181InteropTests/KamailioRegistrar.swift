import Foundation
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// kamailio (Debian's package) as an independent GB/T 28181 registrar: `Kamailio/kamailio.cfg`
/// filled in and run in the foreground from a temporary directory, on a free loopback UDP port,
/// with one password per device and its location table readable through `kamcmd`. Stopped
/// (killed if need be) by `stop()` or at deinit.
final class KamailioRegistrar {
    static let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Kamailio/kamailio.cfg").path
    static let realm = "3402000000"
    let port: Int
    let directory: TemporaryDirectory
    let process: ChildProcess
    var controlSocket: String { directory.path("ctl.sock") }

    /// How kamailio answers credentials computed with a wrong password.
    enum WrongPassword {
        /// 403 Forbidden.
        case forbidden
        /// Another 401 with a fresh nonce each time, as registrars with random nonces answer.
        case challengeAgain
    }

    /// kamailio knowing `passwords` (device id → password), ready once this returns.
    init(passwords: [String: String], wrongPassword: WrongPassword = .forbidden) throws {
        guard let kamailio = Self.executable("kamailio"), Self.executable("kamcmd") != nil, let modules = Self.moduleDirectory() else {
            throw BrokerError("kamailio and its modules are missing: install the Debian package kamailio (scripts/deps.sh test)")
        }
        directory = try TemporaryDirectory()
        port = try freeLoopbackPort()
        // Ids are digits and the test passwords plain ASCII: nothing needs quoting in the cfg.
        let entries = passwords.keys.sorted().map { "    $sht(passwords=>\($0)) = \"\(passwords[$0]!)\";" }
        let configuration = try String(contentsOfFile: Self.template, encoding: .utf8)
            .replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@MODULES@", with: modules)
            .replacingOccurrences(of: "@CTL@", with: directory.path("ctl.sock"))
            .replacingOccurrences(of: "@PASSWORDS@", with: entries.joined(separator: "\n"))
            .replacingOccurrences(of: "@ONE_TIME_NONCE@", with: wrongPassword == .challengeAgain ? "1" : "0")
            .replacingOccurrences(
                of: "@WRONG_PASSWORD@",
                with: wrongPassword == .challengeAgain ? "    www_challenge(\"\(Self.realm)\", \"0\");" : "    sl_send_reply(\"403\", \"Forbidden\");")
        let file = directory.path("kamailio.cfg")
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory.path("run"), withIntermediateDirectories: true)
        // -DD: no daemon, the main process stays our child (its workers are its children and
        // end with it); -E: log to stderr, i.e. kamailio.out; -Y: its runtime files stay here.
        process = try ChildProcess(
            kamailio,
            ["-DD", "-E", "-f", file, "-Y", directory.path("run"), "-w", directory.path("run"), "-m", "32", "-M", "8"],
            output: directory.path("kamailio.out"))
        let deadline = ContinuousClock.now + .seconds(10)
        while !(loopbackUDPPortBound(port) && FileManager.default.fileExists(atPath: controlSocket)) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.stop()
                throw BrokerError("kamailio did not bind UDP port \(port) and its control socket: \(logs())")
            }
            usleep(20_000)
        }
    }

    /// Debian puts kamailio and kamcmd in /usr/sbin, which a user's PATH usually lacks.
    static func executable(_ name: String) -> String? {
        if let found = try? executablePath(name) { return found }
        let sbin = "/usr/sbin/" + name
        return FileManager.default.isExecutableFile(atPath: sbin) ? sbin : nil
    }

    /// Debian installs the modules under the multiarch library directory.
    static func moduleDirectory() -> String? {
        let libraries = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
        return (libraries.map { "/usr/lib/\($0)/kamailio/modules" } + ["/usr/lib/kamailio/modules"])
            .first { FileManager.default.fileExists(atPath: $0 + "/registrar.so") }
    }

    /// kamailio's own account of who is registered: the AoRs of its location table and how
    /// many contacts they hold (`ul.dump` through the ctl module's socket).
    func locations() throws -> (aors: [String], contacts: Int) {
        let dump = try control(["ul.dump"])
        guard dump.contains("Domain: location") else { throw BrokerError("kamcmd ul.dump answered: \(dump)\n\(logs())") }
        let lines = dump.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let aors = lines.filter { $0.hasPrefix("AoR: ") }.map { String($0.dropFirst(5)) }
        return (aors, lines.count { $0.hasPrefix("Address: ") })
    }

    /// Runs an RPC command through kamcmd on this kamailio's control socket.
    func control(_ command: [String]) throws -> String {
        try toolOutput(Self.executable("kamcmd") ?? "kamcmd", ["-s", "unix:" + controlSocket] + command)
    }

    func stop() { process.stop(grace: .seconds(5)) }

    func logs() -> String { (try? String(contentsOfFile: directory.path("kamailio.out"), encoding: .utf8)) ?? "" }

    deinit { stop() }
}
