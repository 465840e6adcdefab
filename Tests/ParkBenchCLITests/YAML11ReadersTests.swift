import Foundation
import ParkTestSupport
import Testing

/// Our own files read the same in YAML 1.1 parsers, which gateways and platforms are often
/// written with: PyYAML turns keys like `on:`/`off:`/`yes:` into booleans, so a coil map keyed
/// `on:` reaches such a reader as `True`. Every shipped YAML file is read with PyYAML and no
/// mapping key may come back as anything but text.
@Suite struct YAML11ReadersTests {
    static let script = """
        import os, sys, yaml
        def walk(node, path, problems):
            if isinstance(node, dict):
                for key, value in node.items():
                    if not isinstance(key, str):
                        problems.append("%s: key %r is read as %s" % (path, key, type(key).__name__))
                    walk(value, "%s.%s" % (path, key), problems)
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, "%s[%d]" % (path, index), problems)
        problems, read = [], 0
        for name in sys.argv[1:]:
            with open(name) as handle:
                try:
                    document = yaml.safe_load(handle)
                except yaml.YAMLError:
                    continue  # the broken fixtures are broken on purpose
            read += 1
            walk(document, name, problems)
        print("read %d" % read)
        for problem in problems:
            print(problem)
        """

    func pyYAMLProblems(_ files: [String]) throws -> (read: Int, problems: [String]) {
        let directory = try TemporaryDirectory()
        let script = directory.path("keys.py")
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let output = directory.path("out.txt")
        let process = try ChildProcess(try executablePath("python3"), [script] + files, output: output)
        #expect(process.waitForExit(timeout: .seconds(60)))
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        let read = lines.first { $0.hasPrefix("read ") }.flatMap { Int($0.dropFirst(5)) } ?? 0
        return (read, lines.filter { $0.contains(" is read as ") })
    }

    @Test func everyShippedYAMLFileKeepsItsKeysAsTextInPyYAML() throws {
        let root = CLITests.packageRoot.path
        var files: [String] = []
        for folder in ["devices", "conformance", "fixtures"] {
            let enumerator = FileManager.default.enumerator(atPath: "\(root)/\(folder)")
            while let name = enumerator?.nextObject() as? String {
                if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { files.append("\(root)/\(folder)/\(name)") }
            }
        }
        let (read, problems) = try pyYAMLProblems(files)
        #expect(read > 20, "PyYAML read \(read) of \(files.count) files")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")

        // And the check sees the trap when it is there.
        let directory = try TemporaryDirectory()
        let trap = directory.path("trap.yaml")
        try "modbus:\n  coils:\n    - {point: relay, address: 0, on: relay-close, off: relay-open}\n".write(toFile: trap, atomically: true, encoding: .utf8)
        #expect(try pyYAMLProblems([trap]).problems.count == 2)
    }
}
