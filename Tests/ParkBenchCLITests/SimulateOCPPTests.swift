import Foundation
import ParkTestSupport
import Testing

/// `simulate --ocpp-csms`: the park's EV chargers, run by the `parkbench` binary as a user runs
/// it, against a central system nobody here wrote (the python `ocpp` package's, schema
/// validation on, basic auth per charger): they boot and report their connectors; a password
/// the CSMS refuses is a warning (some chargers) or exit 3 (none); a URL that is not ws:// is a
/// configuration error naming the option.
@Suite(.serialized) struct SimulateOCPPTests {
    let cli = CLITests()

    static let parkText = """
        park: ocpp-cli
        seed: 5
        zones: [{id: P, floors: 1}]
        populations:
          - {model: starcharge-ac7, zone: P, floor: 1, count: 1, id: "ev-ac-1", parameters: {meter_interval: 1s}}
          - {model: autel-dc120, zone: P, floor: 1, count: 1, id: "ev-dc-1", parameters: {meter_interval: 1s}}
        stimuli:
          - {at: 1s, device: ev-ac-1, stimulus: plug-in, arguments: {connector: 1}}
          - {at: 1s, device: ev-dc-1, stimulus: plug-in, arguments: {connector: 1}}
        """

    /// The CSMS knows both chargers by these passwords.
    static let passwords = ["ev-ac-1": "secret-ac-7Q", "ev-dc-1": "secret-dc-3Z"]

    typealias Line = OCPPPeerLogLine

    static func lines(_ path: String) -> [Line] { OCPPPeerLogLine.read(path) }


