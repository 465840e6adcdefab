/// The MANSCDP side of the platform: the MESSAGEs devices send (keepalives, alarms, responses to
/// the platform's queries) and the queries and controls the platform sends.
extension GB28181PlatformServer {
    /// Sends a Query (`Catalog`, `DeviceInfo`, `DeviceStatus`) to a registered device; its SN, nil
    /// when the device is not registered.
    @discardableResult
    public mutating func query(deviceID: String, cmdType: String, now: UInt64) -> Int? {
        guard devices[deviceID] != nil else { return nil }
        return sendQuery(deviceID: deviceID, cmdType: cmdType, now: now)
    }

    /// Sends a DeviceControl to a registered device (or one of its channels): `fields` after
    /// CmdType/SN/DeviceID, e.g. `.leaf("PTZCmd", …)`, `.leaf("GuardCmd", "SetGuard")`,
    /// `.leaf("AlarmCmd", "ResetAlarm")`. Its SN, nil when the device is not registered.
    @discardableResult
    public mutating func control(deviceID: String, channelID: String? = nil, fields: [MANSCDPElement], now: UInt64) -> Int? {
        guard devices[deviceID] != nil else { return nil }
        let sn = takeSN()
        let body = MANSCDPMessage(kind: .control, cmdType: "DeviceControl", sn: sn, deviceID: channelID ?? deviceID, fields: fields)
        send(body, to: deviceID, now: now)
        return sn
    }

    /// Sends `command` (PTZ, guard, alarm reset, reboot) as a DeviceControl to a registered
    /// device or one of its channels; its SN, nil when the device is not registered.
    @discardableResult
    public mutating func control(deviceID: String, channelID: String? = nil, _ command: GB28181DeviceControl, now: UInt64) -> Int? {
        guard devices[deviceID] != nil else { return nil }
        let sn = takeSN()
        send(MANSCDPMessage.deviceControl(sn: sn, deviceID: channelID ?? deviceID, command), to: deviceID, now: now)
        return sn
    }

    @discardableResult
    mutating func sendQuery(deviceID: String, cmdType: String, now: UInt64) -> Int {
        let sn = takeSN()
        send(MANSCDPMessage.query(cmdType: cmdType, sn: sn, deviceID: deviceID), to: deviceID, now: now)
        return sn
    }

    private mutating func takeSN() -> Int {
        defer { nextSN = nextSN == Int(Int32.max) ? 1 : nextSN + 1 }
        return nextSN
    }

