import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One UDP socket on one ``ParkEventLoop/EventThread``, shared by every user agent of a
/// ``SIPTransportUser`` (50,000 cameras on a few of these, never a thread per camera).
///
/// The thread reads datagrams until EAGAIN, parses each with ``SIPParser`` (one that does not
/// parse is counted and dropped, its reason kept among the first few), hands responses to the
/// user, which matches them to client transactions (Via branch + CSeq method, RFC 3261 §17.1.3),
/// and requests too, whose answers go back to where each came from; then it runs the user's due
/// timers and sends what it queued.
/// The epoll wait's timeout is the user's next deadline. A send that would block is counted,
/// not retried: UDP loss is what retransmissions are for.
///
/// Other threads act on the user through ``perform(_:)``, which also wakes the thread so a new
/// deadline is seen at once.
public final class SIPUDPTransport<User: SIPTransportUser>: Sendable {
    /// What the socket saw.
    public struct Counters: Sendable, Equatable {
        public var datagramsReceived = 0
        public var datagramsSent = 0
        public var unparsable = 0
        /// The first ``SIPUDPTransport/keptParseFailures`` reasons, for a report.
        public var parseFailures: [String] = []
        public var requestsReceived = 0
        public var responsesReceived = 0
        /// `sendto` said EAGAIN: the datagram was dropped.
        public var sendsWouldBlock = 0
        public var sendsFailed = 0
    }

    public static var keptParseFailures: Int { 8 }

    /// The bound address (the port the kernel chose for port 0).
    public var local: SIPAddress { socket.local }

    private let socket: SIPUDPSocket
    private let thread: EventThread
    private let waker: EventWaker
    private let user: Mutex<User>
    private let counters = Mutex(Counters())
    private let parser: SIPParser

    /// Binds `address` (port 0: a free one) and builds the user for the bound address.
    public init(
        binding address: SIPAddress, parser: SIPParser = SIPParser(), makeUser: (SIPAddress) -> User
    ) throws(EventLoopError) {
        socket = try SIPUDPSocket(binding: address)
        do {
            thread = try EventThread()
            waker = try EventWaker()
            try thread.watch(socket.fd)
            try thread.watch(waker.descriptor)
        } catch {
            socket.close()
            throw error
        }
        user = Mutex(makeUser(socket.local))
        self.parser = parser
    }

    deinit {
        thread.stop()
        socket.close()
    }

    /// Starts the event thread.
    public func start() throws(EventLoopError) {
        let buffer = ReceiveBuffer()
        try thread.start(timeout: { [weak self] in self?.waitMilliseconds() ?? -1 }, handler: { [weak self] ready in
            self?.serve(ready, buffer: buffer)
        })
    }

    /// Stops the thread (what is still queued is not sent). Idempotent.
    public func stop() { thread.stop() }

    /// Runs `body` on the user with the current time, sends what it queued, and wakes the thread.
    @discardableResult
    public func perform<Result: Sendable>(_ body: (inout User, UInt64) -> Result) -> Result {
        let (result, out) = user.withLock { user in
            let result = body(&user, MonotonicClock.now())
            return (result, user.takeOutbox())
        }
        send(out)
        waker.wake()
        return result
    }

    /// Reads the user (on the caller's thread, under the lock the event thread also takes).
    public func inspect<Result: Sendable>(_ body: (borrowing User) -> Result) -> Result {
        user.withLock { body($0) }
    }

    public var statistics: Counters { counters.withLock { $0 } }

    private func waitMilliseconds() -> Int32 {
        let deadline = user.withLock { $0.nextDeadline }
        guard deadline != .max else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        // Round up: waking a millisecond early would just spin once more.
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    private func serve(_ ready: [Readiness], buffer: ReceiveBuffer) {
        var responses: [SIPMessage] = []
        var requests: [(SIPMessage, SIPAddress)] = []
        for item in ready {
            if item.fd == waker.descriptor {
                waker.drain()
            } else if item.fd == socket.fd {
                receiveAll(buffer: buffer, responses: &responses, requests: &requests)
            }
        }
        let out = user.withLock { user in
            let now = MonotonicClock.now()
            for response in responses { user.received(response, now: now) }
            // Answers first, then what the user queued: a platform must see the 200 to a query
            // before the MESSAGE that responds to it.
            var out: [SIPDatagram] = []
            for (request, from) in requests {
                if let answer = user.received(request: request, from: from, now: now) {
                    out.append(SIPDatagram(bytes: answer.serialized(), address: from))
                }
                out += user.takeOutbox()
            }
            user.advance(now: now)
            return out + user.takeOutbox()
        }
        send(out)
    }

    private func receiveAll(buffer: ReceiveBuffer, responses: inout [SIPMessage], requests: inout [(SIPMessage, SIPAddress)]) {
        var received = 0, unparsable = 0
        var failures: [String] = []
        while let (count, from) = socket.receive(into: buffer.bytes) {
            received += 1
            do {
                let message = try parser.parse(Array(buffer.bytes[0..<count]))
                if message.isRequest { requests.append((message, from)) } else { responses.append(message) }
            } catch {
                unparsable += 1
                if failures.count < Self.keptParseFailures { failures.append("\(from): \(error)") }
            }
        }
        let requestCount = requests.count, responseCount = responses.count
        counters.withLock { counters in
            counters.datagramsReceived += received
            counters.unparsable += unparsable
            counters.requestsReceived += requestCount
            counters.responsesReceived += responseCount
            let room = Self.keptParseFailures - counters.parseFailures.count
            if room > 0 { counters.parseFailures += failures.prefix(room) }
        }
    }

    private func send(_ datagrams: [SIPDatagram]) {
        guard !datagrams.isEmpty else { return }
        var sent = 0, blocked = 0, failed = 0
        for datagram in datagrams {
            switch socket.send(datagram) {
            case .sent: sent += 1
            case .wouldBlock: blocked += 1
            case .failed: failed += 1
            }
        }
        counters.withLock {
            $0.datagramsSent += sent
            $0.sendsWouldBlock += blocked
            $0.sendsFailed += failed
        }
    }
}

/// The event thread's 64 KiB receive buffer, allocated once; only that thread touches it.
private final class ReceiveBuffer: @unchecked Sendable {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    deinit { bytes.deallocate() }
}
