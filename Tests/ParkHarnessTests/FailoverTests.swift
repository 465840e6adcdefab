import Foundation
import ParkBroker
import ParkCore
@testable import ParkHarness
import ParkPlatform
import ParkProfiles
import ParkReport
import ParkTestSupport
import Testing

/// The failover suite on a virtual park against the reference platform: every check passes with
/// the platform healthy and fails under exactly the fault switches that break what it measures —
/// in milliseconds of wall time for minutes of outage.
@Suite struct FailoverVirtualTests {
    static let checks = [
        "failover-zone-partition", "failover-reconnect-storm", "failover-lost-acknowledgements", "failover-broker-restart",
        "failover-primary-frozen", "failover-primary-killed",
    ]

    static let matrix: [(name: String, faults: PlatformFaults, standby: StandbyFaults, failing: [String])] = [
        ("none", PlatformFaults(), StandbyFaults(), []),
        ("stale-events-dropped=5s", { var faults = PlatformFaults(); faults.staleAfter = .seconds(5); return faults }(), StandbyFaults(),
         ["failover-zone-partition", "failover-reconnect-storm", "failover-broker-restart"]),
        ("no-offline-detection", PlatformFaults(offlineDetectionDisabled: true), StandbyFaults(), ["failover-reconnect-storm"]),
        ("duplicates-kept", { var faults = PlatformFaults(); faults.duplicatesKept = true; return faults }(), StandbyFaults(),
         ["failover-lost-acknowledgements"]),
        // Devices reconnect before the platform: what they send first goes to nobody.
        ("clean-session", { var faults = PlatformFaults(); faults.cleanSession = true; return faults }(), StandbyFaults(),
         ["failover-broker-restart"]),
        ("standby-slow-takeover=30s", PlatformFaults(), StandbyFaults(slowTakeover: .seconds(30)), ["failover-primary-frozen", "failover-primary-killed"]),
        // Resumed, the primary raises again what the standby raised while it was paused — and goes
        // on as a second active, so the kill after it finds every alarm raised twice too.
        ("zombie-primary", PlatformFaults(), StandbyFaults(zombiePrimary: true), ["failover-primary-frozen", "failover-primary-killed"]),
        ("standby-forgets-alarms", PlatformFaults(), StandbyFaults(forgetsHeldAlarms: true), ["failover-primary-frozen", "failover-primary-killed"]),
        // Both nodes raise every alarm, from the start: every check that counts duplicates sees them.
        ("split-brain", PlatformFaults(), StandbyFaults(splitBrain: true),
         checks),
    ]

    /// The suite against the reference platform as the demo runs it: a primary and a hot standby.
    static func run(_ faults: PlatformFaults, standby: StandbyFaults = StandbyFaults()) async throws -> [CheckResult] {
        try await HarnessRuns.runVirtual(
            suite: try Suite.load(file: HarnessRuns.path("conformance/suites/failover.yaml")),
            park: try String(contentsOfFile: HarnessRuns.path("conformance/parks/demo.yaml"), encoding: .utf8), faults: faults,
            linkage: [], heartbeatTimeout: .seconds(120), standby: standby)
    }

    @Test(arguments: matrix.indices)
    func eachFaultSwitchFailsExactlyItsChecks(row: Int) async throws {
        let (name, faults, standby, failing) = Self.matrix[row]
        let results = try await Self.run(faults, standby: standby)
        #expect(results.map(\.id) == Self.checks, "\(name): every check ran, in suite order")
        for result in results {
            let expected: RunReport.Verdict = failing.contains(result.id) ? .fail : .pass
            #expect(result.verdict == expected, "\(name): \(result.id) \(result.verdict.rawValue): \(result.summary) \(result.findings.prefix(4))")
        }
    }

