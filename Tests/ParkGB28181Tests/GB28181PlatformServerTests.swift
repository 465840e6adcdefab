@testable import ParkGB28181
import Testing

/// The platform's SIP server against our camera client on a fake clock (issue 14, the platform
/// role): digest registration, the Catalog query and its assembly, keepalives and offline,
/// alarms, queries and controls.
@Suite struct GB28181PlatformServerTests {
    typealias Wire = GB28181PlatformWire
    static let second = Wire.second
    static let minute = 60 * Wire.second

    static func nvrItems(_ count: Int) throws -> [CatalogItem] {
        try (1...count).map { n in
            CatalogItem(
                deviceID: try GB28181ID.nth(n, of: .ipc, centre: "34020000").rawValue, name: "Channel \(n)", manufacturer: "Hikvision",
                model: "DS-7716", civilCode: "340200", parentID: Wire.device)
        }
    }

    @Test func theRightPasswordRegistersAndTheCatalogIsQueried() throws {
        var wire = Wire()
        wire.register()
        guard case .registered = wire.registration.state else {
            Issue.record("camera not registered: \(wire.registration.state)")
            return
        }
        #expect(wire.server.counters.challenges == 1 && wire.server.counters.refusals == 0)
        let device = try #require(wire.server.devices[Wire.device])
        #expect(device.online && device.address == Wire.cameraAddress)
        #expect(wire.events.map(\.event).prefix(2) == [
            .registered(deviceID: Wire.device, address: Wire.cameraAddress, expires: 3600), .online(deviceID: Wire.device),
        ])
        let query = try #require(wire.lastQuery)
        #expect(wire.requestsToCamera.count == 1 && wire.requestsToCamera[0].method == "MESSAGE")
        #expect(query.kind == .query && query.cmdType == "Catalog" && query.deviceID == Wire.device)
        #expect(wire.requestsToCamera[0].headers["Content-Type"] == "Application/MANSCDP+xml")
        // The camera agent is not merged yet: our camera client refuses the query.
        #expect(wire.events.last?.event == .requestFailed(deviceID: Wire.device, cmdType: "Catalog", sn: query.sn, status: 501))
    }

    @Test func aHundredAndTwentyEightChannelNVRsCatalogIsAssembledFromItsSplitMessages() throws {
        var wire = Wire()
        wire.register()
        let sn = try #require(wire.lastQuery).sn
        let items = try Self.nvrItems(128)
        let messages = MANSCDPMessage.catalogResponses(sn: sn, deviceID: Wire.device, items: items, perMessage: 20)
        #expect(messages.count == 7)
        for (index, message) in messages.enumerated() {
            #expect(wire.deviceSends(message).status == 200)
            let catalogs = wire.events(where: \.isCatalog)
            #expect(catalogs.count == (index == messages.count - 1 ? 1 : 0), "after message \(index + 1)")
        }
        #expect(wire.events.last?.event == .catalog(deviceID: Wire.device, sn: sn, items: items, sumNum: 128, complete: true))
        #expect(wire.server.counters.catalogMessages == 7)
    }

    @Test func aCatalogThatStopsHalfWayIsReportedPartialAfterTheCatalogTimeout() throws {
        var wire = Wire()
        wire.register()
        let sn = try #require(wire.lastQuery).sn
        let items = try Self.nvrItems(128)
        let messages = MANSCDPMessage.catalogResponses(sn: sn, deviceID: Wire.device, items: items, perMessage: 20)
        for message in messages.prefix(3) { wire.deviceSends(message) }
        let lastArrival = wire.now
        wire.run(for: wire.server.settings.catalogTimeout - 1)
        #expect(wire.events(where: \.isCatalog).isEmpty)
        wire.run(for: 1)
        let partial = try #require(wire.events(where: \.isCatalog).first)
        #expect(partial.at == lastArrival + wire.server.settings.catalogTimeout)
        #expect(partial.event == .catalog(deviceID: Wire.device, sn: sn, items: Array(items.prefix(60)), sumNum: 128, complete: false))
    }

    @Test func aWrongPasswordIsRefusedAndAnUnknownDeviceToo() {
        var wire = Wire(cameraPassword: "not-the-password")
        wire.register()
        guard case .failed(.forbidden, _) = wire.registration.state else {
            Issue.record("expected forbidden, camera is \(wire.registration.state)")
            return
        }
        // The camera backs off and tries again (within the second run here): each try is
        // challenged, answered, and refused.
        let refusals = wire.server.counters.refusals
        #expect(refusals >= 1 && wire.server.counters.challenges == refusals)
        #expect(wire.server.devices.isEmpty && wire.requestsToCamera.isEmpty)
        #expect(wire.events.map(\.event) == Array(repeating: .refused(deviceID: Wire.device, reason: .wrongPassword), count: refusals))

        var unknown = Wire(knownPasswords: [:])
        unknown.register()
        #expect(unknown.server.counters.refusals >= 1 && unknown.server.counters.challenges == 0)
        #expect(unknown.events.map(\.event) == Array(repeating: .refused(deviceID: Wire.device, reason: .unknownDevice), count: unknown.server.counters.refusals))
    }

    @Test func keepalivesKeepTheCameraOnlineAndSilenceTakesItOfflineAfterThreeIntervals() throws {
        var wire = Wire()
        wire.register()
        wire.run(for: 10 * Self.minute)
        #expect(wire.events(where: \.isOffline).isEmpty)
        #expect(wire.server.counters.keepalives == 10, "keepalives \(wire.server.counters.keepalives)")
        #expect(wire.events(where: { if case .keepalive = $0 { true } else { false } }).count == 10)

        wire.cameraCut = true
        let cutAt = wire.now
        wire.run(for: 5 * Self.minute)
        let offline = try #require(wire.events(where: \.isOffline).first)
        let lastKeepalive = try #require(wire.requestsToServer.last { $0.at <= cutAt && $0.message.method == "MESSAGE" }).at
        // The fake clock jumps straight to the server's deadline, so the offline event comes
        // exactly 3 intervals (the default offline timeout) after the last keepalive arrived: not
        // a tick earlier (2 missed keepalives are not enough) and not a tick later.
        #expect(offline.at - lastKeepalive == 3 * Self.minute)
        #expect(offline.event == .offline(deviceID: Wire.device, lastSeen: lastKeepalive))
        #expect(wire.server.devices[Wire.device]?.online == false)

        // A keepalive after offline brings it back.
        wire.cameraCut = false
        #expect(wire.deviceSends(.keepalive(sn: 99, deviceID: Wire.device)).status == 200)
        #expect(wire.events.suffix(2).map(\.event) == [.online(deviceID: Wire.device), .keepalive(deviceID: Wire.device)])
        #expect(wire.server.devices[Wire.device]?.online == true)
    }

    @Test func stoppingUnregistersWithExpiresZero() {
        var wire = Wire()
        wire.register()
        wire.camera.stop(0, now: wire.now)
        wire.run(for: Self.second)
        #expect(wire.registration.state == .unregistered)
        #expect(wire.server.devices.isEmpty && wire.server.counters.unregistrations == 1)
        #expect(wire.events.last?.event == .unregistered(deviceID: Wire.device, expired: false))
        // A MESSAGE from a device that is no longer registered is refused, so it registers again.
        #expect(wire.deviceSends(.keepalive(sn: 5, deviceID: Wire.device)).status == 403)
    }

    static let motion = AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", description: "motion", type: 2)
    static let channel = "34020000001310000003"

    @Test func anAlarmNotifyIsAnAlarmEventNamingTheDeviceAndTheChannel() {
        var wire = Wire()
        wire.register()
        let answer = wire.deviceSends(.alarmNotify(sn: 3, deviceID: Self.channel, alarm: Self.motion))
        #expect(answer.status == 200)
        let alarms = wire.events(where: \.isAlarm)
        #expect(alarms == [GB28181PlatformEventRecord(at: wire.now, event: .alarm(deviceID: Wire.device, channelID: Self.channel, alarm: Self.motion))])
    }

    @Test func aRetransmittedAlarmIsAnsweredAgainButReportedOnce() throws {
        var wire = Wire()
        wire.register()
        let bytes = try MANSCDPMessage.alarmNotify(sn: 3, deviceID: Self.channel, alarm: Self.motion).encoded()
        let request = Wire.message(bytes: bytes, from: Wire.device, branch: "z9hG4bKsame", cseq: 7)
        let first = wire.server.received(request: request, from: Wire.cameraAddress, now: wire.now)
        let again = wire.server.received(request: request, from: Wire.cameraAddress, now: wire.now + Wire.second)
        wire.flush()
        #expect(first == again && first?.status == 200)
        #expect(wire.events(where: \.isAlarm).count == 1 && wire.server.counters.retransmittedRequests == 1)
    }

    @Test func anUnparsableBodyIsABadRequestAndAKeptProblemNamingTheDevice() {
        var wire = Wire()
        wire.register()
        let answer = wire.deviceSends(bytes: Array("<Notify><CmdType>Alarm</Notify>".utf8))
        #expect(answer.status == 400)
        #expect(wire.server.counters.problems == 1)
        let reason = wire.server.counters.problemReasons.first ?? ""
        #expect(reason.hasPrefix(Wire.device) && reason.contains("MANSCDP"), "\(reason)")
        // A well-formed body that is not a usable alarm is a problem too.
        let noTime = MANSCDPMessage(kind: .notify, cmdType: "Alarm", sn: 4, deviceID: Wire.device, fields: [.leaf("AlarmPriority", "1")])
        #expect(wire.deviceSends(noTime).status == 400)
        #expect(wire.server.counters.problemReasons.last?.contains("AlarmTime") == true)
    }

    @Test func queriesAndControlsGoToTheCameraAndTheirResponsesBecomeEvents() throws {
        var wire = Wire()
        wire.register()
        let sentInfo = wire.server.query(deviceID: Wire.device, cmdType: "DeviceInfo", now: wire.now)
        let infoSN = try #require(sentInfo)
        wire.flush()
        #expect(wire.lastQuery?.cmdType == "DeviceInfo" && wire.lastQuery?.sn == infoSN)
        let info = DeviceInfo(name: "NVR", manufacturer: "Hikvision", model: "DS-7716", firmware: "V4.1", channels: 16)
        wire.deviceSends(.deviceInfoResponse(sn: infoSN, deviceID: Wire.device, info: info))
        #expect(wire.events.last?.event == .deviceInfo(deviceID: Wire.device, info: info))

        let sentGuard = wire.server.control(deviceID: Wire.device, fields: [.leaf("GuardCmd", "SetGuard")], now: wire.now)
        let guardSN = try #require(sentGuard)
        wire.flush()
        let control = try #require(wire.lastQuery)
        #expect(control.kind == .control && control.cmdType == "DeviceControl" && control["GuardCmd"] == "SetGuard" && control.sn == guardSN)
        let ack = MANSCDPMessage(kind: .response, cmdType: "DeviceControl", sn: guardSN, deviceID: Wire.device, fields: [.leaf("Result", "OK")])
        wire.deviceSends(ack)
        #expect(wire.events.last?.event == .controlAcknowledged(deviceID: Wire.device, sn: guardSN, result: "OK"))

        let status = MANSCDPMessage(kind: .response, cmdType: "DeviceStatus", sn: 9, deviceID: Wire.device, fields: [.leaf("Online", "ONLINE"), .leaf("Status", "OK")])
        wire.deviceSends(status)
        #expect(wire.events.last?.event == .deviceStatus(deviceID: Wire.device, online: "ONLINE", status: "OK"))
        #expect(wire.server.query(deviceID: "34020000001110000099", cmdType: "DeviceInfo", now: wire.now) == nil)
    }
}

