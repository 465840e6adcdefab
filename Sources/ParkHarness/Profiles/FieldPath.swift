import Foundation

/// A small JSONPath-like path into a JSON message, as platform profiles write them:
/// `$.device`, `$.data.alarm.msgId`, `$.items[0].value`, `$` (the whole message).
///
/// Only member and index steps: enough to map any platform's field names onto the harness's,
/// without a query language to learn.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    enum Step: Sendable, Hashable {
        case member(String)
        case index(Int)
    }

    let steps: [Step]
    public let description: String

    /// Parses `text`; nil with `error` set when it is not a path.
    public init(parsing text: String) throws(FieldPathError) {
        description = text
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard rest.first == "$" else { throw FieldPathError("'\(text)' must start with '$' (e.g. $.device)") }
        rest = rest.dropFirst()
        var steps: [Step] = []
        while let first = rest.first {
            switch first {
            case ".":
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { throw FieldPathError("'\(text)' has an empty name after '.'") }
                steps.append(.member(String(name)))
                rest = rest.dropFirst(name.count)
            case "[":
                guard let close = rest.firstIndex(of: "]") else { throw FieldPathError("'\(text)' has '[' without ']'") }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if let index = Int(inside), index >= 0 {
                    steps.append(.index(index))
                } else if inside.count >= 2, let quote = inside.first, quote == "'" || quote == "\"", inside.last == quote {
                    steps.append(.member(String(inside.dropFirst().dropLast())))
                } else {
                    throw FieldPathError("'\(text)': expected [number] or ['name'], got [\(inside)]")
                }
                rest = rest[rest.index(after: close)...]
            default:
                throw FieldPathError("'\(text)': unexpected '\(first)'; write $.name or $[0]")
            }
        }
        self.steps = steps
    }

    /// The value at this path in a parsed JSON object (from JSONSerialization), or nil.
    public func value(in json: Any) -> Any? {
        var current: Any = json
        for step in steps {
            switch step {
            case .member(let name):
                guard let object = current as? [String: Any], let next = object[name] else { return nil }
                current = next
            case .index(let index):
                guard let array = current as? [Any], index < array.count else { return nil }
                current = array[index]
            }
        }
        return current is NSNull ? nil : current
    }

    /// The value as text (strings as they are, numbers in their shortest form).
    public func string(in json: Any) -> String? {
        switch value(in: json) {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The value as a number (numbers, booleans as 0/1, or strings that hold a number).
    public func number(in json: Any) -> Double? {
        switch value(in: json) {
        case let number as NSNumber: return number.doubleValue
        case let text as String: return Double(text)
        default: return nil
        }
    }
}

/// A malformed field path.
public struct FieldPathError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