    /// The figures are what happened: a healthy platform shows the outage's messages, alarms a hop
    /// after the heal, and nothing twice; the broken ones fail for the reason they should.
    @Test func theFiguresSayWhatHappened() async throws {
        let healthy = try await Self.run(PlatformFaults())
        let partition = try #require(healthy.first { $0.id == "failover-zone-partition" })
        #expect((partition.metrics["tracked"]?.value ?? 0) > 20, "30 s of zone A's telemetry and 4 alarms: \(partition.metrics)")
        #expect(partition.metrics["lost"]?.value == 0)
        #expect((partition.metrics["late_alarm_latency.max"]?.value ?? 1_000) < 50, "a hop or two after the heal")
        #expect((partition.metrics["alarm_age.max"]?.value ?? 0) >= 15_000, "raised halfway through a 30 s outage")
        #expect(partition.metrics["offline_shown"]?.value == 0, "30 s of silence is inside the platform's 120 s heartbeat timeout")

        let storm = try #require(healthy.first { $0.id == "failover-reconnect-storm" })
        #expect((storm.metrics["offline_shown"]?.value ?? 0) >= 10, "every MQTT device's last will: \(storm.metrics)")
        #expect((storm.metrics["offline_detected.max"]?.value ?? 1_000) < 50)

        // The alarms wait in the devices until they reconnect (20 ms after the broker's return),
        // then in the broker until the platform does (1 s after it).
        let restart = try #require(healthy.first { $0.id == "failover-broker-restart" })
        #expect(restart.metrics["lost"]?.value == 0 && (restart.metrics["tracked"]?.value ?? 0) >= 10, "\(restart.metrics)")
        let late = restart.metrics["late_alarm_latency.max"]?.value ?? 0
        #expect(late >= 1_000 && late < 1_100, "held until the platform was back: \(restart.metrics)")

        // Paused, the primary's lease lapses; the standby raises the alarms it held at its takeover,
        // 3 s of lease after the primary's last renewal (at most a second before the pause).
        let frozen = try #require(healthy.first { $0.id == "failover-primary-frozen" })
        let takeover = frozen.metrics["rto.alarms"]?.value ?? 0
        #expect(takeover >= 2_000 && takeover <= 4_100, "\(frozen.metrics)")
        #expect(frozen.metrics["duplicates"]?.value == 0 && frozen.metrics["tracked"]?.value == 24, "12 before the pause, 12 during it: \(frozen.metrics)")

        var clean = PlatformFaults()
        clean.cleanSession = true
        let forgotten = try #require(try await Self.run(clean).first { $0.id == "failover-broker-restart" })
        #expect(forgotten.metrics["lost"]?.value == restart.metrics["tracked"]?.value, "every alarm sent before the platform resubscribed: \(forgotten.summary)")

        var stale = PlatformFaults()
        stale.staleAfter = .seconds(5)
        let lossy = try #require(try await Self.run(stale).first)
        #expect((lossy.metrics["lost"]?.value ?? 0) > 0)
        #expect(lossy.findings.contains { $0.hasPrefix("never shown by the platform: ") }, "\(lossy.findings)")

        var kept = PlatformFaults()
        kept.duplicatesKept = true
        let twice = try #require(try await Self.run(kept).first { $0.id == "failover-lost-acknowledgements" })
        #expect(twice.metrics["duplicates"]?.value == 2, "each of the two panic buttons' alarm, sent again once: \(twice.summary)")
        #expect(twice.findings.contains { $0.hasPrefix("shown more than once: panic-") }, "\(twice.findings)")
    }

    /// Without a standby nothing takes over: the alarms raised after the kill are lost.
    @Test func aPlatformWithoutAStandbyFailsTheKill() async throws {
        let results = try await HarnessRuns.runVirtual(
            suite: try Suite.load(file: HarnessRuns.path("conformance/suites/failover.yaml")),
            park: try String(contentsOfFile: HarnessRuns.path("conformance/parks/demo.yaml"), encoding: .utf8), faults: PlatformFaults(),
            linkage: [], heartbeatTimeout: .seconds(120), only: ["failover-primary-killed"])
        let killed = try #require(results.first)
        #expect(killed.verdict == .fail)
        #expect(killed.metrics["lost"]?.value == 12, "zone A's 12 smoke detectors' alarms after the kill: \(killed.summary)")
        #expect(killed.findings.contains { $0.contains("no standby") }, "\(killed.findings)")
    }

