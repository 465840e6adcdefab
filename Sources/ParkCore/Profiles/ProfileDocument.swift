import Yams

/// What a YAML file is, judged by its top-level keys, so `parkbench validate` can take any mix.
public enum ProfileDocumentType: String, Sendable {
    /// Has a top-level `kind:`: a device model profile.
    case deviceModel = "device model"
    /// Has a top-level `park:`: a park file.
    case park
    /// Has a top-level `suite:`: a conformance suite.
    case suite
    /// Has a top-level `platform:`: a platform profile.
    case platform
    /// Has a top-level `rules:`: the reference platform's linkage rules.
    case linkageRules = "linkage rules"

    /// Sniffs `text`. Returns nil (with the reason in `issues`) when the text is not YAML or is
    /// neither document type.
    public static func detect(_ text: String, file: String) -> Result<ProfileDocumentType, ProfileErrors> {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log) else { return .failure(ProfileErrors(log.issues)) }
        guard case .mapping(let mapping) = root else {
            log.add("expected a mapping at the top of the file, got \(MappingReader.describe(root))", at: root, path: "")
            return .failure(ProfileErrors(log.issues))
        }
        let keys = Set(mapping.compactMap { $0.key.string })
        if keys.contains("suite") { return .success(.suite) }
        if keys.contains("platform") { return .success(.platform) }
        if keys.contains("park") { return .success(.park) }
        if keys.contains("rules") { return .success(.linkageRules) }
        if keys.contains("kind") { return .success(.deviceModel) }
        log.add(
            "not a ParkBench file: expected a top-level 'kind' (device model profile), 'park' (park file), "
                + "'suite' (conformance suite), 'platform' (platform profile) or 'rules' (linkage rules)",
            at: root, path: "")
        return .failure(ProfileErrors(log.issues))
    }
}
