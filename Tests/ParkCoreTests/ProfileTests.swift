@testable import ParkCore
import ParkProfiles
import ParkVDA5050
import Testing

/// Model profiles and park files: what loads, and the exact messages for what does not.
@Suite struct ProfileTests {
    let kinds = try! DeviceKindRegistry([TickerKind()])

    func catalog() throws -> ModelCatalog {
        ModelCatalog([try ModelProfile.parse("kind: ticker\nmodel: tick-1\n", file: "tick-1.yaml", kinds: kinds)])
    }

    func issues(_ body: () throws -> Void) -> [String] {
        do { try body(); return [] } catch let error as ProfileErrors { return error.issues.map(\.description) } catch {
            return ["unexpected error: \(error)"]
        }
    }

    @Test func loadsAModelProfile() throws {
        let profile = try ModelProfile.parse("""
            kind: ticker
            model: tick-1
            vendor: Acme
            title: A ticker
            parameters:
              period: 250ms
            """, file: "m.yaml", kinds: kinds)
        #expect(profile.model == "tick-1")
        #expect(profile.parameters == ["period": "250ms"])
    }

    /// Coil maps say on_command/off_command: the old `on:`/`off:` keys are read as true/false by
    /// YAML 1.1 parsers, and the message says so.
    @Test func coilKeysThatYAML11ReadsAsBooleansAreRefused() {
        let found = issues {
            _ = try ModelProfile.parse("""
                kind: ticker
                model: tick-1
                modbus:
                  coils:
                    - {point: relay, address: 0, on: relay-close, off: relay-open}
                """, file: "m.yaml")
        }
        #expect(found.contains { $0.contains("modbus.coils[0].on: 'on' is read as true by YAML 1.1 parsers; write on_command") }, "\(found)")
        #expect(found.contains { $0.contains("modbus.coils[0].off: 'off' is read as false by YAML 1.1 parsers; write off_command") })
        let map = try? ModelProfile.parse("""
            kind: ticker
            model: tick-1
            modbus:
              coils:
                - {point: relay, address: 0, on_command: relay-close, off_command: relay-open}
            """, file: "m.yaml").modbus
        #expect(map?.coils.first?.onCommand == "relay-close" && map?.coils.first?.offCommand == "relay-open")
    }

    /// A robot model may carry a simulated firmware defect for proving `certify --robot`; an
    /// unknown one is named with the ones there are.
    @Test func robotDefectsAreReadAndUnknownOnesRefused() throws {
        let profile = try ModelProfile.parse("""
            kind: ticker
            model: bot-1
            vda5050: {manufacturer: Acme, defects: [stale-updates-ignored]}
            """, file: "bot.yaml", kinds: kinds)
        #expect(profile.vda5050?.defects == [.staleUpdatesIgnored])
        let found = issues {
            _ = try ModelProfile.parse("kind: ticker\nmodel: bot-2\nvda5050: {defects: [teleports]}\n", file: "bot.yaml", kinds: kinds)
        }
        let known = VDA5050Defect.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(found == ["bot.yaml:3:21: vda5050.defects[0]: unknown defect 'teleports'; known: \(known)"], "\(found)")
    }

