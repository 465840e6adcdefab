// libyaml as Yams builds it: its event parser sees aliases before anything expands them.
import CYaml

/// Bounds the work aliases can cause before a YAML document is composed.
///
/// Yams shares an anchored node between its aliases, so a billion-laughs value costs nothing
/// until something walks it, but Yams checks every mapping for duplicate keys by hashing the
/// keys: an alias used as a key is walked in full, and ten nested levels of ten aliases each
/// are 10¹⁰ nodes — `validate` never finished. Counting with libyaml's events is linear in the
/// text and runs before Yams sees it, so one budget covers keys and values alike.
package enum YAMLAliasBudget {
    /// The most nodes alias expansion may produce in one file. A million is far more than a
    /// hand-written file's aliases produce (a file that repeats a 10-entry parameter block with
    /// an alias 1,000 times uses 11,000) and costs Yams well under a second to hash.
    package static let maximumNodes = 1_000_000

    /// Where the budget ran out, for the message.
    package struct Excess: Equatable, Sendable {
        package var line: Int
        package var column: Int
        package var budget: Int

        package init(line: Int, column: Int, budget: Int) {
            self.line = line
            self.column = column
            self.budget = budget
        }
    }

    /// The first alias (by position) at which expansion passes `budget` nodes, or nil when the
    /// document stays within it. A document libyaml cannot parse returns nil: composing it
    /// reports the syntax error with its place, which is the more useful message.
    ///
    /// What is counted: each alias adds the node count of its anchor's expansion; an alias
    /// inside a mapping key counts once more per key it is nested in, because Yams hashes (and
    /// on a duplicate compares) every key of every mapping, complex keys included; for the same
    /// reason a plain node nested in more than one key counts once per extra key.
    package static func firstExcess(in text: String, budget: Int = maximumNodes) -> Excess? {
        // Without both an anchor and an alias indicator there is nothing to expand.
        guard text.utf8.contains(UInt8(ascii: "*")), text.utf8.contains(UInt8(ascii: "&")) else { return nil }
        var text = text
        return text.withUTF8 { bytes in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var counter = Counter(budget: budget)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch counter.take(event) {
                case .more: continue
                case .done: return nil
                case .exceeded(let excess): return excess
                }
            }
        }
    }

    /// The counting itself, one event at a time.
    private struct Counter {
        /// An open sequence or mapping.
        struct Frame {
            var anchor: String?
            /// Nodes in the expansion so far, itself included.
            var size = 1
            var isMapping: Bool
            /// Children so far; in a mapping the even ones are keys.
            var children = 0
            /// How many mapping keys this collection is nested in.
            var keyDepth: Int
        }

        enum Step { case more, done, exceeded(Excess) }

        let budget: Int
        var frames: [Frame] = []
        var anchorSizes: [String: Int] = [:]
        var spent = 0

        init(budget: Int) { self.budget = budget }

        /// The key depth of the node starting now, counting it as a child of the open collection.
        mutating func startChild() -> Int {
            guard let index = frames.indices.last else { return 0 }
            defer { frames[index].children += 1 }
            let isKey = frames[index].isMapping && frames[index].children % 2 == 0
            return frames[index].keyDepth + (isKey ? 1 : 0)
        }

        /// Adds a finished node's expanded size to its parent, saturating: sizes grow
        /// exponentially with nesting and must not overflow.
        mutating func finish(size: Int, anchor: String?) {
            if let anchor { anchorSizes[anchor] = size }
            if let index = frames.indices.last { frames[index].size = Self.add(frames[index].size, size) }
        }

        static func add(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? Int.max : sum
        }

        static func multiply(_ a: Int, _ b: Int) -> Int {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? Int.max : product
        }

        /// Spends `nodes`; the excess, if the budget is now passed, at `mark`.
        mutating func spend(_ nodes: Int, at mark: yaml_mark_t) -> Step {
            spent = Self.add(spent, nodes)
            guard spent > budget else { return .more }
            return .exceeded(Excess(line: Int(mark.line) + 1, column: Int(mark.column) + 1, budget: budget))
        }

        mutating func take(_ event: yaml_event_t) -> Step {
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return .done
            case YAML_DOCUMENT_START_EVENT:
                // Anchors do not carry from one document to the next.
                anchorSizes = [:]
                return .more
            case YAML_SCALAR_EVENT:
                let keyDepth = startChild()
                finish(size: 1, anchor: Self.name(event.data.scalar.anchor))
                return spend(max(0, keyDepth - 1), at: event.start_mark)
            case YAML_SEQUENCE_START_EVENT:
                let keyDepth = startChild()
                frames.append(Frame(anchor: Self.name(event.data.sequence_start.anchor), isMapping: false, keyDepth: keyDepth))
                return spend(max(0, keyDepth - 1), at: event.start_mark)
            case YAML_MAPPING_START_EVENT:
                let keyDepth = startChild()
                frames.append(Frame(anchor: Self.name(event.data.mapping_start.anchor), isMapping: true, keyDepth: keyDepth))
                return spend(max(0, keyDepth - 1), at: event.start_mark)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = frames.popLast() else { return .more }
                finish(size: frame.size, anchor: frame.anchor)
                return .more
            case YAML_ALIAS_EVENT:
                let keyDepth = startChild()
                // An undefined alias is the composer's error to report.
                let size = Self.name(event.data.alias.anchor).flatMap { anchorSizes[$0] } ?? 1
                finish(size: size, anchor: nil)
                return spend(Self.multiply(size, keyDepth + 1), at: event.start_mark)
            default:
                return .more
            }
        }

        static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            anchor.map { String(cString: $0) }
        }
    }
}
