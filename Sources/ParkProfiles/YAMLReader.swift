import Yams

/// Collects the problems found while reading one file.
package final class IssueLog {
    package let file: String
    private var kept: [ProfileIssue] = []
    private var dropped = 0

    /// The most issues kept for one file. A file with millions of unknown keys would otherwise
    /// print millions of lines (and spend its time on "did you mean" for each); the first
    /// hundred are enough to see what is wrong.
    package static let maximumIssues = 100

    package init(file: String) { self.file = file }

    /// The issues in the order found, ending with how many more were not kept, if any.
    package var issues: [ProfileIssue] {
        guard dropped > 0 else { return kept }
        let last = kept.last
        return kept + [ProfileIssue(
            file: file, line: last?.line ?? 1, column: last?.column ?? 1, keyPath: "",
            message: "\(dropped) more problem\(dropped == 1 ? "" : "s") not shown (only the first \(Self.maximumIssues) are kept)")]
    }

    /// True once further issues are only counted, so callers can skip work spent on messages.
    package var isFull: Bool { kept.count >= Self.maximumIssues }

    private func append(_ issue: ProfileIssue) {
        if isFull { dropped += 1 } else { kept.append(issue) }
    }

    /// `text` as a message quotes it: whole when short, else its start and how much was left
    /// out, so a 10 MB key or value does not become a 10 MB error line.
    package static func excerpt(_ text: String, limit: Int = 64) -> String {
        // utf8.count is O(1) on native strings; the character count is only needed when long.
        guard text.utf8.count > limit else { return text }
        let head = text.prefix(limit)
        let rest = text.utf8.count - head.utf8.count
        return head + "… (\(rest) more bytes)"
    }

    /// The issues in reading order (line, then column), which is how a user fixes them.
    package var sortedIssues: [ProfileIssue] {
        guard dropped > 0 else { return Self.sorted(kept) }
        // The "not shown" note stays last.
        var all = issues
        let note = all.removeLast()
        return Self.sorted(all) + [note]
    }

    private static func sorted(_ issues: [ProfileIssue]) -> [ProfileIssue] {
        issues.enumerated().sorted {
            ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
        }.map(\.element)
    }

    package func add(_ message: String, at node: Node?, path: String) {
        let mark = node?.mark
        append(ProfileIssue(
            file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, keyPath: path, message: message))
    }

    package func add(_ message: String, line: Int, column: Int, path: String = "") {
        append(ProfileIssue(file: file, line: line, column: column, keyPath: path, message: message))
    }
}

/// Parses YAML text into a node tree, turning parser errors into ``ProfileIssue``s.
package enum YAMLSource {
    /// The document's root node, or nil after logging why there is none.
    package static func root(of text: String, log: IssueLog) -> Node? {
        if let excess = YAMLAliasBudget.firstExcess(in: text) {
            log.add(
                "alias expansion exceeds \(excess.budget) nodes; a ParkBench file needs far fewer (is this a billion-laughs document?)",
                line: excess.line, column: excess.column)
            return nil
        }
        do {
            guard let root = try Yams.compose(yaml: text) else {
                log.add("the file is empty; expected a YAML mapping", line: 1, column: 1)
                return nil
            }
            return root
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _),
                 .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                var message = "YAML syntax error: \(problem)"
                if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
                log.add(message, line: mark.line, column: mark.column)
            case .reader(let problem, let offset, _, _):
                log.add("cannot read the file as UTF-8 text: \(problem) at byte \(offset ?? 0)", line: 1, column: 1)
            case .duplicatedKeysInMapping(let duplicates, let context):
                log.add(
                    "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in this mapping",
                    line: context.mark.line, column: context.mark.column)
            default:
                log.add("YAML error: \(error)", line: 1, column: 1)
            }
            return nil
        } catch {
            log.add("YAML error: \(error)", line: 1, column: 1)
            return nil
        }
    }
}