    /// A MESSAGE outside any dialog to the device's registered address, as a client transaction.
    private mutating func send(_ body: MANSCDPMessage, to deviceID: String, now: UInt64) {
        guard let device = devices[deviceID] else { return }
        cseq += 1
        let headers = [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(settings.platformID)@\(settings.domain)>;tag=\(SIPIdentifiers.tag(using: &random))"),
            SIPHeader("To", "<sip:\(deviceID)@\(settings.domain)>"),
            SIPHeader("Call-ID", SIPIdentifiers.callID(host: settings.local.host, using: &random)),
            SIPHeader("CSeq", "\(cseq) MESSAGE"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ]
        // An id and ASCII fields in UTF-8 always encode.
        let bytes = (try? body.encoded()) ?? []
        let request = SIPMessage.request(method: "MESSAGE", uri: "sip:\(deviceID)@\(device.address)", headers: headers, body: bytes)
        transactions.start(
            request, to: device.address, owner: Owner(deviceID: deviceID, cmdType: body.cmdType, sn: body.sn), now: now,
            send: { outbox.append($0) })
    }

    /// A device's MESSAGE: 200 for what was understood, 400 for a body that is not MANSCDP, 403
    /// from a device that is not registered (it should register again).
    mutating func message(_ request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage {
        guard let deviceID = request.headers["From"].flatMap(Self.user) else {
            return problem(request, deviceID: "?", reason: "MESSAGE has no sip: user in From", now: now)
        }
        guard devices[deviceID] != nil else {
            counters.unregisteredMessages += 1
            return request.response(status: 403, reason: "Forbidden", toTag: SIPIdentifiers.tag(using: &random))
        }
        let body: MANSCDPMessage
        do {
            body = try MANSCDPMessage(bytes: request.body)
        } catch {
            return problem(request, deviceID: deviceID, reason: "MESSAGE body: \(error.description)", now: now)
        }
        if !(body.cmdType == "Keepalive" && faults.keepalivesIgnored) { seen(deviceID, now: now) }
        switch (body.kind, body.cmdType) {
        case (.notify, "Keepalive"):
            counters.keepalives += 1
            record(.keepalive(deviceID: deviceID), now)
        case (.notify, "Alarm"):
            do {
                alarm(deviceID: deviceID, channelID: body.deviceID, alarm: try body.alarm(), now: now)
            } catch {
                return problem(request, deviceID: deviceID, reason: "Alarm: \(error.description)", now: now)
            }
        case (.response, "Catalog"):
            if let reason = catalog(body, from: deviceID, now: now) {
                return problem(request, deviceID: deviceID, reason: "Catalog: \(reason)", now: now)
            }
        case (.response, "DeviceInfo"):
            do {
                record(.deviceInfo(deviceID: deviceID, info: try body.deviceInfo()), now)
            } catch {
                return problem(request, deviceID: deviceID, reason: "DeviceInfo: \(error.description)", now: now)
            }
        case (.response, "DeviceStatus"):
            record(.deviceStatus(deviceID: deviceID, online: body["Online"], status: body["Status"]), now)
        case (.response, "DeviceControl"):
            record(.controlAcknowledged(deviceID: deviceID, sn: body.sn, result: body["Result"]), now)
        default:
            // Understood as MANSCDP, not acted on: still an answer, so the device does not retry.
            break
        }
        return request.response(status: 200, reason: "OK", toTag: SIPIdentifiers.tag(using: &random))
    }

    /// The device spoke: it is alive (back online if it was not).
    mutating func seen(_ deviceID: String, now: UInt64) {
        guard var device = devices[deviceID] else { return }
        device.lastSeen = now
        let returning = !device.online
        device.online = true
        devices[deviceID] = device
        if returning { record(.online(deviceID: deviceID), now) }
        schedule(deviceID)
    }

    mutating func alarm(deviceID: String, channelID: String, alarm: AlarmNotification, now: UInt64) {
        counters.alarms += 1
        guard !faults.dropAlarms else {
            counters.alarmsDropped += 1
            return
        }
        let event = GB28181PlatformEvent.alarm(deviceID: deviceID, channelID: channelID, alarm: alarm)
        guard faults.alarmDelay > 0 else { return record(event, now) }
        nextAlarm += 1
        delayedAlarms[nextAlarm] = event
        wakeups.push(now + faults.alarmDelay, .alarm(nextAlarm))
    }

    /// Adds one Catalog MESSAGE to its device + SN assembly; the reason when it is not usable.
    private mutating func catalog(_ body: MANSCDPMessage, from deviceID: String, now: UInt64) -> String? {
        counters.catalogMessages += 1
        guard let sumNum = body.sumNum, sumNum >= 0 else { return "no SumNum (or not a number)" }
        guard sumNum <= Self.maxCatalogItems else { return "SumNum \(sumNum) is over the \(Self.maxCatalogItems) kept" }
        let items: [CatalogItem]
        do {
            items = sumNum == 0 && body.root.child("DeviceList") == nil ? [] : try body.catalogItems()
        } catch {
            return error.description
        }
        let key = CatalogKey(deviceID: deviceID, sn: body.sn)
        var assembly = catalogs[key] ?? CatalogAssembly(sumNum: sumNum, deadline: 0)
        if faults.catalogTruncated, assembly.messages > 0 {
            counters.catalogMessagesDiscarded += 1
            return nil
        }
        guard assembly.items.count + items.count <= Self.maxCatalogItems else { return "more items than SumNum \(sumNum)" }
        assembly.items += items
        assembly.messages += 1
        if assembly.items.count >= assembly.sumNum {
            catalogs[key] = nil
            record(
                .catalog(deviceID: deviceID, sn: key.sn, items: assembly.items, sumNum: assembly.sumNum, complete: assembly.items.count == assembly.sumNum),
                now)
            return nil
        }
        assembly.deadline = now + settings.catalogTimeout
        catalogs[key] = assembly
        wakeups.push(assembly.deadline, .catalog(key))
        return nil
    }
}
