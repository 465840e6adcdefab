import Foundation
import Testing
@testable import ParkCore

/// The video intercom indoor unit plugin (devices/plugins/access/intercom): the `intercom` kind,
/// loaded from the library SwiftPM built and run on the virtual-time engine, checked against
/// seed 004's video-intercom requirements (a door station calls a flat, the resident answers
/// and opens the door, L2425-2466; the unit's lift button, 室内机招梯, L2461-2463; a neighbour's
/// call answered between floors, 层间互访, L2464-2466, LK9).
@Suite struct IntercomPluginTests {
    /// The unit's vocabulary is what the platform rules and suites are written against.
    @Test func intercomDescriptor() throws {
        let descriptor = try intercom().descriptor
        #expect(descriptor.name == "intercom")
        #expect(descriptor.points.map(\.name) == ["floor", "flat", "state", "caller"])
        #expect(descriptor.points.map(\.type) == [.int, .string, .string, .string])
        #expect(descriptor.events.map(\.name) == [
            "ringing", "answered", "missed-call", "hung-up", "door-open-request", "elevator-call", "heartbeat",
        ])
        #expect(descriptor.events.allSatisfy { $0.severity == .info })
        #expect(descriptor.commands.map(\.name) == ["message"])
        let message = try #require(descriptor.commands.first)
        #expect(message.arguments.map(\.name) == ["text"])
        #expect(message.arguments.first?.type == .string && message.arguments.first?.required == true)
        #expect(descriptor.stimuli.map(\.name) == ["ring", "answer", "open-door", "hang-up", "call-elevator"])
        let ring = try #require(descriptor.stimulus(named: "ring")?.arguments)
        #expect(ring.map(\.name) == ["caller"])
        #expect(ring.map(\.type) == [.string] && ring.map(\.required) == [false])
        for name in ["answer", "open-door", "hang-up", "call-elevator"] {
            #expect(descriptor.stimulus(named: name)?.arguments.isEmpty == true, "\(name)")
        }
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "floor": "1", "flat": "", "answer_time": "4s", "answer_jitter": "2s", "answer_rate": "1.0",
            "ring_timeout": "30s", "heartbeat_interval": "1m",
        ])
        #expect(descriptor.parameter(named: "floor")?.type == .int)
        #expect(descriptor.parameter(named: "flat")?.type == .string)
        #expect(descriptor.parameter(named: "answer_rate")?.type == .double)
        for name in ["answer_time", "answer_jitter", "ring_timeout", "heartbeat_interval"] {
            #expect(descriptor.parameter(named: name)?.type == .duration, "\(name)")
        }
        #expect(descriptor.sources == ["004_5e9061d643d5fb41.txt L2425-2466", "004_5e9061d643d5fb41.txt L2461-2466"])
    }

    /// At answer_rate 1 every call is answered answer_time ± answer_jitter after the ring
    /// (4 s ± 2 s by default, 6 s ± 3 s for the Dahua-style profile), spread over the window;
    /// ringing and answered carry their readings in the documented order.
    @Test func ringIsAnsweredWithinAnswerTime() throws {
        for (overrides, low, high) in [
            ([String: String](), UInt64(2_000_000_000), UInt64(6_000_000_000)),
            (["answer_time": "6s", "answer_jitter": "3s", "ring_timeout": "45s"], 3_000_000_000, 9_000_000_000),
        ] {
            let engine = VirtualTimeEngine()
            try engine.add(try intercomPlan(id: "unit-1", floor: 3, overrides: overrides.merging(["flat": "0302"]) { $1 }))
            engine.start()
            var delays: [UInt64] = []
            for index in 0 ..< 300 {
                let caller = index % 2 == 0 ? "door-station" : "flat-0\(index % 9 + 1)01"
                let ring = try engine.apply(Stimulus("ring", arguments: ["caller": .string(caller)]), to: "unit-1")
                let rang = ring.time.monotonic.nanoseconds
                let ringing = try #require(try pluginEvents(engine).last)
                #expect(ringing.name == "ringing" && ringing.time == ring.time)
                #expect(ringing.readings == [
                    Reading("caller", .string(caller)), Reading("floor", .int(3)), Reading("flat", .string("0302")),
                ])
                engine.advance(by: .seconds(20))
                let answered = try #require(try pluginEvents(engine).last)
                #expect(answered.name == "answered")
                #expect(answered.readings == [
                    Reading("floor", .int(3)), Reading("flat", .string("0302")), Reading("caller", .string(caller)),
                ])
                delays.append(answered.time.monotonic.nanoseconds - rang)
                try engine.apply(Stimulus("hang-up"), to: "unit-1")
                let hungUp = try #require(try pluginEvents(engine).last)
                #expect(hungUp.name == "hung-up" && hungUp.readings == [Reading("caller", .string(caller))])
                engine.advance(by: .seconds(60))
            }
            #expect(delays.allSatisfy { (low ... high).contains($0) }, "\(delays.min() ?? 0)…\(delays.max() ?? 0)")
            // Uniform, not a constant: the delays spread over most of the window.
            #expect((delays.max() ?? 0) - (delays.min() ?? 0) > (high - low) * 8 / 10)
            #expect(try pluginEvents(engine, named: "missed-call").isEmpty)
        }
    }

    /// At answer_rate 0 nobody answers: missed-call exactly ring_timeout after the ring, with
    /// the caller; the unit is idle again and takes the next call.
    @Test func unansweredCallIsMissedAfterRingTimeout() throws {
        for (timeout, nanoseconds) in [("30s", UInt64(30_000_000_000)), ("45s", 45_000_000_000)] {
            let engine = VirtualTimeEngine()
            try engine.add(try intercomPlan(id: "unit-1", overrides: ["answer_rate": "0", "ring_timeout": timeout, "heartbeat_interval": "1d"]))
            engine.start()
            for _ in 0 ..< 3 {
                let rang = try engine.apply(Stimulus("ring"), to: "unit-1").time.monotonic.nanoseconds
                engine.advance(by: .minutes(2))
                let events = try pluginEvents(engine).filter { $0.time.monotonic.nanoseconds >= rang }
                #expect(events.map(\.name) == ["ringing", "missed-call"])
                #expect(events[0].readings.first == Reading("caller", .string("door-station")))
                #expect(events[1].readings == [Reading("caller", .string("door-station"))])
                #expect(events[1].time.monotonic.nanoseconds - rang == nanoseconds)
            }
            // Missed: nothing to answer, nothing to hang up.
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("answer"), to: "unit-1") }
            let count = try pluginEvents(engine).count
            try engine.apply(Stimulus("hang-up"), to: "unit-1")
            #expect(try pluginEvents(engine).count == count)
        }
    }

    /// 4,000 calls at answer_rate 0.7: about 70 % answered, the rest missed.
    @Test func answerRate() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "unit-1", seed: 9, overrides: ["answer_rate": "0.7", "heartbeat_interval": "1d"]))
        engine.start()
        let calls = 4_000
        for _ in 0 ..< calls {
            try engine.apply(Stimulus("ring"), to: "unit-1")
            engine.advance(by: .seconds(31))
            try engine.apply(Stimulus("hang-up"), to: "unit-1")
        }
        let answered = try pluginEvents(engine, named: "answered").count
        let missed = try pluginEvents(engine, named: "missed-call").count
        #expect(answered + missed == calls)
        let fraction = Double(answered) / Double(calls)
        #expect(fraction >= 0.67 && fraction <= 0.73, "answered fraction \(fraction)")
    }

    /// The `answer` stimulus answers a ringing unit at once; the pending ring timeout (or the
    /// resident's own answer) is then stale. It is refused when nothing rings.
    @Test func answerStimulus() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "unit-1", overrides: ["answer_rate": "0", "heartbeat_interval": "1d"]))
        try engine.add(try intercomPlan(id: "unit-2", overrides: ["answer_time": "10s", "answer_jitter": "0s", "heartbeat_interval": "1d"]))
        engine.start()
        let refused = #expect(throws: EngineError.self) { try engine.apply(Stimulus("answer"), to: "unit-1") }
        #expect("\(String(describing: refused))".contains("not ringing"))

        for id in ["unit-1", "unit-2"] {
            try engine.apply(Stimulus("ring", arguments: ["caller": .string("flat-0201")]), to: id)
            engine.advance(by: .seconds(3))
            let answer = try engine.apply(Stimulus("answer"), to: id)
            let answered = try #require(try pluginEvents(engine).last)
            #expect(answered.name == "answered" && answered.deviceID == id)
            #expect(answered.time == answer.time)
            #expect(answered.readings == [
                Reading("floor", .int(1)), Reading("flat", .string(id)), Reading("caller", .string("flat-0201")),
            ])
            // Answering again while talking is refused.
            #expect(throws: EngineError.self) { try engine.apply(Stimulus("answer"), to: id) }
            // The ring timeout (unit-1) and the resident's own answer (unit-2) are stale now.
            engine.advance(by: .minutes(2))
            let events = try pluginEvents(engine).filter { $0.deviceID == id }
            #expect(events.map(\.name) == ["ringing", "answered"], "\(id)")
        }
    }

    /// open-door while talking: door-open-request (floor, flat, caller), then hung-up at the
    /// same moment, and the unit is idle; refused when idle or only ringing.
    @Test func openDoorWhileTalking() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "unit-1", floor: 5, overrides: ["flat": "0501", "heartbeat_interval": "1d"]))
        engine.start()
        let idle = #expect(throws: EngineError.self) { try engine.apply(Stimulus("open-door"), to: "unit-1") }
        #expect("\(String(describing: idle))".contains("not talking"))

        try engine.apply(Stimulus("ring"), to: "unit-1")
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("open-door"), to: "unit-1") }
        engine.advance(by: .seconds(10))
        #expect(try pluginEvents(engine).map(\.name) == ["ringing", "answered"])
        let open = try engine.apply(Stimulus("open-door"), to: "unit-1")
        let events = try pluginEvents(engine).filter { $0.time == open.time }
        #expect(events.map(\.name) == ["door-open-request", "hung-up"])
        #expect(events[0].readings == [
            Reading("floor", .int(5)), Reading("flat", .string("0501")), Reading("caller", .string("door-station")),
        ])
        #expect(events[1].readings == [Reading("caller", .string("door-station"))])
        // Idle again: a second press is refused, the next call rings.
        #expect(throws: EngineError.self) { try engine.apply(Stimulus("open-door"), to: "unit-1") }
        try engine.apply(Stimulus("ring"), to: "unit-1")
        #expect(try pluginEvents(engine).last?.name == "ringing")
    }

    /// The lift button reports the flat's floor: the park file's floor when there is one, else
    /// the floor parameter; and the flat, the parameter or else the device id. It works in any
    /// state, even while the unit rings or talks.
    @Test func callElevatorCarriesTheFloor() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "default-floor"))
        try engine.add(try intercomPlan(id: "parameter-floor", overrides: ["floor": "7", "flat": "0702", "heartbeat_interval": "1d"]))
        try engine.add(try intercomPlan(id: "park-floor", floor: 3, overrides: ["floor": "7", "heartbeat_interval": "1d"]))
        engine.start()
        for (id, floor, flat) in [("default-floor", Int64(1), "default-floor"), ("parameter-floor", 7, "0702"), ("park-floor", 3, "park-floor")] {
            let press = try engine.apply(Stimulus("call-elevator"), to: id)
            let call = try #require(try pluginEvents(engine).last)
            #expect(call.name == "elevator-call" && call.deviceID == id && call.time == press.time)
            #expect(call.readings == [Reading("floor", .int(floor)), Reading("flat", .string(flat))], "\(id)")
        }
        try engine.apply(Stimulus("ring"), to: "park-floor")
        try engine.apply(Stimulus("call-elevator"), to: "park-floor")
        engine.advance(by: .seconds(10))
        try engine.apply(Stimulus("call-elevator"), to: "park-floor")
        let events = try pluginEvents(engine).filter { $0.deviceID == "park-floor" }
        #expect(events.map(\.name) == ["elevator-call", "ringing", "elevator-call", "answered", "elevator-call"])
        #expect(events.filter { $0.name == "elevator-call" }.allSatisfy { $0.readings.first == Reading("floor", .int(3)) })
    }

    /// A unit that rings or talks is busy: another ring is refused and changes nothing. hang-up
    /// ends a ringing call too (the resident rejects it), and its pending answer goes stale.
    @Test func busyUnitRefusesRing() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "unit-1", overrides: ["heartbeat_interval": "1d"]))
        engine.start()
        try engine.apply(Stimulus("ring", arguments: ["caller": .string("flat-0201")]), to: "unit-1")
        let ringing = #expect(throws: EngineError.self) { try engine.apply(Stimulus("ring"), to: "unit-1") }
        #expect("\(String(describing: ringing))".contains("busy"))
        engine.advance(by: .seconds(10))
        let talking = #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("ring", arguments: ["caller": .string("door-station")]), to: "unit-1")
        }
        #expect("\(String(describing: talking))".contains("busy"))
        #expect(try pluginEvents(engine).map(\.name) == ["ringing", "answered"])
        #expect(try pluginEvents(engine).last?.readings.last == Reading("caller", .string("flat-0201")))
        try engine.apply(Stimulus("hang-up"), to: "unit-1")

        // Rejected while ringing: hung-up at once, no answer later.
        try engine.apply(Stimulus("ring"), to: "unit-1")
        engine.advance(by: .seconds(1))
        let reject = try engine.apply(Stimulus("hang-up"), to: "unit-1")
        engine.advance(by: .minutes(2))
        let tail = try pluginEvents(engine).suffix(2)
        #expect(tail.map(\.name) == ["ringing", "hung-up"])
        #expect(tail.last?.time == reject.time)

        // Bad callers are refused with the device's own words.
        for (caller, words) in [(PointValue.string(""), "1-64 characters"), (.string(String(repeating: "x", count: 65)), "1-64 characters"), (.int(3), "'caller'")] {
            let error = #expect(throws: EngineError.self) { try engine.apply(Stimulus("ring", arguments: ["caller": caller]), to: "unit-1") }
            #expect("\(String(describing: error))".contains(words), "\(String(describing: error))")
        }
    }

    /// The management centre's message is accepted and emits nothing; heartbeats carry the state.
    @Test func messageAndHeartbeat() throws {
        let engine = VirtualTimeEngine()
        try engine.add(try intercomPlan(id: "unit-1", overrides: ["heartbeat_interval": "10s"]))
        engine.start()
        let result = try engine.send(DeviceCommand("message", arguments: ["text": .string("停水通知")]), to: "unit-1")
        #expect(result.outcome == .accepted)
        try engine.apply(Stimulus("ring"), to: "unit-1")
        engine.advance(by: .seconds(15))
        #expect(try pluginEvents(engine).map(\.name) == ["ringing", "answered"])
        engine.advance(by: .minutes(10))
        let heartbeats = try engine.ledger.records().filter { $0.entry == .emission && $0.name == "heartbeat" }
        #expect((60 ... 62).contains(heartbeats.count))
        #expect(heartbeats.allSatisfy { $0.readings.map(\.point) == ["state"] })
        #expect(heartbeats.last?.readings == [Reading("state", .string("talking"))])
    }

    /// One seed gives one run, byte for byte; another seed another run.
    @Test func intercomIsReproducible() throws {
        let kind = try intercom()
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            try engine.add(try intercomPlan(kind, id: "unit-1", seed: seed, floor: 2, overrides: ["answer_rate": "0.6"]))
            try engine.add(try intercomPlan(kind, id: "unit-2", seed: seed, overrides: ["answer_rate": "0.9", "answer_time": "6s", "answer_jitter": "3s"]))
            engine.start()
            for index in 0 ..< 300 {
                let id = "unit-\(index % 2 + 1)"
                try engine.apply(Stimulus("ring", arguments: ["caller": .string("flat-\(index % 13)")]), to: id)
                engine.advance(by: .seconds(UInt64(5 + index % 11)))
                if (try? engine.apply(Stimulus("open-door"), to: id)) == nil {
                    try engine.apply(Stimulus("hang-up"), to: id)
                }
                try engine.apply(Stimulus("call-elevator"), to: id)
                engine.advance(by: .seconds(3))
            }
            engine.advance(by: .minutes(5))
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 42)
        #expect(first.count > 1_000)
        #expect(try ledgerLines(seed: 42) == first)
        #expect(try ledgerLines(seed: 43) != first)
    }
}

// MARK: - Fixtures

private func intercom() throws -> PluginDeviceKind {
    try builtPluginKind("ParkPluginIntercom")
}

/// One indoor unit with its own random stream of run `seed`, on the park's `floor` if given;
/// heartbeats out of the way unless asked for.
private func intercomPlan(
    _ kind: PluginDeviceKind? = nil, id: String, seed: UInt64 = 1, floor: Int? = nil,
    overrides: [String: String] = ["heartbeat_interval": "1d"]
) throws -> PlannedDevice {
    let kind = try kind ?? intercom()
    return try pluginDevicePlan(kind, id: id, seed: seed, floor: floor, overrides: overrides)
}
