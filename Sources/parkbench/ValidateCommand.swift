import ArgumentParser
import Foundation
import ParkBindings
import ParkCore
import ParkHarness
import ParkPlatform
import ParkProfiles

/// `parkbench validate`: checks model profiles and park files without running anything.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check device profiles, parks, suites and platform profiles; report every problem with file:line:column.",
        discussion: """
            Each file is recognised by its top-level key: 'kind' (device model profile), \
            'park' (park file), 'suite' (conformance suite), 'platform' (platform profile) or \
            'rules' (the reference platform's linkage rules). \
            Park files are checked against the models in --devices, and one device of each \
            distinct model and parameter set is built (not run), so that what only the device \
            judges — a meter's clock_start or tariff_schedule, a load range — is reported here.

            Limits, so that a hostile or broken file gets an error instead of a hang: only \
            regular files are read (not a FIFO or a device), each at most 16 MiB \
            (PARKBENCH_MAX_FILE_BYTES=<bytes> changes it); aliases may expand to at most \
            1,000,000 nodes per file; a park may expand to at most 1,000,000 devices \
            (PARKBENCH_MAX_PARK_DEVICES=<n>); the first 100 problems of a file are shown.

            Example:
              parkbench validate devices/smoke-detector/acme-sd100.yaml conformance/parks/demo.yaml \\
                conformance/suites/park-core.yaml conformance/platforms/reference.yaml

            Exits 0 when every file is valid, 2 otherwise.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("Files to check.", valueName: "file"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one file to validate, e.g. parkbench validate conformance/parks/demo.yaml") }
    }

    func run() async throws {
        let workspace = Workspace.load(options, requireCatalog: false)
        var results: [FileResult] = []
        for file in files {
            let text: String
            // The same reading as every loader: regular files only, never blocking, size-capped.
            do { text = try ProfileText.read(file) } catch {
                results.append(FileResult(file: file, type: nil, valid: false, summary: nil, errors: error.issues.map(\.description)))
                continue
            }
            switch ProfileDocumentType.detect(text, file: file) {
            case .failure(let errors):
                results.append(FileResult(file: file, type: nil, valid: false, summary: nil, errors: errors.issues.map(\.description)))
            case .success(.deviceModel):
                do {
                    let profile = try ModelProfile.parse(text, file: file, kinds: workspace.kinds)
                    // The topic template is checked by the MQTT binding that will use it.
                    if let settings = profile.mqtt {
                        do { _ = try MQTTModelConventions(settings, profile: file) } catch {
                            results.append(FileResult(file: file, type: "device model", valid: false, summary: nil, errors: [error.message]))
                            continue
                        }
                    }
                    results.append(FileResult(file: file, type: "device model", valid: true,
                                              summary: "model \(profile.model) of kind \(profile.kind)", errors: []))
                } catch {
                    results.append(FileResult(file: file, type: "device model", valid: false, summary: nil, errors: error.issues.map(\.description)))
                }
            case .success(.suite):
                do {
                    let suite = try Suite.parse(text, file: file)
                    let types = Set(suite.checks.map(\.common.type)).sorted().joined(separator: ", ")
                    results.append(FileResult(file: file, type: "suite", valid: true,
                                              summary: "suite \(suite.name): \(plural(suite.checks.count, "check")) (\(types))", errors: []))
                } catch {
                    results.append(FileResult(file: file, type: "suite", valid: false, summary: nil, errors: error.issues.map(\.description)))
                }
            case .success(.platform):
                do {
                    let profile = try PlatformProfile.parse(text, file: file)
                    let streams = profile.mqtt.count + profile.rest.count + (profile.webhook == nil ? 0 : 1)
                    results.append(FileResult(file: file, type: "platform", valid: true,
                                              summary: "platform \(profile.name) at \(profile.broker.url): \(plural(streams, "northbound stream"))", errors: []))
                } catch {
                    results.append(FileResult(file: file, type: "platform", valid: false, summary: nil, errors: error.issues.map(\.description)))
                }
            case .success(.linkageRules):
                do {
                    let rules = try LinkageRule.parse(text, file: file)
                    results.append(FileResult(file: file, type: "linkage rules", valid: true,
                                              summary: "linkage rules: \(rules.map(\.id).joined(separator: ", "))", errors: []))
                } catch {
                    results.append(FileResult(file: file, type: "linkage rules", valid: false, summary: nil, errors: error.issues.map(\.description)))
                }
            case .success(.park):
                if !workspace.problems.isEmpty {
                    results.append(FileResult(file: file, type: "park", valid: false, summary: nil,
                                              errors: workspace.problems.map { "cannot check the park: \($0)" }))
                    continue
                }
                do {
                    let park = try ParkFile.parse(text, file: file, catalog: workspace.catalog, kinds: workspace.kinds)
                    try park.checkDevicesBuild(kinds: workspace.kinds)
                    results.append(FileResult(file: file, type: "park", valid: true,
                                              summary: "park \(park.name): \(plural(park.devices.count, "device")), \(plural(park.stimuli.count, "scripted stimulus", "scripted stimuli")), \(plural(park.links.count, "link"))",
                                              errors: []))
                } catch {
                    results.append(FileResult(file: file, type: "park", valid: false, summary: nil, errors: error.issues.map(\.description)))
                }
            }
        }

        if options.json {
            Output.json(results)
        } else {
            for result in results {
                if result.valid {
                    print("ok     \(result.file): \(result.summary ?? "")")
                } else {
                    for error in result.errors { Output.error(error) }
                }
            }
            let failed = results.filter { !$0.valid }.count
            if failed > 0 {
                Output.error("\(failed) of \(results.count) file\(results.count == 1 ? "" : "s") invalid")
            }
        }
        if results.contains(where: { !$0.valid }) { throw ExitCode(ExitStatus.configurationError) }
    }
}

/// `1 device`, `2 devices`.
func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : pluralForm ?? singular + "s")"
}

private struct FileResult: Encodable {
    var file: String
    var type: String?
    var valid: Bool
    var summary: String?
    var errors: [String]
}
