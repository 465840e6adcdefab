import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ParkCore

/// Listens for the webhook calls a platform makes (e.g. an alarm POSTed to
/// `http://harness:port/alarms`) and turns each JSON body — an object, or an array of them —
/// into observations through the profile's field mapping.
///
/// A call without the expected shared secret is answered 401 and recorded as a problem; it
/// never becomes an observation. The secret itself is never logged.
public final class WebhookObserver: Sendable {
    private let webhook: PlatformProfile.Webhook
    private let secret: String?
    private let log: ObservationLog
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The port actually listened on (the profile's, or a free one when it says 0).
    public let port: Int

    /// Starts listening on 127.0.0.1 (or `host`). - Throws: ``HarnessError`` when the port is
    /// taken or the secret's environment variable is not set.
    public init(_ webhook: PlatformProfile.Webhook, log: ObservationLog, host: String = "127.0.0.1") throws(HarnessError) {
        self.webhook = webhook
        self.log = log
        if let variable = webhook.secretEnvironment {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw .configuration("observe.webhook.secret_env names \(variable), which is not set")
            }
            secret = value
        } else {
            secret = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handlerSettings = WebhookHandler.Settings(webhook: webhook, secret: secret, log: log)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(WebhookHandler(handlerSettings))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: webhook.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw .configuration("cannot listen for webhooks on \(host):\(webhook.port): \(error)")
        }
        port = channel.localAddress?.port ?? webhook.port
    }

    /// The URL to give the platform.
    public var url: String { "http://127.0.0.1:\(port)\(webhook.path)" }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One connection's HTTP requests: collect the body, check path and secret, map, answer.
private final class WebhookHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Settings: Sendable {
        var webhook: PlatformProfile.Webhook
        var secret: String?
        var log: ObservationLog
    }

    private static let maximumBody = 1 << 20
    private let settings: Settings
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(_ settings: Settings) { self.settings = settings }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.maximumBody { tooLarge = true } else {
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        case .end:
            let arrived = SystemClock.wallNow().nanosecondsSinceEpoch
            guard let head else { return }
            let (status, answer) = handle(head, arrived: arrived)
            respond(context, head: head, status: status, body: answer)
            self.head = nil
        }
    }

    private func handle(_ head: HTTPRequestHead, arrived: Int64) -> (HTTPResponseStatus, String) {
        let webhook = settings.webhook
        let source = "webhook \(head.method) \(head.uri)"
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == webhook.path else { return (.notFound, #"{"error":"no webhook at this path"}"#) }
        guard head.method == .POST || head.method == .PUT else { return (.methodNotAllowed, #"{"error":"POST the event"}"#) }
        if let secret = settings.secret {
            let given = head.headers.first(name: webhook.secretHeader) ?? ""
            guard constantTimeEqual(Array(given.utf8), Array(secret.utf8)) else {
                settings.log.report(ObservationProblem(source: source, message: "call without the right \(webhook.secretHeader) header; refused"))
                return (.unauthorized, #"{"error":"wrong or missing secret"}"#)
            }
        }
        guard !tooLarge else {
            settings.log.report(ObservationProblem(source: source, message: "body larger than 1 MiB; refused"))
            return (.payloadTooLarge, #"{"error":"body too large"}"#)
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            settings.log.report(ObservationProblem(
                source: source, message: "not JSON: \(String(decoding: body.prefix(80), as: UTF8.self))"))
            return (.badRequest, #"{"error":"body is not JSON"}"#)
        }
        let items = (json as? [Any]) ?? [json]
        for item in items {
            switch Observation.mapped(item, fields: webhook.fields, kind: webhook.kind, source: source, arrived: arrived) {
            case .success(let observation): settings.log.append(observation)
            case .failure(let problem): settings.log.report(problem)
            }
        }
        return (.ok, #"{"ok":true}"#)
    }

    private func respond(_ context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, body text: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Compares secrets without leaking, through timing, how much of a guess was right.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
