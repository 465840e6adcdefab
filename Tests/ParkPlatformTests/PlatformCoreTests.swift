import Foundation
import ParkPlatform
import ParkProfiles
import Testing

/// The reference platform's rules, without sockets: alarms, status, sequence accounting, and
/// the fault switches that make it wrong on purpose.
@Suite struct PlatformCoreTests {
    func message(_ device: String, seq: Int, channel: String = "event", name: String, values: String = "{}") -> [UInt8] {
        Array(#"{"device":"\#(device)","kind":"smoke-detector","seq":\#(seq),"msg_id":"\#(device)#\#(seq)","ts":"x","ts_ns":1000,"channel":"\#(channel)","name":"\#(name)","values":\#(values)}"#.utf8)
    }

    func status(_ device: String, _ value: String) -> [UInt8] {
        Array(#"{"device":"\#(device)","kind":"smoke-detector","status":"\#(value)"}"#.utf8)
    }

    let seconds: UInt64 = 1_000_000_000

    /// What the platform decided, without the record of the message itself (every valid message
    /// is recorded for the database).
    func decisions(_ actions: [PlatformCore.Action]) -> [PlatformCore.Action] {
        actions.filter { if case .record = $0 { false } else { true } }
    }

    /// Telemetry is shown northbound with the device's msg_id, scaled by the fault switch; a
    /// vanished device's will does not mark it offline while offline detection is disabled.
    @Test func telemetryIsShownAndFaultsShowInIt() throws {
        var core = PlatformCore(configuration: PlatformConfiguration())
        let shown = core.received(topic: "park/A/env/e1/telemetry",
                                  payload: message("e1", seq: 1, channel: "telemetry", name: "telemetry", values: #"{"pm25":40}"#), now: 5)
        let telemetry = try #require(shown.compactMap { if case .showTelemetry(let value) = $0 { value } else { nil } }.first)
        #expect(telemetry.messageID == "e1#1" && telemetry.values == ["pm25": 40])
        core.faults.valueScaling = 10
        let scaled = core.received(topic: "park/A/env/e1/telemetry",
                                   payload: message("e1", seq: 2, channel: "telemetry", name: "telemetry", values: #"{"pm25":40}"#), now: 6)
        #expect(scaled.contains { if case .showTelemetry(let value) = $0 { value.values == ["pm25": 400] } else { false } })

        core.faults.offlineDetectionDisabled = true
        let will = core.received(topic: "park/A/env/e1/status", payload: status("e1", "offline"), now: 7)
        #expect(decisions(will).isEmpty, "the blinded platform ignores the last will")
        #expect(core.devices["e1"]?.status == .online)
        core.faults.offlineDetectionDisabled = false
        #expect(decisions(core.received(topic: "park/A/env/e1/status", payload: status("e1", "offline"), now: 8))
                == [.statusChanged(device: "e1", from: .online, to: .offline)])
    }

    /// A QoS 1 message delivered again after a reconnect (same msg_id) raises its alarm once; the
    /// fault switch raises it twice. A message whose device time is older than the stale limit
    /// is thrown away under the other switch — and kept without it, however late.
    @Test func aMessageDeliveredAgainIsShownOnceAndStaleOnesOnlyUnderTheSwitch() throws {
        func alarms(_ actions: [PlatformCore.Action]) -> Int { actions.filter { if case .raiseAlarm = $0 { true } else { false } }.count }
        var core = PlatformCore(configuration: PlatformConfiguration(alarmEvents: ["smoke-alarm"]))
        let topic = "park/A/smoke-detector/s1/event"
        #expect(alarms(core.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 2 * seconds)) == 1)
        #expect(core.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 3 * seconds).isEmpty)
        #expect(core.input.duplicatesDropped == 1)
        // The memory is bounded: a msg_id 64 messages back is forgotten.
        for seq in 2 ... 65 { _ = core.received(topic: topic, payload: message("s1", seq: seq, name: "heartbeat"), now: 4 * seconds) }
        #expect(alarms(core.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 5 * seconds)) == 1)
        #expect(core.devices["s1"]?.recentMessageIDs.count == PlatformCore.recentMessageIDs)

        var twice = PlatformCore(configuration: PlatformConfiguration(alarmEvents: ["smoke-alarm"]))
        twice.faults.duplicatesKept = true
        #expect(alarms(twice.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 2 * seconds)) == 1)
        #expect(alarms(twice.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 3 * seconds)) == 1)

        // The message says ts_ns 1000: 5 s later it is stale under a 5 s limit, a nanosecond before it is not.
        var stale = PlatformCore(configuration: PlatformConfiguration(alarmEvents: ["smoke-alarm"]))
        stale.faults.staleAfter = .seconds(5)
        #expect(alarms(stale.received(topic: topic, payload: message("s1", seq: 1, name: "smoke-alarm"), now: 1000 + 5 * seconds)) == 1)
        #expect(stale.received(topic: topic, payload: message("s1", seq: 2, name: "smoke-alarm"), now: 1001 + 5 * seconds).isEmpty)
        #expect(stale.input.staleDropped == 1)
        #expect(alarms(core.received(topic: topic, payload: message("s1", seq: 70, name: "smoke-alarm"), now: 3_600 * seconds)) == 1)
    }

    /// Linkage: an event from a matching device commands the known targets in its zone, on the
    /// command topic learnt from their own topics; the fault switch swallows it.
    @Test func linkageRulesCommandTheZonesTargets() throws {
        let rule = LinkageRule(id: "panic", event: "alarm", kind: "emergency-button", command: "sound", arguments: ["duration": "30s", "level": "3"], targetKind: "sounder")
        var core = PlatformCore(configuration: PlatformConfiguration(linkageRules: [rule]))
        for (zone, id) in [("A", "s-A"), ("B", "s-B")] {
            _ = core.received(topic: "park/\(zone)/sounder/\(id)/status", payload: Array(#"{"device":"\#(id)","kind":"sounder","status":"online"}"#.utf8), now: 1)
        }
        let panic = Array(#"{"device":"p1","kind":"emergency-button","seq":1,"msg_id":"p1#1","channel":"event","name":"alarm","values":{}}"#.utf8)
        let actions = core.received(topic: "park/A/emergency-button/p1/event", payload: panic, now: 2)
        let commands = actions.compactMap { action -> (String, String, String)? in
            if case .sendCommand(let device, let topic, let payload, _, _) = action { (device, topic, String(decoding: payload, as: UTF8.self)) } else { nil }
        }
        #expect(commands.map(\.0) == ["s-A"])
        #expect(commands.first?.1 == "park/A/sounder/s-A/cmd")
        let json = try #require(try JSONSerialization.jsonObject(with: Data((commands.first?.2 ?? "").utf8)) as? [String: Any])
        #expect(json["command"] as? String == "sound" && json["rule"] as? String == "panic" && json["trigger"] as? String == "p1")
        #expect((json["args"] as? [String: Any])?["duration"] as? String == "30s")
        #expect((json["args"] as? [String: Any])?["level"] as? Int == 3)

        core.faults.linkageDropped = true
        let again = Array(String(decoding: panic, as: UTF8.self).replacingOccurrences(of: "p1#1", with: "p1#2").replacingOccurrences(of: #""seq":1"#, with: #""seq":2"#).utf8)
        let swallowed = core.received(topic: "park/A/emergency-button/p1/event", payload: again, now: 3)
        #expect(!swallowed.contains { if case .sendCommand = $0 { true } else { false } })
        #expect(core.linkageDropped == 1 && core.linkageCommands == 1)
    }

    @Test func linkageFilesAreReadStrictly() throws {
        let rules = try LinkageRule.parse("""
            rules:
              - id: r
                when: {event: alarm}
                then: {command: sound, to: {kind: sounder, zone: any}}
            """, file: "r.yaml")
        #expect(rules.first?.targetZone == nil && rules.first?.kind == nil)
        let errors = try #require(throws: ProfileErrors.self) {
            try LinkageRule.parse("""
                rules:
                  - id: r
                    when: {evnt: alarm}
                    then: {command: sound}
                """, file: "bad.yaml")
        }
        let messages = errors.issues.map(\.description)
        #expect(messages.contains { $0.hasPrefix("bad.yaml:3:") && $0.contains("unknown key 'evnt'; did you mean 'event'?") })
        #expect(messages.contains { $0.contains("missing required key 'to'") })
    }

    /// A rule with a list condition: a plate camera's read opens its own lane's barrier only for a
    /// whitelisted plate; `whitelist-ignored` opens it for anyone; `linkage-delay` holds the command.
    @Test func listConditionsDecideWhoIsLetIn() throws {
        let rules = try LinkageRule.parse("""
            lists:
              whitelist: ["京A12345", "沪C24680"]
            rules:
              - id: entrance
                when: {event: plate, kind: lpr-camera, point: plate, in: whitelist}
                then: {command: open, to: {kind: barrier, zone: same}}
              - id: stranger
                when: {event: plate, kind: lpr-camera, point: plate, not-in: whitelist}
                then: {command: show-stranger, to: {kind: guidance-screen, zone: same}}
            """, file: "rules.yaml")
        #expect(rules.first?.condition == LinkageRule.ListCondition(point: "plate", list: "whitelist", members: ["京A12345", "沪C24680"]))
        #expect(rules.last?.condition?.negated == true)
        var core = PlatformCore(configuration: PlatformConfiguration(linkageRules: rules))
        for (zone, id, kind) in [("G1", "barrier-1", "barrier"), ("G2", "barrier-2", "barrier"), ("G1", "screen-1", "guidance-screen")] {
            _ = core.received(topic: "park/\(zone)/\(kind)/\(id)/status", payload: Array(#"{"device":"\#(id)","kind":"\#(kind)","status":"online"}"#.utf8), now: 1)
        }
        var sequence = 0
        func read(_ plate: String) -> [(device: String, delay: Duration)] {
            sequence += 1
            let payload = #"{"device":"lpr-1","kind":"lpr-camera","seq":\#(sequence),"msg_id":"lpr-1#\#(sequence)","channel":"event","name":"plate","values":{"plate":"\#(plate)","confidence":0.97}}"#
            return core.received(topic: "park/G1/lpr-camera/lpr-1/event", payload: Array(payload.utf8), now: UInt64(1 + sequence)).compactMap {
                if case .sendCommand(let device, _, _, _, let delay) = $0 { (device, delay) } else { nil }
            }
        }
        #expect(read("京A12345").map(\.device) == ["barrier-1"], "a whitelisted plate opens its own lane only")
        #expect(read("晋Z99999").map(\.device) == ["screen-1"], "a stranger is shown on the screen, the barrier stays down")
        #expect(core.devices["lpr-1"]?.values["confidence"] == 0.97, "numbers beside the text are kept as ever")
        core.faults.linkageListsIgnored = true
        #expect(Set(read("晋Z99999").map(\.device)) == ["barrier-1", "screen-1"], "whitelist-ignored: every list condition holds")
        core.faults.linkageListsIgnored = false
        core.faults.linkageDelay = .seconds(2)
        #expect(read("沪C24680").map(\.delay) == [.seconds(2)])
        // An event without the value never meets a condition.
        let bare = #"{"device":"lpr-1","kind":"lpr-camera","seq":99,"channel":"event","name":"plate","values":{"confidence":0.5}}"#
        #expect(!core.received(topic: "park/G1/lpr-camera/lpr-1/event", payload: Array(bare.utf8), now: 50).contains {
            if case .sendCommand = $0 { true } else { false }
        })
    }

    /// Arguments take values from the event: an access grant calls the elevator to the
    /// terminal's floor and lights the person's own (LK8); an event without them fires nothing.
    @Test func argumentsTakeTheEventsValues() throws {
        let rules = try LinkageRule.parse("""
            rules:
              - id: lk8-call
                when: {event: granted, kind: access-terminal}
                then: {command: call, arguments: {floor: "{floor}", by: "{person}", note: "lobby {floor}"}, to: {kind: elevator, zone: same}}
            """, file: "rules.yaml")
        #expect(LinkageRule.placeholders(in: "a {x} b {y}{z}") == ["x", "y", "z"])
        var core = PlatformCore(configuration: PlatformConfiguration(linkageRules: rules))
        _ = core.received(topic: "park/A/elevator/lift-1/status", payload: Array(#"{"device":"lift-1","kind":"elevator","status":"online"}"#.utf8), now: 1)
        func grant(_ values: String, seq: Int) -> [String] {
            let payload = #"{"device":"t1","kind":"access-terminal","seq":\#(seq),"channel":"event","name":"granted","values":\#(values)}"#
            return core.received(topic: "park/A/access-terminal/t1/event", payload: Array(payload.utf8), now: UInt64(1 + seq)).compactMap {
                if case .sendCommand(_, _, let payload, _, _) = $0 { String(decoding: payload, as: UTF8.self) } else { nil }
            }
        }
        let sent = try #require(grant(#"{"person":"p-17","floor":1,"home_floor":3}"#, seq: 1).first)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])
        let arguments = try #require(json["args"] as? [String: Any])
        #expect(arguments["floor"] as? Int == 1, "\(sent)")
        #expect(arguments["by"] as? String == "p-17" && arguments["note"] as? String == "lobby 1")
        #expect(grant(#"{"person":"p-17"}"#, seq: 2).isEmpty, "no floor in the event: nothing to call to")
        #expect(core.linkageUnfilled == 1 && core.linkageCommands == 1)
    }

    @Test func listConditionsAreReadStrictly() throws {
        let errors = try #require(throws: ProfileErrors.self) {
            try LinkageRule.parse("""
                lists:
                  whitelist: ["京A12345"]
                  broken: {a: b}
                rules:
                  - id: a
                    when: {event: plate, point: plate, in: whitelst}
                    then: {command: open, to: {kind: barrier}}
                  - id: b
                    when: {event: plate, point: plate, in: whitelist, not-in: whitelist}
                    then: {command: open, to: {kind: barrier}}
                  - id: c
                    when: {event: plate, in: whitelist}
                    then: {command: open, to: {kind: barrier}}
                  - id: d
                    when: {event: plate, point: plate}
                    then: {command: open, to: {kind: barrier}}
                """, file: "bad.yaml")
        }
        let messages = errors.issues.map(\.description)
        #expect(messages.contains { $0.hasPrefix("bad.yaml:3:") && $0.contains("lists.broken") && $0.contains("expected a list of values") })
        #expect(messages.contains { $0.contains("no list 'whitelst' under 'lists'; the lists are: whitelist") })
        #expect(messages.contains { $0.contains("give one of 'in' and 'not-in', not both") })
        #expect(messages.contains { $0.contains("'in' and 'not-in' need 'point'") })
        #expect(messages.contains { $0.contains("'point' needs 'in' or 'not-in'") })
    }

    /// An alarm event goes northbound at once, carrying the device's message id and values.
    @Test func alarmEventsRaiseAlarms() throws {
        var core = PlatformCore(configuration: PlatformConfiguration())
        let actions = core.received(topic: "park/A/smoke-detector/s1/event",
                                    payload: message("s1", seq: 1, name: "smoke-alarm", values: #"{"smoke_density":0.4}"#), now: 5)
        let alarm = try #require(actions.compactMap { if case .raiseAlarm(let alarm, let delay) = $0, delay == .zero { alarm } else { nil } }.first)
        #expect(alarm.device == "s1")
        #expect(alarm.messageID == "s1#1")
        #expect(alarm.values == ["smoke_density": 0.4])
        #expect(actions.contains(.statusChanged(device: "s1", from: nil, to: .online)))
        let heartbeat = core.received(topic: "t", payload: message("s1", seq: 2, name: "heartbeat"), now: 6)
        #expect(decisions(heartbeat).isEmpty, "a heartbeat raises nothing and changes nothing")
        #expect(heartbeat.count == 1, "but it is recorded")
        #expect(core.alarmsRaised == 1)
    }

    /// Status follows retained status/will messages, abnormal events, and silence.
    @Test func statusFollowsDevices() {
        var core = PlatformCore(configuration: PlatformConfiguration(heartbeatTimeout: .seconds(60)))
        _ = core.received(topic: "park/A/k/s1/status", payload: status("s1", "online"), now: 0)
        #expect(core.devices["s1"]?.status == .online)
        _ = core.received(topic: "t", payload: message("s1", seq: 1, name: "fault"), now: 1)
        #expect(core.devices["s1"]?.status == .abnormal)
        _ = core.received(topic: "t", payload: message("s1", seq: 2, name: "fault-clear"), now: 2)
        #expect(core.devices["s1"]?.status == .online)
        #expect(core.tick(now: 59 * seconds).isEmpty)
        #expect(core.tick(now: 61 * seconds) == [.statusChanged(device: "s1", from: .online, to: .offline)])
        _ = core.received(topic: "park/A/k/s1/status", payload: status("s1", "online"), now: 62 * seconds)
        _ = core.received(topic: "park/A/k/s1/status", payload: status("s1", "offline"), now: 63 * seconds)
        #expect(core.devices["s1"]?.status == .offline, "a will marks it offline at once")
    }

    /// Gaps and repeats in a device's sequence are counted.
    @Test func sequenceAccounting() {
        var core = PlatformCore(configuration: PlatformConfiguration())
        for seq in [1, 2, 5, 5, 6] { _ = core.received(topic: "t", payload: message("s1", seq: seq, name: "heartbeat"), now: 1) }
        #expect(core.devices["s1"]?.gaps == 2)
        #expect(core.devices["s1"]?.duplicates == 1)
        #expect(core.devices["s1"]?.lastSequence == 6)
    }

    /// Each fault switch makes the platform wrong in its own way.
    @Test func faultSwitches() throws {
        var slow = PlatformCore(configuration: PlatformConfiguration(), faults: PlatformFaults(alarmDelay: .seconds(3)))
        let delayed = slow.received(topic: "t", payload: message("s1", seq: 1, name: "smoke-alarm"), now: 1)
        #expect(delayed.contains { if case .raiseAlarm(_, let delay) = $0 { delay == .seconds(3) } else { false } })

        var deaf = PlatformCore(configuration: PlatformConfiguration(), faults: PlatformFaults(dropAlarms: true))
        let dropped = deaf.received(topic: "t", payload: message("s1", seq: 1, name: "smoke-alarm"), now: 1)
        #expect(!dropped.contains { if case .raiseAlarm = $0 { true } else { false } })
        #expect(deaf.alarmsDropped == 1)

        var scaled = PlatformCore(configuration: PlatformConfiguration(), faults: PlatformFaults(valueScaling: 10))
        let wrong = scaled.received(topic: "t", payload: message("s1", seq: 1, name: "smoke-alarm", values: #"{"smoke_density":0.4}"#), now: 1)
        let alarm = try #require(wrong.compactMap { if case .raiseAlarm(let alarm, _) = $0 { alarm } else { nil } }.first)
        #expect(alarm.values == ["smoke_density": 4])

        var blind = PlatformCore(configuration: PlatformConfiguration(heartbeatTimeout: .seconds(1)), faults: PlatformFaults(offlineDetectionDisabled: true))
        _ = blind.received(topic: "t", payload: message("s1", seq: 1, name: "heartbeat"), now: 0)
        #expect(blind.tick(now: 100 * seconds).isEmpty)
        #expect(blind.devices["s1"]?.status == .online)

        var fragile = PlatformCore(configuration: PlatformConfiguration(), faults: PlatformFaults(crashAfterMessages: 2))
        _ = fragile.received(topic: "t", payload: message("s1", seq: 1, name: "heartbeat"), now: 0)
        #expect(!fragile.shouldCrash)
        _ = fragile.received(topic: "t", payload: message("s1", seq: 2, name: "heartbeat"), now: 0)
        #expect(fragile.shouldCrash)
    }

    /// Garbage from the wire is counted and reported (never its bytes), never a crash.
    @Test func garbageIsCounted() {
        var core = PlatformCore(configuration: PlatformConfiguration())
        let garbage = core.received(topic: "t", payload: Array("not json".utf8), now: 0)
        #expect(garbage.map(\.refusal?.description) == [#"refused a message on "t" (8 bytes): not a device message: expected a JSON object at byte 0"#])
        let anonymous = core.received(topic: "t", payload: Array(#"{"no":"device"}"#.utf8), now: 0)
        #expect(anonymous.map(\.refusal?.kind) == [.malformed])
        #expect(core.malformed == 2)
        #expect(core.devices.isEmpty)
    }

    /// The northbound alarm JSON carries what a harness correlates on.
    @Test func alarmJSON() throws {
        let alarm = PlatformAlarm(id: 3, device: "s1", kind: "smoke-detector", event: "smoke-alarm", messageID: "s1#4",
                                  deviceTimeNanoseconds: 12, receivedNanoseconds: 34, values: ["x": 1.5])
        let parsed = try JSONSerialization.jsonObject(with: Data(alarm.json))
        let object = try #require(parsed as? [String: Any])
        #expect(object["msg_id"] as? String == "s1#4")
        #expect(object["alarm_id"] as? Int == 3)
        #expect((object["values"] as? [String: Any])?["x"] as? Double == 1.5)
    }
}

extension PlatformCore.Action {
    /// The problem reported, when this is a refusal.
    var refusal: PlatformInputProblem? { if case .refused(let problem) = self { problem } else { nil } }
}
