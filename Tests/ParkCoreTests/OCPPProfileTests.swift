@testable import ParkCore
import ParkProfiles
import Testing

/// The `ocpp:` section of an EV charger model profile: what loads, and the exact message, with
/// file:line:column, for each bad key or value.
@Suite struct OCPPProfileTests {
    /// A charger kind as the checks see it (it has connectors), and one that is not.
    struct ChargerCatalog: KindCatalog {
        let descriptors = [
            KindDescriptor(
                name: "charger", summary: "A charger",
                parameters: [ParameterDescriptor(name: "connectors", type: .int, defaultValue: "1", minimum: 1, maximum: 4, summary: "")]),
            KindDescriptor(name: "ticker", summary: "No OCPP"),
        ]
        func descriptor(named name: String) -> KindDescriptor? { descriptors.first { $0.name == name } }
        var names: [String] { descriptors.map(\.name) }
    }

    func issues(_ text: String) -> [String] {
        do { _ = try ModelProfile.parse(text, file: "e.yaml", kinds: ChargerCatalog()); return [] } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func loadsAGoodSection() throws {
        let profile = try ModelProfile.parse("""
            kind: charger
            model: evc-1
            ocpp:
              version: "1.6"
              vendor: Acme Charging
              model: AC7
              firmware: "2.0"
              heartbeat_interval: 120s
              measurands: [Energy.Active.Import.Register, Power.Active.Import, SoC]
              clock_aligned_interval: 15m
            """, file: "e.yaml", kinds: ChargerCatalog())
        #expect(profile.ocpp == ModelOCPPSettings(
            version: .v1_6, vendor: "Acme Charging", model: "AC7", firmware: "2.0", heartbeatInterval: .seconds(120),
            measurands: ["Energy.Active.Import.Register", "Power.Active.Import", "SoC"], clockAlignedInterval: .minutes(15)))
        #expect(profile.ocpp?.version.subprotocol == "ocpp1.6")
        let defaults = try ModelProfile.parse("kind: charger\nmodel: evc-2\nocpp: {}\n", file: "e.yaml", kinds: ChargerCatalog()).ocpp
        #expect(defaults == ModelOCPPSettings())
        #expect(defaults?.heartbeatInterval == .seconds(300))
        #expect(defaults?.clockAlignedInterval == .zero)
        #expect(defaults?.measurands == ["Energy.Active.Import.Register"])
        let v201 = try ModelProfile.parse("kind: charger\nmodel: evc-3\nocpp: {version: 2.0.1, vendor: A vendor name of thirty chars}\n",
                                          file: "e.yaml", kinds: ChargerCatalog()).ocpp
        #expect(v201?.version == .v2_0_1)
        #expect(v201?.version.subprotocol == "ocpp2.0.1")
        #expect(v201?.vendor == "A vendor name of thirty chars", "2.0.1 allows 50 characters")
    }

    @Test func unknownKeyGetsADidYouMean() {
        #expect(issues("kind: charger\nmodel: c\nocpp:\n  heartbeat: 60s\n") == [
            "e.yaml:4:3: ocpp: unknown key 'heartbeat'; expected one of: version, vendor, model, firmware, heartbeat_interval, measurands, clock_aligned_interval",
        ])
        #expect(issues("kind: charger\nmodel: c\nocpp:\n  vendr: X\n") == [
            "e.yaml:4:3: ocpp: unknown key 'vendr'; did you mean 'vendor'?",
        ])
    }

    @Test func badValuesAreEachReportedWhereTheyAre() {
        #expect(issues("""
            kind: charger
            model: c
            ocpp:
              version: "1.5"
              heartbeat_interval: often
              measurands: [Energy.Active.Import, Power.Active.Import, Power.Active.Import, Frequency]
              clock_aligned_interval: 15 minutes
            """) == [
            "e.yaml:4:12: ocpp.version: unknown OCPP version '1.5'; use 1.6 or 2.0.1",
            "e.yaml:5:23: ocpp.heartbeat_interval: expected a duration such as 40s, 500ms or 1h30m, got 'often'",
            "e.yaml:6:16: ocpp.measurands[0]: unknown measurand 'Energy.Active.Import'; use one of: Energy.Active.Import.Register, Power.Active.Import, Current.Import, Voltage, SoC, Temperature, Power.Offered, Current.Offered",
            "e.yaml:6:59: ocpp.measurands[2]: measurand 'Power.Active.Import' is listed twice",
            "e.yaml:6:80: ocpp.measurands[3]: unknown measurand 'Frequency'; use one of: Energy.Active.Import.Register, Power.Active.Import, Current.Import, Voltage, SoC, Temperature, Power.Offered, Current.Offered",
            "e.yaml:7:27: ocpp.clock_aligned_interval: expected a duration such as 40s, 500ms or 1h30m, got '15 minutes'",
        ])
        #expect(issues("kind: charger\nmodel: c\nocpp:\n  measurands: [Power.Active.Imports]\n") == [
            "e.yaml:4:16: ocpp.measurands[0]: unknown measurand 'Power.Active.Imports'; did you mean 'Power.Active.Import'?",
        ])
        #expect(issues("kind: charger\nmodel: c\nocpp:\n  heartbeat_interval: 500ms\n") == [
            "e.yaml:4:23: ocpp.heartbeat_interval: heartbeat_interval must be at least 1s",
        ])
    }

    /// BootNotification's field lengths are the declared version's: 20 for a 1.6 vendor.
    @Test func textsLongerThanBootNotificationAllowsAreRefused() {
        #expect(issues("""
            kind: charger
            model: c
            ocpp:
              vendor: Shenzhen Example Charging
              model: AC7-1P-32A-TETHERED-X
            """) == [
            "e.yaml:4:11: ocpp.vendor: 'Shenzhen Example Charging' is 25 characters; OCPP 1.6 BootNotification allows at most 20 for chargePointVendor",
            "e.yaml:5:10: ocpp.model: 'AC7-1P-32A-TETHERED-X' is 21 characters; OCPP 1.6 BootNotification allows at most 20 for chargePointModel",
        ])
    }

    @Test func aKindWithoutConnectorsIsRefused() {
        #expect(issues("kind: ticker\nmodel: t\nocpp: {version: \"1.6\"}\n") == [
            "e.yaml:3:7: ocpp: kind 'ticker' does not speak OCPP (it has no connectors parameter); use the ev-charger kind",
        ])
    }

    @Test func aSectionThatIsNotAMappingIsExplained() {
        #expect(issues("kind: charger\nmodel: c\nocpp: 1.6\n") == [
            "e.yaml:3:7: ocpp: expected OCPP settings (a mapping of key: value), got the value '1.6'",
        ])
    }
}
