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
    public struct Statistics: Sendable, Hashable {
        public var connectionsAccepted = 0
        public var requests = 0
        /// Requests answered with an exception (by libmodbus or for an absent unit).
        public var exceptions = 0
        /// Requests for unit ids nobody answers (exception 0x0B).
        public var absentUnits = 0
        /// Requests left unanswered on purpose (``ModbusFaults/silent``).
        public var silenced = 0
        /// Frames libmodbus could not read (bad length, a client that stopped mid-frame).
        public var badFrames = 0
    }

    public let host: String
    /// The port it listens on (the kernel's choice when created with port 0).
    public private(set) var port: Int = 0

    private let context: OpaquePointer
    private let headerLength: Int
    private var listenSocket: Int32 = -1
    private var epollFD: Int32 = -1
    private var wakeFD: Int32 = -1
    private var thread: pthread_t?
    private let stopping = Atomic<Bool>(false)
    private let units = Mutex<[UInt8: any ModbusUnit]>([:])
    private let faults = Mutex<[UInt8: ModbusFaults]>([:])
    private let counters = Mutex(Statistics())
    /// Delayed answers, due in monotonic microseconds; only the server thread touches it.
    private var delayed: [(due: UInt64, socket: Int32, request: [UInt8])] = []

    /// - Parameters:
    ///   - port: 0 for any free port (see ``port`` after ``start()``).
    public init(host: String = "127.0.0.1", port: Int = 0) throws(ModbusError) {
        self.host = host
        guard let context = modbus_new_tcp(host, Int32(port)) else { throw ModbusError("cannot create a Modbus TCP context for \(host):\(port)") }
        self.context = context
        headerLength = Int(modbus_get_header_length(context))
        self.port = port
    }

    deinit {
        stop()
        modbus_free(context)
    }

    /// Puts `unit` behind unit id `id` (replacing any), or removes it with nil.
    public func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) {
        units.withLock { $0[id] = unit }
    }

    /// Makes unit `id` misbehave (``ModbusFaults/none`` to stop).
    public func setFaults(_ faults: ModbusFaults, for id: UInt8) {
        self.faults.withLock { $0[id] = faults == .none ? nil : faults }
    }

    public var statistics: Statistics { counters.withLock { $0 } }

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
        var request = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        var clients: Set<Int32> = []
        while !stopping.load(ordering: .relaxed) {
            let timeout = delayed.map { due in max(0, Int32(clamping: (Int64(due.due) - Int64(Self.nowMicroseconds()) + 999) / 1000)) }.min() ?? -1
            let count = parkbench_epoll_wait(epollFD, &tokens, &events, 256, timeout)
            if count < 0, errno != EINTR { break }
            for index in 0 ..< max(0, Int(count)) {
                let fd = Int32(truncatingIfNeeded: tokens[index])
                if fd == wakeFD { continue }
                if fd == listenSocket {
                    accept(into: &clients)
                    continue
                }
                modbus_set_socket(context, fd)
                let length = modbus_receive(context, &request)
                if length <= 0 {
                    // 0: a frame for another unit libmodbus chose to ignore; -1: closed or broken.
                    if length < 0 {
                        if errno != ECONNRESET, errno != 0 { counters.withLock { $0.badFrames += 1 } }
                        drop(fd, from: &clients)
                    }
                    continue
                }
                answer(Array(request[0 ..< Int(length)]), on: fd)
            }
            runDueAnswers(clients: clients)
        }
        for fd in clients { close(fd) }
    }

    private func accept(into clients: inout Set<Int32>) {
        let fd = Glibc.accept(listenSocket, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_ADD, fd, EPOLLIN.rawValue, UInt64(UInt32(bitPattern: fd)))
        clients.insert(fd)
        counters.withLock { $0.connectionsAccepted += 1 }
    }

    private func drop(_ fd: Int32, from clients: inout Set<Int32>) {
        _ = parkbench_epoll_control(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
        close(fd)
        clients.remove(fd)
        delayed.removeAll { $0.socket == fd }
    }

    private func answer(_ bytes: [UInt8], on fd: Int32) {
        guard bytes.count > headerLength else { return }
        let unitID = bytes[headerLength - 1]
        let fault = faults.withLock { $0[unitID] } ?? .none
        counters.withLock { $0.requests += 1 }
        if fault.silent {
            counters.withLock { $0.silenced += 1 }
            return
        }
        if fault.delayMicroseconds > 0 {
            delayed.append((Self.nowMicroseconds() + UInt64(fault.delayMicroseconds), fd, bytes))
            return
        }
        reply(bytes, on: fd, replyUnit: fault.replyUnit)
    }

    private func runDueAnswers(clients: Set<Int32>) {
        guard !delayed.isEmpty else { return }
        let now = Self.nowMicroseconds()
        let due = delayed.filter { $0.due <= now }
        delayed.removeAll { $0.due <= now }
        for item in due where clients.contains(item.socket) {
            let fault = faults.withLock { $0[item.request[headerLength - 1]] } ?? .none
            reply(item.request, on: item.socket, replyUnit: fault.replyUnit)
        }
    }

    private func reply(_ original: [UInt8], on fd: Int32, replyUnit: UInt8?) {
        modbus_set_socket(context, fd)
        var bytes = original
        // libmodbus echoes the request's unit id; a miswired device answers with another.
        if let replyUnit { bytes[headerLength - 1] = replyUnit }
        let unitID = original[headerLength - 1]
        guard let unit = units.withLock({ $0[unitID] }) else {
            counters.withLock {
                $0.absentUnits += 1
                $0.exceptions += 1
            }
            _ = bytes.withUnsafeBufferPointer {
                modbus_reply_exception(context, $0.baseAddress, UInt32(MODBUS_EXCEPTION_GATEWAY_TARGET))
            }
            return
        }
        let request = bytes.withUnsafeBufferPointer { ModbusRequest($0.baseAddress!, length: bytes.count, headerLength: headerLength) }
        if let request, !request.isWrite { unit.willAnswer(request) }
        let sent = bytes.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, Int32(bytes.count), unit.bank.mapping) }
        // An exception reply is the header, the function code with its high bit set, and the code.
        if sent == Int32(headerLength + 2) {
            counters.withLock { $0.exceptions += 1 }
        } else if let request, request.isWrite, sent > 0 {
            unit.didWrite(request)
        }
    }

    static func nowMicroseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }
}
