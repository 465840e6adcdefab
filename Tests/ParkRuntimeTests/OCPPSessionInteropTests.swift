import Foundation
import ParkBindings
import ParkCapture
import ParkCore
import ParkDevices
import ParkEventLoop
@testable import ParkRuntime
import ParkTestSupport
import ParkWire
import Testing

/// A park's EV chargers on OCPP 1.6J through a session, against a central system nobody here
/// wrote: the python `ocpp` package's, with its schema validation on. Boot, status, a remote
/// session with meter values and a charging limit, an unknown action, and the offline queue
/// replayed in order to a CSMS that restarts mid-session.
@Suite(.serialized) struct OCPPSessionInteropTests {
    static let parkText = """
        park: ocpp-test
        seed: 11
        zones: [{id: P, floors: 1}]
        populations:
          - {model: starcharge-ac7, zone: P, floor: 1, count: 1, id: "ev-ac-1", parameters: {meter_interval: 1s}}
          - {model: autel-dc120, zone: P, floor: 1, count: 1, id: "ev-dc-1", parameters: {meter_interval: 1s}}
        """

    typealias Line = OCPPPeerLogLine

    static func lines(_ path: String) -> [Line] { OCPPPeerLogLine.read(path) }

    final class Fixture: Sendable {
        let session: ParkSession
        let binding: OCPPDeviceBinding
        let ledger: Ledger

        init(port: Int) async throws {
            var registry = DeviceKindRegistry()
            for kind in BuiltInKinds.all { try registry.register(kind) }
            let catalog = try ModelCatalog.load(directory: ParkSessionTests.packageRoot.appendingPathComponent("devices").path, kinds: registry)
            let file = try ParkFile.parse(OCPPSessionInteropTests.parkText, file: "park.yaml", catalog: catalog, kinds: registry)
            binding = try OCPPDeviceBinding(devices: file.boundDevices, catalog: catalog, configuration: .init(host: "127.0.0.1", port: port, callTimeout: 5))
            ledger = Ledger()
            session = try await ParkSession(plan: try file.plan(kinds: registry, seed: nil), bindings: .init(ocpp: binding), ledger: ledger)
            _ = try session.openEndpoints()
            await session.start()
        }
    }

