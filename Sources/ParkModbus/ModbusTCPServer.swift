import CLinuxEvents
import CModbus
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Modbus TCP endpoint that answers many unit ids on one port, as a gateway in front of an
/// RS-485 bus does: unit ids with a ``ModbusUnit`` answer from its tables; any other id gets
/// exception 0x0B (gateway target device failed to respond).
///
/// libmodbus does the protocol: framing, function codes, address and quantity checks and their
/// exceptions (01 illegal function, 02 illegal data address, 03 illegal data value). This type
/// adds what libmodbus leaves to its caller: one thread with epoll for every connection (never a
/// thread per client), the choice of unit per request, and injectable faults.
///
/// Units and faults may be changed while running; units are otherwise touched only on the
/// server's thread.
public final class ModbusTCPServer: @unchecked Sendable {
    /// Counters since start.
    public typealias Statistics = ModbusEndpointStatistics

    public let host: String
    /// The port it listens on (the kernel's choice when created with port 0).
    public private(set) var port: Int = 0

    private let context: OpaquePointer
    private let responder: ModbusResponder
    private var listenSocket: Int32 = -1
    private var events: EventThread?
    /// Open connections, and bytes received but not yet a whole frame; server thread only.
    private var clients: Set<Int32> = []
    private var pending: [Int32: [UInt8]] = [:]
    private var scratch = [UInt8](repeating: 0, count: 16_384)

    /// - Parameters:
    ///   - port: 0 for any free port (see ``port`` after ``start()``).
    public init(host: String = "127.0.0.1", port: Int = 0) throws(ModbusError) {
        self.host = host
        guard let context = modbus_new_tcp(host, Int32(port)) else { throw ModbusError("cannot create a Modbus TCP context for \(host):\(port)") }
        self.context = context
        responder = ModbusResponder(context: context, absentUnit: .gatewayException)
        self.port = port
    }

    deinit {
        stop()
        modbus_free(context)
    }

    /// Puts `unit` behind unit id `id` (replacing any), or removes it with nil.
    public func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) { responder.setUnit(id, unit) }

    /// Makes unit `id` misbehave (``ModbusFaults/none`` to stop).
    public func setFaults(_ faults: ModbusFaults, for id: UInt8) { responder.setFaults(faults, for: id) }

    public var statistics: Statistics { responder.statistics }

    /// Listens and starts the server thread.
    public func start() throws(ModbusError) {
        precondition(events == nil, "server already started")
        listenSocket = modbus_tcp_listen(context, 64)
        guard listenSocket >= 0 else { throw ModbusError("cannot listen on \(host):\(port): \(String(cString: modbus_strerror(errno)))") }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listenSocket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Set before the thread starts: its handler watches new connections through it.
        let events = try EventThread()
        self.events = events
        events.watch(listenSocket)
        do {
            try events.start(timeout: { [responder] in responder.nextTimeoutMilliseconds }) { [self] ready in
                for fd in ready {
                    if fd == listenSocket { accept() } else { receive(on: fd) }
                }
                responder.runDue { clients.contains($0) }
            }
        } catch {
            self.events = nil
            throw error
        }
    }

    /// Stops the thread and closes every connection. Idempotent.
    public func stop() {
        guard let events else { return }
        events.stop()
        self.events = nil
        for fd in clients { close(fd) }
        clients.removeAll()
        if listenSocket >= 0 { close(listenSocket) }
        listenSocket = -1
    }

    // MARK: - Server thread

    /// Reads what the connection has and answers every whole frame in it. The MBAP header says
    /// how long a frame is, so one recv() per readiness is enough — libmodbus's own receive
    /// would select() and recv() for the header and again for the body.
    private func receive(on fd: Int32) {
        let got = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) {
            drop(fd)
            return
        }
        guard got > 0 else { return }
        var buffer = pending.removeValue(forKey: fd) ?? []
        buffer.append(contentsOf: scratch[0 ..< got])
        var start = 0
        while buffer.count - start >= 7 {
            let length = 6 + (Int(buffer[start + 4]) << 8 | Int(buffer[start + 5]))
            // Protocol id 0 and a length a Modbus ADU can have; anything else is not Modbus.
            guard buffer[start + 2] == 0, buffer[start + 3] == 0, (8 ... Int(MODBUS_TCP_MAX_ADU_LENGTH)).contains(length) else {
                responder.countBadFrame()
                drop(fd)
                return
            }
            guard buffer.count - start >= length else { break }
            responder.handle(Array(buffer[start ..< start + length]), on: fd)
            start += length
        }
        if start < buffer.count { pending[fd] = Array(buffer[start...]) }
    }

    private func accept() {
        let fd = Glibc.accept(listenSocket, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        events?.watch(fd)
        clients.insert(fd)
        responder.countAccepted()
    }

    private func drop(_ fd: Int32) {
        events?.unwatch(fd)
        close(fd)
        clients.remove(fd)
        pending[fd] = nil
        responder.forget(fd)
    }
}
