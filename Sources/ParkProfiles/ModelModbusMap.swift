import Yams

/// A model's Modbus register map as its profile states it: which point sits at which address, in
/// which table, type, byte order and scale. Two brands of one meter kind differ only here.
///
/// ```yaml
/// modbus:
///   registers:
///     - {point: voltage_a, address: 0x0000, type: float32, order: ABCD}
///     - {point: energy_import_1, table: input, address: 0x0100, type: uint32, order: CDAB, scale: 100}
///   coils:
///     - {point: relay, address: 0, on: relay-close, off: relay-open}
/// ```
///
/// Text as written; the Modbus binding turns types and orders into register formats.
public struct ModelModbusMap: Hashable, Sendable {
    public struct Register: Hashable, Sendable {
        public var point: String
        /// `holding` (function 03) or `input` (04).
        public var table: String
        public var address: Int
        public var type: String
        public var order: String
        public var scale: Double
        /// Registers the type takes (1, 2 or 4).
        public var width: Int
    }

    /// A coil that drives the device through commands (a relay, a valve).
    public struct Coil: Hashable, Sendable {
        public var point: String
        public var address: Int
        public var onCommand: String
        public var offCommand: String
    }

    public var registers: [Register]
    public var coils: [Coil]

    public static let types = ["uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2, "uint64": 4, "int64": 4, "float64": 4]
    public static let orders = ["ABCD", "CDAB", "BADC", "DCBA"]

    package static func read(_ node: Node, log: IssueLog) -> ModelModbusMap? {
        guard var reader = MappingReader(node, path: "modbus", log: log, what: "a Modbus register map") else { return nil }
        var map = ModelModbusMap(registers: [], coils: [])
        for (index, item) in (reader.sequence("registers") ?? []).enumerated() {
            let path = "modbus.registers[\(index)]"
            guard var entry = MappingReader(item, path: path, log: log, what: "a register") else { continue }
            let point = entry.string("point", required: true, expected: "the point it holds, e.g. voltage_a")
            let table = entry.string("table") ?? "holding"
            if !["holding", "input"].contains(table) {
                log.add("table must be holding or input, got '\(table)'", at: entry.value("table"), path: "\(path).table")
            }
            let address = address(&entry, path: path, log: log)
            let type = entry.string("type", required: true, expected: "uint16, int16, uint32, int32, float32, uint64, int64 or float64")
            if let type, types[type] == nil {
                log.add("unknown register type '\(type)'; use \(types.keys.sorted().joined(separator: ", "))", at: entry.value("type"), path: "\(path).type")
            }
            let order = entry.string("order") ?? "ABCD"
            if !orders.contains(order) {
                log.add("unknown byte order '\(order)'; use \(orders.joined(separator: ", "))", at: entry.value("order"), path: "\(path).order")
            }
            var scale = 1.0
            if let text = entry.string("scale") {
                if let value = Double(text), value != 0, value.isFinite { scale = value } else {
                    log.add("scale must be a non-zero number, got '\(IssueLog.excerpt(text))'", at: entry.value("scale"), path: "\(path).scale")
                }
            }
            entry.finish(allowed: ["point", "table", "address", "type", "order", "scale"])
            guard let point, let address, let type, let width = types[type] else { continue }
            map.registers.append(Register(point: point, table: table, address: address, type: type, order: order, scale: scale, width: width))
        }
        for (index, item) in (reader.sequence("coils") ?? []).enumerated() {
            let path = "modbus.coils[\(index)]"
            guard var entry = MappingReader(item, path: path, log: log, what: "a coil") else { continue }
            let point = entry.string("point", required: true, expected: "the point it shows, e.g. relay")
            let address = address(&entry, path: path, log: log)
            // Not `on:`/`off:`: YAML 1.1 parsers (PyYAML, which gateways are often written with)
            // read those keys as true and false.
            for old in ["on", "off"] where entry.value(old) != nil {
                log.add("'\(old)' is read as \(old == "on" ? "true" : "false") by YAML 1.1 parsers; write \(old)_command", at: item, path: path + ".\(old)")
            }
            let on = entry.string("on_command", required: true, expected: "the command a write of 1 sends")
            let off = entry.string("off_command", required: true, expected: "the command a write of 0 sends")
            entry.finish(allowed: ["point", "address", "on_command", "off_command"])
            guard let point, let address, let on, let off else { continue }
            map.coils.append(Coil(point: point, address: address, onCommand: on, offCommand: off))
        }
        reader.finish(allowed: ["registers", "coils"])
        // Overlapping registers would make two points share bytes: a map error, not a device's.
        for table in ["holding", "input"] {
            let entries = map.registers.filter { $0.table == table }.sorted { $0.address < $1.address }
            for (first, second) in zip(entries, entries.dropFirst()) where first.address + first.width > second.address {
                log.add("\(table) registers of '\(first.point)' (\(first.address)…\(first.address + first.width - 1)) and '\(second.point)' (from \(second.address)) overlap",
                        at: node, path: "modbus.registers")
            }
        }
        return map
    }

    private static func address(_ entry: inout MappingReader, path: String, log: IssueLog) -> Int? {
        guard let text = entry.string("address", required: true, expected: "a register address, 0–65535 (0x… allowed)") else { return nil }
        let value = text.hasPrefix("0x") || text.hasPrefix("0X") ? Int(text.dropFirst(2), radix: 16) : Int(text)
        guard let value, (0 ... 65_535).contains(value) else {
            log.add("expected a register address 0–65535 (decimal or 0x…), got '\(IssueLog.excerpt(text))'", at: entry.value("address"), path: "\(path).address")
            return nil
        }
        return value
    }
}

extension ModelModbusMap {
    /// Every point must be one the kind has.
    func check(against descriptor: KindDescriptor, log: IssueLog) {
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
