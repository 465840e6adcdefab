import ParkEventLoop

/// Subscriptions (GB/T 28181-2016 §9.11, RFC 6665): a platform SUBSCRIBEs to a device's
/// Catalog, Alarm or MobilePosition events and the device NOTIFYs it in that dialog — the whole
/// catalog at once and each change after (a channel's video lost or back), each alarm (instead of
/// an Alarm MESSAGE, so the platform hears it once), its position every `Interval` seconds —
/// until the subscription's Expires runs out or the platform ends it with Expires 0.
extension GB28181DeviceAgent {
    /// One subscription of one device, by Call-ID.
    struct Subscription: Sendable {
        var device: Int32
        var cmdType: String
        /// The SUBSCRIBE's Event header, repeated in every NOTIFY.
        var event: String
        var platformURI: String
        /// Where the SUBSCRIBE came from: where the NOTIFYs go.
        var destination: SIPAddress
        var platformTag: String
        var ownTag: String
        var cseq: UInt32 = 0
        var expiresAt: UInt64
        /// MobilePosition: seconds between NOTIFYs.
        var interval: UInt64
        var sn: Int
    }

    /// Why the subscription timer wakes.
    enum SubscriptionWake: Sendable, Hashable {
        case expiry(String)
        case position(String)
    }

    /// The event packages a device answers, by the body's CmdType.
    static let subscribable: Set<String> = ["Catalog", "Alarm", "MobilePosition"]