    /// Waits up to `seconds` for `condition` over the peer's log.
    static func waitFor(_ what: String, in log: String, seconds: Double = 10, _ condition: ([Line]) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(lines(log)) {
            guard Date() < deadline else {
                let seen = lines(log).map { "\($0.chargePoint) \($0.direction) \($0.type) \($0.action)" }.suffix(40)
                Issue.record("no \(what) within \(seconds) s; the CSMS saw:\n\(seen.joined(separator: "\n"))")
                throw CancellationError()
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    @Test func chargersBootTransactAndAnswerTheCSMSsCalls() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path("csms.jsonl"), script = directory.path("script.json")
        // After each boot: a remote start on connector 1, a 3.7 kW limit, a new heartbeat
        // interval, an unknown action, then a remote stop of the session the CSMS numbered.
        try """
            [{"wait": 1.0},
             {"call": "RemoteStartTransaction", "payload": {"connectorId": 1, "idTag": "TAG-1"}},
             {"wait_for": "StartTransaction", "timeout": 10},
             {"call": "SetChargingProfile", "payload": {"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative", "transactionId": "$tx",
                "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3700.0}]}}}},
             {"call": "ChangeConfiguration", "payload": {"key": "HeartbeatInterval", "value": "1"}},
             {"call": "GetConfiguration", "payload": {"key": ["HeartbeatInterval", "MeterValuesSampledData"]}},
             {"call": "TriggerMessage", "payload": {"requestedMessage": "StatusNotification", "connectorId": 1}},
             {"call": "FooBar", "payload": {}, "raw": true},
             {"wait": 2.5},
             {"call": "RemoteStopTransaction", "payload": {"transactionId": "$tx"}},
             {"wait_for": "StopTransaction", "timeout": 10}]
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let csms = try PythonPeer(script: OCPPPeers.csms, name: "csms", arguments: ["--log", log, "--heartbeat", "30", "--script", script])
        defer { csms.stop() }
        // tshark, a third party, reads the wire: the handshake and every WebSocket frame.
        let pcap = directory.path("ocpp.pcap")
        let capture = try PacketCapture(interface: "lo", filter: "tcp port \(csms.port)", file: pcap)
        capture.start()
        let fixture = try await Fixture(port: csms.port)
        // The EVs are plugged in before the CSMS asks: Preparing, then Charging on its command.
        _ = try await fixture.session.engine.apply(Stimulus("plug-in", arguments: ["connector": .int(1)]), to: "ev-ac-1")
        _ = try await fixture.session.engine.apply(Stimulus("plug-in", arguments: ["connector": .int(1)]), to: "ev-dc-1")

        try await Self.waitFor("two StopTransactions", in: log, seconds: 20) { lines in
            lines.filter { $0.direction == "in" && $0.type == "call" && $0.action == "StopTransaction" }.count == 2
        }
        try await Task.sleep(nanoseconds: 1_500_000_000)  // heartbeats at the new 1 s interval
        await fixture.session.stop()
        try await Task.sleep(nanoseconds: 200_000_000)  // the last segments reach the capture
        _ = capture.stop()
        try Self.expectWellFormedOnTheWire(pcap, port: csms.port)
        let lines = Self.lines(log)
        #expect(lines.allSatisfy { $0.schemaError == nil }, "every answer of ours is schema-valid: \(lines.compactMap(\.schemaError))")
        #expect(!lines.contains { $0.type == "invalid" })
        for chargePoint in ["ev-ac-1", "ev-dc-1"] {
            let mine = lines.filter { $0.chargePoint == chargePoint }
            let calls = mine.filter { $0.direction == "in" && $0.type == "call" }
            #expect(calls.first?.action == "BootNotification", "\(chargePoint) boots first")
            let statuses = calls.filter { $0.action == "StatusNotification" && $0.payload["connectorId"] as? Int == 1 }.compactMap { $0.payload["status"] as? String }
            // Available first when the charger was connected before the EV plugged in; only the
            // latest status when it was not (the offline queue keeps one per connector).
            let afterPlug = Array(statuses.drop { $0 == "Available" })
            #expect(Array(afterPlug.prefix(2)) == ["Preparing", "Charging"], "\(chargePoint): plugged in, then charging on the remote start: \(statuses)")
            #expect(statuses.last == "Finishing", "\(chargePoint): finishing after the remote stop (the EV stays plugged): \(statuses)")
            let start = try #require(calls.first { $0.action == "StartTransaction" })
            #expect(start.payload["idTag"] as? String == "TAG-1")
            let meterStart = try #require(start.payload["meterStart"] as? Int)
            let transaction = try #require(mine.first { $0.direction == "out" && $0.type == "result" && $0.payload["transactionId"] != nil }?.payload["transactionId"] as? Int)
            let meters = calls.filter { $0.action == "MeterValues" }
            #expect(meters.count >= 3, "\(chargePoint): meter values every second of the session")
            #expect(meters.allSatisfy { $0.payload["transactionId"] as? Int == transaction })
            let energy = meters.compactMap { (($0.payload["meterValue"] as? [[String: Any]])?.first?["sampledValue"] as? [[String: Any]])?
                .first { $0["measurand"] as? String == "Energy.Active.Import.Register" }?["value"] as? String }.compactMap(Double.init)
            #expect(energy.count == meters.count && energy == energy.sorted(), "\(chargePoint): the register never runs back: \(energy)")
            let stop = try #require(calls.first { $0.action == "StopTransaction" })
            #expect(stop.payload["transactionId"] as? Int == transaction && stop.payload["reason"] as? String == "Remote")
            #expect((stop.payload["meterStop"] as? Int ?? 0) > meterStart, "\(chargePoint) delivered energy")
            let answers = mine.filter { $0.direction == "in" && ($0.type == "result" || $0.type == "error") }
            #expect(answers.contains { $0.type == "error" && $0.payload["errorCode"] as? String == "NotImplemented" }, "FooBar is NotImplemented")
            #expect(answers.contains { $0.payload["status"] as? String == "Accepted" })
            #expect(calls.filter { $0.action == "Heartbeat" }.count >= 1, "\(chargePoint) heartbeats at the interval the CSMS set")
        }
        // The charging limit shows in the AC charger's power: at most 3.7 kW after the profile.
        let powers = (try fixture.ledger.records()).filter { $0.deviceID == "ev-ac-1" && $0.name == "meter" }
            .compactMap { $0.readings.first { $0.point == "power_w" }?.value.doubleValue }
        #expect(powers.contains { $0 > 3_800 } && powers.contains { $0 > 0 && $0 <= 3_700 }, "7 kW, then limited to 3.7 kW: \(powers)")
        // Every command the CSMS sent reached the device through the engine and is in the ledger.
        let commands = Set((try fixture.ledger.records()).filter { $0.entry == .command }.map(\.name))
        #expect(commands.isSuperset(of: ["remote-start", "set-charging-limit", "remote-stop"]), "\(commands)")
    }

    /// What tshark makes of the capture: each charger's upgrade offers `ocpp1.6` and the CSMS
    /// agrees; every text frame is one OCPP-J JSON array; every frame a charger sent is masked and
    /// none the CSMS sent is (RFC 6455 §5.1); nothing is malformed.
    static func expectWellFormedOnTheWire(_ pcap: String, port: Int) throws {
        let decode = ["-r", pcap, "-d", "tcp.port==\(port),http"]
        let offered = try tshark(decode + ["-Y", "http.request && http.upgrade", "-T", "fields", "-e", "http.sec_websocket_protocol"])
        #expect(offered.split(separator: "\n") == ["ocpp1.6", "ocpp1.6"], "two chargers offer ocpp1.6: \(offered)")
        let agreed = try tshark(decode + ["-Y", "http.response.code == 101", "-T", "fields", "-e", "http.sec_websocket_protocol"])
        #expect(agreed.split(separator: "\n") == ["ocpp1.6", "ocpp1.6"], "\(agreed)")
        let frames = try tshark(decode + ["-Y", "websocket.opcode == 1", "-T", "fields", "-e", "tcp.dstport", "-e", "websocket.mask", "-e", "websocket.payload.text"])
        var toCSMS = 0, fromCSMS = 0
        for line in frames.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2).map(String.init)
            guard fields.count == 3 else { Issue.record("a text frame tshark could not show: \(line)"); continue }
            let fromCharger = fields[0] == String(port)
            if fromCharger { toCSMS += 1 } else { fromCSMS += 1 }
            #expect((fields[1] == "1" || fields[1] == "True") == fromCharger, "masked exactly when a charger sent it: \(line.prefix(120))")
            let json = try? JSONSerialization.jsonObject(with: Data(fields[2].utf8)) as? [Any]
            #expect(json.map { [2, 3, 4].contains($0.first as? Int ?? 0) } == true, "an OCPP-J array: \(fields[2].prefix(120))")
        }
        #expect(toCSMS >= 20 && fromCSMS >= 20, "frames both ways: \(toCSMS) to the CSMS, \(fromCSMS) from it")
        #expect(try tshark(decode + ["-Y", "_ws.malformed || _ws.expert.severity == error"]).isEmpty)
    }

    @Test func theOfflineQueueIsReplayedInOrderToACSMSThatRestarts() async throws {
        let directory = try TemporaryDirectory()
        let firstLog = directory.path("first.jsonl"), secondLog = directory.path("second.jsonl"), script = directory.path("script.json")
        try """
            [{"wait": 0.5}, {"call": "RemoteStartTransaction", "payload": {"connectorId": 1, "idTag": "TAG-Q"}}]
            """.write(toFile: script, atomically: true, encoding: .utf8)
        var csms = try PythonPeer(script: OCPPPeers.csms, name: "csms", arguments: ["--log", firstLog, "--heartbeat", "30", "--script", script])
        let port = csms.port
        let fixture = try await Fixture(port: port)
        defer { Task { await fixture.session.stop() } }
        _ = try await fixture.session.engine.apply(Stimulus("plug-in", arguments: ["connector": .int(1)]), to: "ev-ac-1")
        try await Self.waitFor("a StartTransaction and a meter value", in: firstLog) { lines in
            lines.contains { $0.chargePoint == "ev-ac-1" && $0.action == "MeterValues" && $0.direction == "in" }
        }
        csms.stop()
        // Three seconds offline: meter values pile up, and the driver stops the session at the charger.
        try await Task.sleep(nanoseconds: 2_000_000_000)
        _ = try await fixture.session.engine.apply(Stimulus("swipe", arguments: ["connector": .int(1), "id_tag": .string("TAG-Q")]), to: "ev-ac-1")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        csms = try PythonPeer(script: OCPPPeers.csms, name: "csms", arguments: ["--log", secondLog, "--heartbeat", "30"], port: port)
        defer { csms.stop() }
        try await Self.waitFor("the queued StopTransaction", in: secondLog, seconds: 30) { lines in
            lines.contains { $0.chargePoint == "ev-ac-1" && $0.action == "StopTransaction" && $0.direction == "in" }
        }
        let first = Self.lines(firstLog).filter { $0.chargePoint == "ev-ac-1" }
        let transaction = try #require(first.first { $0.type == "result" && $0.payload["transactionId"] != nil }?.payload["transactionId"] as? Int)
        let replayed = Self.lines(secondLog).filter { $0.chargePoint == "ev-ac-1" && $0.direction == "in" && $0.type == "call" }
        let transactional = replayed.filter { $0.action == "MeterValues" || $0.action == "StopTransaction" }
        #expect(transactional.count >= 3, "meter values from the offline seconds and the stop: \(replayed.map(\.action))")
        #expect(transactional.last?.action == "StopTransaction", "the stop comes after the meter values it closes")
        #expect(transactional.allSatisfy { $0.payload["transactionId"] as? Int == transaction }, "each with the id the first CSMS gave")
        #expect(transactional.first { $0.action == "StopTransaction" }?.payload["reason"] as? String == "Local")
        // In order, none lost, none twice: the wire's meter timestamps are the ledger's, one for one.
        let wireTimes = transactional.filter { $0.action == "MeterValues" }.compactMap { ($0.payload["meterValue"] as? [[String: Any]])?.first?["timestamp"] as? String }
        #expect(wireTimes == wireTimes.sorted() && Set(wireTimes).count == wireTimes.count, "\(wireTimes)")
        let ledgerTimes = (try fixture.ledger.records()).filter { $0.deviceID == "ev-ac-1" && $0.name == "meter" }.map { $0.time.wall.iso8601 }
        let sentFirst = Set(first.filter { $0.action == "MeterValues" && $0.direction == "in" }.compactMap { ($0.payload["meterValue"] as? [[String: Any]])?.first?["timestamp"] as? String })
        let owed = ledgerTimes.filter { !sentFirst.contains($0) }
        #expect(wireTimes.filter { owed.contains($0) } == owed, "every meter value the first CSMS did not get, in order: \(wireTimes) vs \(owed)")
        // At least once: the value the first CSMS took in but had not answered when it stopped is
        // sent again (its answer never came); nothing else it got is.
        let again = wireTimes.filter { !owed.contains($0) }
        #expect(again.count <= 1 && again.allSatisfy { sentFirst.contains($0) && $0 == sentFirst.max() },
                "at most the value in flight at the stop comes again: \(again), the first CSMS got \(sentFirst.sorted())")
    }
}
