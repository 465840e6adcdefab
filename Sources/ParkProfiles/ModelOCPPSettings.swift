import Yams

/// How an EV charger model speaks OCPP, as its profile's `ocpp:` section says: the identity it
/// boots with, the heartbeat it keeps until the central system sets one, and which measurands
/// its MeterValues carry. These are what two brands of charger do differently on the same
/// standard, and what a central system must cope with.
///
/// ```yaml
/// ocpp:
///   version: "1.6"               # 1.6 (OCPP-J, subprotocol ocpp1.6) | 2.0.1
///   vendor: Wallbox Co           # BootNotification chargePointVendor (≤ 20 characters in 1.6)
///   model: WB-7                  # chargePointModel (≤ 20)
///   firmware: "2.4.1"            # firmwareVersion (≤ 50)
///   heartbeat_interval: 300s     # used until BootNotification.conf sets the interval
///   measurands: [Energy.Active.Import.Register, Power.Active.Import, Current.Import]
///   clock_aligned_interval: 15m  # ClockAlignedDataInterval; 0s (default) is off
/// ```
///
/// The sampled meter interval is not here: it is the kind's `meter_interval` parameter, the one
/// value the device's meter timer and MeterValueSampleInterval both follow. Text limits are the
/// BootNotification field lengths of the declared version, so a profile that validates never
/// produces a request a central system must reject as a PropertyConstraintViolation.
public struct ModelOCPPSettings: Hashable, Sendable {
    /// The OCPP edition a model speaks.
    public enum Version: String, Hashable, Sendable, CaseIterable {
        case v1_6 = "1.6"
        case v2_0_1 = "2.0.1"

        /// The WebSocket subprotocol that names this edition (`ocpp1.6`, `ocpp2.0.1`).
        public var subprotocol: String { "ocpp" + rawValue }

        /// BootNotification's longest vendor, model and firmware texts in this edition
        /// (1.6: CiString20/20/50; 2.0.1 ChargingStationType: vendorName 50, model 20,
        /// firmwareVersion 50).
        var textLimits: (vendor: Int, model: Int, firmware: Int) {
            switch self {
            case .v1_6: (20, 20, 50)
            case .v2_0_1: (50, 20, 50)
            }
        }
    }

    public var version: Version
    /// chargePointVendor; nil means the binding uses the profile's `vendor:`.
    public var vendor: String?
    /// chargePointModel; nil means the binding uses the profile's `model:`.
    public var model: String?
    public var firmware: String?
    /// The heartbeat period until the central system's BootNotification.conf sets another.
    public var heartbeatInterval: DeviceDuration
    /// The MeterValues measurands, as OCPP spells them (``allMeasurands``).
    public var measurands: [String]
    /// ClockAlignedDataInterval; zero means no clock-aligned meter values.
    public var clockAlignedInterval: DeviceDuration

    public init(version: Version = .v1_6, vendor: String? = nil, model: String? = nil, firmware: String? = nil,
                heartbeatInterval: DeviceDuration = .seconds(300), measurands: [String] = ["Energy.Active.Import.Register"],
                clockAlignedInterval: DeviceDuration = .zero) {
        self.version = version
        self.vendor = vendor
        self.model = model
        self.firmware = firmware
        self.heartbeatInterval = heartbeatInterval
        self.measurands = measurands
        self.clockAlignedInterval = clockAlignedInterval
    }

    /// The measurands a model may list: those of the OCPP 1.6 Measurand enumeration that a
    /// charger kind can produce from its readings (energy register, power, current, voltage,
    /// the EV's state of charge, temperature, and what the charger offers).
    public static let allMeasurands = [
        "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC", "Temperature",
        "Power.Offered", "Current.Offered",
    ]
    static let keys = ["version", "vendor", "model", "firmware", "heartbeat_interval", "measurands", "clock_aligned_interval"]
    /// The parameter a kind must have for a profile of it to speak OCPP: a charger's connectors.
    static let requiredParameter = "connectors"

    static func read(_ node: Node, log: IssueLog) -> ModelOCPPSettings? {
        guard var reader = MappingReader(node, path: "ocpp", log: log, what: "OCPP settings") else { return nil }
        var settings = ModelOCPPSettings()
        if let version = reader.string("version", expected: "1.6 or 2.0.1") {
            if let known = Version(rawValue: version) { settings.version = known } else {
                log.add("unknown OCPP version '\(IssueLog.excerpt(version))'; use 1.6 or 2.0.1", at: reader.value("version"), path: "ocpp.version")
            }
        }
        let limits = settings.version.textLimits
        settings.vendor = boundedText(&reader, "vendor", field: "chargePointVendor", limit: limits.vendor, settings.version, log)
        settings.model = boundedText(&reader, "model", field: "chargePointModel", limit: limits.model, settings.version, log)
        settings.firmware = boundedText(&reader, "firmware", field: "firmwareVersion", limit: limits.firmware, settings.version, log)
        if let interval = reader.duration("heartbeat_interval") {
            if interval.seconds >= 1 { settings.heartbeatInterval = interval } else {
                log.add("heartbeat_interval must be at least 1s", at: reader.value("heartbeat_interval"), path: "ocpp.heartbeat_interval")
            }
        }
        if let items = reader.sequence("measurands") {
            settings.measurands = []
            for (index, item) in items.enumerated() {
                let path = "ocpp.measurands[\(index)]"
                guard let name = MappingReader.scalarText(item, path: path, log: log, expected: "an OCPP measurand such as Power.Active.Import")
                else { continue }
                guard allMeasurands.contains(name) else {
                    var message = "unknown measurand '\(IssueLog.excerpt(name))'"
                    if let suggestion = MappingReader.closest(to: name, in: allMeasurands) {
                        message += "; did you mean '\(suggestion)'?"
                    } else {
                        message += "; use one of: \(allMeasurands.joined(separator: ", "))"
                    }
                    log.add(message, at: item, path: path)
                    continue
                }
                // MeterValues would carry the value twice, which some central systems count twice.
                guard !settings.measurands.contains(name) else {
                    log.add("measurand '\(name)' is listed twice", at: item, path: path)
                    continue
                }
                settings.measurands.append(name)
            }
        }
        if let interval = reader.duration("clock_aligned_interval") { settings.clockAlignedInterval = interval }
        reader.finish(allowed: keys)
        return settings
    }

    /// A BootNotification text no longer than the declared version allows.
    private static func boundedText(_ reader: inout MappingReader, _ key: String, field: String, limit: Int, _ version: Version,
                                    _ log: IssueLog) -> String? {
        guard let text = reader.string(key) else { return nil }
        guard text.count <= limit else {
            log.add("'\(IssueLog.excerpt(text))' is \(text.count) characters; OCPP \(version.rawValue) BootNotification allows at most \(limit) for \(field)",
                    at: reader.value(key), path: "ocpp.\(key)")
            return nil
        }
        return text
    }

    /// Only a charger speaks OCPP: the kind must have connectors (the built-in `ev-charger`, or a
    /// plugin kind that models one the same way).
    func check(against descriptor: KindDescriptor, node: Node?, log: IssueLog) {
        guard descriptor.parameter(named: Self.requiredParameter) == nil else { return }
        log.add("kind '\(descriptor.name)' does not speak OCPP (it has no \(Self.requiredParameter) parameter); use the ev-charger kind",
                at: node, path: "ocpp")
    }
}
