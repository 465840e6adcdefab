import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy the harness places between devices and the system under test (an MQTT broker, a
/// Modbus or DL/T 645 endpoint) to break the link on purpose while a run goes on: partition
/// (bytes held, connections half-open), lost acknowledgements (one way held), reset (RST, and
/// every reconnect refused). Like Toxiproxy, it is controlled while the run goes on — for every
/// connection at once, or for the connections of chosen devices, named from the first bytes their
/// client sends (an MQTT CONNECT's client id).
///
/// Everything runs on one event thread (epoll), never a thread per connection, and needs no
/// privileges. Bytes held by a partition stay in the proxy and the kernel's buffers and are
/// forwarded in order once healed; while one direction's buffer is over ``Configuration/bufferLimit``
/// its source is not read, so TCP's own flow control holds the sender, as a real outage would.
public final class FaultProxy: Sendable {
    /// Where the proxy listens and where it forwards.
    public struct Configuration: Sendable {
        public var listenHost: String
        /// 0: a free port (see ``FaultProxy/port``).
        public var listenPort: Int
        public var upstreamHost: String
        public var upstreamPort: Int
        /// Names a connection from the bytes its client has sent so far; nil: connections are
        /// not named, and only faults on every connection apply.
        public var namer: (@Sendable (_ firstBytes: [UInt8]) -> ConnectionName)?
        /// Bytes held per direction of a connection before the proxy stops reading its source.
        public var bufferLimit: Int

        public init(
            listenHost: String = "127.0.0.1", listenPort: Int = 0, upstreamHost: String, upstreamPort: Int,
            namer: (@Sendable ([UInt8]) -> ConnectionName)? = nil, bufferLimit: Int = 1 << 20
        ) {
            self.listenHost = listenHost
            self.listenPort = listenPort
            self.upstreamHost = upstreamHost
            self.upstreamPort = upstreamPort
            self.namer = namer
            self.bufferLimit = bufferLimit
        }
    }

    /// What a ``Configuration/namer`` makes of a connection's first bytes.
    public enum ConnectionName: Sendable, Hashable {
        /// Not enough bytes yet to tell.
        case needMore
        case named(String)
        /// Not something the namer knows: only faults on every connection apply.
        case anonymous
    }

    /// Counts since the proxy started.
    public struct Statistics: Sendable, Hashable {
        public var accepted = 0
        /// Connections open now (client side).
        public var open = 0
        /// Connections the proxy reset because of a fault (at the fault, or refused while it lasted).
        public var reset = 0
        /// Connections whose upstream could not be reached.
        public var upstreamFailures = 0
        public var bytesUpstream = 0
        public var bytesDownstream = 0
    }

    public let configuration: Configuration
    /// The port the proxy listens on.
    public let port: Int
    private let thread: EventThread
    private let waker: EventWaker
    private let listener: Int32
    private let loop: ProxyLoop

    /// Listens and starts the thread. - Throws: ``FaultProxyError`` when the address is bad or taken.
    public init(_ configuration: Configuration) throws(FaultProxyError) {
        self.configuration = configuration
        let upstream = try ProxySocket.address(configuration.upstreamHost, port: configuration.upstreamPort)
        listener = try ProxySocket.listening(configuration.listenHost, port: configuration.listenPort)
        port = ProxySocket.localPort(listener)
        do {
            thread = try EventThread()
            waker = try EventWaker()
            try thread.watch(waker.descriptor)
            try thread.watch(listener)
        } catch {
            close(listener)
            throw FaultProxyError("cannot start the fault proxy's event thread: \(error)")
        }
        loop = ProxyLoop(thread: thread, listener: listener, waker: waker.descriptor, upstream: upstream, configuration: configuration)
        let loop = loop, waker = waker
        do {
            try thread.start(timeout: { -1 }) { ready in
                for item in ready where item.fd == waker.descriptor {
                    waker.drain()
                    loop.applyRequestedConditions()
                }
                for item in ready where item.fd != waker.descriptor { loop.serve(item) }
            }
        } catch {
            close(listener)
            throw FaultProxyError("cannot start the fault proxy's event thread: \(error)")
        }
    }

    deinit { stop() }

    /// Puts the connections of `names` (nil: every connection) under `condition`. A condition
    /// for every connection replaces those set by name; ``heal()`` is `set(.healthy)`.
    public func set(_ condition: LinkCondition, names: Set<String>? = nil) {
        loop.request(condition, names: names)
        waker.wake()
    }

    /// Every connection healthy again.
    public func heal() { set(.healthy) }

    /// The condition the connection named `name` is under now.
    public func condition(of name: String?) -> LinkCondition { loop.requestedCondition(of: name) }

    public var statistics: Statistics { loop.statistics }

    /// Closes every connection and the listener and ends the thread. Idempotent.
    public func stop() {
        thread.stop()
        loop.closeAll()
    }
}

/// A fault proxy that cannot listen or start.
public struct FaultProxyError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The conditions in force: one for every connection, and those set for named connections.
struct LinkConditions: Sendable {
    var all = LinkCondition.healthy
    var byName: [String: LinkCondition] = [:]

    func condition(of name: String?) -> LinkCondition { name.flatMap { byName[$0] } ?? all }
}
