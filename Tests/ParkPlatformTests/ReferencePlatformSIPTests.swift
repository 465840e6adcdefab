import Foundation
import ParkGB28181
import ParkMQTT
@testable import ParkPlatform
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// GB/T 28181 cameras on the reference platform (issue 14, the platform role): a camera client
/// on a real loopback socket registers to the platform's SIP port, shows up online on
/// `platform/status`, its alarm comes out on `platform/alarms`, and when it falls silent it goes
/// offline.
@Suite(.serialized) struct ReferencePlatformSIPTests {
    static let camera = "34020000001320000042"
    static let password = "camera-secret-42"

    /// What the platform published (no broker: the outlet a test platform publishes into).
    final class Outlet: PlatformOutlet {
        private let published = Mutex<[(topic: String, payload: [UInt8])]>([])
        func publish(topic: String, payload: [UInt8], qos: MQTTQoS) { published.withLock { $0.append((topic, payload)) } }
        /// Whether `device`'s `status` went out on platform/status.
        func published(_ device: String, _ status: String) -> Bool {
            objects(on: "platform/status").contains { $0["device"] as? String == device && $0["status"] as? String == status }
        }
        func objects(on topic: String) -> [[String: Any]] {
            published.withLock { $0.filter { $0.topic == topic } }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any]
            }
        }
    }

    /// Sends one hand-made request and keeps the responses: the camera agent's alarm, until it is merged.
    struct HandSender: SIPTransportUser {
        var outbox: [SIPDatagram] = []
        var responses: [SIPMessage] = []
        mutating func received(_ response: SIPMessage, now: UInt64) { responses.append(response) }
        mutating func advance(now: UInt64) {}
        var nextDeadline: UInt64 { .max }
        mutating func takeOutbox() -> [SIPDatagram] {
            defer { outbox = [] }
            return outbox
        }
    }

    static func waitUntil(_ timeout: Duration = .seconds(10), _ done: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !done() {
            guard ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
        return true
    }

    @Test func aCameraRegistersOnlineRaisesAnAlarmOnPlatformAlarmsAndGoesOfflineWhenSilent() throws {
        let outlet = Outlet()
        let platform = ReferencePlatform(endpoints: .init(), clock: ManualPlatformClock(), outlet: outlet)
        defer { platform.stop() }
        let port = try platform.startSIP(PlatformSIPOptions(port: 0, keepaliveInterval: .milliseconds(200)) {
            $0 == Self.camera ? Self.password : nil
        })

        let cameras = try SIPUDPTransport<SIPRegistrarClient>(binding: .loopback(port: 0)) { local in
            let settings = SIPRegistrationSettings(
                server: .loopback(port: port), serverID: "34020000002000000001", domain: "3402000000", local: local,
                keepaliveInterval: .milliseconds(200))
            var client = SIPRegistrarClient(settings: settings, seed: 5)
            client.add(deviceID: Self.camera, password: Self.password)
            return client
        }
        try cameras.start()
        defer { cameras.stop() }
        cameras.perform { client, now in client.startAll(now: now) }

        #expect(Self.waitUntil { platform.devices[Self.camera]?.status == .online }, "camera never online: \(platform.devices)")
        #expect(platform.devices[Self.camera]?.kind == PlatformCore.cameraKind)
        // The status is published just after the core changes it: wait for it too.
        #expect(Self.waitUntil { outlet.published(Self.camera, "online") }, "no online status published")
        #expect(platform.sipCounters?.challenges == 1 && platform.sipCounters?.refusals == 0)

        let sender = try SIPUDPTransport<HandSender>(binding: .loopback(port: 0)) { _ in HandSender() }
        try sender.start()
        defer { sender.stop() }
        let alarm = AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", description: "tripwire", type: 2)
        let body = try MANSCDPMessage.alarmNotify(sn: 1, deviceID: Self.camera, alarm: alarm).encoded()
        let message = SIPMessage.request(method: "MESSAGE", uri: "sip:34020000002000000001@3402000000", headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(sender.local);rport;branch=z9hG4bKalarm1"),
            SIPHeader("From", "<sip:\(Self.camera)@3402000000>;tag=a1"),
            SIPHeader("To", "<sip:34020000002000000001@3402000000>"),
            SIPHeader("Call-ID", "alarm1@127.0.0.1"),
            SIPHeader("CSeq", "1 MESSAGE"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ], body: body)
        sender.perform { user, _ in user.outbox.append(SIPDatagram(bytes: message.serialized(), address: .loopback(port: port))) }
        #expect(Self.waitUntil { sender.inspect { $0.responses.first?.status } == 200 })
        #expect(Self.waitUntil { !outlet.objects(on: "platform/alarms").isEmpty })
        let raised = outlet.objects(on: "platform/alarms")
        #expect(raised.count == 1)
        #expect(raised.first?["device"] as? String == Self.camera && raised.first?["kind"] as? String == "camera")
        #expect((raised.first?["values"] as? [String: Double])?["type"] == 2)
        // The event is the one the camera named in AlarmDescription, so a check can wait for it.
        #expect(raised.first?["event"] as? String == "tripwire")

        // A REST command to a registered camera goes out as a DeviceControl over SIP.
        let asked = try platform.command(Self.camera, command: "ptz", arguments: ["preset": 3]).get()
        #expect(asked.hasPrefix("api-"))
        if case .success = platform.command(Self.camera, command: "ptz", arguments: ["preset": 900]) { Issue.record("preset 900 taken") }
        if case .success = platform.command(Self.camera, command: "dance", arguments: [:]) { Issue.record("an unknown command taken") }

        // The camera stops: 3 keepalive intervals later it is offline.
        cameras.stop()
        #expect(Self.waitUntil { platform.devices[Self.camera]?.status == .offline }, "camera never offline: \(platform.devices)")
        #expect(Self.waitUntil { outlet.published(Self.camera, "offline") }, "no offline status published")
    }

    @Test func keepalivesIgnoredLeavesASilentCameraOnline() throws {
        let platform = ReferencePlatform(
            endpoints: .init(), faults: PlatformFaults(keepalivesIgnored: true), clock: ManualPlatformClock(), outlet: Outlet())
        defer { platform.stop() }
        let port = try platform.startSIP(PlatformSIPOptions(port: 0, keepaliveInterval: .milliseconds(100)) {
            $0 == Self.camera ? Self.password : nil
        })
        let cameras = try SIPUDPTransport<SIPRegistrarClient>(binding: .loopback(port: 0)) { local in
            let settings = SIPRegistrationSettings(
                server: .loopback(port: port), serverID: "34020000002000000001", domain: "3402000000", local: local,
                keepaliveInterval: .milliseconds(100))
            var client = SIPRegistrarClient(settings: settings, seed: 6)
            client.add(deviceID: Self.camera, password: Self.password)
            return client
        }
        try cameras.start()
        cameras.perform { client, now in client.startAll(now: now) }
        #expect(Self.waitUntil { platform.devices[Self.camera]?.status == .online })
        cameras.stop()
        // Ten times the offline timeout of a healthy platform (3 × 100 ms), then switched back on:
        // the silence is noticed at once, so it was the switch that hid it.
        #expect(!Self.waitUntil(.seconds(3)) { platform.devices[Self.camera]?.status == .offline })
        platform.setFaults(PlatformFaults())
        #expect(Self.waitUntil { platform.devices[Self.camera]?.status == .offline })
    }
}

