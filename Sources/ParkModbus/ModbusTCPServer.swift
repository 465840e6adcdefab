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
    private var epollFD: Int32 = -1
    private var wakeFD: Int32 = -1
    private var thread: pthread_t?
    private let stopping = Atomic<Bool>(false)
    /// Bytes received but not yet a whole frame, per connection; server thread only.
    private var pending: [Int32: [UInt8]] = [:]

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
        precondition(thread == nil, "server already started")
        listenSocket = modbus_tcp_listen(context, 64)
        guard listenSocket >= 0 else { throw ModbusError("cannot listen on \(host):\(port): \(String(cString: modbus_strerror(errno)))") }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listenSocket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epollFD >= 0, wakeFD >= 0 else { throw ModbusError("epoll/eventfd: \(String(cString: strerror(errno)))") }
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_ADD, listenSocket, EPOLLIN.rawValue, UInt64(UInt32(bitPattern: listenSocket)))
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_ADD, wakeFD, EPOLLIN.rawValue, UInt64(UInt32(bitPattern: wakeFD)))

        let unmanaged = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { argument in
            let server = Unmanaged<ModbusTCPServer>.fromOpaque(argument!).takeRetainedValue()
            server.run()
            return nil
        }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            throw ModbusError("cannot start the Modbus server thread: \(String(cString: strerror(rc)))")
        }
        thread = handle
    }

    /// Stops the thread and closes every connection. Idempotent.
    public func stop() {
        guard let thread, !stopping.exchange(true, ordering: .relaxed) else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        pthread_join(thread, nil)
        self.thread = nil
        for fd in [listenSocket, epollFD, wakeFD] where fd >= 0 { close(fd) }
    }

    // MARK: - Server thread

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        var scratch = [UInt8](repeating: 0, count: 16_384)
        var clients: Set<Int32> = []
        while !stopping.load(ordering: .relaxed) {
            let count = parkbench_epoll_wait(epollFD, &tokens, &events, 256, responder.nextTimeoutMilliseconds)
            if count < 0, errno != EINTR { break }
            for index in 0 ..< max(0, Int(count)) {
                let fd = Int32(truncatingIfNeeded: tokens[index])
                if fd == wakeFD { continue }
                if fd == listenSocket {
                    accept(into: &clients)
                    continue
                }
                receive(on: fd, scratch: &scratch, clients: &clients)
            }
            responder.runDue { clients.contains($0) }
        }
        for fd in clients { close(fd) }
    }

    /// Reads what the connection has and answers every whole frame in it. The MBAP header says
    /// how long a frame is, so one recv() per readiness is enough — libmodbus's own receive
    /// would select() and recv() for the header and again for the body.
    private func receive(on fd: Int32, scratch: inout [UInt8], clients: inout Set<Int32>) {
        let got = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) {
            drop(fd, from: &clients)
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
                drop(fd, from: &clients)
                return
            }
            guard buffer.count - start >= length else { break }
            responder.handle(Array(buffer[start ..< start + length]), on: fd)
            start += length
        }
        if start < buffer.count { pending[fd] = Array(buffer[start...]) }
    }

    private func accept(into clients: inout Set<Int32>) {
        let fd = Glibc.accept(listenSocket, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_ADD, fd, EPOLLIN.rawValue, UInt64(UInt32(bitPattern: fd)))
        clients.insert(fd)
        responder.countAccepted()
    }

    private func drop(_ fd: Int32, from clients: inout Set<Int32>) {
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
        close(fd)
        clients.remove(fd)
        pending[fd] = nil
        responder.forget(fd)
    }
}