/// Each fault switch makes the observation it breaks come out wrong.
@Suite struct GB28181PlatformFaultTests {
    typealias Wire = GB28181PlatformWire

    @Test func alarmDelayHoldsTheAlarmBackByTheDelay() {
        var wire = Wire(faults: GB28181PlatformFaults(alarmDelay: .seconds(5)))
        wire.register()
        let sent = wire.now
        #expect(wire.deviceSends(.alarmNotify(sn: 1, deviceID: Wire.device, alarm: GB28181PlatformServerTests.motion)).status == 200)
        wire.run(for: 5 * Wire.second - 1)
        #expect(wire.events(where: \.isAlarm).isEmpty)
        wire.run(for: 1)
        #expect(wire.events(where: \.isAlarm).map(\.at) == [sent + 5 * Wire.second])
    }

    @Test func dropAlarmsAnswersButNeverReports() {
        var wire = Wire(faults: GB28181PlatformFaults(dropAlarms: true))
        wire.register()
        #expect(wire.deviceSends(.alarmNotify(sn: 1, deviceID: Wire.device, alarm: GB28181PlatformServerTests.motion)).status == 200)
        wire.run(for: 60 * Wire.second)
        #expect(wire.events(where: \.isAlarm).isEmpty)
        #expect(wire.server.counters.alarms == 1 && wire.server.counters.alarmsDropped == 1)
    }

