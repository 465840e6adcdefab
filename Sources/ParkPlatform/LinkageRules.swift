import Foundation
import ParkProfiles
import Yams

/// The reference platform's linkage rules (联动): when a device reports event E, command the
/// devices that match a target — e.g. an emergency button's alarm sounds the sounders in its
/// zone (004 L2717, L2892; chain LK7). Read from YAML and validated like every other file.
///
/// An argument may take a value from the triggering event: `{floor}` is replaced by the event's
/// `floor` (a number or a text), so an access grant calls the elevator to the terminal's floor
/// and lights the person's own (LK8). An event without the value does not fire the rule.
///
/// A rule may also ask that a text value of the event be in (or out of) a named list — a plate
/// camera's read opens the barrier of its lane only for a whitelisted plate (004 L2164–2168):
///
/// ```yaml
/// lists:
///   whitelist: ["京A12345", "沪B67890"]
/// rules:
///   - id: emergency-sound-light
///     source: 004_5e9061d643d5fb41.txt L2892
///     when: {event: alarm, kind: emergency-button}
///     then: {command: sound, arguments: {duration: 60s}, to: {kind: sounder, zone: same}}
///   - id: entrance-whitelist
///     source: 004_5e9061d643d5fb41.txt L2168
///     when: {event: plate, kind: lpr-camera, point: plate, in: whitelist}
///     then: {command: open, to: {kind: barrier, zone: same}}
///   - id: lane-whitelist                  # an integrated lane terminal: it reads and it opens
///     when: {event: plate, kind: lane, point: plate, in: whitelist}
///     then: {command: open, to: trigger}
/// ```
///
/// `to: trigger` commands the device that reported the event itself; any other target leaves it
/// out (a sounder rule never commands the button that raised the alarm).
public struct LinkageRule: Sendable, Hashable {
    /// A text value of the triggering event that must (or must not) be in a named list.
    public struct ListCondition: Sendable, Hashable {
        /// The event's value to look at (`plate`).
        public var point: String
        /// The list's name in the rules file, for messages.
        public var list: String
        public var members: Set<String>
        /// True for `not-in`: the rule fires for values outside the list (an unknown plate).
        public var negated: Bool

        public init(point: String, list: String, members: Set<String>, negated: Bool = false) {
            self.point = point
            self.list = list
            self.members = members
            self.negated = negated
        }

        /// Whether an event carrying `texts` meets the condition; an event without the value never does.
        public func holds(for texts: [String: String]) -> Bool {
            guard let value = texts[point] else { return false }
            return members.contains(value) != negated
        }
    }

    public var id: String
    public var source: String
    /// The trigger: an event name, optionally only from one kind or zone.
    public var event: String
    public var kind: String?
    public var zone: String?
    /// The action: a command with arguments (JSON values, as text) to every known device of
    /// `targetKind` in `targetZone` (`same`: the trigger's zone; nil: any zone).
    public var command: String
    public var arguments: [String: String]
    public var targetKind: String
    public var targetZone: String?
    /// `to: trigger`: the command goes to the device that reported the event, and only to it.
    public var targetsTrigger: Bool
    /// Nil: every such event triggers the rule.
    public var condition: ListCondition?

    public init(
        id: String, source: String = "", event: String, kind: String? = nil, zone: String? = nil, command: String,
        arguments: [String: String] = [:], targetKind: String, targetZone: String? = "same", targetsTrigger: Bool = false,
        condition: ListCondition? = nil
    ) {
        self.condition = condition
        self.targetsTrigger = targetsTrigger
        self.id = id
        self.source = source
        self.event = event
        self.kind = kind
        self.zone = zone
        self.command = command
        self.arguments = arguments
        self.targetKind = targetKind
        self.targetZone = targetZone
    }

    /// Whether an event from a device of `kind` in `zone`, carrying the text values `texts`,
    /// triggers this rule. `conditionsIgnored` is the `gate-opens-for-all` fault switch: every
    /// list condition holds.
    func triggered(by event: String, kind: String, zone: String?, texts: [String: String] = [:], conditionsIgnored: Bool = false) -> Bool {
        event == self.event && (self.kind == nil || self.kind == kind) && (self.zone == nil || self.zone == zone)
            && (conditionsIgnored || condition?.holds(for: texts) ?? true)
    }

    /// Whether a device is one of the rule's targets for a trigger in `triggerZone`.
    func targets(kind: String, zone: String?, triggerZone: String?) -> Bool {
        guard kind == targetKind else { return false }
        switch targetZone {
        case nil: return true
        case "same": return zone != nil && zone == triggerZone
        case let fixed?: return zone == fixed
        }
    }

    /// The arguments with every `{point}` replaced by the event's value: nil when the event
    /// lacks one of them.
    func filledArguments(values: [String: Double], texts: [String: String]) -> [String: String]? {
        var filled: [String: String] = [:]
        for (name, template) in arguments {
            guard template.contains("{") else {
                filled[name] = template
                continue
            }
            var text = template
            for point in Self.placeholders(in: template) {
                let value: String
                if let number = values[point] {
                    value = number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
                } else if let found = texts[point] {
                    value = found
                } else {
                    return nil
                }
                text = text.replacingOccurrences(of: "{\(point)}", with: value)
            }
            filled[name] = text
        }
        return filled
    }

