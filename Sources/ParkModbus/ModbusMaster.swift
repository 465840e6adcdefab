import CModbus

#if canImport(Glibc)
import Glibc
#endif

/// A Modbus master (libmodbus), over TCP or an RTU serial line: the polling side a gateway or
/// `certify` uses to read a device. One connection, one request at a time, synchronous; use one
/// master per thread.
///
/// Errors come back as ``ModbusClientError``: an exception code the device answered, a timeout,
/// or a transport failure, each saying which unit and address.
///
/// The timeout is one deadline for a request's whole answer: libmodbus's per-byte timeout is
/// off, so a device that drips its answer a byte at a time cannot stretch one request past it.
/// After a timeout a TCP master reconnects before its next request (an RTU master flushes the
/// line), so the late rest of an abandoned answer is never read as the next one's.
public final class ModbusMaster {
    private let context: OpaquePointer
    /// Where the device is: `host:port` or the serial device's path.
    public let target: String
    private let isTCP: Bool
    /// Set by a timeout: the connection may still carry the abandoned answer's late bytes.
    private var stale = false

    /// A master on Modbus TCP.
    /// - Parameter timeoutMicroseconds: how long to wait for a whole answer.
    public convenience init(host: String, port: Int, timeoutMicroseconds: Int = 1_000_000) throws(ModbusClientError) {
        guard let context = modbus_new_tcp(host, Int32(port)) else {
            throw .transport("cannot create a Modbus TCP context for \(host):\(port)")
        }
        try self.init(context: context, target: "\(host):\(port)", isTCP: true, timeoutMicroseconds: timeoutMicroseconds)
    }

    /// A master on a Modbus RTU serial line (`/dev/ttyUSB0`, or a pty from `simulate --modbus-rtu`).
    /// - Parameter parity: `N`, `E` or `O` (a pty accepts only `N`).
    public convenience init(serialDevice: String, baudRate: Int = 9600, parity: Character = "N",
                            timeoutMicroseconds: Int = 1_000_000) throws(ModbusClientError) {
        guard let ascii = parity.asciiValue, "NEO".utf8.contains(ascii),
              let context = modbus_new_rtu(serialDevice, Int32(baudRate), CChar(ascii), 8, 1) else {
            throw .transport("cannot create a Modbus RTU context for \(serialDevice) (\(baudRate) baud, parity \(parity))")
        }
        try self.init(context: context, target: serialDevice, isTCP: false, timeoutMicroseconds: timeoutMicroseconds)
    }

