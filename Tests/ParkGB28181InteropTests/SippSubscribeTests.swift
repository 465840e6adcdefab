import Foundation
import ParkGB28181
import ParkTestSupport
import Testing

/// sipp as a platform subscribing to our camera's catalog: our 200 (with Expires), our NOTIFY in
/// the dialog (Subscription-State, Event, the catalog) and our answer to its Expires 0 must all be
/// what sipp's scenario expects, or sipp fails the call.
@Suite(.serialized) struct SippSubscribeTests {
    static let device = "34020000001320000055"
    static let platform = "34020000002000000001"

    @Test func sippSubscribesToTheCatalogGetsTheNotifyAndEndsTheSubscription() throws {
        let cameras = try SIPUDPTransport<GB28181DeviceAgent>(binding: .loopback(port: 0)) { local in
            let settings = SIPRegistrationSettings(server: .loopback(port: 9), serverID: Self.platform, domain: "3402000000", local: local)
            let hooks = GB28181DeviceAgent.Hooks(
                status: { _ in DeviceStatusReport(online: true, deviceTime: "2026-12-06T08:00:00", channels: []) },
                control: { _, _, _, _ in .accepted })
            var agent = GB28181DeviceAgent(client: SIPRegistrarClient(settings: settings, seed: 4), hooks: hooks)
            agent.add(.init(
                deviceID: Self.device, password: "unused",
                info: DeviceInfo(name: "Gate", manufacturer: "ParkBench", model: "IPC", firmware: "1", channels: 1),
                channels: [CatalogItem(deviceID: Self.device, name: "Gate", manufacturer: "ParkBench", model: "IPC", civilCode: "340200",
                                       parentID: Self.platform)]))
            return agent
        }
        try cameras.start()
        defer { cameras.stop() }
        let sipp = try SippRegistrar(scenario: "gb28181-platform-subscribe-uac.xml", remote: Int(cameras.local.port), arguments: [
            "-m", "1", "-key", "device", Self.device, "-key", "platform", Self.platform,
        ])
        defer { sipp.stop() }
        #expect(sipp.process.waitForExit(timeout: .seconds(20)), "sipp did not exit: \(sipp.logs())")
        #expect(sipp.process.status == 0, "sipp failed the subscription: \(sipp.logs())")
        let counters = cameras.inspect { $0.counters }
        #expect(counters.subscriptions == 1 && counters.subscriptionsEnded == 1 && counters.notifies == 1, "\(counters)")
        #expect(cameras.inspect { $0.subscriptionCount } == 0)
    }
}