    /// A SUBSCRIBE (new, refreshed, or Expires 0 to end): the 200 with Expires and a Response body,
    /// then the first NOTIFY (Catalog: every item; MobilePosition: where the device is).
    mutating func subscribe(_ request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        guard let callID = request.callID, let platformTag = request.fromTag, let event = request.headers["Event"] else {
            counters.badBodies += 1
            return request.response(status: 400, reason: "Bad Request", toTag: "gb")
        }
        let query: MANSCDPMessage
        do { query = try MANSCDPMessage(bytes: request.body) } catch {
            counters.badBodies += 1
            return request.response(status: 400, reason: "Bad Request", toTag: "gb")
        }
        guard let target = targets[query.deviceID] ?? request.requestURI.flatMap(Self.userPart).flatMap({ targets[$0] }) else {
            counters.unknownTargets += 1
            return request.response(status: 404, reason: "Not Found", toTag: "gb")
        }
        let index = Int(target.device)
        guard !silent[index] else {
            counters.unanswered += 1
            return nil
        }
        guard Self.subscribable.contains(query.cmdType) else {
            // RFC 6665 §4.2.1.1: an event package we do not know.
            return request.response(status: 489, reason: "Bad Event", toTag: "gb")
        }
        let expires = UInt64(min(max(request.expires ?? 3600, 0), 86_400))
        let ownTag = subscriptions[callID]?.ownTag ?? "gbs\(callID.hashValue & 0xFFFF_FFFF)"
        var answer = request.response(status: 200, reason: "OK", toTag: ownTag, extraHeaders: [
            SIPHeader("Expires", String(expires)),
            SIPHeader("Contact", "<sip:\(devices[index].deviceID)@\(client.settings.local)>"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ])
        answer.body = body(of: MANSCDPMessage(kind: .response, cmdType: query.cmdType, sn: query.sn, deviceID: query.deviceID,
                                              fields: [.leaf("Result", "OK")]), device: index)
        guard expires > 0 else {
            if subscriptions.removeValue(forKey: callID) != nil { counters.subscriptionsEnded += 1 }
            return answer
        }
        let platformURI = request.contactURI ?? "sip:\(client.settings.serverID)@\(client.settings.domain)"
        let refreshed = subscriptions[callID] != nil
        var subscription = subscriptions[callID] ?? Subscription(
            device: Int32(index), cmdType: query.cmdType, event: event, platformURI: platformURI, destination: source, platformTag: platformTag,
            ownTag: ownTag, expiresAt: 0, interval: 0, sn: query.sn)
        subscription.expiresAt = now + expires * 1_000_000_000
        subscription.interval = UInt64(max(1, Int(query["Interval"] ?? "") ?? 5))
        subscriptions[callID] = subscription
        subscriptionTimers.push(subscription.expiresAt, .expiry(callID))
        guard !refreshed else { return answer }
        counters.subscriptions += 1
        switch query.cmdType {
        case "Catalog":
            let device = devices[index]
            notify(callID, MANSCDPMessage(kind: .notify, cmdType: "Catalog", sn: query.sn, deviceID: device.deviceID, fields: [
                .leaf("SumNum", String(device.channels.count)),
                MANSCDPElement("DeviceList", attributes: [MANSCDPAttribute("Num", String(device.channels.count))],
                               children: device.channels.map(\.element)),
            ]), now: now)
        case "MobilePosition":
            notifyPosition(callID, now: now)
        default:
            break
        }
        return answer
    }

    /// Subscriptions the agent's devices hold now.
    public var subscriptionCount: Int { subscriptions.count }

    /// Whether device `index` has an Alarm subscription (its alarms then go as NOTIFY, not MESSAGE).
    func hasAlarmSubscription(_ index: Int) -> Bool {
        subscriptions.values.contains { Int($0.device) == index && $0.cmdType == "Alarm" }
    }

    /// Sends `message` (an Alarm notify) to every Alarm subscription of device `index`.
    mutating func notifyAlarm(_ message: MANSCDPMessage, from index: Int, now: UInt64) {
        for (callID, subscription) in subscriptions where Int(subscription.device) == index && subscription.cmdType == "Alarm" {
            notify(callID, message, now: now)
        }
    }

    /// A change to device `index`'s catalog — `items` with the event GB/T 28181-2016 §A.2.4.1
    /// names (ON, OFF, VLOST, DEFECT, ADD, DEL, UPDATE) — to its Catalog subscribers.
    public mutating func catalogChanged(_ index: Int, items: [CatalogItem], event: String, now: UInt64) {
        guard !silent[index], !items.isEmpty else { return }
        for (callID, subscription) in subscriptions where Int(subscription.device) == index && subscription.cmdType == "Catalog" {
            let elements = items.map { item -> MANSCDPElement in
                var element = item.element
                element.children.append(.leaf("Event", event))
                return element
            }
            notify(callID, MANSCDPMessage(kind: .notify, cmdType: "Catalog", sn: nextSN(index), deviceID: devices[index].deviceID, fields: [
                .leaf("SumNum", String(items.count)),
                MANSCDPElement("DeviceList", attributes: [MANSCDPAttribute("Num", String(items.count))], children: elements),
            ]), now: now)
        }
    }

    /// Ends subscriptions that ran out (a last NOTIFY, `terminated;reason=timeout`) and sends due positions.
    mutating func advanceSubscriptions(now: UInt64) {
        while let (deadline, wake) = subscriptionTimers.popDue(now) {
            switch wake {
            case .expiry(let callID):
                guard let subscription = subscriptions[callID], subscription.expiresAt == deadline else { continue }
                notify(callID, MANSCDPMessage(kind: .notify, cmdType: subscription.cmdType, sn: subscription.sn,
                                              deviceID: devices[Int(subscription.device)].deviceID), state: "terminated;reason=timeout", now: now)
                subscriptions[callID] = nil
                counters.subscriptionsEnded += 1
            case .position(let callID):
                guard subscriptions[callID] != nil else { continue }
                notifyPosition(callID, now: now)
            }
        }
    }

    /// Ends every subscription of device `index` (power lost, or stopped): no NOTIFY can go out.
    mutating func endSubscriptions(of index: Int) {
        for (callID, subscription) in subscriptions where Int(subscription.device) == index {
            subscriptions[callID] = nil
            counters.subscriptionsEnded += 1
        }
    }

    private mutating func notifyPosition(_ callID: String, now: UInt64) {
        guard let subscription = subscriptions[callID] else { return }
        let index = Int(subscription.device)
        if let position = hooks.position(index) {
            notify(callID, MANSCDPMessage(kind: .notify, cmdType: "MobilePosition", sn: nextSN(index), deviceID: devices[index].deviceID, fields: [
                .leaf("Time", position.time), .leaf("Longitude", String(position.longitude)), .leaf("Latitude", String(position.latitude)),
                .leaf("Speed", String(position.speed)), .leaf("Direction", String(position.direction)), .leaf("Altitude", String(position.altitude)),
            ]), now: now)
        }
        subscriptionTimers.push(now + subscription.interval * 1_000_000_000, .position(callID))
    }

    /// A NOTIFY in the subscription's dialog, as a client transaction of the device.
    private mutating func notify(_ callID: String, _ message: MANSCDPMessage, state: String? = nil, now: UInt64) {
        guard var subscription = subscriptions[callID] else { return }
        let index = Int(subscription.device)
        guard !silent[index] else { return }
        subscription.cseq += 1
        subscriptions[callID] = subscription
        let seconds = subscription.expiresAt > now ? (subscription.expiresAt - now) / 1_000_000_000 : 0
        let settings = client.settings
        let request = SIPMessage.request(method: "NOTIFY", uri: subscription.platformURI, headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(settings.local);rport;branch=z9hG4bK\(callID.hashValue & 0xFFFF_FFFF)n\(subscription.cseq)"),
            SIPHeader("From", "<sip:\(devices[index].deviceID)@\(settings.domain)>;tag=\(subscription.ownTag)"),
            SIPHeader("To", "<sip:\(settings.serverID)@\(settings.domain)>;tag=\(subscription.platformTag)"),
            SIPHeader("Call-ID", callID),
            SIPHeader("CSeq", "\(subscription.cseq) NOTIFY"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", settings.userAgent),
            SIPHeader("Event", subscription.event),
            SIPHeader("Subscription-State", state ?? "active;expires=\(seconds)"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ], body: body(of: message, device: index))
        counters.notifies += 1
        client.send(index, request: request, to: subscription.destination, now: now)
    }
}

/// Where a device is, for MobilePosition notifications (GB/T 28181-2016 §A.2.4.7).
public struct DevicePosition: Sendable, Equatable {
    public var time: String
    public var longitude: Double
    public var latitude: Double
    /// km/h, degrees from north, metres.
    public var speed: Double
    public var direction: Double
    public var altitude: Double

    public init(time: String, longitude: Double, latitude: Double, speed: Double = 0, direction: Double = 0, altitude: Double = 0) {
        self.time = time
        self.longitude = longitude
        self.latitude = latitude
        self.speed = speed
        self.direction = direction
        self.altitude = altitude
    }
}
