// Targets for the YAML loaders: model profiles, parks, suites, platform profiles and linkage
// rules, each fed text as `validate` would read it (invalid UTF-8 repaired, as the loaders'
// `String(contentsOfFile:)` would refuse it outright).
import Foundation
import ParkCore
import ParkDevices
import ParkHarness
import ParkPlatform
import ParkProfiles

/// The checkout: PARKBENCH_ROOT, else two levels above this package.
let parkBenchRoot: String = ProcessInfo.processInfo.environment["PARKBENCH_ROOT"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

private let kinds: DeviceKindRegistry = {
    do { return try DeviceKindRegistry(BuiltInKinds.all) } catch { fatalError("built-in kinds: \(error)") }
}()

/// The checkout's device models, so a fuzzed park can name real ones.
private let catalog: ModelCatalog = {
    do { return try ModelCatalog.load(directory: parkBenchRoot + "/devices", kinds: kinds) } catch {
        fatalError("device models under \(parkBenchRoot)/devices: \(error)")
    }
}()

private func text(_ bytes: [UInt8]) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = ProfileDocumentType.detect(text, file: "fuzz.yaml")
    return text
}

let profileModelTarget = FuzzTarget(name: "yaml-model", summary: "ModelProfile.parse (device model profiles)", setUp: { _ = kinds }) { bytes in
    _ = try? ModelProfile.parse(text(bytes), file: "fuzz.yaml", kinds: kinds)
}

let profileParkTarget = FuzzTarget(name: "yaml-park", summary: "ParkFile.parse against the checkout's models", setUp: { _ = catalog }) { bytes in
    _ = try? ParkFile.parse(text(bytes), file: "fuzz.yaml", catalog: catalog, kinds: kinds)
}

let profileSuiteTarget = FuzzTarget(name: "yaml-suite", summary: "Suite.parse (conformance suites)") { bytes in
    _ = try? Suite.parse(text(bytes), file: "fuzz.yaml")
}

let profilePlatformTarget = FuzzTarget(name: "yaml-platform", summary: "PlatformProfile.parse (platform profiles)") { bytes in
    _ = try? PlatformProfile.parse(text(bytes), file: "fuzz.yaml")
}

let profileLinkageTarget = FuzzTarget(name: "yaml-linkage", summary: "LinkageRule.parse (the reference platform's rules)") { bytes in
    _ = try? LinkageRule.parse(text(bytes), file: "fuzz.yaml")
}