    private init(context: OpaquePointer, target: String, isTCP: Bool, timeoutMicroseconds: Int) throws(ModbusClientError) {
        let timeout = max(1, timeoutMicroseconds)
        modbus_set_response_timeout(context, UInt32(timeout / 1_000_000), UInt32(timeout % 1_000_000))
        // With the byte timeout at zero libmodbus keeps one timeval for the whole confirmation,
        // and select() on Linux counts it down: the response timeout bounds the whole answer.
        // Otherwise each byte re-arms a 0.5 s wait and a dripping device is waited on for ever.
        modbus_set_byte_timeout(context, 0, 0)
        // Connected before self is initialised: a class whose init throws after that runs deinit,
        // which would free the context a second time.
        guard modbus_connect(context) == 0 else {
            let reason = String(cString: modbus_strerror(errno))
            modbus_free(context)
            throw .transport("cannot connect to \(target): \(reason)")
        }
        self.context = context
        self.target = target
        self.isTCP = isTCP
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    /// Reads `count` holding registers (function 03) from `address` of `unit`.
    public func readHoldingRegisters(unit: UInt8, address: Int, count: Int) throws(ModbusClientError) -> [UInt16] {
        try readRegisters(unit: unit, address: address, count: count, function: "read holding registers") {
            modbus_read_registers(context, Int32(address), Int32(count), $0)
        }
    }

    /// Reads `count` input registers (function 04).
    public func readInputRegisters(unit: UInt8, address: Int, count: Int) throws(ModbusClientError) -> [UInt16] {
        try readRegisters(unit: unit, address: address, count: count, function: "read input registers") {
            modbus_read_input_registers(context, Int32(address), Int32(count), $0)
        }
    }

    /// Reads `count` registers from the input table (function 04) or the holding table (03).
    public func readRegisters(inputTable: Bool, unit: UInt8, address: Int, count: Int) throws(ModbusClientError) -> [UInt16] {
        inputTable
            ? try readInputRegisters(unit: unit, address: address, count: count)
            : try readHoldingRegisters(unit: unit, address: address, count: count)
    }

    /// Writes one holding register (function 06).
    public func writeRegister(unit: UInt8, address: Int, value: UInt16) throws(ModbusClientError) {
        try prepare(unit: unit)
        guard modbus_write_register(context, Int32(address), value) == 1 else {
            throw failure(errno, "write register \(address) of unit \(unit)")
        }
    }

    /// Writes one coil (function 05).
    public func writeCoil(unit: UInt8, address: Int, on: Bool) throws(ModbusClientError) {
        try prepare(unit: unit)
        guard modbus_write_bit(context, Int32(address), on ? 1 : 0) == 1 else {
            throw failure(errno, "write coil \(address) of unit \(unit)")
        }
    }

    /// Sends `pdu` (function code and data) to `unit` as it is, without libmodbus's checks, and
    /// returns the answer's PDU — for probing how a device answers requests it should refuse.
    /// An exception answer comes back as a PDU with the function's high bit set, not as a throw.
    public func rawRequest(unit: UInt8, pdu: [UInt8]) throws(ModbusClientError) -> [UInt8] {
        try prepare(unit: unit)
        let request = [unit] + pdu
        let sent = request.withUnsafeBufferPointer { modbus_send_raw_request(context, $0.baseAddress, Int32($0.count)) }
        guard sent > 0 else { throw failure(errno, "raw request \(pdu.first.map { String($0, radix: 16) } ?? "") to unit \(unit)") }
        var answer = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        let got = answer.withUnsafeMutableBufferPointer { modbus_receive_confirmation(context, $0.baseAddress) }
        guard got > 0 else { throw failure(errno, "raw request \(pdu.first.map { String($0, radix: 16) } ?? "") to unit \(unit)") }
        let header = Int(modbus_get_header_length(context))
        // RTU answers end with their CRC, which is not part of the PDU.
        let end = header == 1 ? max(header, Int(got) - 2) : Int(got)
        return Array(answer[header ..< end])
    }

    private func readRegisters(
        unit: UInt8, address: Int, count: Int, function: String, _ read: (UnsafeMutablePointer<UInt16>) -> Int32
    ) throws(ModbusClientError) -> [UInt16] {
        try prepare(unit: unit)
        var registers = [UInt16](repeating: 0, count: max(count, 1))
        let got = registers.withUnsafeMutableBufferPointer { read($0.baseAddress!) }
        guard got == Int32(count) else {
            throw failure(errno, "\(function) \(address)…\(address + count - 1) of unit \(unit)")
        }
        return Array(registers.prefix(count))
    }

    /// Addresses `unit`, first dropping what a timed-out request may have left on the line.
    private func prepare(unit: UInt8) throws(ModbusClientError) {
        if stale {
            if isTCP {
                // Only a new connection is sure to carry no late bytes: they may still be in flight.
                modbus_close(context)
                guard modbus_connect(context) == 0 else {
                    throw .transport("cannot reconnect to \(target) after a timeout: \(String(cString: modbus_strerror(errno)))")
                }
            } else {
                modbus_flush(context)
            }
            stale = false
        }
        modbus_set_slave(context, Int32(unit))
    }

    /// The error for libmodbus's `code`, noting a timeout so the next request starts clean.
    private func failure(_ code: Int32, _ what: String) -> ModbusClientError {
        let error = Self.failure(code, what)
        if case .timeout = error { stale = true }
        return error
    }

    /// libmodbus reports a device's exception as errno `MODBUS_ENOBASE + code`.
    static func failure(_ code: Int32, _ what: String) -> ModbusClientError {
        let base = Int32(MODBUS_ENOBASE)
        if code > base, code < base + Int32(MODBUS_EXCEPTION_MAX) {
            return .exception(code: UInt8(code - base), what)
        }
        if code == ETIMEDOUT { return .timeout(what) }
        return .transport("\(what): \(String(cString: modbus_strerror(code)))")
    }
}

/// Why a Modbus request failed.
public enum ModbusClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The device answered with exception `code` (01 illegal function, 02 illegal data address,
    /// 03 illegal data value, 04 device failure, 0B gateway target failed to respond, …).
    case exception(code: UInt8, String)
    /// No answer within the timeout.
    case timeout(String)
    /// Connection refused, reset, or a malformed answer.
    case transport(String)

    public var description: String {
        switch self {
        case .exception(let code, let what):
            "\(what): exception \(code < 0x10 ? "0" : "")\(String(code, radix: 16, uppercase: true)) (\(Self.name(of: code)))"
        case .timeout(let what): "\(what): no complete answer within the timeout"
        case .transport(let what): what
        }
    }

    static func name(of code: UInt8) -> String {
        switch code {
        case 0x01: "illegal function"
        case 0x02: "illegal data address"
        case 0x03: "illegal data value"
        case 0x04: "server device failure"
        case 0x06: "server device busy"
        case 0x0A: "gateway path unavailable"
        case 0x0B: "gateway target device failed to respond"
        default: "exception"
        }
    }
}
