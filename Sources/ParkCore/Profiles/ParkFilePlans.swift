/// The engine's side of a park file: ParkProfiles reads and checks it against the kinds'
/// descriptors; turning its devices into plans, or building them, takes the kinds themselves.
extension ParkFile {
    /// The devices ready for an engine, with streams derived from `seed` (default: the park's).
    public func plan(kinds: DeviceKindRegistry, seed: UInt64? = nil) throws(ProfileErrors) -> [PlannedDevice] {
        let runSeed = seed ?? self.seed
        var planned: [PlannedDevice] = []
        planned.reserveCapacity(devices.count)
        var issues: [ProfileIssue] = []
        for device in devices {
            guard let kind = kinds.kind(named: device.kind) else {
                issues.append(ProfileIssue(file: file, line: 1, column: 1, keyPath: "populations", message: "unknown device kind '\(device.kind)'"))
                continue
            }
            do {
                let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: device.parameters)
                planned.append(PlannedDevice(kind: kind, setup: DeviceSetup(
                    id: device.id, parameters: parameters,
                    random: SeededRandom.forDevice(device.id, runSeed: runSeed), placement: device.placement)))
            } catch {
                issues.append(ProfileIssue(file: file, line: 1, column: 1, keyPath: "populations", message: "device '\(device.id)': \(error.message)"))
            }
        }
        guard issues.isEmpty else { throw ProfileErrors(issues) }
        return planned
    }

    /// Builds one device of each distinct kind and parameter set in the park, without starting
    /// it, so that what only a device can judge (a meter's tariff schedule or clock, a load range)
    /// is reported by `validate` instead of when a run starts.
    public func checkDevicesBuild(kinds: DeviceKindRegistry) throws(ProfileErrors) {
        var seen = Set<[String: String]>()
        var issues: [ProfileIssue] = []
        for device in devices {
            var key = device.parameters
            key["\u{0}kind"] = device.kind
            guard seen.insert(key).inserted, let kind = kinds.kind(named: device.kind) else { continue }
            do {
                let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: device.parameters)
                _ = try kind.makeDevice(DeviceSetup(id: device.id, parameters: parameters,
                                                    random: SeededRandom.forDevice(device.id, runSeed: seed), placement: device.placement))
            } catch {
                issues.append(ProfileIssue(file: file, line: 1, column: 1, keyPath: "populations",
                                           message: "device '\(device.id)' (model \(device.model)): \(error)"))
            }
        }
        guard issues.isEmpty else { throw ProfileErrors(issues) }
    }
}