    /// A profile says how to stop and start its broker, both or neither.
    @Test func aProfileNamesHowToRestartItsBroker() throws {
        let base = """
            platform: p
            broker: {url: "mqtt://127.0.0.1:1883"}
            observe:
              mqtt:
                - {topic: a/alarms, as: alarm, fields: {device: $.device, event: $.event}}

            """
        let profile = try PlatformProfile.parse(base + """
            failover:
              broker_stop_command: "systemctl stop mosquitto"
              broker_start_command: "systemctl start mosquitto"
            """, file: "p.yaml")
        #expect(profile.failover?.brokerStopCommand == "systemctl stop mosquitto")
        #expect(BrokerProcessFaults.commands(profile.failover) != nil)
        #expect(BrokerProcessFaults.commands(nil) == nil)
        #expect {
            try PlatformProfile.parse(base + """
                failover:
                  broker_stop_command: "systemctl stop mosquitto"
                """, file: "p.yaml")
        } throws: { error in
            "\(error)".contains("p.yaml:7") && "\(error)".contains("broker_stop_command and broker_start_command go together")
        }
    }

    @Test func aSuiteThatMisspellsTheFaultSaysWhere() throws {
        let text = """
            suite: t
            checks:
              - id: cut
                title: cut
                type: failover
                source: 003_9f407c31254da078.txt L627
                fault: blackout
                alarm: {devices: {kind: emergency-button}, stimulus: {stimulus: press}}
                expect: ["lost == 0"]
            """
        #expect {
            try Suite.parse(text, file: "suite.yaml")
        } throws: { error in
            let message = "\(error)"
            return message.contains("suite.yaml:7") && message.contains("expected one of partition, acks-lost, reset, platform-kill, platform-freeze, broker-restart, got 'blackout'")
                && message.contains("suite.yaml:8") && message.contains("observe")
        }
    }
}

/// The failover checks for real: the park's devices reach mosquitto through the harness's fault
/// proxy, the reference platform sits behind the broker, and the outages are short. A healthy
/// platform passes every check; the platform's own count shows the alarm libmosquitto sent again
/// after the lost acknowledgements arrived and was recognised, so the duplicate check was tested
/// against a real resend, not an absent one.
@Suite(.serialized) struct FailoverLiveTests {
    static let suite = """
        suite: failover-live
        checks:
          - id: partition
            title: zone A cut off, alarms during the outage
            type: failover
            source: 003_9f407c31254da078.txt L627
            devices: {zone: A}
            fault: partition
            duration: 3s
            alarm:
              devices: {kind: smoke-detector}
              stimulus: {stimulus: smoke, arguments: {density: 0.45}}
              observe: {event: smoke-alarm}
              after: [{stimulus: smoke-clear}]
            timeout: 5s
            linger: 1s
            expect: ["lost == 0", "duplicates == 0", "reordered == 0", "late_alarm_latency.p99 < 2s", "tracked >= 8"]
          - id: storm
            title: every connection reset
            type: failover
            source: 000_d2d2437d3c7b6906.txt L684
            fault: reset
            duration: 2s
            alarm:
              devices: {kind: emergency-button}
              stimulus: {stimulus: press}
              observe: {event: alarm}
              after: [{command: reset}]
            timeout: 8s
            linger: 1s
            expect: ["offline_detected.max < 2s", "offline_shown == 9", "rto.online <= 5s", "lost == 0", "late_alarm_latency.p99 < 2s"]
          - id: acks
            title: an alarm sent again is shown once
            type: failover
            source: 004_5e9061d643d5fb41.txt L2714
            devices: {kind: emergency-button}
            fault: acks-lost
            duration: 2s
            alarm:
              devices: {kind: emergency-button}
              stimulus: {stimulus: press}
              observe: {event: alarm}
              after: [{command: reset}]
            timeout: 5s
            linger: 1500ms
            expect: ["duplicates == 0", "lost == 0", "tracked == 1"]
          - id: restart
            title: the broker restarted
            type: failover
            source: 003_9f407c31254da078.txt L627
            fault: broker-restart
            duration: 2s
            alarm:
              devices: {kind: emergency-button}
              stimulus: {stimulus: press}
              observe: {event: alarm}
              after: [{command: reset}]
            timeout: 5s
            linger: 1s
            expect: ["duplicates == 0", "lost == 0", "late_alarm_latency.p99 < 2s", "tracked == 1"]
        """

