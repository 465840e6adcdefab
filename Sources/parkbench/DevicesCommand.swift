import ArgumentParser
import Foundation
import ParkCore

/// `parkbench devices list|show`: what kinds and models this installation can simulate.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List and describe device kinds and models.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List device kinds (built-in and plugins) and the models of each.",
            discussion: """
                Example:
                  parkbench devices list
                  parkbench devices list --json --plugin ./libParkPluginMine.so
                """)

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let workspace = Workspace.load(options, requireCatalog: false)
            workspace.reportProblemsAsWarnings()
            let kinds = workspace.kinds.all.map(\.descriptor)
            if !workspace.origins.values.contains(where: { $0 != "built-in" }) {
                // `swift run parkbench` builds only the binary; the example plugin comes with `swift build`.
                Output.error("note: no plugins loaded (looked for libParkPlugin*.so in \(workspace.pluginSearchPaths.joined(separator: ", "))); `swift build` builds the example plugin")
            }
            let modelsByKind = Dictionary(grouping: workspace.catalog.models.values, by: \.kind)
            if options.json {
                Output.json(kinds.map { kind in
                    KindSummary(
                        kind: kind.name, source: workspace.origins[kind.name] ?? "built-in", summary: kind.summary,
                        models: (modelsByKind[kind.name] ?? []).map(\.model).sorted())
                })
                return
            }
            Output.table(
                ["KIND", "SOURCE", "MODELS", "SUMMARY"],
                kinds.map { kind in
                    let origin = workspace.origins[kind.name] ?? "built-in"
                    return [
                        kind.name,
                        origin == "built-in" ? "built-in" : "plugin",
                        (modelsByKind[kind.name] ?? []).map(\.model).sorted().joined(separator: ", "),
                        kind.summary,
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a device model or kind: parameters, points, events, commands, stimuli.",
            discussion: """
                Give a model name (from devices/) or a kind name.

                Example:
                  parkbench devices show acme-sd100
                  parkbench devices show smoke-detector --json
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: "A model name (e.g. acme-sd100) or a kind name (e.g. smoke-detector).")
        var name: String

        func run() async throws {
            let workspace = Workspace.load(options, requireCatalog: false)
            workspace.reportProblemsAsWarnings()
            let model = workspace.catalog.model(named: name)
            guard let kind = workspace.kinds.kind(named: model?.kind ?? name)?.descriptor else {
                Output.error("error: no device model or kind named '\(name)'")
                Output.error("models: \(workspace.catalog.names.joined(separator: ", "))")
                Output.error("kinds: \(workspace.kinds.names.joined(separator: ", "))")
                throw ExitCode(ExitStatus.configurationError)
            }
            if options.json {
                Output.json(ModelDetail(model: model.map(ModelSummary.init), kind: kind))
                return
            }
            if let model {
                print("model:   \(model.model)")
                if !model.vendor.isEmpty { print("vendor:  \(model.vendor)") }
                if !model.title.isEmpty { print("title:   \(model.title)") }
                print("file:    \(model.file)")
                if let mqtt = model.mqtt {
                    var parts: [String] = []
                    if let auth = mqtt.auth { parts.append("login \(auth)") }
                    if let key = mqtt.productKey { parts.append("product key \(key)") }
                    if let topics = mqtt.topics { parts.append("topics \(topics)") }
                    if !mqtt.fields.isEmpty {
                        parts.append("fields " + mqtt.fields.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ", "))
                    }
                    print("mqtt:    \(parts.joined(separator: "; "))")
                }
            }
            print("kind:    \(kind.name) (\(workspace.origins[kind.name] ?? "built-in"))")
            print("summary: \(kind.summary)")
            if !kind.sources.isEmpty { print("sources: \(kind.sources.joined(separator: "; "))") }
            print("\nPARAMETERS")
            Output.table(
                ["NAME", "TYPE", "VALUE", "DEFAULT", "RANGE", "SUMMARY"],
                kind.parameters.map { parameter in
                    let value = model?.parameters[parameter.name] ?? parameter.defaultValue
                    let range = [parameter.minimum, parameter.maximum].map { $0.map { JSONText.number($0) } ?? "" }
                    return [
                        parameter.name, parameter.type.rawValue + (parameter.unit.map { " (\($0))" } ?? ""), value,
                        parameter.defaultValue, range == ["", ""] ? "" : range.joined(separator: "…"), parameter.summary,
                    ]
                })
            print("\nPOINTS")
            Output.table(["NAME", "TYPE", "UNIT", "SUMMARY"], kind.points.map { [$0.name, $0.type.rawValue, $0.unit ?? "", $0.summary] })
            print("\nEVENTS")
            Output.table(["NAME", "SEVERITY", "SUMMARY"], kind.events.map { [$0.name, $0.severity.rawValue, $0.summary] })
            print("\nCOMMANDS")
            Output.table(["NAME", "ARGUMENTS", "SUMMARY"], kind.commands.map { [$0.name, Self.arguments($0.arguments), $0.summary] })
            print("\nSTIMULI")
            Output.table(["NAME", "ARGUMENTS", "SUMMARY"], kind.stimuli.map { [$0.name, Self.arguments($0.arguments), $0.summary] })
        }

        static func arguments(_ arguments: [ArgumentDescriptor]) -> String {
            arguments.map { "\($0.name): \($0.type.rawValue)\($0.required ? "" : "?")" }.joined(separator: ", ")
        }
    }
}

private struct KindSummary: Encodable {
    var kind: String
    var source: String
    var summary: String
    var models: [String]
}

private struct ModelSummary: Encodable {
    var model: String
    var vendor: String
    var title: String
    var file: String
    var parameters: [String: String]

    init(_ profile: ModelProfile) {
        model = profile.model
        vendor = profile.vendor
        title = profile.title
        file = profile.file
        parameters = profile.parameters
    }
}

private struct ModelDetail: Encodable {
    var model: ModelSummary?
    var kind: KindDescriptor
}

extension Workspace {
    /// For listing commands: problems do not stop the listing, but the user sees them.
    func reportProblemsAsWarnings() {
        for problem in problems { Output.error("warning: \(problem)") }
    }

    /// For commands that need a sound configuration: print every problem and exit 2.
    func failOnProblems() throws {
        guard !problems.isEmpty else { return }
        for problem in problems { Output.error("error: \(problem)") }
        throw ExitCode(ExitStatus.configurationError)
    }
}
