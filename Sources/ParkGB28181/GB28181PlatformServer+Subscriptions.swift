/// Subscriptions from the platform's side (GB/T 28181-2016 §9.11, RFC 6665): SUBSCRIBE to a
/// device's Catalog, Alarm or MobilePosition events, NOTIFYs answered and turned into events (an
/// Alarm NOTIFY into the same alarm as an Alarm MESSAGE), and Expires 0 to end one.
extension GB28181PlatformServer {
    /// A subscription the platform holds, by Call-ID.
    public struct Subscription: Sendable, Equatable {
        public let deviceID: String
        /// Catalog, Alarm or MobilePosition.
        public let cmdType: String
        public internal(set) var active = false
        let event: String
        let fromTag: String
        var toTag: String?
        var cseq: UInt32 = 1
        let destination: SIPAddress
    }

    /// One item of a Catalog NOTIFY and the change it reports (`ON`, `OFF`, `VLOST`, `DEFECT`,
    /// `ADD`, `DEL`, `UPDATE`; nil in the NOTIFY that carries the whole catalog).
    public struct CatalogChange: Sendable, Equatable {
        public var item: CatalogItem
        public var event: String?
    }

    /// SUBSCRIBEs registered device `deviceID` to `cmdType` (Catalog, Alarm, MobilePosition) for
    /// `expires` seconds; MobilePosition every `interval` seconds. The subscription's Call-ID, nil
    /// when the device is not registered.
    public mutating func subscribe(deviceID: String, cmdType: String, expires: Int = 3600, interval: Int = 5, now: UInt64) -> String? {
        guard let device = devices[deviceID] else { return nil }
        let callID = SIPIdentifiers.callID(host: settings.local.host, using: &random)
        let sn = takeSubscriptionSN()
        // The Event header as platforms send it: the catalog with an id, alarms and positions as presence.
        let event = cmdType == "Catalog" ? "Catalog;id=\(sn)" : "presence"
        var fields: [MANSCDPElement] = []
        switch cmdType {
        case "Alarm": fields = [.leaf("StartAlarmPriority", "1"), .leaf("EndAlarmPriority", "4"), .leaf("AlarmMethod", "0")]
        case "MobilePosition": fields = [.leaf("Interval", String(max(1, interval)))]
        default: break
        }
        let subscription = Subscription(
            deviceID: deviceID, cmdType: cmdType, event: event, fromTag: SIPIdentifiers.tag(using: &random), destination: device.address)
        subscriptions[callID] = subscription
        sendSubscribe(subscription, callID: callID, expires: expires,
                      body: MANSCDPMessage(kind: .query, cmdType: cmdType, sn: sn, deviceID: deviceID, fields: fields), now: now)
        return callID
    }

    /// Ends a subscription with an in-dialog SUBSCRIBE, Expires 0. False for an unknown Call-ID.
    @discardableResult
    public mutating func unsubscribe(callID: String, now: UInt64) -> Bool {
        guard var subscription = subscriptions.removeValue(forKey: callID) else { return false }
        subscription.cseq += 1
        sendSubscribe(subscription, callID: callID, expires: 0,
                      body: MANSCDPMessage(kind: .query, cmdType: subscription.cmdType, sn: takeSubscriptionSN(), deviceID: subscription.deviceID),
                      now: now)
        return true
    }

    private mutating func takeSubscriptionSN() -> Int {
        nextSN += 1
        return nextSN
    }

