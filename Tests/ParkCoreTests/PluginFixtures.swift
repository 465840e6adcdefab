import Foundation
import Testing
@testable import ParkCore
import ParkProfiles

// What the tests of the plugin kinds (parking, access, elevators) share: the built library of a
// kind, one device of it planned on its own random stream, and the events it emitted.

/// The kind in the built dynamic library `product` (`ParkPlugin<Name>`), loaded as `parkbench`
/// loads a vendor's plugin.
func builtPluginKind(_ product: String) throws -> PluginDeviceKind {
    try PluginLoader.load(path: try builtPluginPath(product: product))
}

/// One device of `kind` with its own random stream of run `seed`, on the park's `floor` if given.
func pluginDevicePlan(
    _ kind: PluginDeviceKind, id: String, seed: UInt64 = 1, floor: Int? = nil, overrides: [String: String] = [:]
) throws -> PlannedDevice {
    PlannedDevice(
        kind: kind,
        setup: DeviceSetup(
            id: id, parameters: try DeviceParameters(descriptor: kind.descriptor, overrides: overrides),
            random: SeededRandom.forDevice(id, runSeed: seed), placement: Placement(floor: floor)))
}

/// The events emitted so far, heartbeats left out, in ledger order: only `device`'s and only
/// those called `name`, when given.
func pluginEvents(_ engine: VirtualTimeEngine, device: String? = nil, named name: String? = nil) throws -> [LedgerRecord] {
    try engine.ledger.records().filter {
        $0.entry == .emission && $0.channel == .event && $0.name != "heartbeat"
            && (device == nil || $0.deviceID == device) && (name == nil || $0.name == name)
    }
}

/// A distinct mainland plate for each index: a province, a letter, five serial characters.
func samplePlate(_ index: Int) -> String {
    let serial = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    var rest = index
    var characters: [Character] = []
    for _ in 0 ..< 5 {
        characters.append(serial[rest % serial.count])
        rest /= serial.count
    }
    return "京" + "ABCDE".map(String.init)[index % 5] + String(characters.reversed())
}

/// `devices/plugins/<family>/models`, found from this file's path (Tests/ParkCoreTests/…).
func pluginModelsDirectory(_ family: String) -> URL {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("devices/plugins/\(family)/models")
}