    @Test func catalogTruncatedKeepsOnlyTheFirstMessage() throws {
        var wire = Wire(faults: GB28181PlatformFaults(catalogTruncated: true))
        wire.register()
        let sn = try #require(wire.lastQuery).sn
        let items = try GB28181PlatformServerTests.nvrItems(128)
        for message in MANSCDPMessage.catalogResponses(sn: sn, deviceID: Wire.device, items: items, perMessage: 20) {
            #expect(wire.deviceSends(message).status == 200)
        }
        wire.run(for: wire.server.settings.catalogTimeout)
        #expect(wire.events(where: \.isCatalog).map(\.event) == [
            .catalog(deviceID: Wire.device, sn: sn, items: Array(items.prefix(20)), sumNum: 128, complete: false),
        ])
        #expect(wire.server.counters.catalogMessagesDiscarded == 6)
    }

    @Test func keepalivesIgnoredNeverNoticesASilentCamera() {
        var wire = Wire(faults: GB28181PlatformFaults(keepalivesIgnored: true))
        wire.register()
        wire.run(for: 2 * 60 * Wire.second)
        wire.cameraCut = true
        wire.run(for: 10 * 60 * Wire.second)
        #expect(wire.events(where: \.isOffline).isEmpty)
        #expect(wire.server.devices[Wire.device]?.online == true)

        // Switched back on, the silence is noticed at once (it is long past the timeout).
        wire.server.faults.keepalivesIgnored = false
        wire.run(for: 1)
        #expect(wire.events(where: \.isOffline).count == 1)
    }
}

