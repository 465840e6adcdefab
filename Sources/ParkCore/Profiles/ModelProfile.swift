import Foundation
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

    public init(kind: String, model: String, vendor: String, title: String, parameters: [String: String], file: String) {
        self.kind = kind
        self.model = model
        self.vendor = vendor
        self.title = title
        self.parameters = parameters
        self.file = file
    }

    static let keys = ["kind", "model", "vendor", "title", "parameters"]

    /// Reads and validates a model profile. With `kinds`, the kind and every parameter are
    /// checked against the kind's descriptor as well.
    /// - Throws: ``ProfileErrors`` listing every problem with its file:line:column.
    public static func load(file: String, kinds: DeviceKindRegistry? = nil) throws(ProfileErrors) -> ModelProfile {
        let text = try ProfileText.read(file)
        return try parse(text, file: file, kinds: kinds)
    }

    /// Parses profile text; `file` is used in messages only.
    public static func parse(_ text: String, file: String, kinds: DeviceKindRegistry? = nil) throws(ProfileErrors) -> ModelProfile {
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
        reader.finish(allowed: keys)

        if let kind, let kinds {
            if let descriptor = kinds.kind(named: kind)?.descriptor {
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
        return ModelProfile(kind: kind, model: model, vendor: vendor, title: title, parameters: parameters, file: file)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        }
    }
}
