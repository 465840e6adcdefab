import CModbus

/// A Modbus request as the server received it: unit id, function code, and for the register and
/// bit functions the start address and quantity.
public struct ModbusRequest: Sendable, Hashable {
    public var unit: UInt8
    public var function: UInt8
    public var address: Int
    public var quantity: Int

    /// Whether the function writes (05, 06, 0F, 10, 16, 17).
    public var isWrite: Bool { [0x05, 0x06, 0x0F, 0x10, 0x16, 0x17].contains(function) }

    /// Parses a raw request whose header is `headerLength` bytes (7 for TCP's MBAP, 1 for RTU).
    init?(_ bytes: UnsafePointer<UInt8>, length: Int, headerLength: Int) {
        guard length >= headerLength + 1 else { return nil }
        unit = bytes[headerLength - 1]
        function = bytes[headerLength]
        address = length >= headerLength + 3 ? Int(bytes[headerLength + 1]) << 8 | Int(bytes[headerLength + 2]) : 0
        switch function {
        case 0x05, 0x06: quantity = 1
        default: quantity = length >= headerLength + 5 ? Int(bytes[headerLength + 3]) << 8 | Int(bytes[headerLength + 4]) : 0
        }
    }

    public init(unit: UInt8, function: UInt8, address: Int, quantity: Int) {
        self.unit = unit
        self.function = function
        self.address = address
        self.quantity = quantity
    }
}

/// A unit's four Modbus tables (coils, discrete inputs, holding and input registers), in the
/// layout libmodbus answers from. Owned by one unit; touched only on its server's thread.
public final class ModbusRegisterBank {
    let mapping: UnsafeMutablePointer<modbus_mapping_t>

    /// Tables of the given sizes starting at the given addresses (a meter's holding registers may
    /// start at 0x2000; a request outside a table is answered "illegal data address").
    public init(coils: Range<Int> = 0 ..< 0, discreteInputs: Range<Int> = 0 ..< 0,
                holdingRegisters: Range<Int> = 0 ..< 0, inputRegisters: Range<Int> = 0 ..< 0) throws(ModbusError) {
        guard let mapping = modbus_mapping_new_start_address(
            UInt32(coils.lowerBound), UInt32(coils.count), UInt32(discreteInputs.lowerBound), UInt32(discreteInputs.count),
            UInt32(holdingRegisters.lowerBound), UInt32(holdingRegisters.count),
            UInt32(inputRegisters.lowerBound), UInt32(inputRegisters.count))
        else { throw ModbusError("cannot allocate Modbus tables (out of memory)") }
        self.mapping = mapping
    }

    deinit { modbus_mapping_free(mapping) }

    public enum Table: String, Sendable { case coils, discreteInputs = "discrete-inputs", holding, input }

    public func range(of table: Table) -> Range<Int> {
        let m = mapping.pointee
        switch table {
        case .coils: return Int(m.start_bits) ..< Int(m.start_bits + m.nb_bits)
        case .discreteInputs: return Int(m.start_input_bits) ..< Int(m.start_input_bits + m.nb_input_bits)
        case .holding: return Int(m.start_registers) ..< Int(m.start_registers + m.nb_registers)
        case .input: return Int(m.start_input_registers) ..< Int(m.start_input_registers + m.nb_input_registers)
        }
    }

    /// Register `address` of a register table; nil outside it.
    public func register(_ table: Table, _ address: Int) -> UInt16? {
        guard let pointer = registers(table), range(of: table).contains(address) else { return nil }
        return pointer[address - range(of: table).lowerBound]
    }

    /// Writes `values` from `address` on; false (nothing written) if they do not fit the table.
    @discardableResult
    public func setRegisters(_ table: Table, at address: Int, _ values: [UInt16]) -> Bool {
        let tableRange = range(of: table)
        guard let pointer = registers(table), address >= tableRange.lowerBound, address + values.count <= tableRange.upperBound
        else { return false }
        for (offset, value) in values.enumerated() { pointer[address - tableRange.lowerBound + offset] = value }
        return true
    }