extension GB28181PlatformServerTests {
    /// Some cameras reuse one Via branch for every request: a new CSeq is a new request, not a copy.
    @Test func aReusedBranchWithANewCSeqIsANewRequest() throws {
        var wire = Wire()
        wire.register()
        let body = try MANSCDPMessage.alarmNotify(sn: 3, deviceID: Self.channel, alarm: Self.motion).encoded()
        for cseq in [1, 2] {
            let request = Wire.message(bytes: body, from: Wire.device, branch: "z9hG4bKsame", cseq: cseq)
            #expect(wire.server.received(request: request, from: Wire.cameraAddress, now: wire.now)?.status == 200)
        }
        wire.flush()
        #expect(wire.events(where: \.isAlarm).count == 2 && wire.server.counters.retransmittedRequests == 0)
    }
}

extension GB28181PlatformServerTests {
    /// Three hours: refreshes at half the expiry reuse the cached nonce until it is an hour old,
    /// then the server challenges it as stale and the camera answers the fresh one unasked.
    @Test func refreshesKeepTheRegistrationAndAStaleNonceIsChallengedAgain() {
        var wire = Wire()
        wire.register()
        wire.run(for: 3 * 3_600 * Self.second)
        guard case .registered = wire.registration.state else {
            Issue.record("camera not registered after 3 h: \(wire.registration.state)")
            return
        }
        let counters = wire.server.counters
        // The first registration, then a refresh every 30 min: 1 + 6.
        #expect(counters.refusals == 0 && counters.registrations == 7, "\(counters)")
        // Challenged at first; the refresh at 1 h 30 min answers a nonce 90 min old (stale), and
        // so does the one at 3 h (the nonce of 1 h 30 min); the ones at 1 h and 2 h 30 min are
        // exactly an hour old, still current.
        #expect(counters.challenges == 3, "\(counters)")
        #expect(wire.events(where: \.isOffline).isEmpty && wire.events(where: \.isOnline).count == 1)
    }

    @Test func aRegistrationThatRunsOutUnrefreshedIsDropped() throws {
        var wire = Wire()
        wire.register()
        let registeredAt = try #require(wire.events(where: \.isRegistered).first).at
        wire.cameraCut = true
        wire.run(for: 2 * 3_600 * Self.second)
        let dropped = wire.events.filter { $0.event == .unregistered(deviceID: Wire.device, expired: true) }
        #expect(dropped.map(\.at) == [registeredAt + 3_600 * Self.second])
        #expect(wire.server.devices.isEmpty && wire.events(where: \.isOffline).count == 1)
    }
}
