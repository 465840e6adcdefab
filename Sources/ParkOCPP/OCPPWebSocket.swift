import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The OCPP-J WebSocket subprotocols (OCPP-J 1.6 §3.1.2; 2.0.1 part 4 §3.1.2).
public enum OCPPVersion: String, Sendable, Hashable, CaseIterable {
    case v16 = "ocpp1.6"
    case v201 = "ocpp2.0.1"
}

/// Hears one WebSocket's OCPP-J messages. Called on the connection's event loop, one call at a
/// time, so an implementation needs no lock for state only these calls touch.
public protocol OCPPWebSocketDelegate: AnyObject {
    func opened(_ connection: OCPPWebSocketConnection)
    func received(_ text: String, on connection: OCPPWebSocketConnection)
    func closed(_ connection: OCPPWebSocketConnection, reason: String)
}

/// One open OCPP-J WebSocket, either end. Sending is safe from any thread (NIO hops to the
/// channel's loop); a client's frames are masked as RFC 6455 §5.3 requires.
public final class OCPPWebSocketConnection: Sendable {
    public let channel: any Channel
    /// The request path: `/ocpp/CP001` and the like; the charge point's id is its last segment.
    public let path: String
    /// The subprotocol both ends agreed on.
    public let version: OCPPVersion
    public let isClient: Bool

    init(channel: any Channel, path: String, version: OCPPVersion, isClient: Bool) {
        self.channel = channel
        self.path = path
        self.version = version
        self.isClient = isClient
    }

    public var eventLoop: any EventLoop { channel.eventLoop }

    /// The charge point id the path names (its last segment, percent-decoded).
    public var chargePointID: String { OCPPWebSocketServer.chargePointID(path: path) ?? "" }

    public func send(_ text: String) {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: isClient ? .random() : nil, data: buffer)
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Closes with a close frame (1000 normal), then the socket.
    public func close(code: WebSocketErrorCode = .normalClosure) {
        var buffer = channel.allocator.buffer(capacity: 2)
        buffer.write(webSocketErrorCode: code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: isClient ? .random() : nil, data: buffer)
        let channel = channel
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Drops the connection without a close frame, as a power cut or a pulled cable does.
    public func abort() { channel.close(promise: nil) }
}

/// Text frames in, text frames out, pings answered, closes honoured: the WebSocket end of an
/// OCPP-J connection, in front of its delegate.
final class OCPPWebSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: OCPPWebSocketConnection
    private let delegate: any OCPPWebSocketDelegate
    private var closeReason = "the connection closed"
    private var announcedClose = false

    init(connection: OCPPWebSocketConnection, delegate: any OCPPWebSocketDelegate) {
        self.connection = connection
        self.delegate = delegate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { delegate.opened(connection) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var data = frame.unmaskedData
            delegate.received(data.readString(length: data.readableBytes) ?? "", on: connection)
        case .binary:
            // OCPP-J is text only (§4.1.1); a binary frame is a protocol breach worth closing on.
            closeReason = "the peer sent a binary frame"
            connection.close(code: .unacceptableData)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: connection.isClient ? .random() : nil, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode()
            closeReason = "the peer closed the WebSocket (\(code.map { "\($0)" } ?? "no code"))"
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.write(webSocketErrorCode: code ?? .normalClosure)
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: connection.isClient ? .random() : nil, data: echo)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        announceClose()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { announceClose() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = "\(error)"
        context.close(promise: nil)
    }

    private func announceClose() {
        guard !announcedClose else { return }
        announcedClose = true
        delegate.closed(connection, reason: closeReason)
    }
}

/// Why a charge point's WebSocket did not open.
public struct OCPPConnectError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    /// The HTTP status the server refused the upgrade with (401 for a wrong password), if it answered.
    public var status: Int?
}

/// Opens charge points' WebSockets to a CSMS: `ws://host:port/<path>` with the OCPP subprotocol,
/// and basic authentication when the charge point has a password (security profile 1).
public enum OCPPWebSocketClient {
    public struct Request: Sendable {
        public var host: String
        public var port: Int
        /// The path up to and including the charge point's id, e.g. `/ocpp/CP001`.
        public var path: String
        public var version: OCPPVersion
        /// `Authorization: Basic` user (the charge point id) and password; nil: none sent.
        public var basicAuth: (user: String, password: String)?
        public var maximumMessageSize: Int
        /// The local address to connect from (nil: the kernel's choice).
        public var bindHost: String?
        /// How long the CSMS has to answer the upgrade once the TCP connection is up.
        public var upgradeTimeout: TimeAmount = .seconds(15)

