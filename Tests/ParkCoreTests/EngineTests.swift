import Foundation
import Testing
@testable import ParkCore

/// The virtual-time and real-time engines and their shared timer queue.
@Suite struct EngineTests {
    /// Timers fire in deadline order, ties first-in first-out.
    @Test func timerQueueOrdersByDeadlineThenInsertion() {
        var queue = TimerQueue()
        queue.insert(deadline: MonotonicInstant(nanoseconds: 30), slot: 0, tag: 1)
        queue.insert(deadline: MonotonicInstant(nanoseconds: 10), slot: 1, tag: 2)
        queue.insert(deadline: MonotonicInstant(nanoseconds: 10), slot: 2, tag: 3)
        #expect(queue.popDue(at: MonotonicInstant(nanoseconds: 5)) == nil)
        let fired = (0..<3).compactMap { _ in queue.popDue(at: MonotonicInstant(nanoseconds: 100))?.tag }
        #expect(fired == [2, 3, 1])
    }

    /// An hour of virtual time with 1 s tickers fires each one 3,600 times, exactly on time.
    @Test func virtualEngineRunsHoursInstantly() throws {
        let engine = VirtualTimeEngine()
        for device in tickerPlan(count: 10) { try engine.add(device) }
        engine.advance(by: .hours(1))
        let ticks = try engine.ledger.records().filter { $0.name == "tick" }
        #expect(ticks.count == 36_000)
        #expect(engine.now == MonotonicInstant.zero.advanced(by: .hours(1)))
        // Every tick of a device is exactly one period after its previous one.
        let byDevice = Dictionary(grouping: ticks, by: \.deviceID)
        for (_, records) in byDevice {
            let times = records.map(\.time.monotonic.nanoseconds)
            #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 1_000_000_000 })
            #expect(records.map(\.deviceSequence) == Array(1...UInt64(records.count)))
        }
    }

    /// The scheduler stays correct under many timers: every device fires once per period, in
    /// deadline order, none lost and none doubled. (25,000 here, so the unit tests stay quick on a
    /// debug build; `parkbench-bench timers --devices 100000` runs the full scale, release-built.)
    @Test func virtualEngineHandlesManyTimers() throws {
        let engine = VirtualTimeEngine(ledger: Ledger(memoryLimit: 50_000))
        for device in tickerPlan(count: 25_000) { try engine.add(device) }
        engine.advance(by: .seconds(3))
        let records = try engine.ledger.records()
        #expect(records.count == 75_000, "more than the ledger keeps in memory: the spill is read back too")
        let perDevice = Dictionary(grouping: records, by: \.deviceID).mapValues(\.count)
        #expect(perDevice.count == 25_000)
        #expect(perDevice.values.allSatisfy { $0 == 3 })
        let times = records.map(\.time.monotonic)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }, "emissions must come in time order")
    }

    /// The real-time engine runs many timers on the event loops (25,000 here; the benchmark runs
    /// 100,000, release-built); every device ticks, and the lateness figures are measured (their
    /// size is the benchmark's business, not this test's).
    @Test func realTimeEngineRunsManyTimers() async throws {
        let engine = try await RealTimeEngine(plan: tickerPlan(count: 25_000, period: "500ms", emit: false), threads: 2)
        await engine.start()
        let start = engine.clock.now().monotonic
        var statistics = await engine.statistics()
        while statistics.firedTimers < 50_000, engine.clock.now().monotonic.duration(since: start) < .seconds(30) {
            try await Task.sleep(nanoseconds: 100_000_000)
            statistics = await engine.statistics()
        }
        await engine.stop()
        #expect(statistics.devices == 25_000)
        #expect(statistics.pendingTimers == 25_000, "each device keeps exactly one timer pending")
        #expect(statistics.firedTimers >= 50_000)
        #expect(statistics.lateness.count == statistics.firedTimers)
    }

    /// Stimuli and commands reach the device on its loop and are recorded in the ledger.
    @Test func realTimeEngineDeliversStimuliAndCommands() async throws {
        let engine = try await RealTimeEngine(plan: tickerPlan(count: 4, period: "1h"), threads: 2)
        await engine.start()
        try await engine.apply(Stimulus("poke"), to: "t3")
        let result = try await engine.send(DeviceCommand("ping", id: "cmd-1"), to: "t2")
        #expect(result.outcome == .accepted)
        await #expect(throws: EngineError.unknownDevice("nope")) { try await engine.apply(Stimulus("poke"), to: "nope") }
        await #expect(throws: EngineError.device(id: "t1", DeviceError("ticker has no stimulus 'shake'"))) {
            try await engine.apply(Stimulus("shake"), to: "t1")
        }
        await engine.stop()
        let records = try engine.ledger.records()
        #expect(records.contains { $0.entry == .stimulus && $0.deviceID == "t3" && $0.name == "poke" })
        #expect(records.contains { $0.entry == .emission && $0.deviceID == "t3" && $0.name == "poked" })
        let command = try #require(records.first { $0.entry == .command })
        #expect(command.messageID == "cmd-1")
        #expect(command.detail == "accepted")
        #expect(command.readings == [Reading("reply", .string("pong"))])
    }

    /// Ids must be unique in a run.
    @Test func duplicateDeviceIdsAreRefused() async throws {
        let plan = tickerPlan(count: 2) + tickerPlan(count: 1)
        await #expect(throws: EngineError.duplicateDevice("t0")) { _ = try await RealTimeEngine(plan: plan, threads: 1) }
        let engine = VirtualTimeEngine()
        #expect(throws: EngineError.duplicateDevice("t0")) { for device in plan { try engine.add(device) } }
    }
}