/// A camera's alarm in the platform's rules: the MQTT devices' alarm path, linkage included.
@Suite struct PlatformCoreCameraTests {
    static let sounder = Array(#"{"device":"s-A","kind":"sounder","status":"online"}"#.utf8)

    func core(_ faults: PlatformFaults = PlatformFaults()) -> PlatformCore {
        let rule = LinkageRule(id: "camera-sound", event: "alarm", kind: "camera", command: "sound", targetKind: "sounder", targetZone: nil)
        var core = PlatformCore(configuration: PlatformConfiguration(linkageRules: [rule]), faults: faults)
        _ = core.received(topic: "park/A/sounder/s-A/status", payload: Self.sounder, now: 1)
        return core
    }

    static func split(_ actions: [PlatformCore.Action]) -> (alarms: [(PlatformAlarm, Duration)], commands: [String]) {
        var alarms: [(PlatformAlarm, Duration)] = [], commands: [String] = []
        for action in actions {
            if case .raiseAlarm(let alarm, let delay) = action { alarms.append((alarm, delay)) }
            if case .sendCommand(let device, _, _, _, _) = action { commands.append(device) }
        }
        return (alarms, commands)
    }

    @Test func aCameraAlarmSoundsTheSounderAndIsRaisedUnderTheAlarmFaultSwitches() {
        var healthy = core()
        let (alarms, commands) = Self.split(healthy.cameraAlarm("cam1", event: "alarm", values: ["type": 2], now: 5))
        #expect(commands == ["s-A"])
        #expect(alarms.map(\.0.device) == ["cam1"] && alarms.map(\.0.kind) == ["camera"] && alarms.map(\.1) == [.zero])
        #expect(healthy.devices["cam1"]?.status == .online && healthy.devices["cam1"]?.viaSIP == true)

        var delayed = core(PlatformFaults(alarmDelay: .seconds(3)))
        #expect(Self.split(delayed.cameraAlarm("cam1", event: "alarm", values: [:], now: 5)).alarms.map(\.1) == [.seconds(3)])

        var dropping = core(PlatformFaults(dropAlarms: true))
        let dropped = Self.split(dropping.cameraAlarm("cam1", event: "alarm", values: [:], now: 5))
        #expect(dropped.alarms.isEmpty && dropped.commands == ["s-A"] && dropping.alarmsDropped == 1)
    }

    @Test func theHeartbeatSweepLeavesCamerasToTheirSIPServer() {
        var core = core()
        _ = core.camera("cam1", online: true, now: 1)
        _ = core.tick(now: 1 + 3_600 * 1_000_000_000)
        #expect(core.devices["cam1"]?.status == .online && core.devices["s-A"]?.status == .offline)
        _ = core.camera("cam1", online: false, now: 2)
        #expect(core.devices["cam1"]?.status == .offline)
    }
}

/// What the platform makes of its SIP server's events and of REST commands to cameras, without a socket.
@Suite struct ReferencePlatformCameraEventTests {
    @Test func anAlarmIsNamedByItsDescriptionOrElseByTheStandardsMethodAndType() {
        #expect(GB28181AlarmTypes.event(of: AlarmNotification(priority: 1, method: 5, time: "", description: "face-watchlist")) == "face-watchlist")
        // A description that is prose, not an event name: the method and type decide.
        #expect(GB28181AlarmTypes.event(of: AlarmNotification(priority: 1, method: 5, time: "", description: "Motion Detected", type: 2)) == "motion")
        #expect(GB28181AlarmTypes.event(of: AlarmNotification(priority: 1, method: 2, time: "", type: 1)) == "video-loss")
        #expect(GB28181AlarmTypes.event(of: AlarmNotification(priority: 1, method: 7, time: "")) == nil)
    }

