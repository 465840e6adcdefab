/// One entry of a Catalog response's DeviceList (GB/T 28181-2016 §A.2.6.4 `itemType`): a
/// channel, a device or a directory node.
public struct CatalogItem: Sendable, Equatable {
    public var deviceID: String
    public var name: String
    public var manufacturer: String
    public var model: String
    public var owner: String
    public var civilCode: String
    public var address: String
    /// 1 when the entry has children (an NVR), 0 for a channel.
    public var parental: Int
    public var parentID: String
    /// 0 none, 2 S/MIME signature, 3 S/MIME encryption and signature, 4 digest.
    public var safetyWay: Int
    /// 1 RFC 3261 digest registration, 2 password mutual, 3 certificate mutual.
    public var registerWay: Int
    /// 0 not classified, 1 classified.
    public var secrecy: Int
    /// "ON" or "OFF".
    public var status: String

    public init(
        deviceID: String, name: String, manufacturer: String, model: String, owner: String = "Owner", civilCode: String,
        address: String = "Address", parental: Int = 0, parentID: String, safetyWay: Int = 0, registerWay: Int = 1,
        secrecy: Int = 0, status: String = "ON"
    ) {
        self.deviceID = deviceID
        self.name = name
        self.manufacturer = manufacturer
        self.model = model
        self.owner = owner
        self.civilCode = civilCode
        self.address = address
        self.parental = parental
        self.parentID = parentID
        self.safetyWay = safetyWay
        self.registerWay = registerWay
        self.secrecy = secrecy
        self.status = status
    }

    /// Reads an `<Item>`; numbers a device leaves out or garbles take the standard's defaults
    /// (the harness checks field validity separately).
    public init(_ element: MANSCDPElement) throws(MANSCDPError) {
        guard let deviceID = element["DeviceID"] else { throw .missingField("Item/DeviceID") }
        self.init(
            deviceID: deviceID, name: element["Name"] ?? "", manufacturer: element["Manufacturer"] ?? "",
            model: element["Model"] ?? "", owner: element["Owner"] ?? "", civilCode: element["CivilCode"] ?? "",
            address: element["Address"] ?? "", parental: element["Parental"].flatMap { Int($0) } ?? 0,
            parentID: element["ParentID"] ?? "", safetyWay: element["SafetyWay"].flatMap { Int($0) } ?? 0,
            registerWay: element["RegisterWay"].flatMap { Int($0) } ?? 1, secrecy: element["Secrecy"].flatMap { Int($0) } ?? 0,
            status: element["Status"] ?? "")
    }

    public var element: MANSCDPElement {
        MANSCDPElement("Item", children: [
            .leaf("DeviceID", deviceID), .leaf("Name", name), .leaf("Manufacturer", manufacturer), .leaf("Model", model),
            .leaf("Owner", owner), .leaf("CivilCode", civilCode), .leaf("Address", address), .leaf("Parental", String(parental)),
            .leaf("ParentID", parentID), .leaf("SafetyWay", String(safetyWay)), .leaf("RegisterWay", String(registerWay)),
            .leaf("Secrecy", String(secrecy)), .leaf("Status", status),
        ])
    }
}

/// What a DeviceInfo response reports (GB/T 28181-2016 §A.2.6.5).
public struct DeviceInfo: Sendable, Equatable {
    public var name: String
    public var manufacturer: String
    public var model: String
    public var firmware: String
    public var channels: Int

    public init(name: String, manufacturer: String, model: String, firmware: String, channels: Int) {
        self.name = name
        self.manufacturer = manufacturer
        self.model = model
        self.firmware = firmware
        self.channels = channels
    }
}

/// An alarm a device raises (GB/T 28181-2016 §A.2.5.2 Alarm notify).
public struct AlarmNotification: Sendable, Equatable {
    /// 1 (highest) to 4.
    public var priority: Int
    /// 1 telephone, 2 device, 3 SMS, 4 GPS, 5 video, 6 device fault, 7 other.
    public var method: Int
    /// `yyyy-MM-ddTHH:mm:ss`, local time, as the standard's dateTime is sent.
    public var time: String
    public var description: String?
    /// The alarm type within its method (e.g. video: 2 motion, 5 tamper), in `<Info>`.
    public var type: Int?

    public init(priority: Int, method: Int, time: String, description: String? = nil, type: Int? = nil) {
        self.priority = priority
        self.method = method
        self.time = time
        self.description = description
        self.type = type
    }
}

/// The bodies a GB/T 28181 device sends and the fields read back out of them.
extension MANSCDPMessage {
    /// `Notify` Keepalive (§9.6): the device is alive; Status OK.
    public static func keepalive(sn: Int, deviceID: String, status: String = "OK") -> MANSCDPMessage {
        MANSCDPMessage(kind: .notify, cmdType: "Keepalive", sn: sn, deviceID: deviceID, fields: [.leaf("Status", status)])
    }

