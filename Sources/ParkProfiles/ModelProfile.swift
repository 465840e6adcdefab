import Foundation
import ParkWire
import Yams

/// A device model: a kind, who makes it, and the parameters that make this model behave like
/// the real one. A new brand of an existing kind is a YAML file, not code.
///
/// ```yaml
/// # devices/smoke-detector/acme-sd100.yaml
/// kind: smoke-detector          # a built-in or plugin kind (parkbench devices list)
/// model: acme-sd100             # the name parks use; unique across devices/
/// vendor: Acme
/// title: SD-100 NB-IoT photoelectric smoke detector
/// parameters:                   # optional; anything left out takes the kind's default
///   heartbeat_interval: 30m
///   smoke_threshold: 0.12
/// gb28181: {charset: UTF-8, keepalive_interval: 30s, catalog_split: 4}   # cameras, NVRs
/// ocpp: {version: "1.6", heartbeat_interval: 300s}                      # EV chargers
/// http_push: {events: [plate]}  # events POSTed to the platform's push URL instead of MQTT
/// vda5050: {manufacturer: Acme}   # a robot on VDA 5050 (its own topics and messages)
/// mqtt:                         # optional: how this model talks to its platform
///   auth: aliyun-hmac           # none | password | token | aliyun-hmac
///   product_key: a1SmokeKey     # for aliyun-hmac
///   topics: "/{model}/{id}/{channel}"
///   fields: {device: deviceName, values: params}
/// ```
public struct ModelProfile: Hashable, Sendable {
    public var kind: String
    public var model: String
    public var vendor: String
    public var title: String
    /// Parameter overrides as written (text), validated against the kind.
    public var parameters: [String: String]
    /// Where the profile was read from, for messages.
    public var file: String
    /// The model's MQTT conventions, when its profile states them.
    public var mqtt: ModelMQTTSettings?
    /// The model's Modbus register map, when it is read over Modbus.
    public var modbus: ModelModbusMap?
    /// Set when the model answers DL/T 645 (its profile has a `dlt645:` section).
    public var dlt645: ModelDLT645Settings?
    /// How the model speaks GB/T 28181, when it is a camera or NVR with a `gb28181:` section.
    public var gb28181: ModelGB28181Settings?
    /// How the model speaks OCPP, when it is an EV charger with an `ocpp:` section.
    public var ocpp: ModelOCPPSettings?
    /// Which events the model pushes over HTTP, when its profile has an `http_push:` section.
    public var httpPush: ModelHTTPPushSettings?
    /// How the model speaks VDA 5050, when its profile has a `vda5050:` section (robots).
    public var vda5050: ModelVDA5050Settings?

    /// The protocols the model's profile says it speaks besides MQTT, which every device can:
    /// what decides the bindings a device gets, never its kind's name.
    public var polledProtocols: [String] { (modbus == nil ? [] : ["modbus"]) + (dlt645 == nil ? [] : ["dlt645"]) }

    public init(kind: String, model: String, vendor: String, title: String, parameters: [String: String], file: String,
                mqtt: ModelMQTTSettings? = nil, modbus: ModelModbusMap? = nil, dlt645: ModelDLT645Settings? = nil,
                gb28181: ModelGB28181Settings? = nil, ocpp: ModelOCPPSettings? = nil) {
        self.kind = kind
        self.model = model
        self.vendor = vendor
        self.title = title
        self.parameters = parameters
        self.file = file
        self.mqtt = mqtt
        self.modbus = modbus
        self.dlt645 = dlt645
        self.gb28181 = gb28181
        self.ocpp = ocpp
    }

    static let keys = ["kind", "model", "vendor", "title", "parameters", "mqtt", "modbus", "dlt645", "gb28181", "ocpp", "http_push", "vda5050"]

    /// Reads and validates a model profile. With `kinds`, the kind and every parameter are
    /// checked against the kind's descriptor as well.
    /// - Throws: ``ProfileErrors`` listing every problem with its file:line:column.
    public static func load(file: String, kinds: (any KindCatalog)? = nil) throws(ProfileErrors) -> ModelProfile {
        let text = try ProfileText.read(file)
        return try parse(text, file: file, kinds: kinds)
    }