    /// A YAML syntax error names the file, line and column where the parser stopped.
    @Test func syntaxErrorNamesLineAndColumn() {
        let found = issues { _ = try ModelProfile.parse("kind: ticker\nmodel: [unclosed\nvendor: x\n", file: "bad.yaml") }
        #expect(found == [
            "bad.yaml:3:7: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 8)",
        ])
    }

    /// A tab in indentation (a classic) is reported where it is.
    @Test func tabIndentationIsReported() {
        let found = issues { _ = try ModelProfile.parse("kind: ticker\nparameters:\n\tperiod: 1s\n", file: "tab.yaml") }
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("tab.yaml:3:1: YAML syntax error:") == true)
    }

    /// Every problem of a file is reported at once, each at its own line and column.
    @Test func reportsEveryProblemWithItsPlace() {
        let found = issues {
            _ = try ModelProfile.parse("""
                kind: ticker
                model: tick 1
                colour: red
                parameters:
                  perod: 2s
                  emit: maybe
                """, file: "many.yaml", kinds: kinds)
        }
        #expect(found == [
            "many.yaml:2:8: model: model name 'tick 1' may use only letters, digits, '-', '_' and '.'",
            "many.yaml:3:1: unknown key 'colour'; expected one of: kind, model, vendor, title, parameters, mqtt, modbus, dlt645, gb28181, ocpp, http_push, vda5050",
            "many.yaml:5:10: parameters.perod: kind 'ticker' has no parameter 'perod'; did you mean 'period'?",
            "many.yaml:6:9: parameters.emit: parameter 'emit' expects true or false, got 'maybe'",
        ])
    }

    @Test func missingKeysAndUnknownKindAreNamed() {
        #expect(issues { _ = try ModelProfile.parse("vendor: x\n", file: "m.yaml", kinds: kinds) } == [
            "m.yaml:1:1: missing required key 'kind' (a device kind such as smoke-detector)",
            "m.yaml:1:1: missing required key 'model' (the model name parks refer to, e.g. acme-sd100)",
        ])
        #expect(issues { _ = try ModelProfile.parse("kind: toaster\nmodel: t\n", file: "m.yaml", kinds: kinds) } == [
            "m.yaml:1:7: kind: unknown device kind 'toaster'; known kinds: ticker",
        ])
    }

    @Test func emptyAndNonMappingFilesAreExplained() {
        #expect(issues { _ = try ModelProfile.parse("", file: "e.yaml") } == ["e.yaml:1:1: the file is empty; expected a YAML mapping"])
        #expect(issues { _ = try ModelProfile.parse("- a\n- b\n", file: "l.yaml") }
            == ["l.yaml:1:1: expected a device model profile (a mapping of key: value), got a list"])
    }

    @Test func parameterRangeIsChecked() {
        let descriptor = ParameterDescriptor(name: "level", type: .double, defaultValue: "1", minimum: 0, maximum: 100, unit: "%", summary: "")
        guard case .failure(let error) = descriptor.parse("120") else { Issue.record("accepted 120"); return }
        #expect(error.message == "parameter 'level' must be at most 100 %, got '120'")
    }

    /// Populations expand through id patterns, per floor, with parameters merged.
    @Test func parkExpandsPopulations() throws {
        let park = try ParkFile.parse("""
            park: p
            seed: 9
            zones:
              - {id: A, floors: 2}
            populations:
              - model: tick-1
                zone: A
                floors: [1, 2]
                count: 3
                id: "t-{zone}{floor}-{n:02}"
                parameters: {period: 2s}
            stimuli:
              - {at: 1s, device: t-A2-03, stimulus: poke}
            links:
              - {from: t-A1-01, relation: near, to: t-A2-01}
            """, file: "p.yaml", catalog: try catalog(), kinds: kinds)
        #expect(park.devices.map(\.id) == ["t-A1-01", "t-A1-02", "t-A1-03", "t-A2-01", "t-A2-02", "t-A2-03"])
        #expect(park.devices.first?.placement == Placement(zone: "A", floor: 1))
        #expect(park.devices.first?.parameters == ["period": "2s"])
        #expect(park.stimuli.first?.deviceID == "t-A2-03")
        let plan = try park.plan(kinds: kinds)
        #expect(plan.count == 6)
        #expect(plan.first?.setup.parameters.duration("period") == .seconds(2))
        #expect(plan.first?.setup.random == SeededRandom.forDevice("t-A1-01", runSeed: 9))
    }

    @Test func parkProblemsAreReportedTogether() throws {
        let found = issues {
            _ = try ParkFile.parse("""
                park: p
                zones:
                  - {id: A, floors: 2}
                populations:
                  - model: tick-2
                    count: 2
                    id: "x-{n}"
                  - model: tick-1
                    zone: B
                    count: 2
                    id: "y"
                  - model: tick-1
                    count: 1
                    id: "z-{room}"
                stimuli:
                  - {at: soon, device: nobody, stimulus: poke}
                """, file: "p.yaml", catalog: try catalog(), kinds: kinds)
        }
        #expect(found == [
            "p.yaml:5:12: populations[0].model: no device model 'tick-2'; did you mean 'tick-1'?",
            "p.yaml:9:11: populations[1].zone: no zone 'B' in this park; zones: A",
            "p.yaml:11:9: populations[1].id: the id pattern 'y' has no {n}, so 2 devices would share one id",
            "p.yaml:14:9: populations[2].id: unknown placeholder {room} in id pattern; use {zone}, {floor}, {n}, {n:03}, {model} or {kind}",
            "p.yaml:16:10: stimuli[0].at: expected a duration such as 40s, 500ms or 1h30m, got 'soon'",
        ])
    }

    @Test func idPatternsRender() {
        #expect(IDPattern.render("s-{zone}{floor}-{n:03}", zone: "B", floor: 2, n: 7, model: "m", kind: "k") == "s-B2-007")
        #expect(IDPattern.render("{kind}/{model}/{n}", zone: nil, floor: nil, n: 12, model: "m", kind: "k") == "k/m/12")
    }

    @Test func documentTypeIsDetected() throws {
        #expect(try ProfileDocumentType.detect("park: x\n", file: "f").get() == ProfileDocumentType.park)
        #expect(try ProfileDocumentType.detect("kind: x\n", file: "f").get() == ProfileDocumentType.deviceModel)
        #expect(try ProfileDocumentType.detect("suite: x\n", file: "f").get() == ProfileDocumentType.suite)
        #expect(try ProfileDocumentType.detect("platform: x\n", file: "f").get() == ProfileDocumentType.platform)
        guard case .failure(let errors) = ProfileDocumentType.detect("name: x\n", file: "f.yaml") else { Issue.record(); return }
        #expect(errors.description == "f.yaml:1:1: not a ParkBench file: expected a top-level 'kind' (device model profile), 'park' (park file), 'suite' (conformance suite), 'platform' (platform profile) or 'rules' (linkage rules)")
    }
}
