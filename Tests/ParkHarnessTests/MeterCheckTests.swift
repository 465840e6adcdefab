import Foundation
import ParkBindings
import ParkCore
@testable import ParkHarness
import ParkPlatform
import ParkReport
import ParkTestSupport
import Testing

/// Meters behind a gateway: the harness serves them over Modbus, the reference gateway polls
/// them and publishes through the reference platform, and the meter checks hold what the platform
/// shows to what the meters answered. Each gateway or platform fault fails its own check.
extension HarnessRuns {
    static let meterPark = """
        park: meters
        seed: 11
        zones: [{id: M, floors: 1}]
        populations:
          - {model: acme-sd100, zone: M, floor: 1, count: 1, id: "smoke-{n}", parameters: {heartbeat_interval: 1m}}
          - {model: acme-em3, zone: M, floor: 1, count: 2, id: "em3-{n}", parameters: {load_interval: 2s}}
          - {model: volt-dts666, zone: M, floor: 1, count: 2, id: "dts-{n}"}
          - {model: grid-dtzy645, zone: M, floor: 1, count: 2, id: "dl-{n}"}
          - {model: aqua-wm20, zone: M, floor: 1, count: 2, id: "wm-{n}"}
        """

    static let meterSuite = """
        suite: t
        checks:
          - id: accuracy
            title: readings as the meters answered
            type: meter-reading
            source: 004_5e9061d643d5fb41.txt L3507
            devices: {zone: M, kind: electric-meter}
            duration: 2s
            expect: ["abs_error <= 0.01%", "samples >= 20", "unmatched == 0"]
          - id: capacity
            title: every meter read
            type: meter-reading
            source: 004_5e9061d643d5fb41.txt L3505
            devices: {ids: [em3-1, em3-2, dts-1, dts-2, dl-1, dl-2, wm-1, wm-2]}
            duration: 2s
            expect: ["electric_meters >= 6", "water_meters >= 2", "missing == 0"]
          - id: period
            title: polled every 300 ms
            type: meter-reading
            source: 004_5e9061d643d5fb41.txt L3511
            devices: {kind: water-meter}
            duration: 2s
            expect: ["period.max <= 500ms", "polled >= 2"]
          - id: offline
            title: a silent meter shows offline, then online
            type: status
            source: 004_5e9061d643d5fb41.txt L3643
            devices: {ids: [em3-2, dl-2]}
            timeout: 5s
            expect: ["offline_within 3s", "online_within 2s"]
          - id: relay
            title: relay-open through the gateway
            type: command
            source: 004_5e9061d643d5fb41.txt L3495
            devices: {ids: [em3-1, dl-1]}
            command: {command: relay-open}
            timeout: 2s
            expect: ["latency.p99 < 1s", "missing == 0", "rejected == 0"]
        """

    /// Runs `meterSuite` against the reference platform with the reference gateway polling the
    /// harness's meters every 300 ms.
    static func runMeters(
        gateway faults: MeterGatewayFaults = MeterGatewayFaults(), platform: PlatformFaults = PlatformFaults(), only: [String] = []
    ) async throws -> RunReport {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (registry, catalog) = try kinds()
        let reference = ReferencePlatform(endpoints: .init(port: broker.port), faults: platform)
        try reference.start()
        defer { reference.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !reference.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(reference.isConnected, "the reference platform did not subscribe")

        let suite = try Suite.parse(meterSuite, file: "suite.yaml")
        let park = try ParkFile.parse(meterPark, file: "park.yaml", catalog: catalog, kinds: registry)
        var profile = try profile(port: broker.port)
        profile.commands?.url = "http://127.0.0.1:\(try reference.startHTTP())/devices/{device}/commands"
        profile.meters?.modbus?.port = 0
        profile.meters?.dlt645?.port = 0
        var configuration = HarnessRunner.Configuration(
            suite: suite, profile: profile, park: park, parkFile: "park.yaml", plan: try park.plan(kinds: registry), kinds: registry,
            seed: park.seed, parkbenchVersion: "test", only: only, settle: .milliseconds(800))
        configuration.catalog = catalog
        let holder = Holder()
        let brokerPort = broker.port
        configuration.devicesUp = { addresses in
            let meters = addresses.modbus.map { address in
                let device = park.devices.first { $0.id == address.device }!
                return MeterGateway.Meter(id: device.id, kind: device.kind, zone: device.placement.zone, host: "127.0.0.1",
                                          port: address.port, unit: address.unit, map: catalog.model(named: device.model)!.modbus!)
            } + addresses.dlt645.map { address in
                MeterGateway.Meter(id: address.device, kind: "electric-meter", zone: "M", host: "127.0.0.1", port: address.port,
                                   link: .dlt645(meter: address.meter))
            }
            var settings = MeterGateway.Configuration(name: "gw-test", period: .milliseconds(300), brokerHost: "127.0.0.1", brokerPort: brokerPort)
            settings.offlineAfter = 2
            settings.timeoutMicroseconds = 200_000
            settings.faults = faults
            let gateway = try MeterGateway(meters: meters, configuration: settings)
            gateway.start()
            holder.gateway.withLock { $0 = gateway }
        }
        defer { holder.gateway.withLock { $0?.stop() } }
        return try await HarnessRunner(configuration: configuration).run()
    }

    final class Holder: Sendable {
        let gateway = Mutex<MeterGateway?>(nil)
    }
}

import Synchronization

@Suite(.serialized) struct MeterCheckTests {
    @Test func meterChecksPassBehindACorrectGateway() async throws {
        let report = try await HarnessRuns.runMeters()
        for check in report.checks {
            #expect(check.verdict == .pass, "\(check.id): \(check.summary) \(check.findings)")
        }
        let accuracy = try #require(report.checks.first { $0.id == "accuracy" })
        #expect((accuracy.metrics["abs_error"]?.percent ?? 1) < 1e-6, "the gateway forwards what it read, unchanged")
        let period = try #require(report.checks.first { $0.id == "period" })
        // Seen at the meters, not assumed: 300 ms between polls.
        #expect(abs((period.metrics["period.p50"]?.value ?? 0) - 300) < 30, "\(period.metrics)")
        let relay = try #require(report.checks.first { $0.id == "relay" })
        #expect(relay.latency?.samples.count == 2)
    }

