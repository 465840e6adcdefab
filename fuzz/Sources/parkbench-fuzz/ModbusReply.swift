// The modbus-reply target: libmodbus's reply building (`modbus_reply` and its exceptions, behind
// the endpoints' responder) under the fuzzer, through ModbusReplier — the code a master reaches
// once a frame is framed. libmodbus itself is not instrumented, so ASan cannot see it read past a
// request; the frame is therefore put against a page that cannot be read, and such a read is a
// crash here.
#if canImport(Glibc)
import Glibc
#endif
import ParkModbus

/// A unit with fixed tables that remembers what it was told, so the target can check that a
/// write reply and the `didWrite` call agree. Made fresh for every input: no state carries over.
private final class FuzzUnit: ModbusUnit, @unchecked Sendable {
    let bank: ModbusRegisterBank
    var writes: [ModbusRequest] = []
    init(_ bank: ModbusRegisterBank) { self.bank = bank }
    func didWrite(_ request: ModbusRequest) { writes.append(request) }

    /// The writable tables' contents (coils, holding registers), to see that a read or an
    /// exception leaves them alone. Discrete inputs and input registers no request can write.
    func snapshot() -> [UInt16] {
        bank.range(of: .coils).map { bank.bit(.coils, $0)! ? 1 : 0 } + bank.range(of: .holding).map { bank.register(.holding, $0)! }
    }
}

/// Unit ids the target serves: 1 with every table from address 0 (room for the largest reads:
/// 2000 discrete inputs, 125 input and holding registers; the coils are fewer, since each input's
/// checks copy them),
/// 2 laid out like a meter (registers high up, no bit tables), 3 answering as unit 0x33 (a
/// miswired address), 4 silent; every other id is absent.
private enum Units {
    static let plain: UInt8 = 1, meter: UInt8 = 2, miswired: UInt8 = 3, silent: UInt8 = 4
    static let miswiredAnswer: UInt8 = 0x33

    static func make() -> [UInt8: FuzzUnit] {
        // The tables are small; failing to allocate them is not the code under test.
        let plain = try! ModbusRegisterBank(coils: 0 ..< 256, discreteInputs: 0 ..< 2000,
                                            holdingRegisters: 0 ..< 130, inputRegisters: 0 ..< 130)
        for address in 0 ..< 130 { plain.setRegisters(.input, at: address, [UInt16(truncatingIfNeeded: address &* 257)]) }
        for address in stride(from: 0, to: 2000, by: 3) { plain.setBit(.discreteInputs, address, true) }
        let meter = try! ModbusRegisterBank(holdingRegisters: 0x2000 ..< 0x2040, inputRegisters: 0x1000 ..< 0x1010)
        let other = try! ModbusRegisterBank(holdingRegisters: 0 ..< 8)
        return [Self.plain: FuzzUnit(plain), Self.meter: FuzzUnit(meter), miswired: FuzzUnit(other), silent: FuzzUnit(other)]
    }
}

nonisolated(unsafe) private var tcpReplier: ModbusReplier!
nonisolated(unsafe) private var rtuReplier: ModbusReplier!
/// Two pages: the frame is copied to the end of the first, the second may not be touched.
nonisolated(unsafe) private var guardedPage: UnsafeMutablePointer<UInt8>!
private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// `frame` placed so that its last byte is the last readable one.
private func guarded(_ frame: some Collection<UInt8>) -> UnsafeBufferPointer<UInt8> {
    let start = guardedPage + pageSize - frame.count
    _ = UnsafeMutableBufferPointer(start: start, count: frame.count).initialize(from: frame)
    return UnsafeBufferPointer(start: start, count: frame.count)
}

