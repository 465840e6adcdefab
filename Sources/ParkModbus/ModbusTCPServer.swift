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
/// libmodbus does the protocol: function codes, address and quantity checks and their exceptions
/// (01 illegal function, 02 illegal data address, 03 illegal data value). This type adds what
/// libmodbus leaves to its caller: framing (``ModbusTCPFraming``; a PDU shorter than its function
/// needs is answered 03 rather than read past), one thread with epoll for every connection (never
/// a thread per client), replies that never block it (``ConnectionLimits``), the choice of unit
/// per request, and injectable faults.
///
/// Units and faults may be changed while running; units are otherwise touched only on the
/// server's thread.
public final class ModbusTCPServer: @unchecked Sendable {
    /// Counters since start.
    public typealias Statistics = ModbusEndpointStatistics

    public let host: String
    /// The port it listens on (the kernel's choice when created with port 0).
    public var port: Int { server.port == 0 ? requestedPort : server.port }

    private let requestedPort: Int
    private let context: OpaquePointer
    private let responder: ModbusResponder
    private let server: StreamServer
    private let warning: (@Sendable (String) -> Void)?
    /// Bytes received but not yet a whole frame, per connection; server thread only.
    private var pending: [Int32: [UInt8]] = [:]

    /// - Parameters:
    ///   - port: 0 for any free port (see ``port`` after ``start()``).
    ///   - limits: what a connection may queue before it is no longer read.
    ///   - warning: told (on the server's thread) when the endpoint starts refusing connections for
    ///     want of file descriptors; once per episode.
    public init(host: String = "127.0.0.1", port: Int = 0, limits: ConnectionLimits = .standard,
                warning: (@Sendable (String) -> Void)? = nil) throws(ModbusError) {
        self.host = host
        requestedPort = port
        // libmodbus only builds replies here; the endpoint listens and frames itself.
        guard let context = modbus_new_tcp(host, Int32(port)) else { throw ModbusError("cannot create a Modbus TCP context for \(host):\(port)") }
        self.context = context
        do {
            responder = try ModbusResponder(context: context, absentUnit: .gatewayException)
        } catch {
            modbus_free(context)
            throw error
        }
        server = StreamServer(limits: limits)
        self.warning = warning
    }

    deinit {
        stop()
        modbus_free(context)
    }

    /// Puts `unit` behind unit id `id` (replacing any), or removes it with nil.
    public func setUnit(_ id: UInt8, _ unit: (any ModbusUnit)?) { responder.setUnit(id, unit) }

    /// Makes unit `id` misbehave (``ModbusFaults/none`` to stop).
    public func setFaults(_ faults: ModbusFaults, for id: UInt8) { responder.setFaults(faults, for: id) }

    public var statistics: Statistics {
        var figures = responder.statistics
        let connections = server.statistics
        figures.connectionsAccepted = connections.accepted
        figures.refusedOutOfDescriptors = connections.refusedOutOfDescriptors
        figures.pausedForBackpressure = connections.pausedForBackpressure
        return figures
    }

    /// Listens and starts the server thread.
    public func start() throws(ModbusError) {
        let transport = Transport(server: server)
        try server.start(host: host, port: requestedPort, handlers: StreamServer.Handlers(
            received: { [self] connection, bytes in receive(bytes, on: connection, transport: transport) },
            closed: { [self] connection in
                pending[connection] = nil
                responder.forget(connection)
            },
            tick: { [self] in responder.runDue(open: { _ in true }, transport: transport) },
            timeout: { [responder] in responder.nextTimeoutMilliseconds },
            warning: { [warning] in warning?($0) }))
    }

    /// Stops the thread and closes every connection. Idempotent.
    public func stop() {
        server.stop()
        pending.removeAll()
    }

    // MARK: - Server thread

    /// Answers every whole frame the connection has sent so far. The MBAP header says how long a
    /// frame is, so one recv() per readiness is enough — libmodbus's own receive would select()
    /// and recv() for the header and again for the body.
    private func receive(_ received: UnsafeRawBufferPointer, on connection: Int32, transport: Transport) {
        var buffer = pending.removeValue(forKey: connection) ?? []
        buffer.append(contentsOf: received)
        var start = 0
        framing: while true {
            switch ModbusTCPFraming.next(buffer[start...]) {
            case .needMore:
                break framing
            case .frame(let length):
                responder.handle(Array(buffer[start ..< start + length]), on: connection, transport: transport)
                start += length
            case .invalid:
                // Not Modbus: nothing after it can be trusted to be framed right.
                responder.countBadFrame()
                server.disconnect(connection)
                return
            }
        }
        if start < buffer.count { pending[connection] = Array(buffer[start...]) }
    }

    /// Replies go to the socket as far as it takes them now, the rest to the connection's queue.
    private final class Transport: ModbusReplyTransport {
        let server: StreamServer
        init(server: StreamServer) { self.server = server }
        func send(_ reply: UnsafeRawBufferPointer, to connection: Int32) { server.send(reply, to: connection) }
        func directDescriptor(for connection: Int32) -> Int32? { server.acceptsDirectWrite(connection) ? connection : nil }
    }
}
