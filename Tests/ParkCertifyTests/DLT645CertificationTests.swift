import Foundation
import ParkCore
@testable import ParkCertify
import ParkModbus
import ParkReport
import Testing

/// DL/T 645 certification against meters on ParkModbus's bus endpoint that break one rule each:
/// every check passes for a well-behaved meter and fails, naming the data item, for the meter
/// that breaks it. (`parkbench certify` against the PyPI `dlt645` meter is in the CLI tests.)
@Suite(.serialized) struct DLT645CertificationTests {
    /// A three-phase meter with consistent values (P = Σ V·I·PF); the knobs break one rule each.
    final class Meter: DLT645Meter, @unchecked Sendable {
        let address = DLT645Frame.address("000000000031")!
        /// Answers any data item, the unknown ones with zeros, instead of an error.
        var answersEverything = false
        /// Energy goes down by 1 kWh at every read.
        var energyRunsBackwards = false
        private var energy = 5000.0

        func read(_ identifier: UInt32) -> [UInt8]? {
            let values: [UInt32: Double] = [
                0x0201_0100: 230.0, 0x0201_0200: 231.0, 0x0201_0300: 229.0,
                0x0202_0100: 10.0, 0x0202_0200: 10.0, 0x0202_0300: 10.0,
                0x0203_0000: (230.0 + 231.0 + 229.0) * 10 * 0.9 / 1000, 0x0206_0000: 0.9, 0x0280_0002: 50.0, 0x0002_0000: 12.5,
            ]
            if identifier == 0x0001_0000 {
                if energyRunsBackwards { energy -= 1 } else { energy += 0.01 }
                return DLT645Number(bytes: 4, decimals: 2).encode(energy)
            }
            guard let item = DLT645DataItem.standard.first(where: { $0.identifier == identifier }), let value = values[identifier] else {
                return answersEverything ? [0x00, 0x00] : nil
            }
            return item.number.encode(value)
        }
        func relay(_ code: UInt8) -> UInt8? { 0x04 }
        func synchronise(time: [UInt8]) {}
        var isSilent: Bool { false }
    }

    func certify(_ meter: Meter, number: String? = nil) throws -> [String: CheckResult] {
        let server = DLT645TCPServer()
        server.add(meter)
        try server.start()
        defer { server.stop() }
        let profile = try ModelProfile.parse("kind: electric-meter\nmodel: test-645\ndlt645: {edition: 2007}\n", file: "test-645.yaml")
        var configuration = DLT645Certification.Configuration(host: "127.0.0.1", port: server.port, meter: number, profile: profile)
        configuration.settings.samples = 20
        configuration.settings.interval = .milliseconds(100)
        let results = try DLT645Certification(configuration).run()
        return Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
    }

    @Test func aWellBehavedMeterPassesEveryCheck() throws {
        let results = try certify(Meter())
        #expect(results.values.allSatisfy { $0.verdict == .pass }, "\(results.values.map { "\($0.id): \($0.summary) \($0.findings)" })")
        #expect(results["address"]?.summary == "meter 000000000031")
        #expect(results.count == 9)
    }

    @Test func anUnknownItemAnsweredAsIfItExistedFails() throws {
        let meter = Meter()
        meter.answersEverything = true
        let results = try certify(meter)
        #expect(results["error-unknown-item"]?.verdict == .fail)
        #expect(results["error-unknown-item"]?.findings == ["data item 02010400 (phase D voltage, which no meter has) was answered as if it existed"])
    }

    @Test func energyThatGoesDownFailsNamingTheItem() throws {
        let meter = Meter()
        meter.energyRunsBackwards = true
        let results = try certify(meter, number: "000000000031")
        #expect(results["address"]?.verdict == .skipped)
        #expect(results["energy-monotonic"]?.verdict == .fail)
        #expect(results["energy-monotonic"]?.findings.first?.hasPrefix("energy_import_1 (00010000) went down from") == true,
                "\(results["energy-monotonic"]?.findings ?? [])")
    }

    @Test func aMeterThatIsNotThereIsUnreachable() throws {
        do {
            _ = try certify(Meter(), number: "000000000032")
            Issue.record("a meter that answers nothing cannot be certified")
        } catch let error as DLT645Certification.Failure {
            #expect(error.unreachable)
            #expect(error.description.contains("meter 000000000032 at 127.0.0.1:"))
            #expect(error.description.contains("does not answer"))
        }
    }

    /// Whether a model speaks DL/T 645 is its profile's say (`dlt645:`), not its kind's name; a
    /// kind without the meter's registers cannot declare it.
    @Test func aProfileWithoutDLT645IsRefused() throws {
        for text in ["kind: water-meter\nmodel: test-wm\n", "kind: electric-meter\nmodel: modbus-only\n"] {
            let profile = try ModelProfile.parse(text, file: "test.yaml")
            do {
                _ = try DLT645Certification(.init(host: "127.0.0.1", port: 1, meter: nil, profile: profile)).run()
                Issue.record("\(profile.model) has no dlt645: section")
            } catch {
                #expect(!error.unreachable)
                #expect(error.description.hasPrefix("test.yaml (kind \(profile.kind)) has no dlt645: section"))
            }
        }
    }
}
