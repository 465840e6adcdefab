import Foundation
@testable import ParkMQTT
@testable import ParkPlatform
import Synchronization
import Testing

/// The reference platform's time rules on a ``ManualPlatformClock``: what it publishes, and at
/// which instant of the clock, with no broker and no waiting. (The same platform against a real
/// broker is in ParkBindingsTests.)
@Suite struct ReferencePlatformClockTests {
    /// What the platform published, with the clock's time at each publication.
    final class Recorder: PlatformOutlet {
        struct Publication { var topic: String; var payload: [UInt8]; var at: UInt64 }
        let clock: ManualPlatformClock
        private let published = Mutex<[Publication]>([])
        init(clock: ManualPlatformClock) { self.clock = clock }
        func publish(topic: String, payload: [UInt8], qos: MQTTQoS) {
            let now = clock.now()
            published.withLock { $0.append(Publication(topic: topic, payload: payload, at: now)) }
        }
        func on(_ topic: String) -> [Publication] { published.withLock { $0.filter { $0.topic == topic } } }
        func objects(on topic: String) -> [[String: Any]] {
            on(topic).compactMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] }
        }
    }

    let second: UInt64 = 1_000_000_000

    func platform(faults: PlatformFaults = PlatformFaults(), heartbeatTimeout: Duration = .seconds(30))
        -> (ReferencePlatform, ManualPlatformClock, Recorder)
    {
        let clock = ManualPlatformClock()
        let recorder = Recorder(clock: clock)
        let platform = ReferencePlatform(
            endpoints: .init(), configuration: PlatformConfiguration(heartbeatTimeout: heartbeatTimeout), faults: faults, clock: clock,
            outlet: recorder)
        platform.startTicking()
        return (platform, clock, recorder)
    }

    func event(_ device: String, seq: Int, name: String, kind: String = "smoke-detector") -> [UInt8] {
        Array(#"{"device":"\#(device)","kind":"\#(kind)","seq":\#(seq),"msg_id":"\#(device)#\#(seq)","ts_ns":1,"channel":"event","name":"\#(name)","values":{}}"#.utf8)
    }

    /// A healthy platform raises the alarm at the instant the event arrives; `alarm-delay`
    /// holds it back exactly its delay on the platform's clock, not a moment less.
    @Test func alarmDelayHoldsTheAlarmBackExactlyItsDelay() throws {
        let (healthy, healthyClock, healthyOut) = platform()
        let arrived = healthyClock.now()
        healthy.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 1, name: "smoke-alarm"))
        #expect(healthyOut.on("platform/alarms").map(\.at) == [arrived])

        let (slow, clock, out) = platform(faults: PlatformFaults(alarmDelay: .milliseconds(2_500)))
        let sent = clock.now()
        slow.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 1, name: "smoke-alarm"))
        clock.advance(by: .milliseconds(2_499))
        #expect(out.on("platform/alarms").isEmpty, "held back while the delay lasts")
        clock.advance(by: .milliseconds(1))
        let alarms = out.on("platform/alarms")
        #expect(alarms.map(\.at) == [sent + 2_500_000_000])
        #expect(slow.counters.raised == 1)
    }

    /// A silent device goes offline on the first sweep after its heartbeat timeout, with the
    /// status stamped at that instant; with offline detection off it never does.
    @Test func silentDeviceGoesOfflineOnTheSweepAfterItsTimeout() throws {
        let (live, clock, out) = platform(heartbeatTimeout: .seconds(30))
        let heard = clock.now()
        live.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 1, name: "heartbeat"))
        #expect(out.objects(on: "platform/status").map { $0["status"] as? String } == ["online"])
        clock.advance(by: .seconds(30))
        #expect(out.objects(on: "platform/status").count == 1, "not yet: 30 s of silence is the limit, not past it")
        clock.advance(by: .seconds(1))
        let statuses = out.objects(on: "platform/status")
        #expect(statuses.map { $0["status"] as? String } == ["online", "offline"])
        let offlineAt = try #require(statuses.last?["ts_ns"] as? NSNumber).uint64Value
        #expect(offlineAt == heard + 31 * second, "stamped by the sweep that noticed, one second after the limit")

        let (blind, blindClock, blindOut) = platform(faults: PlatformFaults(offlineDetectionDisabled: true), heartbeatTimeout: .seconds(30))
        blind.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 1, name: "heartbeat"))
        blindClock.advance(by: .seconds(600))
        #expect(blindOut.objects(on: "platform/status").map { $0["status"] as? String } == ["online"])
        #expect(blind.devices["s1"]?.status == .online)
    }

    /// The sweep keeps its one-second beat however far the clock jumps in one step: each device
    /// goes offline at the first second past its own timeout.
    @Test func sweepsRunOncePerSecondOfClockTime() {
        let (platform, clock, out) = platform(heartbeatTimeout: .seconds(5))
        for (index, device) in ["s1", "s2", "s3"].enumerated() {
            platform.receive(topic: "park/A/smoke-detector/\(device)/event", payload: event(device, seq: 1, name: "heartbeat"))
            clock.advance(by: .seconds(2 * index + 1))
        }
        // Heard at t=0, 1, 4 (the clock then stands at 9): s1 and s2 are past 5 s by t=6 and t=7.
        let offline = out.objects(on: "platform/status").filter { $0["status"] as? String == "offline" }
        #expect(offline.compactMap { $0["device"] as? String } == ["s1", "s2"])
        clock.advance(by: .seconds(1))
        #expect(out.objects(on: "platform/status").filter { $0["status"] as? String == "offline" }.count == 3)
    }

    /// `crash-after-messages`: the platform stops deciding anything, its sweep included.
    @Test func crashedPlatformSaysNothingMore() {
        let (platform, clock, out) = platform(faults: PlatformFaults(crashAfterMessages: 1), heartbeatTimeout: .seconds(5))
        platform.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 1, name: "heartbeat"))
        #expect(platform.isCrashed)
        platform.receive(topic: "park/A/smoke-detector/s1/event", payload: event("s1", seq: 2, name: "smoke-alarm"))
        clock.advance(by: .seconds(60))
        #expect(out.on("platform/alarms").isEmpty && out.on("platform/status").isEmpty)
        #expect(platform.messagesIgnoredAfterCrash == 1)
    }
}