    @Test func aCatalogIsShownOnPlatformCatalogWithItsChannelsAndSumNum() throws {
        let outlet = ReferencePlatformSIPTests.Outlet()
        let platform = ReferencePlatform(endpoints: .init(), clock: ManualPlatformClock(), outlet: outlet)
        defer { platform.stop() }
        let items = (1...3).map { CatalogItem(deviceID: "3402000000131000000\($0)", name: "ch\($0)", manufacturer: "Hikvision", model: "DS-7616", civilCode: "340200", parentID: "34020000001180000001") }
        platform.sipEvents([GB28181PlatformEventRecord(at: 1, event: .catalog(deviceID: "34020000001180000001", sn: 7, items: items, sumNum: 16, complete: false))])
        let shown = outlet.objects(on: "platform/catalog")
        #expect(shown.count == 1)
        #expect(shown.first?["device"] as? String == "34020000001180000001" && shown.first?["complete"] as? Bool == false)
        let values = try #require(shown.first?["values"] as? [String: Any])
        #expect(values["channels"] as? Int == 3 && values["sum_num"] as? Int == 16)
    }

    @Test func restCommandsBecomeDeviceControls() {
        #expect(ReferencePlatform.deviceControl("ptz", arguments: ["preset": 3]) == .ptz(GB28181PTZCommand(action: .gotoPreset(3))))
        #expect(ReferencePlatform.deviceControl("ptz", arguments: ["preset": "4"]) == .ptz(GB28181PTZCommand(action: .gotoPreset(4))))
        #expect(ReferencePlatform.deviceControl("ptz", arguments: ["direction": "left"]) == GB28181PTZCommand(direction: "left").map { .ptz($0) })
        #expect(ReferencePlatform.deviceControl("ptz", arguments: ["direction": "sideways"]) == nil)
        #expect(ReferencePlatform.deviceControl("ptz", arguments: [:]) == nil)
        #expect(ReferencePlatform.deviceControl("guard", arguments: [:]) == .guarding(true))
        #expect(ReferencePlatform.deviceControl("guard", arguments: ["action": "reset"]) == .guarding(false))
        #expect(ReferencePlatform.deviceControl("guard", arguments: ["action": "maybe"]) == nil)
        #expect(ReferencePlatform.deviceControl("reset-alarm", arguments: [:]) == .resetAlarm)
        #expect(ReferencePlatform.deviceControl("sound", arguments: [:]) == nil)
    }
}