    /// A platform that scales values, one that never shows a device offline, and one that drops
    /// commands fail the accuracy, offline and relay checks; a gateway that never reports a silent
    /// meter fails offline too. (The same switches on the other checks: `VirtualFaultMatrixTests`.)
    ///
    /// A word-swapped map, a gateway below capacity and one slower than configured each fail
    /// their own check, and say why.
    @Test func platformAndGatewayFaultsFailTheirChecks() async throws {
        // Three independent runs (each its own broker, platform, gateway and free ports), side by
        // side: most of a run is waiting on its checks' windows, and the slowest sets the time.
        async let faultyPlatform = HarnessRuns.runMeters(
            platform: PlatformFaults(valueScaling: 10, offlineDetectionDisabled: true, commandsDropped: true),
            only: ["accuracy", "offline", "relay"])
        async let faultyGateway = HarnessRuns.runMeters(gateway: MeterGatewayFaults(offlineReportsDropped: true), only: ["offline", "relay"])
        async let brokenGateway = HarnessRuns.runMeters(gateway: MeterGatewayFaults(period: .milliseconds(700), meterLimit: 5, wordSwap: true))
        let platform = try await faultyPlatform
        let accuracy = try #require(platform.checks.first { $0.id == "accuracy" })
        #expect(accuracy.verdict == .fail, "a platform showing 10× the meters' readings: \(accuracy.summary)")
        let offline = try #require(platform.checks.first { $0.id == "offline" })
        #expect(offline.verdict == .fail)
        #expect(offline.findings.contains { $0.contains("em3-2: the platform never showed it offline") })
        #expect(offline.findings.contains { $0.contains("dl-2: the platform never showed it offline") })
        let relay = try #require(platform.checks.first { $0.id == "relay" })
        #expect(relay.verdict == .fail && relay.metrics["missing"]?.value == 2, "\(relay.summary)")

        let gateway = try await faultyGateway
        #expect(gateway.checks.first { $0.id == "offline" }?.verdict == .fail)
        #expect(gateway.checks.first { $0.id == "relay" }?.verdict == .pass)

        let report = try await brokenGateway
        func check(_ id: String) throws -> CheckResult { try #require(report.checks.first { $0.id == id }) }
        let swapped = try check("accuracy")
        #expect(swapped.verdict == .fail)
        #expect(swapped.findings.contains { $0.hasPrefix("largest error: em3-") || $0.hasPrefix("largest error: dts-") }, "\(swapped.findings)")
        let capacity = try check("capacity")
        #expect(capacity.verdict == .fail)
        // The first five polled are the Modbus meters in park order (em3-1 … dts-2, wm-1): the
        // second water meter and both DL/T 645 meters are never read.
        #expect(capacity.metrics["missing"]?.value == 3 && capacity.metrics["water_meters"]?.value == 1, "\(capacity.metrics)")
        #expect(capacity.findings.contains { $0.contains("wm-2") && $0.contains("dl-1") })
        let period = try check("period")
        #expect(period.verdict == .fail)
        #expect((period.metrics["period.max"]?.value ?? 0) >= 650, "\(period.metrics)")
    }
}
