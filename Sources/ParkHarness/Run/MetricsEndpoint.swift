import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves a load run's live figures at `GET /metrics` in the Prometheus text format, for a
/// Prometheus (and the Grafana on it) a user already runs: `parkbench load --metrics-port 9464`.
/// Anything else is 404. One event-loop thread; the figures are read from the board per scrape.
public final class MetricsEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port listened on (a free one when asked for 0).
    public let port: Int

    /// - Throws: ``HarnessError/configuration(_:)`` when the port cannot be listened on.
    public init(board: LoadFiguresBoard, host: String = "127.0.0.1", port: Int) throws(HarnessError) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(MetricsHandler(board: board)) }
            }
        do { channel = try bootstrap.bind(host: host, port: port).wait() } catch {
            try? group.syncShutdownGracefully()
            throw .configuration("cannot serve /metrics on \(host):\(port): \(error)")
        }
        self.port = channel.localAddress?.port ?? port
    }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let board: LoadFiguresBoard
    private var head: HTTPRequestHead?

    init(board: LoadFiguresBoard) { self.board = board }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let found = path == "/metrics" && head.method == .GET
            // Before the load check starts there is nothing to say yet; an empty page is valid.
            let text = found ? (board.latest?.prometheusText ?? "") : "not found: GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !head.isKeepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
