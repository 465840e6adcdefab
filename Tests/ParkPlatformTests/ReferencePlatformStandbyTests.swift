import Foundation
@testable import ParkMQTT
@testable import ParkPlatform
import Synchronization
import Testing

/// An active/standby pair of reference platforms on one manual clock, joined by a tiny in-memory
/// broker: the lease, the held alarms, the takeover, and the three ways its fault switches break it.
@Suite struct ReferencePlatformStandbyTests {
    /// Delivers what either node publishes to both (each subscribes to the lease and the alarms),
    /// and records everything northbound.
    final class Bus: PlatformOutlet, @unchecked Sendable {
        let clock: ManualPlatformClock
        var nodes: [ReferencePlatform] = []
        private let published = Mutex<[(topic: String, payload: [UInt8])]>([])
        init(clock: ManualPlatformClock) { self.clock = clock }
        func publish(topic: String, payload: [UInt8], qos: MQTTQoS) {
            published.withLock { $0.append((topic, payload)) }
            if topic == "platform/lease" || topic == "platform/alarms" { for node in nodes { node.receive(topic: topic, payload: payload) } }
        }
        func alarms() -> [String] {
            published.withLock { $0.filter { $0.topic == "platform/alarms" } }.compactMap {
                ((try? JSONSerialization.jsonObject(with: Data($0.payload))) as? [String: Any])?["msg_id"] as? String
            }
        }
    }

    let second: UInt64 = 1_000_000_000

    func pair(_ faults: StandbyFaults = StandbyFaults(), primary primaryFaults: StandbyFaults = StandbyFaults())
        -> (primary: ReferencePlatform, standby: ReferencePlatform, bus: Bus, clock: ManualPlatformClock) {
        let clock = ManualPlatformClock()
        let bus = Bus(clock: clock)
        func node(_ name: String, standby: Bool) -> ReferencePlatform {
            let platform = ReferencePlatform(
                endpoints: .init(), configuration: PlatformConfiguration(alarmEvents: ["alarm"]), clock: clock, outlet: bus)
            platform.joinPair(StandbySettings(node: name, startsAsStandby: standby), faults: standby ? faults : primaryFaults)
            platform.startTicking()
            return platform
        }
        let primary = node("a", standby: false), standby = node("b", standby: true)
        bus.nodes = [primary, standby]
        return (primary, standby, bus, clock)
    }

