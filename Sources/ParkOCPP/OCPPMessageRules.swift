import Foundation

/// OCPP 1.6's connector statuses and the transitions its state table allows (OCPP 1.6 edition 2,
/// §4.9 StatusNotification): what a certification holds a charge point's notifications to.
public enum OCPPStatusTable {
    public static let statuses: Set<String> = [
        "Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing", "Reserved", "Unavailable", "Faulted",
    ]

    /// To where each status may go; a repeat of the same status is always allowed (a notification
    /// sent again after a reconnect or a TriggerMessage).
    static let next: [String: Set<String>] = [
        "Available": ["Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Reserved", "Unavailable", "Faulted"],
        "Preparing": ["Available", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Faulted"],
        "Charging": ["Available", "SuspendedEV", "SuspendedEVSE", "Finishing", "Unavailable", "Faulted"],
        "SuspendedEV": ["Available", "Charging", "SuspendedEVSE", "Finishing", "Unavailable", "Faulted"],
        "SuspendedEVSE": ["Available", "Charging", "SuspendedEV", "Finishing", "Unavailable", "Faulted"],
        "Finishing": ["Available", "Preparing", "Unavailable", "Faulted"],
        "Reserved": ["Available", "Preparing", "Unavailable", "Faulted"],
        "Unavailable": ["Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Faulted"],
        "Faulted": ["Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable"],
    ]

    public static func allows(from: String, to: String) -> Bool { from == to || next[from]?.contains(to) == true }
}

/// The fields and types OCPP 1.6 requires of what a charge point sends (its JSON schemas, the
/// parts a central system relies on): a certification names each breach; nothing here refuses
/// a message.
public enum OCPPMessageRules {
    static let errorCodes: Set<String> = [
        "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError", "LocalListConflict", "NoError",
        "OtherError", "OverCurrentFailure", "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage",
        "OverVoltage", "WeakSignal",
    ]
    static let reasons: Set<String> = [
        "EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote", "SoftReset", "UnlockCommand", "DeAuthorized",
    ]

    /// What is wrong with a charge point's `action` payload; empty when it is well formed.
    public static func problems(action: String, payload: JSONValue) -> [String] {
        var problems: [String] = []
        func string(_ key: String, max: Int, required: Bool = true) {
            guard let value = payload[key] else { if required { problems.append("\(key) is required") }; return }
            guard let text = value.string else { problems.append("\(key) must be a string"); return }
            if text.count > max { problems.append("\(key) is \(text.count) characters, at most \(max)") }
        }
        func integer(_ key: String, required: Bool = true) {
            guard let value = payload[key] else { if required { problems.append("\(key) is required") }; return }
            guard case .int = value else { problems.append("\(key) must be an integer, got \(value.text)"); return }
        }
        func dateTime(_ key: String, in object: JSONValue, required: Bool = true) {
            guard let value = object[key] else { if required { problems.append("\(key) is required") }; return }
            guard let text = value.string, date(text) != nil else { problems.append("\(key) '\(value.text.prefix(40))' is not an RFC 3339 date-time"); return }
        }
        func oneOf(_ key: String, _ allowed: Set<String>, required: Bool = true) {
            guard let value = payload[key] else { if required { problems.append("\(key) is required") }; return }
            guard let text = value.string, allowed.contains(text) else { problems.append("\(key) '\(value.text.prefix(40))' is not one OCPP 1.6 defines"); return }
        }
        switch action {
        case "BootNotification":
            string("chargePointVendor", max: 20)
            string("chargePointModel", max: 20)
            string("chargePointSerialNumber", max: 25, required: false)
            string("firmwareVersion", max: 50, required: false)
        case "Heartbeat":
            if payload.object?.isEmpty == false { problems.append("Heartbeat takes no fields") }
        case "Authorize":
            string("idTag", max: 20)
        case "StatusNotification":
            integer("connectorId")
            oneOf("status", OCPPStatusTable.statuses)
            oneOf("errorCode", errorCodes)
            if payload["timestamp"] != nil { dateTime("timestamp", in: payload) }
        case "StartTransaction":
            integer("connectorId")
            string("idTag", max: 20)
            integer("meterStart")
            dateTime("timestamp", in: payload)
        case "StopTransaction":
            integer("transactionId")
            integer("meterStop")
            dateTime("timestamp", in: payload)
            string("idTag", max: 20, required: false)
            oneOf("reason", reasons, required: false)
        case "MeterValues":
            integer("connectorId")
            integer("transactionId", required: false)
            guard let values = payload["meterValue"]?.array, !values.isEmpty else { problems.append("meterValue must be a non-empty array"); break }
            for value in values {
                dateTime("timestamp", in: value)
                guard let sampled = value["sampledValue"]?.array, !sampled.isEmpty else { problems.append("sampledValue must be a non-empty array"); continue }
                for sample in sampled where sample["value"]?.string == nil {
                    problems.append("a sampledValue's value must be a string, got \(sample["value"]?.text ?? "nothing")")
                }
            }
        default:
            break
        }
        return problems
    }

    /// An RFC 3339 date-time, with or without fractional seconds.
    public static func date(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }
}

/// Compares a password a charge point sent with the one expected, in time that does not depend
/// on where they differ (basic auth, security profile 1).
public enum PasswordComparison {
    public static func same(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