    @Test func aHealthyPlatformComesThroughRealOutages() async throws {
        // Persistence on: the restart check stops it (SIGTERM, it saves every session) and starts it again.
        let directory = try TemporaryDirectory()
        let broker = try MosquittoBroker(options: MosquittoBroker.persistence(in: directory), directory: directory)
        defer { broker.stop() }
        let (registry, _) = try HarnessRuns.kinds()
        let alarmEvents = Set(registry.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port), configuration: PlatformConfiguration(alarmEvents: alarmEvents))
        try platform.start()
        defer { platform.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !platform.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(platform.isConnected)

        let restarts = BrokerProcessFaults(stop: { broker.stop(); return "mosquitto stopped" }, start: { try broker.start(); return "mosquitto started" })
        let report = try await HarnessRuns.run(Self.suite, broker: broker, apiPort: try platform.startHTTP(), brokerFaults: restarts)
        for check in report.checks {
            #expect(check.verdict == .pass, "\(check.id): \(check.summary) \(check.findings)")
        }
        #expect(report.checks.map(\.id) == ["partition", "storm", "acks", "restart"])
        #expect(platform.inputStatistics.duplicatesDropped >= 1, "the panic alarm came again after the reconnect: \(platform.inputStatistics)")
        // mosquitto really kept the platform's session through its restart (from its persistence file).
        #expect(platform.sessionsResumed >= 1, "the platform's reconnect after the restart found its session")
        #expect(broker.log.contains("Saving in-memory database"), "mosquitto saved its sessions on the way down: \(broker.log.suffix(600))")
    }

    /// A primary and a hot standby on mosquitto: the primary killed, the standby takes over within
    /// its lease timeout and raises the alarm the primary never did. (Without a standby the same
    /// check fails: `FailoverVirtualTests.aPlatformWithoutAStandbyFailsTheKill`.)
    @Test func aStandbyTakesOverFromAKilledPrimary() async throws {
        let suite = """
            suite: kill
            checks:
              - id: kill
                title: primary killed
                type: failover
                source: 003_9f407c31254da078.txt L627
                fault: platform-kill
                duration: 4s
                alarm_at: 500ms
                alarm:
                  devices: {kind: emergency-button}
                  stimulus: {stimulus: press}
                  observe: {event: alarm}
                  after: [{command: reset}]
                timeout: 2s
                linger: 1s
                expect: ["lost == 0", "duplicates == 0", "rto.alarms < 5s", "tracked == 2"]
            """
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (registry, _) = try HarnessRuns.kinds()
        let alarmEvents = Set(registry.all.flatMap { kind in
            kind.descriptor.events.filter { $0.severity == .alarm || $0.severity == .critical }.map(\.name)
        })
        func node(_ name: String, standby: Bool) -> ReferencePlatform {
            let platform = ReferencePlatform(endpoints: .init(port: broker.port), configuration: PlatformConfiguration(alarmEvents: alarmEvents))
            platform.joinPair(StandbySettings(node: name, startsAsStandby: standby))
            return platform
        }
        let primary = node("a", standby: false), standby = node("b", standby: true)
        try primary.start()
        defer { primary.stop() }
        try standby.start()
        defer { standby.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !(primary.isConnected && standby.isConnected), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let report = try await HarnessRuns.run(
            suite, broker: broker, apiPort: try primary.startHTTP(),
            platformFaults: PlatformProcessFaults(kill: { primary.kill(); return "primary" }))
        let check = try #require(report.checks.first)
        #expect(check.verdict == .pass, "\(check.summary) \(check.findings)")
        #expect(!primary.isActive || primary.isCrashed)
        #expect(standby.isActive && standby.tookOverAt != nil)
        // The standby took over only once the lease had gone unrenewed for its 3 s. (Not timed from
        // the kill: under load the primary's once-a-second renewal has been seen to slip by 2.5 s
        // before the kill, and the takeover then rightly comes sooner after it.)
        let lapse = try #require(standby.leaseLapseAtTakeover)
        #expect(lapse > .seconds(3), "the standby took over after the lease had lapsed for \(lapse): \(check.summary)")
    }
}
