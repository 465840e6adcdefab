import Testing

@testable import ParkGB28181

/// Subscriptions between the platform server and the device agent, in memory on a fake clock:
/// the whole catalog at once and its changes after, alarms as NOTIFY (heard once) while an Alarm
/// subscription lasts and as MESSAGE again when it runs out, positions at the asked interval,
/// Expires 0, and what neither side knows.
@Suite struct GB28181SubscriptionTests {
    typealias Wire = GB28181PlatformMediaTests.Wire
    typealias Agent = GB28181DeviceAgentTests
    static let second: UInt64 = 1_000_000_000

    static func alarm(_ wire: inout Wire, from index: Int) {
        let device = wire.devices.agent.devices[index]
        let alarm = AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", description: "motion", type: 2)
        wire.devices.agent.send(.alarmNotify(sn: wire.devices.agent.nextSN(index), deviceID: device.channels[0].deviceID, alarm: alarm),
                                from: index, now: wire.now)
        wire.run(for: Self.second)
    }

    @Test func aCatalogSubscriptionGetsTheWholeCatalogThenEachChange() throws {
        var wire = Wire()
        let subscribed1 = wire.server.subscribe(deviceID: Agent.nvr, cmdType: "Catalog", expires: 600, now: wire.now)
        let callID = try #require(subscribed1)
        wire.run(for: Self.second)
        let subscribe = try #require(wire.requestsToCamera.last { $0.method == "SUBSCRIBE" })
        #expect(subscribe.headers["Event"]?.hasPrefix("Catalog") == true && subscribe.headers["Expires"] == "600")
        #expect(wire.events.contains(.subscribed(deviceID: Agent.nvr, cmdType: "Catalog", callID: callID, expires: 600)))
        let first = try #require(wire.events.compactMap { if case .catalogChanged(Agent.nvr, let changes) = $0 { changes } else { nil } }.first)
        #expect(first.map(\.item.deviceID) == wire.devices.agent.devices[1].channels.map(\.deviceID))
        #expect(first.allSatisfy { $0.event == nil })

        // Channel 3 loses its video.
        var lost = wire.devices.agent.devices[1].channels[2]
        lost.status = "OFF"
        wire.devices.agent.catalogChanged(1, items: [lost], event: "VLOST", now: wire.now)
        wire.run(for: Self.second)
        let changes = wire.events.compactMap { if case .catalogChanged(Agent.nvr, let changes) = $0 { changes } else { nil } }
        #expect(changes.count == 2)
        #expect(changes.last == [GB28181PlatformServer.CatalogChange(item: lost, event: "VLOST")])
        #expect(wire.server.counters.notifies == 2 && wire.server.counters.strayNotifies == 0)
        // The camera (no subscription) is not told of the NVR's change.
        #expect(wire.devices.agent.counters.notifies == 2)
    }

    @Test func alarmsGoAsNotifyWhileSubscribedHeardOnceAndAsMessageAfterExpiry() throws {
        var wire = Wire()
        let subscribed2 = wire.server.subscribe(deviceID: Agent.camera, cmdType: "Alarm", expires: 60, now: wire.now)
        let callID = try #require(subscribed2)
        wire.run(for: Self.second)
        #expect(wire.server.subscriptions[callID]?.active == true)
        let notifiesBefore = wire.devices.agent.counters.notifies
        Self.alarm(&wire, from: 0)
        #expect(wire.devices.agent.counters.notifies == notifiesBefore + 1)
        #expect(wire.events.count { if case .alarm(Agent.camera, _, _) = $0 { true } else { false } } == 1)
        #expect(wire.server.counters.alarms == 1)

        // The subscription runs out: a last NOTIFY says so, and the next alarm is a MESSAGE again.
        wire.run(for: 61 * Self.second)
        #expect(wire.events.contains { if case .subscriptionEnded(Agent.camera, "Alarm", let reason) = $0 { reason.contains("timeout") } else { false } })
        #expect(wire.server.subscriptions[callID] == nil)
        let notifies = wire.devices.agent.counters.notifies
        Self.alarm(&wire, from: 0)
        #expect(wire.devices.agent.counters.notifies == notifies)
        #expect(wire.server.counters.alarms == 2)
    }

    @Test func positionsComeAtTheAskedIntervalAndExpiresZeroEndsThem() throws {
        var wire = Wire()
        let subscribed3 = wire.server.subscribe(deviceID: Agent.camera, cmdType: "MobilePosition", expires: 600, interval: 5, now: wire.now)
        let callID = try #require(subscribed3)
        wire.run(for: 12 * Self.second)
        let positions = wire.events.compactMap { if case .position(Agent.camera, let position) = $0 { position } else { nil } }
        #expect(positions.count == 3, "at 0, 5 and 10 s: \(positions.count)")
        #expect(positions.first?.longitude == 117.2272 && positions.first?.latitude == 31.8206)

        let ended = wire.server.unsubscribe(callID: callID, now: wire.now)
        #expect(ended)
        wire.run(for: 12 * Self.second)
        #expect(wire.events.count { if case .position = $0 { true } else { false } } == 3)
        #expect(wire.devices.agent.counters.subscriptionsEnded == 1)
        // The NVR knows no position: subscribed, it sends none.
        let subscribed4 = wire.server.subscribe(deviceID: Agent.nvr, cmdType: "MobilePosition", expires: 600, interval: 1, now: wire.now)
        #expect(subscribed4 != nil)
        wire.run(for: 3 * Self.second)
        #expect(wire.events.count { if case .position = $0 { true } else { false } } == 3)
    }

    @Test func anUnknownPackageIsBadEventAndAStrayNotifyIsRefused() throws {
        var wire = Wire()
        let subscribed5 = wire.server.subscribe(deviceID: Agent.camera, cmdType: "RecordInfo", now: wire.now)
        #expect(subscribed5 != nil)
        wire.run(for: Self.second)
        #expect(wire.events.contains { if case .requestFailed(Agent.camera, "SUBSCRIBE", _, 489) = $0 { true } else { false } }, "\(wire.events)")
        #expect(wire.server.subscriptions.isEmpty)

        let stray = SIPMessage.request(method: "NOTIFY", uri: "sip:\(Agent.platform)@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKstray"), SIPHeader("From", "<sip:\(Agent.camera)@3402000000>;tag=x"),
            SIPHeader("To", "<sip:\(Agent.platform)@3402000000>;tag=y"), SIPHeader("Call-ID", "no-such-subscription"), SIPHeader("CSeq", "1 NOTIFY"),
            SIPHeader("Event", "presence"), SIPHeader("Subscription-State", "active;expires=60"),
        ])
        let answer = wire.server.received(request: stray, from: GB28181PlatformMediaTests.cameraAddress, now: wire.now)
        #expect(answer?.status == 481)
        #expect(wire.server.counters.strayNotifies == 1)
    }
}
