import ParkProfiles

/// The engine's own value types read from profile files: what ParkProfiles' YAML reader cannot
/// know, since it sits below the engine.
extension MappingReader {
    package mutating func duration(_ key: String, required: Bool = false) -> DeviceDuration? {
        let expected = "a duration such as 40s, 500ms or 1h30m"
        guard let text = string(key, required: required, expected: expected) else { return nil }
        guard let duration = DeviceDuration(parsing: text) else {
            log.add("expected \(expected), got '\(IssueLog.excerpt(text))'", at: value(key), path: child(key))
            return nil
        }
        return duration
    }
}

extension ModelModbusMap {
    /// Every point must be one the kind has.
    package func check(against descriptor: KindDescriptor, log: IssueLog) {
        let known = Set(descriptor.points.map(\.name))
        for register in registers where !known.contains(register.point) {
            log.add("kind '\(descriptor.name)' has no point '\(register.point)'", at: nil, path: "modbus.registers")
        }
        let commands = Set(descriptor.commands.map(\.name))
        for coil in coils {
            if !known.contains(coil.point) { log.add("kind '\(descriptor.name)' has no point '\(coil.point)'", at: nil, path: "modbus.coils") }
            for command in [coil.onCommand, coil.offCommand] where !commands.contains(command) {
                log.add("kind '\(descriptor.name)' has no command '\(command)'", at: nil, path: "modbus.coils")
            }
        }
    }
}