    func press(_ seq: Int, to nodes: [ReferencePlatform]) {
        let payload = Array(#"{"device":"p1","kind":"emergency-button","seq":\#(seq),"msg_id":"p1#\#(seq)","ts_ns":1,"channel":"event","name":"alarm","values":{}}"#.utf8)
        for node in nodes { node.receive(topic: "park/A/emergency-button/p1/event", payload: payload) }
    }

    @Test func theStandbyHoldsAlarmsUntilTheActiveRaisesThemAndRaisesWhatADeadOneNeverDid() {
        let (primary, standby, bus, clock) = pair()
        clock.advance(by: .seconds(2))
        press(1, to: [primary, standby])
        #expect(bus.alarms() == ["p1#1"], "the active raised it, the standby did not")
        #expect(standby.heldAlarms == 0, "and the standby let go of it on seeing the active's")
        #expect(primary.isActive && !standby.isActive)

        clock.advance(by: .seconds(10))
        #expect(!standby.isActive, "a renewed lease keeps the standby waiting")

        primary.kill()
        press(2, to: [primary, standby])
        #expect(standby.heldAlarms == 1)
        clock.advance(by: .seconds(2))
        #expect(!standby.isActive && bus.alarms() == ["p1#1"], "3 s of grace")
        clock.advance(by: .seconds(2))
        #expect(standby.isActive, "the lease lapsed: the standby took over")
        #expect(bus.alarms() == ["p1#1", "p1#2"], "and raised the alarm the dead primary never did")
        press(3, to: [primary, standby])
        #expect(bus.alarms() == ["p1#1", "p1#2", "p1#3"], "from now on it raises them itself")
        #expect(standby.command("p1", command: "reset", arguments: [:]).isSuccess)
    }

    /// Paused for longer than its lease (SIGSTOP), the primary wakes to what waited for it — an
    /// alarm, the standby's raising of it, the standby's lease — and stands by before it says
    /// anything: nothing is raised twice, and it stays standby while the new active renews. Under
    /// zombie-primary it goes on as the active and raises the alarm again.
    @Test func aPrimaryResumedFromAPauseStandsBy() {
        for zombie in [false, true] {
            let (primary, standby, bus, clock) = pair(primary: StandbyFaults(zombiePrimary: zombie))
            clock.advance(by: .seconds(2))
            primary.freeze()
            press(1, to: [primary, standby])
            clock.advance(by: .seconds(4))
            #expect(standby.isActive && bus.alarms() == ["p1#1"], "the standby took over and raised it")
            clock.advance(by: .seconds(6))
            primary.thaw()
            if zombie {
                #expect(primary.isActive && bus.alarms() == ["p1#1", "p1#1"], "zombie: raised again, two actives")
                continue
            }
            #expect(!primary.isActive && primary.timesStoodDown == 1, "its own lease had lapsed 10 s ago")
            #expect(bus.alarms() == ["p1#1"] && primary.heldAlarms == 0, "it saw the standby raise what it held")
            clock.advance(by: .seconds(10))
            press(2, to: [primary, standby])
            #expect(!primary.isActive && bus.alarms() == ["p1#1", "p1#2"], "the new active's lease keeps it standing by")
        }
    }

    /// Leases carry their holder's term: a late lease from a node that was cut off (an older term)
    /// does not unseat the active that took over from it; a newer one does, and at the same term
    /// the holder whose name sorts later stays.
    @Test func aStaleLeaseUnseatsNobody() {
        let (primary, standby, _, clock) = pair()
        clock.advance(by: .seconds(2))
        primary.freeze()
        clock.advance(by: .seconds(4))
        #expect(standby.isActive)
        func lease(_ holder: String, term: Int) -> [UInt8] { Array(#"{"holder":"\#(holder)","term":\#(term),"ts_ns":1}"#.utf8) }
        standby.receive(topic: "platform/lease", payload: lease("a", term: 0))
        #expect(standby.isActive && standby.timesStoodDown == 0, "the old primary's lease, sent late")
        standby.receive(topic: "platform/lease", payload: lease("a", term: 1))
        #expect(standby.isActive, "the same term, and 'b' sorts after 'a'")
        standby.receive(topic: "platform/lease", payload: lease("c", term: 1))
        #expect(!standby.isActive && standby.timesStoodDown == 1, "the same term, and 'c' sorts after 'b'")
    }

    /// A pause shorter than the lease changes nothing: the primary takes in what waited and goes on.
    @Test func aShortPauseIsOnlyLate() {
        let (primary, standby, bus, clock) = pair()
        clock.advance(by: .seconds(2))
        primary.freeze()
        press(1, to: [primary, standby])
        clock.advance(by: .milliseconds(1500))
        #expect(bus.alarms().isEmpty)
        primary.thaw()
        #expect(primary.isActive && !standby.isActive && bus.alarms() == ["p1#1"] && primary.timesStoodDown == 0)
    }

    @Test func eachFaultSwitchBreaksTheTakeoverItsOwnWay() {
        let slow = pair(StandbyFaults(slowTakeover: .seconds(30)))
        slow.primary.kill()
        press(1, to: [slow.primary, slow.standby])
        slow.clock.advance(by: .seconds(10))
        #expect(!slow.standby.isActive && slow.bus.alarms().isEmpty, "slow-takeover: still waiting after 10 s")
        slow.clock.advance(by: .seconds(25))
        #expect(slow.standby.isActive && slow.bus.alarms() == ["p1#1"])

        let forgetful = pair(StandbyFaults(forgetsHeldAlarms: true))
        forgetful.primary.kill()
        press(1, to: [forgetful.primary, forgetful.standby])
        forgetful.clock.advance(by: .seconds(5))
        #expect(forgetful.standby.isActive && forgetful.bus.alarms().isEmpty, "forgets-held-alarms: taken over, the alarm lost")

        let split = pair(StandbyFaults(splitBrain: true))
        press(1, to: [split.primary, split.standby])
        #expect(split.bus.alarms() == ["p1#1", "p1#1"], "split brain: both nodes raise every alarm")
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