    /// Registers `address ..< address + count`; nil if outside the table.
    public func registers(_ table: Table, at address: Int, count: Int) -> [UInt16]? {
        let tableRange = range(of: table)
        guard let pointer = registers(table), address >= tableRange.lowerBound, address + count <= tableRange.upperBound else { return nil }
        return (0 ..< count).map { pointer[address - tableRange.lowerBound + $0] }
    }

    public func bit(_ table: Table, _ address: Int) -> Bool? {
        guard let pointer = bits(table), range(of: table).contains(address) else { return nil }
        return pointer[address - range(of: table).lowerBound] != 0
    }

    @discardableResult
    public func setBit(_ table: Table, _ address: Int, _ value: Bool) -> Bool {
        guard let pointer = bits(table), range(of: table).contains(address) else { return false }
        pointer[address - range(of: table).lowerBound] = value ? 1 : 0
        return true
    }

    private func registers(_ table: Table) -> UnsafeMutablePointer<UInt16>? {
        switch table {
        case .holding: mapping.pointee.tab_registers
        case .input: mapping.pointee.tab_input_registers
        default: nil
        }
    }

    private func bits(_ table: Table) -> UnsafeMutablePointer<UInt8>? {
        switch table {
        case .coils: mapping.pointee.tab_bits
        case .discreteInputs: mapping.pointee.tab_input_bits
        default: nil
        }
    }
}

/// What answers for one unit id: its tables, refreshed before each read and told of each write.
/// Called on the server's thread only; `Sendable` because it is handed to that thread (a unit
/// that shares state with device code guards that state itself).
public protocol ModbusUnit: AnyObject, Sendable {
    var bank: ModbusRegisterBank { get }
    /// Fill the tables with the unit's values as of now (a meter computes its energy here).
    func willAnswer(_ request: ModbusRequest)
    /// A write was applied to the tables; act on it (a relay coil, a valve register).
    func didWrite(_ request: ModbusRequest)
}

extension ModbusUnit {
    public func willAnswer(_ request: ModbusRequest) {}
    public func didWrite(_ request: ModbusRequest) {}
}

/// Misbehaviour a unit can be told to show, for checks that must see a gateway cope.
public struct ModbusFaults: Sendable, Hashable {
    /// Answer this much later (microseconds), as a slow or busy device does.
    public var delayMicroseconds: Int = 0
    /// Never answer (the master times out).
    public var silent = false
    /// Answer with this unit id instead of the one asked (a miswired address).
    public var replyUnit: UInt8?
    /// Answer with a broken checksum (RTU: the last CRC byte inverted; a line with noise).
    public var corruptCRC = false

    public init(delayMicroseconds: Int = 0, silent: Bool = false, replyUnit: UInt8? = nil, corruptCRC: Bool = false) {
        self.delayMicroseconds = delayMicroseconds
        self.silent = silent
        self.replyUnit = replyUnit
        self.corruptCRC = corruptCRC
    }

    public static let none = ModbusFaults()
}

/// A Modbus failure with what went wrong, for people.
public struct ModbusError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A Modbus slave endpoint of any transport: a TCP port (``ModbusTCPServer``) or an RTU bus
/// (``ModbusRTUServer``). Bindings put units behind one without caring which.
public protocol ModbusEndpoint: AnyObject, Sendable {
    func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?)
    func setFaults(_ faults: ModbusFaults, for id: UInt8)
    func start() throws(ModbusError)
    func stop()
    var statistics: ModbusEndpointStatistics { get }
    /// Where a master reaches it: `127.0.0.1:1502` or `/dev/pts/7`.
    var location: String { get }
}

extension ModbusTCPServer: ModbusEndpoint {
    public var location: String { "\(host):\(port)" }
}

extension ModbusRTUServer: ModbusEndpoint {
    public var location: String { devicePath }
}