    private mutating func sendSubscribe(_ subscription: Subscription, callID: String, expires: Int, body: MANSCDPMessage, now: UInt64) {
        let request = SIPMessage.request(method: "SUBSCRIBE", uri: "sip:\(subscription.deviceID)@\(subscription.destination)", headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(settings.platformID)@\(settings.domain)>;tag=\(subscription.fromTag)"),
            SIPHeader("To", "<sip:\(subscription.deviceID)@\(settings.domain)>" + (subscription.toTag.map { ";tag=\($0)" } ?? "")),
            SIPHeader("Call-ID", callID),
            SIPHeader("CSeq", "\(subscription.cseq) SUBSCRIBE"),
            SIPHeader("Contact", "<sip:\(settings.platformID)@\(settings.local)>"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
            SIPHeader("Event", subscription.event),
            SIPHeader("Expires", String(expires)),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ], body: (try? body.encoded()) ?? [])
        counters.subscribesSent += 1
        transactions.start(
            request, to: subscription.destination,
            owner: Owner(deviceID: subscription.deviceID, cmdType: "SUBSCRIBE", sn: body.sn, callID: callID), now: now,
            send: { outbox.append($0) })
    }

    /// The answer to a SUBSCRIBE (nil: it timed out).
    mutating func subscribeEnded(_ owner: Owner, _ response: SIPMessage?, now: UInt64) {
        guard let callID = owner.callID, var subscription = subscriptions[callID] else { return }
        guard let response, let status = response.status, (200..<300).contains(status) else {
            subscriptions[callID] = nil
            record(.requestFailed(deviceID: owner.deviceID, cmdType: "SUBSCRIBE", sn: owner.sn, status: response?.status), now)
            return
        }
        subscription.toTag = response.toTag
        subscription.active = true
        subscriptions[callID] = subscription
        record(.subscribed(deviceID: subscription.deviceID, cmdType: subscription.cmdType, callID: callID, expires: response.expires ?? 0), now)
    }

    /// A device's NOTIFY: 200 and its events for a subscription the platform holds, 481 for one it does not.
    mutating func notify(_ request: SIPMessage, now: UInt64) -> SIPMessage {
        guard let callID = request.callID, let subscription = subscriptions[callID] else {
            counters.strayNotifies += 1
            return request.response(status: 481, reason: "Subscription Does Not Exist", toTag: SIPIdentifiers.tag(using: &random))
        }
        let deviceID = subscription.deviceID
        counters.notifies += 1
        if devices[deviceID] != nil { seen(deviceID, now: now) }
        let ok = request.response(status: 200, reason: "OK")
        if let state = request.headers["Subscription-State"], state.lowercased().hasPrefix("terminated") {
            subscriptions[callID] = nil
            record(.subscriptionEnded(deviceID: deviceID, cmdType: subscription.cmdType, reason: state), now)
        }
        guard !request.body.isEmpty else { return ok }
        let body: MANSCDPMessage
        do { body = try MANSCDPMessage(bytes: request.body) } catch {
            return problem(request, deviceID: deviceID, reason: "NOTIFY body: \(error.description)", now: now)
        }
        switch body.cmdType {
        case "Alarm":
            do { alarm(deviceID: deviceID, channelID: body.deviceID, alarm: try body.alarm(), now: now) } catch {
                return problem(request, deviceID: deviceID, reason: "Alarm NOTIFY: \(error.description)", now: now)
            }
        case "Catalog":
            guard let list = body.root.child("DeviceList") else { return ok }
            var changes: [CatalogChange] = []
            for element in list.children where element.name == "Item" {
                guard let item = try? CatalogItem(element) else { continue }
                changes.append(CatalogChange(item: item, event: element["Event"]))
            }
            if !changes.isEmpty { record(.catalogChanged(deviceID: deviceID, changes: changes), now) }
        case "MobilePosition":
            guard let longitude = body["Longitude"].flatMap(Double.init), let latitude = body["Latitude"].flatMap(Double.init) else {
                return problem(request, deviceID: deviceID, reason: "MobilePosition NOTIFY without Longitude and Latitude", now: now)
            }
            record(.position(deviceID: deviceID, DevicePosition(
                time: body["Time"] ?? "", longitude: longitude, latitude: latitude, speed: body["Speed"].flatMap(Double.init) ?? 0,
                direction: body["Direction"].flatMap(Double.init) ?? 0, altitude: body["Altitude"].flatMap(Double.init) ?? 0)), now)
        default:
            break
        }
        return ok
    }
}
