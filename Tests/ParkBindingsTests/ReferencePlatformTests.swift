import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkMQTT
import ParkPlatform
import ParkTestSupport
import Testing

/// Devices → mosquitto → the reference platform → northbound, watched from outside by paho-mqtt,
/// with the platform's fault switches proving that what is watched can go wrong.
@Suite(.serialized) struct ReferencePlatformTests {
    let helper = MQTTDeviceBindingTests()

    @Test func platformRaisesAlarmsAndTracksStatusAndItsFaultsShow() async throws {
        let broker = try MosquittoBroker()
        let platform = ReferencePlatform(
            endpoints: .init(port: broker.port), configuration: PlatformConfiguration(heartbeatTimeout: .seconds(30)))
        try platform.start()
        defer { platform.stop() }
        try waitFor("the platform subscribed", seconds: 30) { platform.isConnected }
        let northbound = try MQTTDeviceBindingTests.Collector(broker.directory, port: broker.port, filter: "platform/#")

        let plan = try helper.plan(count: 3)
        let binding = try MQTTDeviceBinding(devices: helper.bound(plan), configuration: .init(port: broker.port))
        let engine = try await RealTimeEngine(plan: plan, threads: 1, observer: binding)
        try binding.connect()
        await engine.start()
        try waitFor("3 devices connected", seconds: 30) { binding.statistics.pool.connectedClients == 3 }
        try waitFor("3 devices online at the platform", seconds: 30) {
            northbound.seen.filter { $0.topic == "platform/status" && $0.payload.contains("online") }.count == 3
        }

        // A correct platform raises the alarm northbound, echoing the device's message id.
        try await engine.apply(Stimulus("smoke", arguments: ["density": .double(0.4)]), to: "smoke-2")
        let alarmRecord = try #require(try engine.ledger.records().first { $0.name == "smoke-alarm" })
        try waitFor("the smoke alarm northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/alarms" && $0.json?["msg_id"] as? String == alarmRecord.messageID }
        }

        // alarm-delay: the same kind of alarm now takes at least the delay.
        platform.setFaults(PlatformFaults(alarmDelay: .milliseconds(1_500)))
        let start = ContinuousClock.now
        try await engine.apply(Stimulus("heat", arguments: ["temperature": .double(80)]), to: "smoke-3")
        try waitFor("the delayed heat alarm northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/alarms" && $0.json?["event"] as? String == "heat-alarm" }
        }
        #expect(ContinuousClock.now - start >= .milliseconds(1_500), "the fault switch must show in the measured latency")

        // drop-alarms: the platform takes the tamper in and says nothing.
        platform.setFaults(PlatformFaults(dropAlarms: true))
        try await engine.apply(Stimulus("tamper"), to: "smoke-1")
        try waitFor("the platform to swallow the tamper", seconds: 30) { platform.counters.dropped == 1 }
        #expect(!northbound.seen.contains { $0.json?["event"] as? String == "tamper" })

        // A device that vanishes is offline at the platform (through its will).
        try binding.dropConnection(of: "smoke-1", reconnect: false)
        try waitFor("smoke-1 offline northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/status" && $0.payload.contains(#""device":"smoke-1""#) && $0.payload.contains("offline") }
        }
        #expect(platform.devices["smoke-1"]?.status == .offline)
        #expect(platform.devices["smoke-2"]?.gaps == 0, "nothing lost between devices and platform")

        // crash-after-N: the platform falls silent. Only smoke-3 keeps talking (smoke-2 leaves
        // first), so once the crashed platform has ignored two more messages, smoke-3's tamper
        // was among them: MQTT keeps one client's messages in order.
        try binding.dropConnection(of: "smoke-2", reconnect: false)
        try waitFor("smoke-2 offline northbound", seconds: 30) {
            northbound.seen.contains { $0.topic == "platform/status" && $0.payload.contains(#""device":"smoke-2""#) && $0.payload.contains("offline") }
        }
        let seen = platform.devices.values.reduce(0) { $0 + $1.messages }
        platform.setFaults(PlatformFaults(crashAfterMessages: seen + 1))
        try waitFor("the platform to crash on its next message", seconds: 30) { platform.isCrashed }
        let raisedAtCrash = platform.counters.raised
        let ignoredBefore = platform.messagesIgnoredAfterCrash
        try await engine.apply(Stimulus("tamper"), to: "smoke-3")
        try waitFor("the tamper and a later message to reach the crashed platform", seconds: 30) {
            platform.messagesIgnoredAfterCrash >= ignoredBefore + 2
        }
        // A live platform raises in the very callback that ignored it.
        #expect(platform.counters.raised == raisedAtCrash, "a crashed platform raises nothing")
        #expect(!northbound.seen.contains { $0.json?["device"] as? String == "smoke-3" && $0.json?["event"] as? String == "tamper" })
        northbound.stop()
        await engine.stop()
        binding.shutdown()
    }
}
