import Foundation

/// The VDA's published JSON schemas for VDA 5050 and an independent validator for them (Python
/// `jsonschema`): what the robot tests check every message against.
public enum VDA5050Schemas {
    /// The folder holding `2.1.0/` and `3.0.0/`: `VDA5050_SCHEMAS`, else `shared/vda5050-schemas`
    /// beside the checkout or above it (the shared reference data is read in place, not copied
    /// into the project), else this machine's `/work/shared/vda5050-schemas`.
    public static func directory(from file: String = #filePath) -> String? {
        if let set = ProcessInfo.processInfo.environment["VDA5050_SCHEMAS"] { return set }
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        for _ in 0 ..< 6 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent("shared/vda5050-schemas")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("2.1.0/state.schema").path) { return candidate.path }
        }
        let machine = "/work/shared/vda5050-schemas"
        return FileManager.default.fileExists(atPath: machine + "/2.1.0/state.schema") ? machine : nil
    }

    /// Validates each `(name, topic, json)` against `<version>/<topic>.schema`; per name, the
    /// validator's complaints (empty: valid).
    public static func validate(_ messages: [(name: String, topic: String, json: String)], version: String = "2.1.0") throws -> [String: [String]] {
        guard let schemas = directory() else {
            throw BrokerError("the VDA 5050 schemas are not found: set VDA5050_SCHEMAS to the folder holding 2.1.0/")
        }
        let folder = try TemporaryDirectory()
        var manifest: [String] = []
        for (index, message) in messages.enumerated() {
            let file = "m\(index).json"
            try Data(message.json.utf8).write(to: URL(fileURLWithPath: folder.path(file)))
            manifest.append("\(file) \(message.topic)")
        }
        try manifest.joined(separator: "\n").write(toFile: folder.path("manifest"), atomically: true, encoding: .utf8)
        try validator.write(toFile: folder.path("validate.py"), atomically: true, encoding: .utf8)
        let output = try toolOutput("python3", [folder.path("validate.py"), "\(schemas)/\(version)", folder.path(""), folder.path("manifest")])
        guard let byFile = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String]] else {
            throw BrokerError("the schema validator said: \(output)")
        }
        var verdicts: [String: [String]] = [:]
        for (index, message) in messages.enumerated() { verdicts[message.name] = byFile["m\(index).json"] ?? ["not validated"] }
        return verdicts
    }

    static let validator = """
        import json, sys
        from jsonschema import validators
        schemas, folder, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
        verdicts = {}
        for line in open(manifest, encoding="utf-8").read().split("\\n"):
            if not line.strip():
                continue
            name, topic = line.split(" ")
            schema = json.load(open(f"{schemas}/{topic}.schema", encoding="utf-8"))
            validator = validators.validator_for(schema)(schema)
            try:
                instance = json.load(open(f"{folder}/{name}", encoding="utf-8"))
                verdicts[name] = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
            except json.JSONDecodeError as error:
                verdicts[name] = [f"not JSON: {error}"]
        print(json.dumps(verdicts))
        """
}
