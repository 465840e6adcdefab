import Foundation
import ParkBindings
import ParkWire
import ParkCore
import ParkDevices
import ParkEventLoop
import ParkGB28181
@testable import ParkRuntime
import Synchronization
import Testing

/// A park's cameras and NVR on GB/T 28181 through a session, against a platform on a loopback
/// socket: registration, alarms with their method/type and channel id, queries, DeviceControl
/// through the engine into the ledger, a wire fault, unregistration on stop.
@Suite(.serialized) struct GB28181SessionTests {
    static let parkText = """
        park: gb-test
        seed: 5
        zones: [{id: A, floors: 1}]
        populations:
          - {model: hik-ds2cd, zone: A, floor: 1, count: 1, id: "cam-1"}
          - {model: hik-ds7616, zone: A, floor: 1, count: 1, id: "nvr-1", parameters: {channels: 4}}
        """

    /// A platform that answers every request 200 (REGISTER with its Expires) and keeps what came.
    struct RecordingPlatform: SIPTransportUser {
        var requests: [(SIPMessage, SIPAddress)] = []
        var outbox: [SIPDatagram] = []

        mutating func received(_ response: SIPMessage, now: UInt64) {}
        mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
            requests.append((request, source))
            let expires = request.method == "REGISTER" ? [SIPHeader("Expires", String(request.expires ?? 3600))] : []
            return request.response(status: 200, reason: "OK", toTag: "plat", extraHeaders: expires)
        }
        mutating func advance(now: UInt64) {}
        var nextDeadline: UInt64 { .max }
        mutating func takeOutbox() -> [SIPDatagram] {
            defer { outbox = [] }
            return outbox
        }
    }

    final class Fixture: Sendable {
        let session: ParkSession
        let platform: SIPUDPTransport<RecordingPlatform>
        let addresses: [GB28181DeviceBinding.Address]
        let ledger: Ledger

        init() async throws {
            let (park, catalog, kinds) = try Self.load()
            let registry = PolledStateRegistry()
            platform = try SIPUDPTransport(binding: .loopback(port: 0)) { _ in RecordingPlatform() }
            try platform.start()
            let binding = try GB28181DeviceBinding(
                devices: park.file.boundDevices, catalog: catalog, kinds: kinds, registry: registry,
                configuration: .init(platform: platform.local, password: { _ in "secret" }))
            ledger = Ledger()
            session = try await ParkSession(plan: park.plan, bindings: .init(gb28181: binding, registry: registry), ledger: ledger)
            addresses = try session.openEndpoints().gb28181
            await session.start()
        }

        static func load() throws -> (ParkSessionTests.LoadedParkParts, ModelCatalog, DeviceKindRegistry) {
            var registry = DeviceKindRegistry()
            for kind in BuiltInKinds.all { try registry.register(kind) }
            let catalog = try ModelCatalog.load(directory: ParkSessionTests.packageRoot.appendingPathComponent("devices").path, kinds: registry)
            let file = try ParkFile.parse(parkText, file: "park.yaml", catalog: catalog, kinds: registry)
            return (ParkSessionTests.LoadedParkParts(file: file, plan: try file.plan(kinds: registry, seed: nil)), catalog, registry)
        }

        /// Waits (up to 5 s) until the platform has a request `matching`, and returns the MANSCDP
        /// bodies of every MESSAGE that matched, in order.
        func waitFor(_ description: String, count: Int = 1, _ matching: @escaping @Sendable (SIPMessage) -> Bool) async throws -> [SIPMessage] {
            let deadline = MonotonicClock.now() + 5_000_000_000
            while true {
                let found = platform.inspect { $0.requests.map(\.0).filter(matching) }
                if found.count >= count { return found }
                guard MonotonicClock.now() < deadline else {
                    let seen = platform.inspect { $0.requests.map { "\($0.0.method ?? "?") \(String(decoding: $0.0.body, as: UTF8.self).prefix(160))" } }
                    Issue.record("no \(description) within 5 s; the platform saw: \(seen)")
                    throw CancellationError()
                }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
        }

        /// The platform sends a MESSAGE with `body` to the device behind `address`.
        func ask(_ body: MANSCDPMessage, device address: GB28181DeviceBinding.Address, branch: String) {
            let target = SIPAddress.loopback(port: UInt16(address.port))
            let local = platform.local
            let request = SIPMessage.request(method: "MESSAGE", uri: "sip:\(address.id)@3402000000", headers: [
                SIPHeader("Via", "SIP/2.0/UDP \(local);branch=z9hG4bK\(branch)"), SIPHeader("From", "<sip:34020000002000000001@3402000000>;tag=p"),
                SIPHeader("To", "<sip:\(address.id)@3402000000>"), SIPHeader("Call-ID", "\(branch)@test"), SIPHeader("CSeq", "1 MESSAGE"),
                SIPHeader("Content-Type", "Application/MANSCDP+xml"),
            ], body: try! body.encoded())
            platform.perform { user, _ in user.outbox.append(SIPDatagram(bytes: request.serialized(), address: target)) }
        }
    }

    static func body(_ message: SIPMessage) -> MANSCDPMessage? { try? MANSCDPMessage(bytes: message.body) }

    @Test func camerasRegisterRaiseAlarmsAnswerQueriesTakeControlsAndUnregister() async throws {
        let fixture = try await Fixture()
        let camera = try #require(fixture.addresses.first { $0.device == "cam-1" })
        let nvr = try #require(fixture.addresses.first { $0.device == "nvr-1" })
        #expect(camera.id.dropFirst(10).hasPrefix("132") && nvr.id.dropFirst(10).hasPrefix("118"))
        #expect(nvr.channels.count == 4 && nvr.channels.allSatisfy { $0.dropFirst(10).hasPrefix("131") })

        let registers = try await fixture.waitFor("two REGISTERs", count: 2) { $0.method == "REGISTER" }
        #expect(Set(registers.compactMap { $0.headers["From"] }.map { $0.contains(camera.id) ? "cam" : "nvr" }) == ["cam", "nvr"])

        // An alarm: motion is video method 5 type 2 from the camera's channel.
        _ = try await fixture.session.engine.apply(Stimulus("motion"), to: "cam-1")
        let alarms = try await fixture.waitFor("the motion alarm") { Self.body($0)?.cmdType == "Alarm" }
        let motion = try #require(Self.body(alarms[0]))
        #expect(motion.deviceID == camera.channels[0])
        let motionAlarm = try motion.alarm()
        #expect(motionAlarm.method == 5 && motionAlarm.type == 2 && motionAlarm.description == "motion")

        // The NVR's catalog: SumNum 4 in one MESSAGE (its model splits by 4).
        fixture.ask(.query(cmdType: "Catalog", sn: 31, deviceID: nvr.id), device: nvr, branch: "cat1")
        let catalog = try await fixture.waitFor("the NVR's catalog") { Self.body($0)?.cmdType == "Catalog" }
        let items = try #require(try Self.body(catalog[0])?.catalogItems())
        #expect(items.map(\.deviceID) == nvr.channels && Self.body(catalog[0])?.sumNum == 4)

        // ResetGuard goes through the engine (the ledger has the command) and is answered OK;
        // motion then raises nothing.
        fixture.ask(.deviceControl(sn: 32, deviceID: camera.id, .guarding(false)), device: camera, branch: "guard1")
        let answered = try await fixture.waitFor("the guard answer") { Self.body($0)?.cmdType == "DeviceControl" }
        #expect(Self.body(answered[0])?.result == "OK" && Self.body(answered[0])?.sn == 32)
        #expect(try fixture.ledger.records().contains { $0.deviceID == "cam-1" && $0.entry == .command && $0.name == "guard" })
        fixture.ask(.query(cmdType: "DeviceStatus", sn: 33, deviceID: camera.id), device: camera, branch: "status1")
        let status = try await fixture.waitFor("the device status") { Self.body($0)?.cmdType == "DeviceStatus" }
        #expect(try Self.body(status[0])?.deviceStatus().channels.first?.dutyStatus == "OFFDUTY")

        // The wire fault: the NVR's video-loss alarm names the NVR where channel 2 belongs.
        _ = try await fixture.session.engine.apply(Stimulus("alarm-in-wrong-field"), to: "nvr-1")
        _ = try await fixture.session.engine.apply(Stimulus("video-loss", arguments: ["channel": .int(2)]), to: "nvr-1")
        let loss = try await fixture.waitFor("the video-loss alarm") { Self.body($0).map { $0.cmdType == "Alarm" && $0.sn > 0 && (try? $0.alarm().method) == 2 } ?? false }
        let wrong = try #require(Self.body(loss[0]))
        let wrongAlarm = try wrong.alarm()
        #expect(wrong.deviceID == nvr.id && wrongAlarm.description == nvr.channels[1] && wrongAlarm.type == 1)
        let alarmsBeforeStop = fixture.platform.inspect { $0.requests.filter { Self.body($0.0)?.cmdType == "Alarm" }.count }
        #expect(alarmsBeforeStop == 2, "motion while unguarded raised nothing")

        await fixture.session.stop()
        let unregistrations = fixture.platform.inspect { $0.requests.filter { $0.0.method == "REGISTER" && $0.0.expires == 0 }.count }
        #expect(unregistrations == 2)
        fixture.platform.stop()
    }

    /// A platform that answers every request 200 and keeps when each REGISTER came, and from where.
    struct TimingPlatform: SIPTransportUser {
        var registers: [(at: UInt64, from: SIPAddress)] = []
        mutating func received(_ response: SIPMessage, now: UInt64) {}
        mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
            if request.method == "REGISTER" { registers.append((now, source)) }
            let expires = request.method == "REGISTER" ? [SIPHeader("Expires", String(request.expires ?? 3600))] : []
            return request.response(status: 200, reason: "OK", toTag: "plat", extraHeaders: expires)
        }
        mutating func advance(now: UInt64) {}
        var nextDeadline: UInt64 { .max }
        mutating func takeOutbox() -> [SIPDatagram] { [] }
    }

    /// A park bigger than one 10 ms step begins registering at the configured rate, taking devices
    /// from every socket in turn, not as one burst: 300 cameras at 1,000 a second span ≥ 250 ms.
    @Test func aLargeParkBeginsRegisteringAtTheConfiguredRateFromEverySocket() throws {
        let (_, catalog, kinds) = try Fixture.load()
        let devices = (1...300).map { BoundDevice(id: "cam-\($0)", kind: "camera", model: "hik-ds2cd", zone: "A", floor: 1) }
        let platform = try SIPUDPTransport(binding: .loopback(port: 0)) { _ in TimingPlatform() }
        try platform.start()
        defer { platform.stop() }
        let binding = try GB28181DeviceBinding(
            devices: devices, catalog: catalog, kinds: kinds, registry: PolledStateRegistry(),
            configuration: .init(platform: platform.local, devicesPerSocket: 100, password: { _ in "secret" }, registrationsPerSecond: 1_000))
        _ = try binding.start()
        defer { binding.stop(grace: .milliseconds(0)) }
        let deadline = MonotonicClock.now() + 10_000_000_000
        while binding.counters.registered < 300, MonotonicClock.now() < deadline { usleep(10_000) }
        #expect(binding.counters.registered == 300)
        let registers = platform.inspect { $0.registers }
        let first = try #require(registers.first), last = try #require(registers.last)
        #expect(last.at - first.at >= 250_000_000, "300 REGISTERs within \((last.at - first.at) / 1_000_000) ms: not paced")
        // The first step (10 devices) already comes from all three sockets.
        #expect(Set(registers.prefix(10).map(\.from.port)).count == 3)
    }
}
