import Foundation
import NIOCore
import NIOPosix
import ParkOCPP
import Synchronization
import Testing

/// Collects what one end of a WebSocket hears, for a test to wait on.
final class RecordingDelegate: OCPPWebSocketDelegate, Sendable {
    private let state = Mutex<(opened: Bool, texts: [String], closed: String?)>((false, [], nil))
    let echo: Bool

    init(echo: Bool = false) { self.echo = echo }

    func opened(_ connection: OCPPWebSocketConnection) { state.withLock { $0.opened = true } }
    func received(_ text: String, on connection: OCPPWebSocketConnection) {
        state.withLock { $0.texts.append(text) }
        if echo { connection.send("echo:" + text) }
    }
    func closed(_ connection: OCPPWebSocketConnection, reason: String) { state.withLock { $0.closed = reason } }

    var texts: [String] { state.withLock { $0.texts } }
    var closedReason: String? { state.withLock { $0.closed } }

    func wait(_ timeout: TimeInterval = 5, until condition: (RecordingDelegate) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(5_000)
        }
        return condition(self)
    }
}

@Suite(.serialized) struct OCPPWebSocketTests {
    @Test func aChargePointConnectsWithItsPasswordAndTheSubprotocolAndTalks() throws {
        let serverSide = Mutex<[String: RecordingDelegate]>([:])
        let server = try OCPPWebSocketServer(configuration: .init(admit: { id, credentials in
            credentials?.user == id && credentials?.password == "s3cret" ? .admit : .refuse(401)
        })) { id, version in
            let delegate = RecordingDelegate(echo: true)
            serverSide.withLock { $0[id + "/" + version.rawValue] = delegate }
            return delegate
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }

        let client = RecordingDelegate()
        let connection = try OCPPWebSocketClient.connect(
            .init(host: "127.0.0.1", port: server.port, path: "/ocpp/CP%20001", basicAuth: ("CP 001", "s3cret")), on: group.next(), delegate: { client }
        ).wait()
        #expect(connection.version == .v16)
        // Longer than one TCP segment and NIO's default 16 KiB frame limit, to prove the limits.
        let long = String(repeating: "x", count: 40_000)
        connection.send(#"[2,"1","Heartbeat",{}]"#)
        connection.send(long)
        #expect(client.wait { $0.texts.count == 2 }, "the server echoes both: \(client.texts.count)")
        #expect(client.texts.first == #"echo:[2,"1","Heartbeat",{}]"#)
        #expect(client.texts.last?.count == long.count + 5)
        #expect(serverSide.withLock { $0.keys.sorted() } == ["CP 001/ocpp1.6"], "the id is the path's last segment, percent-decoded")
        connection.close()
        let server1 = try #require(serverSide.withLock { $0["CP 001/ocpp1.6"] })
        #expect(server1.wait { $0.closedReason != nil })
        #expect(server1.closedReason?.contains("closed") == true)
    }

    @Test func aWrongPasswordIsRefused401AndAMissingSubprotocol400() throws {
        let server = try OCPPWebSocketServer(configuration: .init(admit: { _, credentials in credentials?.password == "right" ? .admit : .refuse(401) })) { _, _ in
            RecordingDelegate()
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        #expect { try OCPPWebSocketClient.connect(.init(host: "127.0.0.1", port: server.port, path: "/ocpp/CP1", basicAuth: ("CP1", "wrong")), on: group.next(), delegate: { RecordingDelegate() }).wait() }
            throws: { ($0 as? OCPPConnectError)?.status == 401 }
        #expect { try OCPPWebSocketClient.connect(.init(host: "127.0.0.1", port: server.port, path: "/ocpp/CP1"), on: group.next(), delegate: { RecordingDelegate() }).wait() }
            throws: { ($0 as? OCPPConnectError)?.status == 401 }
        #expect { try OCPPWebSocketClient.connect(.init(host: "127.0.0.1", port: server.port, path: "/ocpp/CP1", version: .v201, basicAuth: ("CP1", "right")), on: group.next(), delegate: { RecordingDelegate() }).wait() }
            throws: { ($0 as? OCPPConnectError)?.status == 400 }
        #expect { try OCPPWebSocketClient.connect(.init(host: "127.0.0.1", port: 1, path: "/ocpp/CP1"), on: group.next(), delegate: { RecordingDelegate() }).wait() }
            throws: { ($0 as? OCPPConnectError)?.description.contains("cannot connect") == true }
    }
}