private func setUpModbusReply() {
    tcpReplier = try! ModbusReplier(framing: .tcp)
    rtuReplier = try! ModbusReplier(framing: .rtu)
    for replier in [tcpReplier!, rtuReplier!] {
        replier.setFaults(ModbusFaults(replyUnit: Units.miswiredAnswer), for: Units.miswired)
        replier.setFaults(ModbusFaults(silent: true), for: Units.silent)
    }
    let pages = mmap(nil, 2 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let pages, pages != MAP_FAILED, mprotect(pages + pageSize, pageSize, PROT_NONE) == 0 else {
        fatalError("modbus-reply: cannot map a guard page")
    }
    guardedPage = pages.assumingMemoryBound(to: UInt8.self)
}

/// The input is the byte stream a TCP connection sends: it is framed as the endpoint frames it
/// (``ModbusTCPFraming``, stopping where the endpoint would disconnect), and every frame is
/// answered over TCP and, with the same unit and PDU and a good CRC, over RTU. Properties: a reply
/// fits the ADU (260 bytes TCP, 256 RTU); it echoes the transaction id and the unit id (the
/// miswired unit's own id instead); its function is the request's, or the request's | 0x80 with
/// one exception code; a PDU shorter than its function needs is exception 03 and an absent TCP
/// unit 0B; a read changes no table; a write's normal reply comes with one `didWrite` and shows in
/// the table (05, 06); RTU replies carry a good CRC and none comes for a broadcast or an absent
/// or silent unit.
let modbusReplyTarget = FuzzTarget(name: "modbus-reply", summary: "ModbusReplier (libmodbus modbus_reply) on TCP-framed input, and as RTU",
                                   setUp: setUpModbusReply) { bytes in
    var start = 0
    var frames: [ArraySlice<UInt8>] = []
    framing: while true {
        switch ModbusTCPFraming.next(bytes[start...]) {
        case .needMore, .invalid: break framing
        case .frame(let length):
            frames.append(bytes[start ..< start + length])
            start += length
        }
    }
    guard !frames.isEmpty else { return }
    let units = Units.make()
    for (id, unit) in units {
        tcpReplier.setUnit(id, unit)
        rtuReplier.setUnit(id, unit)
    }
    for frame in frames {
        let unitID = frame[frame.startIndex + 6]
        let pdu = Array(frame.dropFirst(7))
        checkTCP(Array(frame), unit: units[unitID])
        var rtu = [unitID] + pdu
        let crc = ModbusCRC.compute(rtu)
        rtu += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        checkRTU(rtu, unit: units[unitID])
    }
}

private func checkTCP(_ frame: [UInt8], unit: FuzzUnit?) {
    let unitID = frame[6], function = frame[7]
    let before = unit?.snapshot()
    unit?.writes.removeAll()
    let reply = tcpReplier.reply(to: guarded(frame))
    if unitID == Units.silent {
        check(reply == nil, "the silent unit answered")
        return
    }
    guard let reply else {
        check(false, "no TCP reply to function \(function) for unit \(unitID)")
        return
    }
    check(reply.count <= ModbusReplier.maximumReplyLength, "a \(reply.count)-byte TCP reply")
    check(reply.count >= 9, "a \(reply.count)-byte TCP reply")
    check(reply[0] == frame[0] && reply[1] == frame[1], "transaction id not echoed")
    check(reply[2] == 0 && reply[3] == 0, "protocol id \(reply[2]) \(reply[3])")
    check(Int(reply[4]) << 8 | Int(reply[5]) == reply.count - 6, "MBAP length disagrees with the reply's \(reply.count) bytes")
    check(reply[6] == (unitID == Units.miswired ? Units.miswiredAnswer : unitID), "unit id \(reply[6]) for a request to \(unitID)")
    checkPDU(Array(reply[7...]), request: Array(frame[7...]), unit: unit, before: before, transport: "TCP")
}

private func checkRTU(_ frame: [UInt8], unit: FuzzUnit?) {
    let unitID = frame[0]
    let before = unit?.snapshot()
    unit?.writes.removeAll()
    let reply = rtuReplier.reply(to: guarded(frame))
    if unitID == 0 || unit == nil || unitID == Units.silent {
        check(reply == nil, "an RTU reply to unit \(unitID), which must stay silent")
        // A broadcast is applied all the same; nobody stands behind it here.
        if let unit, let before { check(unit.snapshot() == before, "a silent unit's tables changed") }
        return
    }
    guard let reply else {
        check(false, "no RTU reply to function \(frame[1]) for unit \(unitID)")
        return
    }
    check(reply.count <= Int(MODBUS_RTU_MAX_ADU), "a \(reply.count)-byte RTU reply")
    check(reply.count >= 5, "a \(reply.count)-byte RTU reply")
    let crc = ModbusCRC.compute(reply.dropLast(2))
    check(reply[reply.count - 2] == UInt8(crc & 0xFF) && reply[reply.count - 1] == UInt8(crc >> 8), "RTU reply with a bad CRC")
    check(reply[0] == (unitID == Units.miswired ? Units.miswiredAnswer : unitID), "address \(reply[0]) for a request to \(unitID)")
    // The request's PDU as libmodbus saw it includes the CRC; the checks on it look at fixed fields only.
    checkPDU(Array(reply[1 ..< reply.count - 2]), request: Array(frame[1 ..< frame.count - 2]), unit: unit, before: before, transport: "RTU")
}

private let MODBUS_RTU_MAX_ADU = 256

/// The properties of a reply PDU to `request` (both without header and CRC).
private func checkPDU(_ reply: [UInt8], request: [UInt8], unit: FuzzUnit?, before: [UInt16]?, transport: String) {
    let function = request[0]
    check(reply[0] == function || reply[0] == function | 0x80, "\(transport): function \(reply[0]) in the reply to \(function)")
    let isWrite = [0x05, 0x06, 0x0F, 0x10, 0x16, 0x17].contains(function)
    let exception = reply[0] != function || (function & 0x80 != 0 && reply.count == 2)
    if exception {
        check(reply.count == 2 && (1 ... 0x0B).contains(reply[1]), "\(transport): exception reply \(reply)")
        if unit == nil {
            check(reply[1] == 0x0B, "\(transport): exception \(reply[1]) for an absent unit, not 0B")
        } else if !ModbusPDU.isComplete(request) {
            check(reply[1] == 0x03, "\(transport): exception \(reply[1]) for a short PDU, not 03")
        }
    } else {
        check(unit != nil, "\(transport): a normal reply for an absent unit")
        check(ModbusPDU.isComplete(request), "\(transport): a normal reply to a short PDU")
    }
    guard let unit, let before else { return }
    if !isWrite || exception {
        check(unit.snapshot() == before, "\(transport): function \(function) changed the tables (exception: \(exception))")
    }
    check(unit.writes.count == (isWrite && !exception ? 1 : 0), "\(transport): \(unit.writes.count) didWrite calls for function \(function)")
    guard !exception, request.count >= 5 else { return }
    let address = Int(request[1]) << 8 | Int(request[2]), value = Int(request[3]) << 8 | Int(request[4])
    switch function {
    case 0x01, 0x02:
        check(reply.count == 2 + Int(reply[1]) && Int(reply[1]) == (value + 7) / 8, "\(transport): \(reply.count)-byte reply for \(value) bits")
    case 0x03, 0x04:
        check(reply.count == 2 + Int(reply[1]) && Int(reply[1]) == 2 * value, "\(transport): \(reply.count)-byte reply for \(value) registers")
    case 0x05:
        check(unit.bank.bit(.coils, address) == (value == 0xFF00), "\(transport): coil \(address) not set to \(value)")
    case 0x06:
        check(unit.bank.register(.holding, address) == UInt16(value), "\(transport): register \(address) not set to \(value)")
    default: break
    }
}
