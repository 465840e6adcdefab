import CYaml
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
        // The loader that follows composes the document anyway; composing it here too doubled
        // `validate`'s time and memory on a large park. libyaml's events give the top-level keys
        // without building nodes; anything unusual (not a mapping, a syntax error, an alias as a
        // key) goes the composing way below, which explains it.
        if let keys = topLevelKeys(text), let type = type(forKeys: keys) { return .success(type) }
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log) else { return .failure(ProfileErrors(log.issues)) }
        guard case .mapping(let mapping) = root else {
            log.add("expected a mapping at the top of the file, got \(MappingReader.describe(root))", at: root, path: "")
            return .failure(ProfileErrors(log.issues))
        }
        if let type = type(forKeys: Set(mapping.compactMap { $0.key.string })) { return .success(type) }
        log.add(
            "not a ParkBench file: expected a top-level 'kind' (device model profile), 'park' (park file), "
                + "'suite' (conformance suite), 'platform' (platform profile) or 'rules' (linkage rules)",
            at: root, path: "")
        return .failure(ProfileErrors(log.issues))
    }

    private static func type(forKeys keys: Set<String>) -> ProfileDocumentType? {
        if keys.contains("suite") { return .suite }
        if keys.contains("platform") { return .platform }
        if keys.contains("park") { return .park }
        if keys.contains("rules") { return .linkageRules }
        if keys.contains("kind") { return .deviceModel }
        return nil
    }

    /// The plain keys of the top-level mapping, read from libyaml's events; nil when the
    /// document is not a single mapping that parses.
    private static func topLevelKeys(_ text: String) -> Set<String>? {
        var text = text
        return text.withUTF8 { bytes -> Set<String>? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var keys: Set<String> = []
            var depth = 0          // open collections
            var rootChildren = 0   // nodes directly in the root mapping; the even ones are keys
            var sawRoot = false
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return sawRoot ? keys : nil
                case YAML_DOCUMENT_START_EVENT:
                    if sawRoot { return nil }   // a second document: let the composer say so
                case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
                    if depth == 0 {
                        guard event.type == YAML_MAPPING_START_EVENT else { return nil }
                        sawRoot = true
                    } else if depth == 1 {
                        rootChildren += 1
                    }
                    depth += 1
                case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
                    depth -= 1
                case YAML_SCALAR_EVENT:
                    guard depth > 0 else { return nil }
                    if depth == 1 {
                        if rootChildren % 2 == 0, let value = event.data.scalar.value {
                            keys.insert(String(cString: value))
                        }
                        rootChildren += 1
                    }
                case YAML_ALIAS_EVENT:
                    guard depth > 0 else { return nil }
                    if depth == 1 { rootChildren += 1 }
                default:
                    break
                }
            }
        }
    }
}