        public init(host: String, port: Int, path: String, version: OCPPVersion = .v16, basicAuth: (user: String, password: String)? = nil,
                    maximumMessageSize: Int = 1 << 16, bindHost: String? = nil) {
            self.host = host
            self.port = port
            self.path = path
            self.version = version
            self.basicAuth = basicAuth
            self.maximumMessageSize = maximumMessageSize
            self.bindHost = bindHost
        }
    }

    /// Connects and upgrades; the delegate hears `opened` once the CSMS agreed on the
    /// subprotocol. The future fails when the TCP connection, the upgrade or the subprotocol
    /// fails, naming which.
    public static func connect(_ request: Request, on eventLoop: any EventLoop,
                               delegate makeDelegate: @escaping @Sendable () -> any OCPPWebSocketDelegate) -> EventLoopFuture<OCPPWebSocketConnection> {
        let promise = eventLoop.makePromise(of: OCPPWebSocketConnection.self)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                let starter = UpgradeRequestHandler(request: request, promise: promise)
                let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: request.maximumMessageSize, automaticErrorHandling: true) { channel, response in
                    let agreed = response.headers["Sec-WebSocket-Protocol"].first?.trimmingCharacters(in: .whitespaces)
                    guard agreed == request.version.rawValue else {
                        let failure = OCPPConnectError(description: "the CSMS did not agree on the subprotocol \(request.version.rawValue) (it answered \(agreed ?? "none"))", status: Int(response.status.code))
                        promise.fail(failure)
                        return channel.close()
                    }
                    let connection = OCPPWebSocketConnection(channel: channel, path: request.path, version: request.version, isClient: true)
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: request.maximumMessageSize))
                        try channel.pipeline.syncOperations.addHandler(OCPPWebSocketHandler(connection: connection, delegate: makeDelegate()))
                    } catch {
                        promise.fail(error)
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    promise.succeed(connection)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                let bound = NIOLoopBound(starter, eventLoop: channel.eventLoop)
                let configuration: NIOHTTPClientUpgradeSendableConfiguration = (
                    upgraders: [upgrader],
                    completionHandler: { context in context.pipeline.syncOperations.removeHandler(bound.value, promise: nil) })
                do {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: configuration)
                    try channel.pipeline.syncOperations.addHandler(starter)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        if let bindHost = request.bindHost, let address = try? SocketAddress(ipAddress: bindHost, port: 0) {
            bootstrap = bootstrap.bind(to: address)
        }
        bootstrap.connect(host: request.host, port: request.port).whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(OCPPConnectError(description: "cannot connect to \(request.host):\(request.port): \(error)", status: nil))
            case .success(let channel):
                // A peer that takes the TCP connection but never answers the upgrade must not
                // hold the charger forever: closing fails the promise ("closed during the upgrade").
                let timeout = channel.eventLoop.scheduleTask(in: request.upgradeTimeout) { channel.close(promise: nil) }
                promise.futureResult.whenComplete { _ in timeout.cancel() }
            }
        }
        return promise.futureResult
    }

    /// Sends the upgrade GET when the socket opens, and reads a refusal if one comes back.
    final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        let request: Request
        let promise: EventLoopPromise<OCPPWebSocketConnection>

        init(request: Request, promise: EventLoopPromise<OCPPWebSocketConnection>) {
            self.request = request
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(request.host):\(request.port)")
            headers.add(name: "Sec-WebSocket-Protocol", value: request.version.rawValue)
            if let auth = request.basicAuth {
                headers.add(name: "Authorization", value: "Basic " + Data("\(auth.user):\(auth.password)".utf8).base64EncodedString())
            }
            headers.add(name: "Content-Length", value: "0")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let response) = unwrapInboundIn(data) {
                promise.fail(OCPPConnectError(description: "the CSMS refused the WebSocket upgrade: \(response.status.code) \(response.status.reasonPhrase)",
                                              status: Int(response.status.code)))
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(OCPPConnectError(description: "the WebSocket upgrade failed: \(error)", status: nil))
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(OCPPConnectError(description: "the CSMS closed the connection during the upgrade", status: nil))
            context.fireChannelInactive()
        }
    }
}

/// The CSMS end: accepts charge points' WebSockets on `ws://host:port/…/<id>`, agrees on an
/// OCPP subprotocol the charge point offers, and asks ``Configuration/admit`` whether the id and
/// its basic-auth password may connect (401 if not, 404 for no id in the path).
public final class OCPPWebSocketServer: Sendable {
    /// Whether a charge point may connect.
    public enum Admission: Sendable, Hashable {
        case admit
        /// Refused with this HTTP status (401 wrong or missing password, 404 unknown id).
        case refuse(Int)
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Subprotocols served, preferred first.
        public var versions: [OCPPVersion]
        public var maximumMessageSize: Int
        /// Decides from the charge point's id and the basic-auth credentials it sent (nil: none).
        public var admit: @Sendable (_ chargePointID: String, _ credentials: (user: String, password: String)?) -> Admission

