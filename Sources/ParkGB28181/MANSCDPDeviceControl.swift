/// A DeviceControl command a platform sends a device (GB/T 28181-2016 §A.2.3.1): PTZ, guard,
/// alarm reset or reboot.
public enum GB28181DeviceControl: Sendable, Equatable {
    case ptz(GB28181PTZCommand)
    /// GuardCmd: SetGuard (true) or ResetGuard (false).
    case guarding(Bool)
    /// AlarmCmd ResetAlarm.
    case resetAlarm
    /// TeleBoot Boot.
    case teleBoot

    /// Whether the device answers with a Response DeviceControl (§A.2.6.3): every command but PTZ,
    /// which is acknowledged by the SIP 200 alone.
    public var hasResponse: Bool {
        if case .ptz = self { return false }
        return true
    }
}

/// What a DeviceStatus response reports (§A.2.6.7): whether the device is online and working,
/// and each channel's duty status.
public struct DeviceStatusReport: Sendable, Equatable {
    /// One channel's entry under `Alarmstatus`.
    public struct ChannelDuty: Sendable, Equatable {
        public var channelID: String
        /// ONDUTY (guarded), OFFDUTY (not guarded) or ALARM (guarded with an alarm active).
        public var dutyStatus: String

        public init(channelID: String, dutyStatus: String) {
            self.channelID = channelID
            self.dutyStatus = dutyStatus
        }
    }

    public var online: Bool
    /// OK, or ERROR with `reason`.
    public var status: String
    public var reason: String?
    public var encoding: Bool
    public var recording: Bool
    /// `yyyy-MM-ddTHH:mm:ss`.
    public var deviceTime: String
    public var channels: [ChannelDuty]

    public init(online: Bool, status: String = "OK", reason: String? = nil, encoding: Bool = true, recording: Bool = false,
                deviceTime: String, channels: [ChannelDuty]) {
        self.online = online
        self.status = status
        self.reason = reason
        self.encoding = encoding
        self.recording = recording
        self.deviceTime = deviceTime
        self.channels = channels
    }
}

extension MANSCDPMessage {
    /// A platform's DeviceControl to `deviceID` (a device or one of its channels).
    public static func deviceControl(sn: Int, deviceID: String, _ control: GB28181DeviceControl) -> MANSCDPMessage {
        let field: MANSCDPElement = switch control {
        case .ptz(let command): .leaf("PTZCmd", command.hex)
        case .guarding(let on): .leaf("GuardCmd", on ? "SetGuard" : "ResetGuard")
        case .resetAlarm: .leaf("AlarmCmd", "ResetAlarm")
        case .teleBoot: .leaf("TeleBoot", "Boot")
        }
        var fields = [field]
        if case .ptz = control { fields.append(MANSCDPElement("Info", children: [.leaf("ControlPriority", "5")])) }
        return MANSCDPMessage(kind: .control, cmdType: "DeviceControl", sn: sn, deviceID: deviceID, fields: fields)
    }

    /// The command of a DeviceControl body; an error names the field that is missing or wrong.
    public func deviceControl() throws(MANSCDPError) -> GB28181DeviceControl {
        if let ptz = self["PTZCmd"] { return .ptz(try GB28181PTZCommand(hex: ptz)) }
        if let guardCommand = self["GuardCmd"] {
            switch guardCommand {
            case "SetGuard": return .guarding(true)
            case "ResetGuard": return .guarding(false)
            default: throw .invalidField(name: "GuardCmd", value: guardCommand)
            }
        }
        if let alarm = self["AlarmCmd"] {
            guard alarm == "ResetAlarm" else { throw .invalidField(name: "AlarmCmd", value: alarm) }
            return .resetAlarm
        }
        if let boot = self["TeleBoot"] {
            guard boot == "Boot" else { throw .invalidField(name: "TeleBoot", value: boot) }
            return .teleBoot
        }
        throw .missingField("PTZCmd, GuardCmd, AlarmCmd or TeleBoot")
    }

    /// A device's Response to a DeviceControl: Result OK or ERROR.
    public static func deviceControlResponse(sn: Int, deviceID: String, ok: Bool) -> MANSCDPMessage {
        MANSCDPMessage(kind: .response, cmdType: "DeviceControl", sn: sn, deviceID: deviceID, fields: [.leaf("Result", ok ? "OK" : "ERROR")])
    }

    /// `Result` of a response.
    public var result: String? { self["Result"] }

    public static func deviceStatusResponse(sn: Int, deviceID: String, report: DeviceStatusReport) -> MANSCDPMessage {
        var fields: [MANSCDPElement] = [
            .leaf("Result", "OK"), .leaf("Online", report.online ? "ONLINE" : "OFFLINE"), .leaf("Status", report.status),
        ]
        if let reason = report.reason { fields.append(.leaf("Reason", reason)) }
        fields += [
            .leaf("Encode", report.encoding ? "ON" : "OFF"), .leaf("Record", report.recording ? "ON" : "OFF"),
            .leaf("DeviceTime", report.deviceTime),
            MANSCDPElement("Alarmstatus", attributes: [MANSCDPAttribute("Num", String(report.channels.count))], children: report.channels.map {
                MANSCDPElement("Item", children: [.leaf("DeviceID", $0.channelID), .leaf("DutyStatus", $0.dutyStatus)])
            }),
        ]
        return MANSCDPMessage(kind: .response, cmdType: "DeviceStatus", sn: sn, deviceID: deviceID, fields: fields)
    }

    /// The report of a DeviceStatus response.
    public func deviceStatus() throws(MANSCDPError) -> DeviceStatusReport {
        guard let online = self["Online"] else { throw .missingField("Online") }
        guard online == "ONLINE" || online == "OFFLINE" else { throw .invalidField(name: "Online", value: online) }
        var channels: [DeviceStatusReport.ChannelDuty] = []
        for item in root.child("Alarmstatus")?.children ?? [] where item.name == "Item" {
            guard let id = item["DeviceID"] else { throw .missingField("Alarmstatus/Item/DeviceID") }
            channels.append(.init(channelID: id, dutyStatus: item["DutyStatus"] ?? ""))
        }
        return DeviceStatusReport(
            online: online == "ONLINE", status: self["Status"] ?? "", reason: self["Reason"], encoding: self["Encode"] == "ON",
            recording: self["Record"] == "ON", deviceTime: self["DeviceTime"] ?? "", channels: channels)
    }
}
