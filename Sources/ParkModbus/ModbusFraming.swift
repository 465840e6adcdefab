import CModbus

/// Modbus TCP framing: the MBAP header (transaction id, protocol id 0, length, unit id) says how
/// long each frame is. A pure function over bytes, so the endpoint, a fuzzer and a test drive the
/// same code.
public enum ModbusTCPFraming {
    /// What the bytes at the start of a stream hold.
    public enum Next: Hashable, Sendable {
        /// Not enough bytes yet to tell, or to hold the whole frame.
        case needMore
        /// A whole frame of this many bytes (header included).
        case frame(length: Int)
        /// Not Modbus TCP: a protocol id other than 0, or a length no ADU can have.
        case invalid(String)
    }

    /// The frame at the start of `bytes`.
    public static func next(_ bytes: some Collection<UInt8>) -> Next {
        guard bytes.count >= 7 else { return .needMore }
        var header = bytes.prefix(6).makeIterator()
        _ = header.next(); _ = header.next()
        let protocolHigh = header.next()!, protocolLow = header.next()!
        let length = 6 + (Int(header.next()!) << 8 | Int(header.next()!))
        guard protocolHigh == 0, protocolLow == 0 else { return .invalid("protocol id \(Int(protocolHigh) << 8 | Int(protocolLow)), not 0") }
        // The length counts the unit id and the PDU: at least a function code, at most 253 bytes of PDU.
        guard (8 ... Int(MODBUS_TCP_MAX_ADU_LENGTH)).contains(length) else { return .invalid("MBAP length \(length - 6) outside 2…254") }
        return bytes.count >= length ? .frame(length: length) : .needMore
    }
}

/// What a request PDU must hold before libmodbus may answer it: libmodbus reads a request's
/// address, quantity, byte count and data at fixed offsets without knowing where the frame ends,
/// so a PDU cut short would be answered from whatever bytes lie past it in memory.
public enum ModbusPDU {
    /// The bytes a request PDU (function code first) needs for its function; a PDU at least this
    /// long holds every field its function has. Functions libmodbus refuses outright need only the
    /// code. (libmodbus also reads two bytes after the code for every function, which a whole 07
    /// or 11 does not have: ``ModbusResponder`` pads those.)
    public static func requiredLength(_ pdu: some Collection<UInt8>) -> Int {
        guard let function = pdu.first else { return 1 }
        func byte(_ offset: Int) -> Int? {
            guard pdu.count > offset else { return nil }
            return Int(pdu[pdu.index(pdu.startIndex, offsetBy: offset)])
        }
        switch function {
        // Address and quantity (or value).
        case 0x01 ... 0x06: return 5
        // Address, quantity, byte count, then that many data bytes.
        case 0x0F, 0x10: return byte(5).map { 6 + $0 } ?? 6
        // Address, AND mask, OR mask.
        case 0x16: return 7
        // Read address and quantity, write address and quantity, byte count, data.
        case 0x17: return byte(9).map { 10 + $0 } ?? 10
        default: return 1
        }
    }

    /// Whether `pdu` holds everything its function needs.
    public static func isComplete(_ pdu: some Collection<UInt8>) -> Bool { pdu.count >= requiredLength(pdu) }
}
