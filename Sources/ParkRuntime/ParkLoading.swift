import CLinuxEvents
import ParkCore
import ParkProfiles

/// A park file loaded and its devices planned, ready for a session or a virtual run.
public struct LoadedPark: Sendable {
    public var file: ParkFile
    public var plan: [PlannedDevice]

    /// Loads `path`, keeps only `shard`'s devices (and the stimuli aimed at them) when given, and
    /// plans them with `seed` (the park's own seed when nil).
    ///
    /// A worker of a 50,000-device park plans its own few thousand devices, not the whole park.
    /// Each device keeps the random stream of its id and the run seed, so it behaves the same
    /// whichever shard runs it.
    /// - Throws: ``ProfileErrors`` naming every problem with its file and line.
    public init(path: String, catalog: ModelCatalog, kinds: DeviceKindRegistry, shard: ShardSpec? = nil, seed: UInt64? = nil) throws(ProfileErrors) {
        var file = try ParkFile.load(file: path, catalog: catalog, kinds: kinds)
        if let shard {
            file.devices = Array(file.devices[shard.range(of: file.devices.count)])
            let owned = Set(file.devices.map(\.id))
            file.stimuli = file.stimuli.filter { owned.contains($0.deviceID) }
        }
        self.plan = try file.plan(kinds: kinds, seed: seed)
        self.file = file
        // Loading expands every population; hand the parser's garbage back before the run.
        ProcessMemory.releaseFree()
    }
}

/// The C allocator keeps freed memory for reuse; a run that has just parsed a large park gives
/// it back so a long run's resident size is the devices', not the parser's high-water mark.
public enum ProcessMemory {
    /// Returns the allocator's free memory to the system.
    public static func releaseFree() { parkbench_release_free_memory() }
}
