import Foundation

/// Every device model profile under a directory (by default `devices/`), by model name.
public struct ModelCatalog: Sendable {
    public private(set) var models: [String: ModelProfile] = [:]

    public init(_ profiles: [ModelProfile] = []) {
        for profile in profiles { models[profile.model] = profile }
    }

    /// Model names, sorted.
    public var names: [String] { models.keys.sorted() }

    public func model(named name: String) -> ModelProfile? { models[name] }

    /// Whether devices of `model` answer DL/T 645 (their profile has a `dlt645:` section).
    public func speaksDLT645(_ model: String) -> Bool { models[model]?.dlt645 != nil }

    /// Loads every `*.yaml` / `*.yml` under `directory`, validating each against `kinds`.
    ///
    /// A plugin keeps its model profiles beside it under `plugins/`; those are loaded only when
    /// their kind is registered, so a checkout without the plugin built still validates.
    /// - Throws: ``ProfileErrors`` with every problem in every file, including a model name
    ///   used by two files.
    public static func load(directory: String, kinds: any KindCatalog) throws(ProfileErrors) -> ModelCatalog {
        var issues: [ProfileIssue] = []
        var catalog = ModelCatalog()
        for file in profileFiles(under: directory) {
            do {
                if file.split(separator: "/").contains("plugins") {
                    let text = (try? ProfileText.read(file)) ?? ""
                    guard let kind = try? ModelProfile.parse(text, file: file).kind, kinds.descriptor(named: kind) != nil
                    else { continue }
                }
                let profile = try ModelProfile.load(file: file, kinds: kinds)
                if let existing = catalog.models[profile.model] {
                    issues.append(ProfileIssue(
                        file: file, line: 1, column: 1, keyPath: "model",
                        message: "model '\(profile.model)' is already defined in \(existing.file)"))
                } else {
                    catalog.models[profile.model] = profile
                }
            } catch {
                issues += error.issues
            }
        }
        guard issues.isEmpty else { throw ProfileErrors(issues) }
        return catalog
    }

    /// The YAML files below `directory`, sorted.
    public static func profileFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") {
                files.append((directory as NSString).appendingPathComponent(relative))
            }
        }
        return files.sorted()
    }
}