    /// The `{name}` placeholders of an argument's text.
    package static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = rest[rest.index(after: open)..<close]
            if !name.isEmpty { names.append(String(name)) }
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// Reads a rules file. - Throws: every problem at once, `file:line:col: key.path: message`.
    public static func load(file: String) throws(ProfileErrors) -> [LinkageRule] {
        try parse(try ProfileText.read(file), file: file)
    }

    public static func parse(_ text: String, file: String) throws(ProfileErrors) -> [LinkageRule] {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a linkage rules file")
        else { throw ProfileErrors(log.sortedIssues) }
        var lists: [String: Set<String>] = [:]
        if let node = reader.value("lists"), !MappingReader.isNull(node) {
            if case .mapping(let mapping) = node {
                for pair in mapping {
                    let name = pair.key.string ?? ""
                    let path = "lists.\(name)"
                    guard case .sequence(let items) = pair.value else {
                        log.add("expected a list of values, got \(MappingReader.describe(pair.value))", at: pair.value, path: path)
                        continue
                    }
                    var members = Set<String>()
                    for (index, item) in items.enumerated() {
                        if let text = MappingReader.scalarText(item, path: "\(path)[\(index)]", log: log, expected: "a value such as a plate") {
                            members.insert(text)
                        }
                    }
                    lists[name] = members
                }
            } else {
                log.add("expected a mapping of list name: [values], got \(MappingReader.describe(node))", at: node, path: "lists")
            }
        }
        var rules: [LinkageRule] = []
        for (index, node) in (reader.sequence("rules", required: true) ?? []).enumerated() {
            let path = "rules[\(index)]"
            guard var rule = MappingReader(node, path: path, log: log, what: "a rule") else { continue }
            let id = rule.string("id", required: true, expected: "the rule's id")
            let source = rule.string("source") ?? ""
            var event: String?, kind: String?, zone: String?, condition: ListCondition?
            if let when = rule.requiredValue("when", expected: "the trigger: {event: name, kind?: kind, zone?: zone}"),
               var trigger = MappingReader(when, path: path + ".when", log: log, what: "a trigger") {
                event = trigger.string("event", required: true, expected: "the event that triggers the rule")
                kind = trigger.string("kind")
                zone = trigger.string("zone")
                let point = trigger.string("point", expected: "the event's value to look up in a list")
                let inList = trigger.string("in", expected: "the name of a list under 'lists'")
                let notInList = trigger.string("not-in", expected: "the name of a list under 'lists'")
                switch (point, inList, notInList) {
                case (nil, nil, nil): break
                case (let point?, let name?, nil), (let point?, nil, let name?):
                    if let members = lists[name] {
                        condition = ListCondition(point: point, list: name, members: members, negated: notInList != nil)
                    } else {
                        let known = lists.keys.sorted()
                        log.add("no list '\(IssueLog.excerpt(name))' under 'lists'" + (known.isEmpty ? "" : "; the lists are: \(known.joined(separator: ", "))"),
                                at: when, path: path + ".when." + (inList != nil ? "in" : "not-in"))
                    }
                case (_, _?, _?):
                    log.add("give one of 'in' and 'not-in', not both", at: when, path: path + ".when")
                case (nil, _, _):
                    log.add("'in' and 'not-in' need 'point': the event's value to look up", at: when, path: path + ".when")
                case (_?, nil, nil):
                    log.add("'point' needs 'in' or 'not-in': the list to look the value up in", at: when, path: path + ".when")
                }
                trigger.finish(allowed: ["event", "kind", "zone", "point", "in", "not-in"])
            }
            var command: String?, arguments: [String: String] = [:], targetKind: String?, targetZone: String? = "same"
            var targetsTrigger = false
            if let then = rule.requiredValue("then", expected: "the action: {command: name, to: {kind: kind, zone: same}}"),
               var action = MappingReader(then, path: path + ".then", log: log, what: "an action") {
                command = action.string("command", required: true, expected: "the command to send")
                for entry in action.scalarMap("arguments") ?? [] { arguments[entry.key] = entry.text }
                let to = action.requiredValue("to", expected: "the targets: {kind: kind, zone: same | <zone> | any}, or trigger")
                if let to, to.scalar != nil {
                    if to.string == "trigger" {
                        targetsTrigger = true
                        targetKind = ""
                    } else {
                        log.add("expected {kind: kind, zone: same | <zone> | any}, or trigger (the device that reported the event)",
                                at: to, path: path + ".then.to")
                    }
                } else if let to, var target = MappingReader(to, path: path + ".then.to", log: log, what: "the targets") {
                    targetKind = target.string("kind", required: true, expected: "the kind of device to command")
                    let zoneText = target.string("zone") ?? "same"
                    targetZone = zoneText == "any" ? nil : zoneText
                    target.finish(allowed: ["kind", "zone"])
                }
                action.finish(allowed: ["command", "arguments", "to"])
            }
            rule.finish(allowed: ["id", "source", "when", "then"])
            if let id, rules.contains(where: { $0.id == id }) { log.add("rule id '\(id)' is used twice", at: node, path: path + ".id") }
            if let id, let event, let command, let targetKind {
                rules.append(LinkageRule(
                    id: id, source: source, event: event, kind: kind, zone: zone, command: command, arguments: arguments,
                    targetKind: targetKind, targetZone: targetZone, targetsTrigger: targetsTrigger, condition: condition))
            }
        }
        reader.finish(allowed: ["lists", "rules"])
        if !log.issues.isEmpty { throw ProfileErrors(log.sortedIssues) }
        return rules
    }
}