        public init(host: String = "127.0.0.1", port: Int = 0, versions: [OCPPVersion] = [.v16], maximumMessageSize: Int = 1 << 16,
                    admit: @escaping @Sendable (String, (user: String, password: String)?) -> Admission = { _, _ in .admit }) {
            self.host = host
            self.port = port
            self.versions = versions
            self.maximumMessageSize = maximumMessageSize
            self.admit = admit
        }
    }

    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let channel: any Channel
    public let port: Int

    /// Binds and listens. `makeDelegate` is called for each admitted connection with the charge
    /// point id and the agreed version.
    public init(configuration: Configuration, group: MultiThreadedEventLoopGroup? = nil,
                makeDelegate: @escaping @Sendable (_ chargePointID: String, _ version: OCPPVersion) -> any OCPPWebSocketDelegate) throws {
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        ownsGroup = group == nil
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 4_096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let refusal = RefusalHandler(configuration: configuration)
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: configuration.maximumMessageSize, automaticErrorHandling: true,
                    shouldUpgrade: { channel, head in
                        let decision = Self.decide(head, configuration)
                        guard case .admit = decision.admission, let version = decision.version else {
                            return channel.eventLoop.makeSucceededFuture(nil)
                        }
                        return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", version.rawValue)]))
                    },
                    upgradePipelineHandler: { channel, head in
                        let version = Self.decide(head, configuration).version ?? .v16
                        let connection = OCPPWebSocketConnection(channel: channel, path: head.uri, version: version, isClient: false)
                        do {
                            try channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: configuration.maximumMessageSize))
                            try channel.pipeline.syncOperations.addHandler(OCPPWebSocketHandler(
                                connection: connection, delegate: makeDelegate(connection.chargePointID, version)))
                        } catch {
                            return channel.eventLoop.makeFailedFuture(error)
                        }
                        return channel.eventLoop.makeSucceededVoidFuture()
                    })
                let bound = NIOLoopBound(refusal, eventLoop: channel.eventLoop)
                let upgrade: NIOHTTPServerUpgradeSendableConfiguration = (
                    upgraders: [upgrader],
                    completionHandler: { context in context.pipeline.syncOperations.removeHandler(bound.value, promise: nil) })
                do {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: upgrade)
                    try channel.pipeline.syncOperations.addHandler(refusal)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            if group == nil { try? self.group.syncShutdownGracefully() }
            throw error
        }
        port = channel.localAddress?.port ?? configuration.port
    }

    public func stop() {
        try? channel.close().wait()
        if ownsGroup { try? group.syncShutdownGracefully() }
    }

    /// The charge point id a request path names: its last non-empty segment, percent-decoded.
    public static func chargePointID(path: String) -> String? {
        let withoutQuery = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard let last = withoutQuery.split(separator: "/").last, let id = String(last).removingPercentEncoding, !id.isEmpty else { return nil }
        return id
    }

    /// The basic-auth credentials of an `Authorization` header, if it holds well-formed ones.
    public static func basicCredentials(_ header: String?) -> (user: String, password: String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    struct Decision {
        var admission: Admission
        var version: OCPPVersion?
    }

    static func decide(_ head: HTTPRequestHead, _ configuration: Configuration) -> Decision {
        guard let id = chargePointID(path: head.uri) else { return Decision(admission: .refuse(404), version: nil) }
        let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let version = configuration.versions.first(where: { offered.contains($0.rawValue) }) else {
            return Decision(admission: .refuse(400), version: nil)
        }
        return Decision(admission: configuration.admit(id, basicCredentials(head.headers["Authorization"].first)), version: version)
    }

    /// Answers a request that was not upgraded: why, as an HTTP status, then closes.
    final class RefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let configuration: Configuration

        init(configuration: Configuration) { self.configuration = configuration }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            var status = HTTPResponseStatus.badRequest
            var reason = "not a WebSocket upgrade"
            let decision = OCPPWebSocketServer.decide(head, configuration)
            if head.headers["Upgrade"].contains(where: { $0.lowercased() == "websocket" }), case .refuse(let code) = decision.admission {
                status = HTTPResponseStatus(statusCode: code)
                reason = code == 401 ? "unknown charge point or wrong password" : code == 404 ? "no charge point id in the path" : "no OCPP subprotocol offered that this CSMS speaks"
            }
            var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Connection", "close"), ("Content-Length", String(reason.utf8.count + 1))])
            if status.code == 401 { headers.add(name: "WWW-Authenticate", value: "Basic realm=\"OCPP\"") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            var body = context.channel.allocator.buffer(capacity: reason.utf8.count + 1)
            body.writeString(reason + "\n")
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
