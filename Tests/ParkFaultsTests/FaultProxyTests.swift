import Foundation
import ParkFaults
import ParkMQTT
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fault proxy between a real client socket and a real upstream socket: what each condition
/// lets through, holds or resets, for every connection or for one named device.
@Suite(.serialized) struct FaultProxyTests {
    @Test func partitionHoldsBytesBothWaysAndDeliversThemInOrderOnceHealed() throws {
        let upstream = try TestListener()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: upstream.port))
        defer { proxy.stop() }
        let client = try TestSocket(connectingTo: proxy.port)
        let server = try upstream.accept()
        try client.send("hello")
        #expect(try server.receive(5) == "hello")

        proxy.set(.partition)
        try client.send("one,")
        try client.send("two")
        try server.send("answer")
        #expect(try server.receive(1, within: 0.3) == "", "a partition lets nothing through to the upstream")
        #expect(try client.receive(1, within: 0.3) == "", "nor back to the client")

        proxy.heal()
        #expect(try server.receive(7) == "one,two", "held bytes arrive in order once healed")
        #expect(try client.receive(6) == "answer")
        #expect(proxy.statistics.reset == 0, "a partition closes nothing")
        #expect(proxy.statistics.open == 1)
    }

    @Test func resetResetsTheConnectionsAndRefusesNewOnesUntilHealed() throws {
        let upstream = try TestListener()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: upstream.port))
        defer { proxy.stop() }
        let client = try TestSocket(connectingTo: proxy.port)
        let server = try upstream.accept()
        try client.send("x")
        #expect(try server.receive(1) == "x")

        proxy.set(.reset)
        #expect(client.receiveError(within: 2) == ECONNRESET, "the device sees its connection reset")
        #expect(server.receiveError(within: 2) == ECONNRESET, "and so does the upstream")
        let refused = try TestSocket(connectingTo: proxy.port)
        #expect(refused.receiveError(within: 2) == ECONNRESET, "a reconnect during the fault is reset")

        proxy.heal()
        let again = try TestSocket(connectingTo: proxy.port)
        let serverAgain = try upstream.accept()
        try again.send("back")
        #expect(try serverAgain.receive(4) == "back")
        #expect(proxy.statistics.reset == 2)
    }

    @Test func lostAcknowledgementsLetTheDeviceTalkAndResetOnHealing() throws {
        let upstream = try TestListener()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: upstream.port))
        defer { proxy.stop() }
        let client = try TestSocket(connectingTo: proxy.port)
        let server = try upstream.accept()
        try client.send("a")
        #expect(try server.receive(1) == "a")

        proxy.set(.acksLost)
        try client.send("publish")
        #expect(try server.receive(7) == "publish", "what the device sends still arrives")
        try server.send("puback")
        #expect(try client.receive(1, within: 0.3) == "", "the answer does not")

        proxy.heal()
        #expect(client.receiveError(within: 2) == ECONNRESET, "healing ends the connection, as the device's keepalive would")
    }

    @Test func aNamedPartitionHoldsOnlyThatDevice() throws {
        let upstream = try TestListener()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: upstream.port, namer: { bytes in
            switch MQTTConnectPeek.clientID(in: bytes) {
            case .needMore: .needMore
            case .clientID(let id): .named(id)
            case .notConnect: .anonymous
            }
        }))
        defer { proxy.stop() }
        let cut = try TestSocket(connectingTo: proxy.port), kept = try TestSocket(connectingTo: proxy.port)
        let cutConnect = MQTTConnectPeekTests.connect(clientID: "smoke-A1"), keptConnect = MQTTConnectPeekTests.connect(clientID: "smoke-B1")
        // The CONNECT in two pieces: the proxy waits for the whole of it before it decides.
        try cut.send(bytes: Array(cutConnect.prefix(5)))
        try cut.send(bytes: Array(cutConnect.dropFirst(5)))
        let cutServer = try upstream.accept()
        try kept.send(bytes: keptConnect)
        let keptServer = try upstream.accept()
        #expect(try cutServer.receive(bytes: cutConnect.count) == cutConnect)
        #expect(try keptServer.receive(bytes: keptConnect.count) == keptConnect)

        proxy.set(.partition, names: ["smoke-A1"])
        #expect(proxy.condition(of: "smoke-A1") == .partition && proxy.condition(of: "smoke-B1") == .healthy)
        try cut.send("held")
        try kept.send("flows")
        #expect(try keptServer.receive(5) == "flows")
        #expect(try cutServer.receive(1, within: 0.3) == "")
        proxy.heal()
        #expect(try cutServer.receive(4) == "held")
    }

    /// A client that leaves halfway through its CONNECT is closed, not kept forever.
    @Test func aClientGoneBeforeItIsNamedIsClosed() throws {
        let upstream = try TestListener()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: upstream.port, namer: { bytes in
            MQTTConnectPeek.clientID(in: bytes) == .needMore ? .needMore : .anonymous
        }))
        defer { proxy.stop() }
        do {
            let client = try TestSocket(connectingTo: proxy.port)
            try client.send(bytes: Array(MQTTConnectPeekTests.connect(clientID: "half").prefix(6)))
        }
        let deadline = Date().addingTimeInterval(2)
        while proxy.statistics.open > 0 || proxy.statistics.accepted == 0, Date() < deadline { usleep(10_000) }
        #expect(proxy.statistics.accepted == 1 && proxy.statistics.open == 0, "\(proxy.statistics)")
        proxy.stop()
        proxy.stop()  // twice: the listener is closed once
    }

    @Test func anUpstreamThatIsNotThereIsARefusedConnection() throws {
        let closed = try TestListener()
        let port = closed.port
        closed.close()
        let proxy = try FaultProxy(.init(upstreamHost: "127.0.0.1", upstreamPort: port))
        defer { proxy.stop() }
        let client = try TestSocket(connectingTo: proxy.port)
        #expect(client.receiveError(within: 2) == ECONNRESET)
        #expect(proxy.statistics.upstreamFailures == 1)
    }

    @Test func aBadAddressIsAClearError() {
        #expect(throws: FaultProxyError.self) { try FaultProxy(.init(upstreamHost: "broker.invalid", upstreamPort: 1883)) }
        do {
            _ = try FaultProxy(.init(upstreamHost: "broker.invalid", upstreamPort: 1883))
        } catch {
            #expect(error.description == "broker.invalid:1883 is not an IPv4 address and port, nor a name that resolves to one")
        }
    }
}