/// The manual clock itself: work in deadline order at its own instant, repeats, cancellation,
/// and threads waiting on it.
@Suite struct ManualPlatformClockTests {
    @Test func runsWorkInDeadlineOrderAtItsOwnInstant() {
        let clock = ManualPlatformClock(start: 0)
        let seen = Mutex<[(String, UInt64)]>([])
        clock.schedule(after: .seconds(3)) { seen.withLock { $0.append(("b", clock.now())) } }
        clock.schedule(after: .seconds(1)) {
            seen.withLock { $0.append(("a", clock.now())) }
            clock.schedule(after: .seconds(1)) { seen.withLock { $0.append(("a+1", clock.now())) } }
        }
        let repeating = clock.scheduleRepeating(every: .milliseconds(1_500)) { seen.withLock { $0.append(("r", clock.now())) } }
        clock.advance(by: .seconds(3))
        repeating.cancel()
        clock.advance(by: .seconds(10))
        let order = seen.withLock { $0.map { "\($0.0)@\($0.1 / 1_000_000)" } }
        // At one instant, what was scheduled first runs first: b (scheduled at 0) before r (re-armed at 1.5 s).
        #expect(order == ["a@1000", "r@1500", "a+1@2000", "b@3000", "r@3000"])
        #expect(clock.now() == 13_000_000_000)
    }

    @Test func waitReturnsWhenTheClockPassesTheDeadlineOrOnAWake() {
        let clock = ManualPlatformClock(start: 0)
        let wake = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let sawAt = Mutex<UInt64>(0)
        Thread.detachNewThread {
            clock.wait(until: 5_000_000_000, or: wake)
            sawAt.withLock { $0 = clock.now() }
            done.signal()
        }
        // The waiter may not have registered yet: either way it must not return before 5 s.
        clock.advance(by: .seconds(4))
        #expect(done.wait(timeout: .now() + .milliseconds(50)) == .timedOut)
        clock.advance(by: .seconds(1))
        #expect(done.wait(timeout: .now() + .seconds(10)) == .success)
        #expect(sawAt.withLock { $0 } == 5_000_000_000)

        clock.wait(until: 1, or: wake)  // already past: returns at once
        Thread.detachNewThread {
            clock.wait(until: 60_000_000_000, or: wake)
            done.signal()
        }
        wake.signal()
        #expect(done.wait(timeout: .now() + .seconds(10)) == .success, "a wake ends the wait early")
    }
}
