import CLinuxEvents
import CModbus
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Modbus RTU bus on a pseudo-terminal: many slave addresses on one line, as meters share an
/// RS-485 bus. A master opens ``devicePath`` like a serial port.
///
/// libmodbus's RTU receive drops every request not addressed to its one configured slave id, so
/// this endpoint frames requests itself — by function code length, or by the line going quiet for
/// unknown functions — checks the CRC (a bad one is ignored, as a real slave does), and hands the
/// frame to libmodbus only to build the reply. An address nobody has gets no answer, and a
/// broadcast (address 0) is applied without one. Baud rate and parity are recorded for the
/// documentation of the bus; a pty carries bytes at whatever rate they come, and Linux refuses
/// parity settings on a pty, so a master opens it 8N1.
public final class ModbusRTUServer: @unchecked Sendable {
    public let baudRate: Int
    public let parity: Character
    /// The slave side of the pty, e.g. `/dev/pts/7`: what a master opens.
    public let devicePath: String

    private let context: OpaquePointer
    private let responder: ModbusResponder
    private let master: Int32
    private var slaveKeeper: Int32 = -1
    private var events: EventThread?
    private var buffer: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 1024)
    private let line: Line

    /// The serial line as the responder's transport: every reply is written at once, without
    /// blocking; a line whose buffer is full loses it.
    private final class Line: ModbusReplyTransport {
        let master: Int32
        init(master: Int32) { self.master = master }
        func send(_ reply: UnsafeRawBufferPointer, to connection: Int32) { _ = write(master, reply.baseAddress, reply.count) }
        /// A pty master takes a reply whole; but the line's faults (a corrupted CRC) need the bytes.
        func directDescriptor(for connection: Int32) -> Int32? { nil }
    }

    /// - Parameters:
    ///   - parity: `N`, `E` or `O`.
    public init(baudRate: Int = 9600, parity: Character = "N") throws(ModbusError) {
        guard ["N", "E", "O"].contains(parity) else { throw ModbusError("parity must be N, E or O, not \(parity)") }
        self.baudRate = baudRate
        self.parity = parity
        var name = [CChar](repeating: 0, count: 128)
        let master = parkbench_open_pty(&name, name.count)
        guard master >= 0 else { throw ModbusError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))") }
        self.master = master
        devicePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Raw bytes on our side: no echo, no line discipline rewriting 0x0D or 0x11.
        var settings = termios()
        tcgetattr(master, &settings)
        cfmakeraw(&settings)
        tcsetattr(master, TCSANOW, &settings)
        // A line nobody reads must not block the bus's thread: what does not fit is lost, as on a wire.
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        guard let context = modbus_new_rtu("/dev/null", Int32(baudRate), CChar(parity.asciiValue!), 8, 1) else {
            close(master)
            throw ModbusError("cannot create a Modbus RTU context")
        }
        self.context = context
        do {
            responder = try ModbusResponder(context: context, absentUnit: .silence)
        } catch {
            modbus_free(context)
            close(master)
            throw error
        }
        line = Line(master: master)
    }

    deinit {
        stop()
        close(master)
        modbus_free(context)
    }

    public func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) { responder.setUnit(id, unit) }
    public func setFaults(_ faults: ModbusFaults, for id: UInt8) { responder.setFaults(faults, for: id) }
    public var statistics: ModbusEndpointStatistics { responder.statistics }

    public func start() throws(ModbusError) {
        precondition(events == nil, "bus already started")
        // Holding the slave side open keeps the pty alive (no EIO on our side) between masters.
        slaveKeeper = open(devicePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        do {
            let events = try EventThread()
            self.events = events
            try events.watch(master)
            try events.start(timeout: { [self] in
                let due = responder.nextTimeoutMilliseconds
                guard !buffer.isEmpty else { return due }
                return due < 0 ? Self.silenceMilliseconds : min(due, Self.silenceMilliseconds)
            }) { [self] ready in
                var received = false
                if ready.contains(where: { $0.fd == master }) {
                    let got = scratch.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                    if got > 0 {
                        buffer.append(contentsOf: scratch[0 ..< got])
                        received = true
                    }
                }
                extractFrames(lineQuiet: !received && ready.isEmpty)
                responder.runDue(open: { _ in true }, transport: line)
            }
        } catch {
            self.events = nil
            if slaveKeeper >= 0 { close(slaveKeeper) }
            slaveKeeper = -1
            throw ModbusError("cannot start the RTU bus thread: \(error)")
        }
    }

    public func stop() {
        guard let events else { return }
        events.stop()
        self.events = nil
        if slaveKeeper >= 0 { close(slaveKeeper) }
        slaveKeeper = -1
    }

    /// 3.5 character times of silence end a frame of unknown length; a pty has no real timing, so
    /// a few milliseconds of quiet stand in for it.
    private static let silenceMilliseconds: Int32 = 5

    /// Takes every whole frame off the buffer. With `lineQuiet`, whatever is left is a frame of a
    /// function whose length is unknown (or noise).
    private func extractFrames(lineQuiet: Bool) {
        while buffer.count >= 4 {
            guard let length = Self.requestLength(buffer) ?? (lineQuiet ? buffer.count : nil) else { return }
            guard buffer.count >= length else { return }
            let frame = Array(buffer[0 ..< length])
            buffer.removeFirst(length)
            let crc = ModbusCRC.compute(frame.dropLast(2))
            guard frame[length - 2] == UInt8(crc & 0xFF), frame[length - 1] == UInt8(crc >> 8) else {
                responder.countCRCError()
                // Resynchronise: after a corrupted frame, drop what is left on the line.
                buffer.removeAll()
                return
            }
            responder.handle(frame, on: master, transport: line)
        }
        if lineQuiet, !buffer.isEmpty {
            responder.countBadFrame()
            buffer.removeAll()
        }
    }

    /// The length of the request at the start of `bytes` (address, function, data, CRC), when the
    /// function code says it; nil when it does not or more bytes are needed to tell.
    static func requestLength(_ bytes: [UInt8]) -> Int? {
        switch bytes[1] {
        case 0x01 ... 0x06: return 8
        case 0x0F, 0x10: return bytes.count >= 7 ? 9 + Int(bytes[6]) : nil
        case 0x17: return bytes.count >= 11 ? 13 + Int(bytes[10]) : nil
        default: return nil
        }
    }
}

/// The Modbus RTU CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF; sent low byte first).
public enum ModbusCRC {
    public static func compute(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }
}