@Suite struct MQTTConnectPeekTests {
    /// A CONNECT as a client writes it: MQTT 3.1.1 (level 4), or 5 with a properties block.
    static func connect(clientID: String, level: UInt8 = 4) -> [UInt8] {
        var variable: [UInt8] = [0, 4] + Array("MQTT".utf8) + [level, 0x02, 0, 60]
        if level == 5 { variable += [3, 0x11, 0, 0] }  // properties: session expiry interval 0 (truncated value is fine: skipped)
        let id = Array(clientID.utf8)
        let body = variable + [UInt8(id.count >> 8), UInt8(id.count & 0xff)] + id
        return [0x10, UInt8(body.count)] + body
    }

    @Test func readsTheClientIDOfEveryVersion() {
        #expect(MQTTConnectPeek.clientID(in: Self.connect(clientID: "meter-0001")) == .clientID("meter-0001"))
        #expect(MQTTConnectPeek.clientID(in: Self.connect(clientID: "cam-7", level: 5)) == .clientID("cam-7"))
    }

    @Test func waitsForTheWholePacketAndRefusesOthers() {
        let whole = Self.connect(clientID: "meter-0001")
        for cut in 0 ..< whole.count { #expect(MQTTConnectPeek.clientID(in: Array(whole.prefix(cut))) == .needMore) }
        #expect(MQTTConnectPeek.clientID(in: [0x30, 0x02, 0, 0]) == .notConnect, "a PUBLISH")
        #expect(MQTTConnectPeek.clientID(in: [0x10, 0x03, 0, 9, 0]) == .notConnect, "a protocol name longer than the packet")
        #expect(MQTTConnectPeek.clientID(in: [0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]) == .notConnect, "a length over four bytes")
        #expect(MQTTConnectPeek.clientID(in: Array("GET / HTTP/1.1\r\n".utf8)) == .notConnect)
    }
}

// MARK: Plain blocking sockets for the two ends

/// A listening socket on a free loopback port; ``accept()`` waits up to 2 s.
final class TestListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard listen(fd, 16) == 0 else { throw TestSocketError("listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close() }

    func close() { Glibc.close(fd) }

    func accept() throws -> TestSocket {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 2_000) == 1 else { throw TestSocketError("nothing connected within 2 s") }
        let accepted = Glibc.accept(fd, nil, nil)
        guard accepted >= 0 else { throw TestSocketError("accept: \(errno)") }
        return TestSocket(fd: accepted)
    }
}

/// A connected blocking socket with bounded waits.
final class TestSocket {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    init(connectingTo port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestSocketError("connect: \(errno)") }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw TestSocketError("send: \(errno)") }
    }

    /// Up to `count` bytes as text, whatever arrived within `within` seconds ("" for nothing).
    func receive(_ count: Int, within: Double = 2) throws -> String { String(decoding: try receive(bytes: count, within: within), as: UTF8.self) }

    func receive(bytes count: Int, within: Double = 2) throws -> [UInt8] {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(within)
        while received.count < count {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left * 1000)) == 1 else { break }
            var buffer = [UInt8](repeating: 0, count: count - received.count)
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw TestSocketError(n == 0 ? "closed" : "recv: \(errno)") }
            received += buffer.prefix(n)
        }
        return received
    }

    /// The errno a read ends with within `within` seconds (0: the peer closed cleanly; -1: nothing happened).
    func receiveError(within: Double) -> Int32 {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(within * 1000)) == 1 else { return -1 }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n < 0 ? errno : (n == 0 ? 0 : -2)
    }
}

struct TestSocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