    /// A Catalog query's answer split into messages of at most `perMessage` items, as NVRs send it
    /// (§A.2.6.4): each carries the whole count in SumNum and its own in `DeviceList Num`. No items
    /// gives one message with SumNum 0.
    public static func catalogResponses(sn: Int, deviceID: String, items: [CatalogItem], perMessage: Int) -> [MANSCDPMessage] {
        precondition(perMessage > 0, "a catalog message holds at least one item")
        let chunks = items.isEmpty ? [[]] : stride(from: 0, to: items.count, by: perMessage).map {
            Array(items[$0..<min($0 + perMessage, items.count)])
        }
        return chunks.map { chunk in
            MANSCDPMessage(kind: .response, cmdType: "Catalog", sn: sn, deviceID: deviceID, fields: [
                .leaf("SumNum", String(items.count)),
                MANSCDPElement("DeviceList", attributes: [MANSCDPAttribute("Num", String(chunk.count))], children: chunk.map(\.element)),
            ])
        }
    }

    public static func deviceInfoResponse(sn: Int, deviceID: String, info: DeviceInfo, result: String = "OK") -> MANSCDPMessage {
        MANSCDPMessage(kind: .response, cmdType: "DeviceInfo", sn: sn, deviceID: deviceID, fields: [
            .leaf("DeviceName", info.name), .leaf("Result", result), .leaf("Manufacturer", info.manufacturer),
            .leaf("Model", info.model), .leaf("Firmware", info.firmware), .leaf("Channel", String(info.channels)),
        ])
    }

    public static func alarmNotify(sn: Int, deviceID: String, alarm: AlarmNotification) -> MANSCDPMessage {
        var fields: [MANSCDPElement] = [
            .leaf("AlarmPriority", String(alarm.priority)), .leaf("AlarmMethod", String(alarm.method)), .leaf("AlarmTime", alarm.time),
        ]
        if let description = alarm.description { fields.append(.leaf("AlarmDescription", description)) }
        if let type = alarm.type { fields.append(MANSCDPElement("Info", children: [.leaf("AlarmType", String(type))])) }
        return MANSCDPMessage(kind: .notify, cmdType: "Alarm", sn: sn, deviceID: deviceID, fields: fields)
    }

    /// A platform's query (§A.2.4), e.g. `query(cmdType: "Catalog", …)`.
    public static func query(cmdType: String, sn: Int, deviceID: String) -> MANSCDPMessage {
        MANSCDPMessage(kind: .query, cmdType: cmdType, sn: sn, deviceID: deviceID)
    }

    /// SumNum of a Catalog response.
    public var sumNum: Int? { self["SumNum"].flatMap { Int($0) } }

    /// The `Num` attribute of DeviceList.
    public var deviceListNum: Int? { root.child("DeviceList")?.attribute("Num").flatMap { Int($0) } }

    /// The items of a Catalog response's DeviceList, in order.
    public func catalogItems() throws(MANSCDPError) -> [CatalogItem] {
        guard let list = root.child("DeviceList") else { throw .missingField("DeviceList") }
        var items: [CatalogItem] = []
        for element in list.children where element.name == "Item" { items.append(try CatalogItem(element)) }
        return items
    }

    public func deviceInfo() throws(MANSCDPError) -> DeviceInfo {
        guard let channels = self["Channel"] else { throw .missingField("Channel") }
        guard let count = Int(channels) else { throw .invalidField(name: "Channel", value: channels) }
        return DeviceInfo(
            name: self["DeviceName"] ?? "", manufacturer: self["Manufacturer"] ?? "", model: self["Model"] ?? "",
            firmware: self["Firmware"] ?? "", channels: count)
    }

    /// The alarm of an Alarm notify; AlarmType is read from `<Info>` or, as some devices put it,
    /// the top level.
    public func alarm() throws(MANSCDPError) -> AlarmNotification {
        func number(_ name: String) throws(MANSCDPError) -> Int {
            guard let text = self[name] else { throw .missingField(name) }
            guard let value = Int(text) else { throw .invalidField(name: name, value: text) }
            return value
        }
        guard let time = self["AlarmTime"] else { throw .missingField("AlarmTime") }
        let type = (root.child("Info")?["AlarmType"] ?? self["AlarmType"]).flatMap { Int($0) }
        return AlarmNotification(
            priority: try number("AlarmPriority"), method: try number("AlarmMethod"), time: time,
            description: self["AlarmDescription"], type: type)
    }
}
