import Foundation
import ParkCore
import ParkProfiles
import Yams

/// A conformance suite (`conformance/suites/*.yaml`): the park it needs and its checks, each
/// citing the requirement it proves.
///
/// ```yaml
/// suite: park-core
/// title: Core park requirements
/// park: conformance/parks/demo.yaml
/// checks:
///   - id: smoke-alarm-latency
///     title: A smoke alarm reaches the platform within 2 s
///     type: latency
///     source: 004_5e9061d643d5fb41.txt L2714
///     severity: critical
///     devices: {kind: smoke-detector, count: 3}
///     stimulus: {name: smoke, arguments: {density: 0.4}}
///     observe: {event: smoke-alarm}
///     expect: ["latency.p99 < 2s", "missing == 0"]
/// ```
public struct Suite: Sendable {
    public var name: String
    public var title: String
    public var file: String
    /// The park to run, relative to the working directory; `--park` overrides it.
    public var park: String?
    package var checks: [any ConformanceCheck]

    static let topKeys = ["suite", "title", "park", "checks"]
    static let commonKeys = ["id", "title", "type", "source", "severity", "expect", "timeout"]

    public static func load(file: String) throws(ProfileErrors) -> Suite {
        let text = try ProfileText.read(file)
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String) throws(ProfileErrors) -> Suite {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a suite")
        else { throw ProfileErrors(log.sortedIssues) }
        let name = reader.string("suite", required: true, expected: "the suite's name") ?? ""
        let title = reader.string("title") ?? name
        let park = reader.string("park")
        var checks: [any ConformanceCheck] = []
        var seen: Set<String> = []
        for (index, node) in (reader.sequence("checks", required: true) ?? []).enumerated() {
            let path = "checks[\(index)]"
            guard var check = MappingReader(node, path: path, log: log, what: "a check") else { continue }
            if let parsed = parseCheck(&check, log: log) {
                if !seen.insert(parsed.common.id).inserted {
                    log.add("check id '\(parsed.common.id)' is used twice", at: node, path: path + ".id")
                }
                checks.append(parsed)
            }
        }
        reader.finish(allowed: topKeys)
        if checks.isEmpty && log.issues.isEmpty { log.add("the suite has no checks", at: root, path: "checks") }
        if !log.issues.isEmpty { throw ProfileErrors(log.sortedIssues) }
        return Suite(name: name, title: title, file: file, park: park, checks: checks)
    }