    /// Parses profile text; `file` is used in messages only.
    public static func parse(_ text: String, file: String, kinds: (any KindCatalog)? = nil) throws(ProfileErrors) -> ModelProfile {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a device model profile")
        else { throw ProfileErrors(log.issues) }

        let kind = reader.string("kind", required: true, expected: "a device kind such as smoke-detector")
        let kindNode = reader.value("kind")
        let model = reader.string("model", required: true, expected: "the model name parks refer to, e.g. acme-sd100")
        if let model, let modelNode = reader.value("model"), !ModelProfile.isValidName(model) {
            log.add("model name '\(model)' may use only letters, digits, '-', '_' and '.'", at: modelNode, path: "model")
        }
        let vendor = reader.string("vendor") ?? ""
        let title = reader.string("title") ?? ""
        var parameters: [String: String] = [:]
        let parameterEntries = reader.scalarMap("parameters") ?? []
        for entry in parameterEntries { parameters[entry.key] = entry.text }
        let mqtt = reader.value("mqtt").flatMap { ModelMQTTSettings.read($0, log: log) }
        let modbus = reader.value("modbus").flatMap { ModelModbusMap.read($0, log: log) }
        let dlt645 = reader.value("dlt645").flatMap { ModelDLT645Settings.read($0, log: log) }
        let gb28181Node = reader.value("gb28181")
        let gb28181 = gb28181Node.flatMap { ModelGB28181Settings.read($0, log: log) }
        let ocppNode = reader.value("ocpp")
        let ocpp = ocppNode.flatMap { ModelOCPPSettings.read($0, log: log) }
        let pushNode = reader.value("http_push")
        let httpPush = pushNode.flatMap { ModelHTTPPushSettings.read($0, log: log) }
        let vda5050 = reader.value("vda5050").flatMap { ModelVDA5050Settings.read($0, log: log) }
        reader.finish(allowed: keys)
        if let kind, let descriptor = kinds?.descriptor(named: kind) {
            modbus?.check(against: descriptor, log: log)
            dlt645?.check(against: descriptor, log: log)
            gb28181?.check(against: descriptor, node: gb28181Node, log: log)
            ocpp?.check(against: descriptor, node: ocppNode, log: log)
            httpPush?.check(against: descriptor, node: pushNode, log: log)
        }
        // The section's keepalive is the model's value of the kind's parameter: one value, so the
        // device's keepalive timer and the binding's MESSAGEs cannot disagree.
        if let interval = gb28181?.keepaliveInterval {
            if let given = parameterEntries.first(where: { $0.key == "keepalive_interval" }) {
                log.add("keepalive_interval is given in parameters and in gb28181; give it once, in gb28181",
                        at: given.node, path: "parameters.keepalive_interval")
            } else {
                parameters["keepalive_interval"] = interval
            }
        }

        if let kind, let kinds {
            if let descriptor = kinds.descriptor(named: kind) {
                for entry in parameterEntries {
                    guard let parameter = descriptor.parameter(named: entry.key) else {
                        var message = "kind '\(kind)' has no parameter '\(entry.key)'"
                        if let suggestion = MappingReader.closest(to: entry.key, in: descriptor.parameters.map(\.name)) {
                            message += "; did you mean '\(suggestion)'?"
                        }
                        log.add(message, at: entry.node, path: "parameters.\(entry.key)")
                        continue
                    }
                    if case .failure(let error) = parameter.parse(entry.text) {
                        log.add(error.message, at: entry.node, path: "parameters.\(entry.key)")
                    }
                }
            } else {
                log.add(
                    "unknown device kind '\(kind)'; known kinds: \(kinds.names.joined(separator: ", "))",
                    at: kindNode, path: "kind")
            }
        }
        guard log.issues.isEmpty, let kind, let model else { throw ProfileErrors(log.sortedIssues) }
        var profile = ModelProfile(kind: kind, model: model, vendor: vendor, title: title, parameters: parameters, file: file, mqtt: mqtt, modbus: modbus, dlt645: dlt645,
                                   gb28181: gb28181, ocpp: ocpp)
        profile.httpPush = httpPush
        profile.vda5050 = vda5050
        return profile
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        }
    }
}

/// The MQTT conventions a device model follows on the wire, as its profile states them: how it
/// logs in, where it publishes, and what its JSON fields are called. Text as written; the MQTT
/// binding turns it into a topic template and field names and reports what it cannot use.
public struct ModelMQTTSettings: Hashable, Sendable {
    /// Login scheme: `none`, `password`, `token` or `aliyun-hmac`.
    public var auth: String?
    /// Product key for `aliyun-hmac` (a public identifier, not a secret).
    public var productKey: String?
    /// Topic template, e.g. `/{model}/{id}/{channel}`.
    public var topics: String?
    /// Standard field name → the name this model uses (`device: deviceName`).
    public var fields: [String: String]

