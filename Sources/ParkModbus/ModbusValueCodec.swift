/// How a number sits in Modbus registers: its type, the order of its bytes across registers, and
/// the scale a vendor applies (a `uint32` of watt-hours ×100, a `float32` in CDAB order).
///
/// Byte orders name the four bytes of a 32-bit value A (most significant) to D: `ABCD` is
/// big-endian registers in big-endian order (the Modbus default), `CDAB` swaps the two registers
/// ("word swap", common in meters), `BADC` swaps bytes within each register, `DCBA` both.
/// 64-bit values extend the same rule over four registers.
public struct ModbusValueFormat: Sendable, Hashable, CustomStringConvertible {
    public enum ValueType: String, Sendable, CaseIterable {
        case uint16, int16, uint32, int32, float32, uint64, int64, float64

        /// Registers one value occupies.
        public var registerCount: Int {
            switch self {
            case .uint16, .int16: 1
            case .uint32, .int32, .float32: 2
            case .uint64, .int64, .float64: 4
            }
        }
    }

    public enum ByteOrder: String, Sendable, CaseIterable {
        case abcd = "ABCD", cdab = "CDAB", badc = "BADC", dcba = "DCBA"
    }

    public var type: ValueType
    public var order: ByteOrder
    /// Register value = quantity × `scale` (e.g. 100 for hundredths); floats usually keep 1.
    public var scale: Double

    public init(_ type: ValueType, order: ByteOrder = .abcd, scale: Double = 1) {
        self.type = type
        self.order = order
        self.scale = scale
    }

    /// A format as a profile writes it (`float32`, `CDAB`); nil if the type or order is unknown.
    public init?(typeName: String, orderName: String, scale: Double = 1) {
        guard let type = ValueType(rawValue: typeName), let order = ByteOrder(rawValue: orderName) else { return nil }
        self.init(type, order: order, scale: scale)
    }

    public var description: String {
        "\(type.rawValue) \(order.rawValue)" + (scale == 1 ? "" : " ×\(scale)")
    }

    /// The registers for `value`; integers are rounded and clamped to their type's range, so an
    /// out-of-range quantity reads as the type's limit, as a real meter's register would.
    public func encode(_ value: Double) -> [UInt16] {
        let scaled = value * scale
        let bits: UInt64
        switch type {
        case .uint16: bits = UInt64(Self.clamp(scaled, UInt16.self))
        case .int16: bits = UInt64(UInt16(bitPattern: Self.clamp(scaled, Int16.self)))
        case .uint32: bits = UInt64(Self.clamp(scaled, UInt32.self))
        case .int32: bits = UInt64(UInt32(bitPattern: Self.clamp(scaled, Int32.self)))
        case .float32: bits = UInt64(Float(scaled).bitPattern)
        case .uint64: bits = Self.clamp(scaled, UInt64.self)
        case .int64: bits = UInt64(bitPattern: Self.clamp(scaled, Int64.self))
        case .float64: bits = scaled.bitPattern
        }
        return Self.arrange(bits, registers: type.registerCount, order: order)
    }

    /// The quantity `registers` hold (the inverse of ``encode(_:)``).
    public func decode(_ registers: [UInt16]) -> Double? {
        guard registers.count == type.registerCount else { return nil }
        let bits = Self.gather(registers, order: order)
        let raw: Double
        switch type {
        case .uint16: raw = Double(UInt16(truncatingIfNeeded: bits))
        case .int16: raw = Double(Int16(bitPattern: UInt16(truncatingIfNeeded: bits)))
        case .uint32: raw = Double(UInt32(truncatingIfNeeded: bits))
        case .int32: raw = Double(Int32(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .float32: raw = Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .uint64: raw = Double(bits)
        case .int64: raw = Double(Int64(bitPattern: bits))
        case .float64: raw = Double(bitPattern: bits)
        }
        return raw / scale
    }

    private static func clamp<T: FixedWidthInteger>(_ value: Double, _: T.Type) -> T {
        guard value.isFinite else { return value > 0 ? T.max : (value < 0 ? T.min : 0) }
        let rounded = value.rounded()
        if rounded <= Double(T.min) { return T.min }
        if rounded >= Double(T.max) { return T.max }
        return T(rounded)
    }

    /// Splits `bits` (the value's low `registers × 16` bits) into registers in `order`.
    static func arrange(_ bits: UInt64, registers: Int, order: ByteOrder) -> [UInt16] {
        // Most significant register first: A B | C D | …
        var words = (0 ..< registers).map { index in UInt16(truncatingIfNeeded: bits >> (16 * UInt64(registers - 1 - index))) }
        if order == .cdab || order == .dcba { words.reverse() }
        if order == .badc || order == .dcba { words = words.map { $0.byteSwapped } }
        return words
    }

    static func gather(_ registers: [UInt16], order: ByteOrder) -> UInt64 {
        var words = registers
        if order == .badc || order == .dcba { words = words.map { $0.byteSwapped } }
        if order == .cdab || order == .dcba { words.reverse() }
        return words.reduce(0) { ($0 << 16) | UInt64($1) }
    }
}