    private static func parseCheck(_ reader: inout MappingReader, log: IssueLog) -> (any ConformanceCheck)? {
        let id = reader.string("id", required: true, expected: "a short id, e.g. smoke-alarm-latency")
        let title = reader.string("title", required: true, expected: "one line saying what is checked")
        let typeNames = CheckTypes.all.map { $0.type }
        let typeName = reader.string("type", required: true, expected: "one of \(typeNames.joined(separator: ", "))")
        let source = reader.string("source", required: true, expected: "the requirement, as '<seed file> L<line>'")
        if let source, !isCitation(source) {
            log.add("expected '<seed file> L<line>', e.g. '004_5e9061d643d5fb41.txt L2714', got '\(source)'",
                    at: reader.value("source"), path: reader.child("source"))
        }
        var severity = CheckCommon.Severity.major
        if let text = reader.string("severity") {
            if let value = CheckCommon.Severity(rawValue: text) { severity = value } else {
                log.add("expected one of critical, major, minor, got '\(text)'", at: reader.value("severity"), path: reader.child("severity"))
            }
        }
        let timeout = reader.duration("timeout") ?? .seconds(10)
        var expressions: [(String, String)] = []
        for (index, node) in (reader.sequence("expect", required: true) ?? []).enumerated() {
            let path = reader.child("expect[\(index)]")
            if let text = MappingReader.scalarText(node, path: path, log: log, expected: "an expectation such as 'latency.p99 < 2s'") {
                expressions.append((text, path))
            }
        }
        guard let typeName else { return nil }
        guard let type = CheckTypes.named(typeName) else {
            var message = "unknown check type '\(typeName)'"
            if let close = MappingReader.closest(to: typeName, in: typeNames) { message += "; did you mean '\(close)'?" }
            else { message += "; expected one of: \(typeNames.joined(separator: ", "))" }
            log.add(message, at: reader.value("type"), path: reader.child("type"))
            return nil
        }
        var expectations: [Expectation] = []
        for (text, path) in expressions {
            do {
                let expectation = try Expectation(parsing: text)
                if let measured = type.metrics[expectation.metric] {
                    if !measured.accepts(expectation.unit) {
                        log.add("'\(expectation.metric)' is measured in \(measured); the threshold in '\(text)' is in \(expectation.unit.rawValue)",
                                at: reader.value("expect"), path: path)
                    }
                    expectations.append(expectation)
                } else {
                    let known = type.metrics.keys.sorted()
                    var message = "a \(type.type) check does not measure '\(expectation.metric)'"
                    if let close = MappingReader.closest(to: expectation.metric, in: known) { message += "; did you mean '\(close)'?" }
                    else { message += "; it measures: \(known.joined(separator: ", "))" }
                    log.add(message, at: reader.value("expect"), path: path)
                }
            } catch {
                log.add(error.description, at: reader.value("expect"), path: path)
            }
        }
        let mark = reader.node.mark
        let common = CheckCommon(
            id: id ?? "", title: title ?? "", type: type.type, source: source ?? "", severity: severity,
            expectations: expectations, timeout: timeout,
            location: "\(log.file):\(mark?.line ?? 0)")
        let check = type.init(common: common, settings: &reader)
        reader.finish(allowed: commonKeys + type.settingKeys)
        guard id != nil, title != nil, source != nil else { return nil }
        return check
    }

    /// `004_5e9061d643d5fb41.txt L2714` or `… L2710-2717`.
    static func isCitation(_ text: String) -> Bool {
        let parts = text.split(separator: " ")
        guard parts.count == 2, parts[0].hasSuffix(".txt"), parts[0].first?.isNumber == true, parts[1].hasPrefix("L") else { return false }
        let lines = parts[1].dropFirst().split(separator: "-", omittingEmptySubsequences: false)
        return (1 ... 2).contains(lines.count) && lines.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}

/// A stimulus or a direct device command written in a suite: `{stimulus: smoke, arguments: {…}}`
/// or `{command: reset}` (a command the harness hands the virtual device itself, as a person at
/// the device would, not through the platform). Arguments stay text until the device they go to
/// is known, then are typed by its kind's descriptor.
public struct DeviceAction: Sendable, Hashable, CustomStringConvertible {
    public enum Form: String, Sendable, Hashable { case stimulus, command }

    public var form: Form
    public var name: String
    public var arguments: [String: String]

    public init(_ form: Form, _ name: String, arguments: [String: String] = [:]) {
        self.form = form
        self.name = name
        self.arguments = arguments
    }

    public var description: String { "\(form.rawValue) \(name)" }

    static func parse(_ node: Node, path: String, log: IssueLog) -> DeviceAction? {
        guard var reader = MappingReader(node, path: path, log: log, what: "a device action ({stimulus: name} or {command: name})") else {
            return nil
        }
        let stimulus = reader.string("stimulus")
        let command = reader.string("command")
        var arguments: [String: String] = [:]
        for entry in reader.scalarMap("arguments") ?? [] { arguments[entry.key] = entry.text }
        reader.finish(allowed: ["stimulus", "command", "arguments"])
        switch (stimulus, command) {
        case (let name?, nil): return DeviceAction(.stimulus, name, arguments: arguments)
        case (nil, let name?): return DeviceAction(.command, name, arguments: arguments)
        default:
            log.add("expected exactly one of 'stimulus' or 'command'", at: node, path: path)
            return nil
        }
    }
}