    public init(auth: String? = nil, productKey: String? = nil, topics: String? = nil, fields: [String: String] = [:]) {
        self.auth = auth
        self.productKey = productKey
        self.topics = topics
        self.fields = fields
    }

    public static let authSchemes = ["none", "password", "token", "aliyun-hmac"]
    /// The fields of ParkBench's device messages that a model may rename.
    public static let fieldNames = MessageFields.names

    static func read(_ node: Node, log: IssueLog) -> ModelMQTTSettings? {
        guard var reader = MappingReader(node, path: "mqtt", log: log, what: "MQTT settings") else { return nil }
        var settings = ModelMQTTSettings()
        settings.auth = reader.string("auth")
        if let auth = settings.auth, !authSchemes.contains(auth) {
            log.add("unknown auth scheme '\(auth)'; use one of: \(authSchemes.joined(separator: ", "))", at: reader.value("auth"), path: "mqtt.auth")
        }
        settings.productKey = reader.string("product_key")
        if settings.auth == "aliyun-hmac", settings.productKey == nil {
            log.add("auth aliyun-hmac needs product_key (the product the devices belong to)", at: node, path: "mqtt")
        }
        settings.topics = reader.string("topics", expected: "a topic template such as park/{zone}/{kind}/{id}/{channel}")
        for secretKey in ["password", "secret", "token"] where reader.value(secretKey) != nil {
            log.add("secrets never go in a profile; give them to the run (--secrets-file or --password-env)",
                    at: reader.value(secretKey), path: "mqtt.\(secretKey)")
        }
        for entry in reader.scalarMap("fields") ?? [] {
            guard fieldNames.contains(entry.key) else {
                log.add("no message field '\(entry.key)' to rename; fields: \(fieldNames.joined(separator: ", "))", at: entry.node, path: "mqtt.fields.\(entry.key)")
                continue
            }
            guard !entry.text.isEmpty, !entry.text.contains("\""), !entry.text.contains("\\") else {
                log.add("field name '\(entry.text)' must be non-empty, without quotes or backslashes", at: entry.node, path: "mqtt.fields.\(entry.key)")
                continue
            }
            settings.fields[entry.key] = entry.text
        }
        if Set(settings.fields.values).count != settings.fields.count {
            log.add("two fields renamed to the same name", at: node, path: "mqtt.fields")
        }
        reader.finish(allowed: ["auth", "product_key", "topics", "fields"])
        return settings
    }
}

/// A model that answers DL/T 645 on its RS-485 port, as its profile's `dlt645:` section says:
///
/// ```yaml
/// dlt645: {edition: 2007}
/// ```
///
/// The data items (energy by tariff, voltages, currents, power, frequency, freezes) are the
/// standard's; the binding reads them from the kind's points of the same meaning.
public struct ModelDLT645Settings: Hashable, Sendable {
    /// The edition of the standard: only `2007` is served (the 1997 edition's 2-byte data
    /// identifiers are a different frame layout).
    public var edition: String

    public init(edition: String = "2007") { self.edition = edition }

    /// The point every served data item set starts from (active energy, 00 01 00 00).
    static let requiredPoint = "energy_import_1"

    static func read(_ node: Node, log: IssueLog) -> ModelDLT645Settings? {
        guard var reader = MappingReader(node, path: "dlt645", log: log, what: "DL/T 645 settings") else { return nil }
        let edition = reader.string("edition") ?? "2007"
        if edition != "2007" {
            log.add("DL/T 645 edition '\(IssueLog.excerpt(edition))' is not served; use 2007", at: reader.value("edition"), path: "dlt645.edition")
        }
        reader.finish(allowed: ["edition"])
        return ModelDLT645Settings(edition: edition)
    }

    /// DL/T 645 is read from an electricity meter's registers: the kind must have them.
    func check(against descriptor: KindDescriptor, log: IssueLog) {
        guard !descriptor.points.contains(where: { $0.name == Self.requiredPoint }) else { return }
        log.add("kind '\(descriptor.name)' has no point '\(Self.requiredPoint)', so it has nothing to answer DL/T 645 reads with",
                at: nil, path: "dlt645")
    }
}
