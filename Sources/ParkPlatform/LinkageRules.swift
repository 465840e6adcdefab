import Foundation
import ParkProfiles
import Yams

/// The reference platform's linkage rules (联动): when a device reports event E, command the
/// devices that match a target — e.g. an emergency button's alarm sounds the sounders in its
/// zone (004 L2717, L2892; chain LK7). Read from YAML and validated like every other file.
///
/// ```yaml
/// rules:
///   - id: emergency-sound-light
///     source: 004_5e9061d643d5fb41.txt L2892
///     when: {event: alarm, kind: emergency-button}
///     then: {command: sound, arguments: {duration: 60s}, to: {kind: sounder, zone: same}}
/// ```
public struct LinkageRule: Sendable, Hashable {
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

    public init(
        id: String, source: String = "", event: String, kind: String? = nil, zone: String? = nil, command: String,
        arguments: [String: String] = [:], targetKind: String, targetZone: String? = "same"
    ) {
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

    /// Whether an event from a device of `kind` in `zone` triggers this rule.
    func triggered(by event: String, kind: String, zone: String?) -> Bool {
        event == self.event && (self.kind == nil || self.kind == kind) && (self.zone == nil || self.zone == zone)
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

    /// Reads a rules file. - Throws: every problem at once, `file:line:col: key.path: message`.
    public static func load(file: String) throws(ProfileErrors) -> [LinkageRule] {
        try parse(try ProfileText.read(file), file: file)
    }

    public static func parse(_ text: String, file: String) throws(ProfileErrors) -> [LinkageRule] {
        let log = IssueLog(file: file)
        guard let root = YAMLSource.root(of: text, log: log),
              var reader = MappingReader(root, path: "", log: log, what: "a linkage rules file")
        else { throw ProfileErrors(log.sortedIssues) }
        var rules: [LinkageRule] = []
        for (index, node) in (reader.sequence("rules", required: true) ?? []).enumerated() {
            let path = "rules[\(index)]"
            guard var rule = MappingReader(node, path: path, log: log, what: "a rule") else { continue }
            let id = rule.string("id", required: true, expected: "the rule's id")
            let source = rule.string("source") ?? ""
            var event: String?, kind: String?, zone: String?
            if let when = rule.requiredValue("when", expected: "the trigger: {event: name, kind?: kind, zone?: zone}"),
               var trigger = MappingReader(when, path: path + ".when", log: log, what: "a trigger") {
                event = trigger.string("event", required: true, expected: "the event that triggers the rule")
                kind = trigger.string("kind")
                zone = trigger.string("zone")
                trigger.finish(allowed: ["event", "kind", "zone"])
            }
            var command: String?, arguments: [String: String] = [:], targetKind: String?, targetZone: String? = "same"
            if let then = rule.requiredValue("then", expected: "the action: {command: name, to: {kind: kind, zone: same}}"),
               var action = MappingReader(then, path: path + ".then", log: log, what: "an action") {
                command = action.string("command", required: true, expected: "the command to send")
                for entry in action.scalarMap("arguments") ?? [] { arguments[entry.key] = entry.text }
                if let to = action.requiredValue("to", expected: "the targets: {kind: kind, zone: same | <zone> | any}"),
                   var target = MappingReader(to, path: path + ".then.to", log: log, what: "the targets") {
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
                    targetKind: targetKind, targetZone: targetZone))
            }
        }
        reader.finish(allowed: ["rules"])
        if !log.issues.isEmpty { throw ProfileErrors(log.sortedIssues) }
        return rules
    }
}