    /// A CSMS that expects `passwords`, the park, and a secrets file of `secrets`; runs simulate for `duration`.
    func simulate(secrets: [String: String], duration: String = "4s", extra: [String] = []) throws -> (run: CLITests.Run, log: [Line], directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let log = directory.path("csms.jsonl"), park = directory.path("park.yaml"), secretsFile = directory.path("chargers.secrets")
        try Self.parkText.write(toFile: park, atomically: true, encoding: .utf8)
        try ("# charger passwords\n" + secrets.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: "\n") + "\n")
            .write(toFile: secretsFile, atomically: true, encoding: .utf8)
        let csms = try PythonPeer(script: OCPPPeers.csms, name: "csms", arguments: [
            "--log", log, "--heartbeat", "2",
        ] + Self.passwords.sorted { $0.key < $1.key }.flatMap { ["--password", "\($0)=\($1)"] })
        defer { csms.stop() }
        let run = try cli.parkbench(arguments: [
            "simulate", "--park", park, "--duration", duration, "--show", "none",
            "--ocpp-csms", "ws://127.0.0.1:\(csms.port)/ocpp", "--secrets-file", secretsFile,
        ] + extra)
        return (run, Self.lines(log), directory)
    }

    /// Both chargers connect with their passwords, boot, heartbeat and report their connectors;
    /// every message of theirs passes the 1.6 schema, and no password is printed.
    @Test func chargersBootOnTheCSMSWithTheirPasswords() throws {
        let (run, lines, kept) = try simulate(secrets: Self.passwords)
        defer { withExtendedLifetime(kept) {} }
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("ocpp: 2 chargers (ev-ac-1, ev-dc-1) connect to ws://127.0.0.1:"), "\(run.stdout)")
        #expect(run.stdout.contains("/ocpp/<device id> (OCPP 1.6J, basic auth"), "\(run.stdout)")
        #expect(run.stdout.contains("ocpp: 2 of 2 chargers booted, 2 connected (0 connects failed)"), "\(run.stdout)")
        #expect(!run.stderr.contains("warning"), "\(run.stderr)")
        for password in Self.passwords.values {
            #expect(!run.stdout.contains(password) && !run.stderr.contains(password), "a password was printed")
        }
        #expect(lines.allSatisfy { $0.schemaError == nil }, "schema errors: \(lines.compactMap(\.schemaError))")
        #expect(!lines.contains { $0.type == "invalid" })
        for chargePoint in Self.passwords.keys.sorted() {
            let mine = lines.filter { $0.chargePoint == chargePoint }
            let calls = mine.filter { $0.direction == "in" && $0.type == "call" }
            #expect(calls.first?.action == "BootNotification", "\(chargePoint) boots first: \(calls.map(\.action))")
            #expect(mine.contains { $0.direction == "out" && $0.type == "result" && $0.action == "BootNotification"
                    && $0.payload["status"] as? String == "Accepted" }, "\(chargePoint): the CSMS accepted its boot")
            let statuses = calls.filter { $0.action == "StatusNotification" }
            #expect(!statuses.isEmpty, "\(chargePoint) reported its connectors: \(calls.map(\.action))")
            #expect(statuses.contains { $0.payload["connectorId"] as? Int == 1 && $0.payload["status"] as? String == "Preparing" },
                    "\(chargePoint): plugged in at 1 s: \(statuses.map(\.payload))")
        }
    }

    /// --json carries the OCPP figures beside the run's own.
    @Test func jsonSummaryHasTheOCPPFigures() throws {
        let (run, _, kept) = try simulate(secrets: Self.passwords, duration: "2s", extra: ["--json"])
        defer { withExtendedLifetime(kept) {} }
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        #expect(summary["park"] as? String == "ocpp-cli")
        let ocpp = try #require(summary["ocpp"] as? [String: Any], "\(summary.keys.sorted())")
        #expect(ocpp["chargers"] as? Int == 2 && ocpp["booted"] as? Int == 2 && ocpp["connected"] as? Int == 2, "\(ocpp)")
        #expect((ocpp["calls_sent"] as? Int ?? 0) >= 2 && ocpp["connect_failures"] as? Int == 0, "\(ocpp)")
    }

    /// A password the CSMS does not take: it refuses that charger's handshake (401), the other
    /// runs, and simulate warns that the charger could not connect; the run itself succeeded.
    @Test func aRefusedPasswordIsAWarningNamingTheCSMS() throws {
        let (run, lines, kept) = try simulate(secrets: ["ev-ac-1": Self.passwords["ev-ac-1"]!, "ev-dc-1": "not-the-password"])
        defer { withExtendedLifetime(kept) {} }
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("ocpp: 1 of 2 chargers booted, 1 connected ("), "\(run.stdout)")
        #expect(run.stderr.contains("warning: 1 of 2 chargers not connected to the CSMS at ws://127.0.0.1:"), "\(run.stderr)")
        #expect(run.stderr.contains("refuses it with 401: check the CSMS and --secrets-file"), "\(run.stderr)")
        #expect(!run.stdout.contains("not-the-password") && !run.stderr.contains("not-the-password"))
        #expect(lines.contains { $0.chargePoint == "ev-ac-1" && $0.action == "BootNotification" })
        #expect(!lines.contains { $0.chargePoint == "ev-dc-1" && $0.type == "call" }, "the refused charger never got a socket")
    }

    /// When the CSMS takes no charger at all, the run ends as an unreachable broker does: exit 3.
    @Test func noChargerConnectingIsExitThree() throws {
        let (run, lines, kept) = try simulate(secrets: ["ev-ac-1": "wrong-1", "ev-dc-1": "wrong-2"], duration: "2s")
        defer { withExtendedLifetime(kept) {} }
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("ocpp: 0 of 2 chargers booted, 0 connected ("), "\(run.stdout)")
        #expect(run.stderr.contains("error: no charger could connect to the CSMS at ws://127.0.0.1:"), "\(run.stderr)")
        #expect(!lines.contains { $0.type == "call" })
    }

    /// A URL that is not ws://, or asks for TLS, is a configuration error naming the option.
    @Test func aBadCSMSURLIsAConfigurationError() throws {
        let http = try cli.parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--ocpp-csms", "http://x")
        #expect(http.status == 2)
        #expect(http.stderr.contains("--ocpp-csms must be a ws://host:port/path-prefix URL"), "\(http.stderr)")
        let tls = try cli.parkbench("simulate", "--park", "conformance/parks/demo.yaml", "--duration", "1s", "--ocpp-csms", "wss://127.0.0.1:9000/ocpp")
        #expect(tls.status == 2)
        #expect(tls.stderr.contains("wss:// (TLS, OCPP security profile 2) is not built yet"), "\(tls.stderr)")
        // A park with no charger: said as such, not run without them.
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml")
        try """
            park: no-chargers
            seed: 1
            zones: [{id: A, floors: 1}]
            populations:
              - {model: acme-sd100, zone: A, floor: 1, count: 1, id: "smoke-1"}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let none = try cli.parkbench("simulate", "--park", park, "--duration", "1s", "--ocpp-csms", "ws://127.0.0.1:9/ocpp")
        #expect(none.status == 2)
        #expect(none.stderr.contains("--ocpp-csms: no device in this park has a model whose profile has an ocpp: section"), "\(none.stderr)")
    }

    /// A charger whose model speaks OCPP 2.0.1 is refused before the run, as a configuration error.
    @Test func anOCPP201ChargerIsAConfigurationError() throws {
        let directory = try TemporaryDirectory()
        let park = directory.path("park.yaml")
        try """
            park: ocpp-201
            seed: 1
            zones: [{id: P, floors: 1}]
            populations:
              - {model: abb-terra-ac11, zone: P, floor: 1, count: 1, id: "ev-abb-1"}
            """.write(toFile: park, atomically: true, encoding: .utf8)
        let run = try cli.parkbench("simulate", "--park", park, "--duration", "1s", "--ocpp-csms", "ws://127.0.0.1:9/ocpp")
        #expect(run.status == 2)
        #expect(run.stderr.contains("--ocpp-csms: ev-abb-1: model abb-terra-ac11 speaks OCPP 2.0.1"), "\(run.stderr)")
    }
}