/// Reads one YAML mapping strictly: typed accessors that log a precise issue instead of
/// throwing, and ``finish()`` that reports every key nobody asked for.
///
/// Unknown keys are errors because a misspelt optional key (`heartbeat_intervall`) would
/// otherwise be ignored silently and the run would use the default.
package struct MappingReader {
    package let node: Node
    package let path: String
    package let log: IssueLog
    private let pairs: [(key: String, keyNode: Node, value: Node)]
    private var consumed: Set<String> = []

    /// Nil (after logging) if `node` is not a mapping.
    package init?(_ node: Node, path: String, log: IssueLog, what: String) {
        guard case .mapping(let mapping) = node else {
            log.add("expected \(what) (a mapping of key: value), got \(MappingReader.describe(node))", at: node, path: path)
            return nil
        }
        self.node = node
        self.path = path
        self.log = log
        self.pairs = mapping.map { (key: $0.key.string ?? "", keyNode: $0.key, value: $0.value) }
    }

    package var keys: [String] { pairs.map(\.key) }

    package func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node of `key`, marking the key as known.
    package mutating func value(_ key: String) -> Node? {
        consumed.insert(key)
        return pairs.first { $0.key == key }?.value
    }

    /// The value node of a key that must be present.
    package mutating func requiredValue(_ key: String, expected: String) -> Node? {
        guard let value = value(key), !MappingReader.isNull(value) else {
            let present = pairs.contains { $0.key == key }
            log.add(
                present ? "'\(key)' has no value; expected \(expected)" : "missing required key '\(key)' (\(expected))",
                at: present ? pairs.first { $0.key == key }?.keyNode : node, path: path)
            return nil
        }
        return value
    }

    package mutating func string(_ key: String, required: Bool = false, expected: String = "a text value") -> String? {
        guard let node = required ? requiredValue(key, expected: expected) : value(key) else { return nil }
        if !required, MappingReader.isNull(node) { return nil }
        return MappingReader.scalarText(node, path: child(key), log: log, expected: expected)
    }

    package mutating func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil) -> Int? {
        let expected = range.map { "a whole number from \($0.lowerBound) to \($0.upperBound)" } ?? "a whole number"
        guard let text = string(key, required: required, expected: expected) else { return nil }
        guard let number = Int(text), range.map({ $0.contains(number) }) ?? true else {
            log.add("expected \(expected), got '\(IssueLog.excerpt(text))'", at: value(key), path: child(key))
            return nil
        }
        return number
    }

    /// A finite number (`2`, `1.5`) within `range`.
    package mutating func number(_ key: String, range: ClosedRange<Double>) -> Double? {
        let expected = "a number from \(range.lowerBound) to \(range.upperBound)"
        guard let text = string(key, expected: expected) else { return nil }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            log.add("expected \(expected), got '\(IssueLog.excerpt(text))'", at: value(key), path: child(key))
            return nil
        }
        return number
    }

    package mutating func uint64(_ key: String) -> UInt64? {
        guard let text = string(key, expected: "a whole number from 0 to \(UInt64.max)") else { return nil }
        guard let number = UInt64(text) else {
            log.add("expected a whole number from 0 to \(UInt64.max), got '\(IssueLog.excerpt(text))'", at: value(key), path: child(key))
            return nil
        }
        return number
    }

    /// A duration written as `40s`, `500ms` or `1h30m`.
    package mutating func duration(_ key: String, required: Bool = false) -> DeviceDuration? {
        let expected = "a duration such as 40s, 500ms or 1h30m"
        guard let text = string(key, required: required, expected: expected) else { return nil }
        guard let duration = DeviceDuration(parsing: text) else {
            log.add("expected \(expected), got '\(IssueLog.excerpt(text))'", at: value(key), path: child(key))
            return nil
        }
        return duration
    }

    /// A mapping of scalar values, as text, with the node of each value for later messages.
    package mutating func scalarMap(_ key: String) -> [(key: String, text: String, node: Node)]? {
        guard let node = value(key), !MappingReader.isNull(node) else { return nil }
        guard case .mapping(let mapping) = node else {
            log.add("expected a mapping of name: value, got \(MappingReader.describe(node))", at: node, path: child(key))
            return nil
        }
        var result: [(key: String, text: String, node: Node)] = []
        for pair in mapping {
            let name = pair.key.string ?? ""
            if let text = MappingReader.scalarText(pair.value, path: child(key) + ".\(name)", log: log, expected: "a single value") {
                result.append((name, text, pair.value))
            }
        }
        return result
    }

    /// The items of a sequence value, or nil (logged) if it is something else.
    package mutating func sequence(_ key: String, required: Bool = false) -> [Node]? {
        guard let node = required ? requiredValue(key, expected: "a list") : value(key) else { return nil }
        if MappingReader.isNull(node) { return required ? nil : [] }
        guard case .sequence(let sequence) = node else {
            log.add("expected a list (items starting with '- '), got \(MappingReader.describe(node))", at: node, path: child(key))
            return nil
        }
        return Array(sequence)
    }

    /// Logs every key that was never asked for, naming the keys that are allowed.
    package func finish(allowed: [String]) {
        for pair in pairs where !consumed.contains(pair.key) {
            var message = "unknown key '\(IssueLog.excerpt(pair.key))'"
            if log.isFull {
                // Only counted from here on: no suggestion to compute.
            } else if let suggestion = MappingReader.closest(to: pair.key, in: allowed) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += "; expected one of: \(allowed.joined(separator: ", "))"
            }
            log.add(message, at: pair.keyNode, path: path)
        }
    }

    // MARK: Helpers

    package static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    package static func scalarText(_ node: Node, path: String, log: IssueLog, expected: String) -> String? {
        guard case .scalar(let scalar) = node else {
            log.add("expected \(expected), got \(describe(node))", at: node, path: path)
            return nil
        }
        return scalar.string
    }

    package static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): isNull(node) ? "nothing" : "the value '\(IssueLog.excerpt(scalar.string))'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// Keys longer than this (in bytes) get no "did you mean": no allowed key is that long,
    /// and the edit distance costs the product of the lengths — a 10 MB key took minutes.
    package static let longestKeyForSuggestions = 64

    /// The allowed key within edit distance 2 of `key`, if one is that close.
    package static func closest(to key: String, in allowed: [String]) -> String? {
        guard key.utf8.count <= longestKeyForSuggestions else { return nil }
        let length = key.count
        return allowed
            // The distance is at least the difference in length, so most keys need no table.
            .filter { abs($0.count - length) <= 2 }
            .map { ($0, editDistance(key, $0)) }
            .filter { $0.1 <= 2 }
            .min { $0.1 < $1.1 }?.0
    }

    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0 ... b.count)
        for i in 1 ... a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1 ... b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
