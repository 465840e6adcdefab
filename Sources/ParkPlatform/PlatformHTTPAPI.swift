import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The reference platform's REST API, so a harness (or a person with curl) can see what the
/// platform holds and ask it to command a device:
///
/// | request | answer |
/// |---|---|
/// | `GET /alarms[?since=<alarm_id>]` | the alarms raised, oldest first |
/// | `GET /devices` | every device: status, last seen, counters, latest values with their `msg_id` |
/// | `GET /devices/{id}` | one device |
/// | `POST /devices/{id}/commands` `{"command": "...", "arguments": {...}}` | `202 {"id": "api-N"}`; the command goes out on the device's `cmd` topic |
/// | `GET /commands/{id}` | when it was sent and whether (and when) the device acknowledged it |
///
/// Errors are JSON bodies naming the problem (`404 {"error": "no device 'x'"}`).
final class PlatformHTTPAPI: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    let port: Int

    init(host: String, port: Int, platform: ReferencePlatform) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(APIHandler(platform: platform))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.port = channel.localAddress?.port ?? port
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One connection's requests.
private final class APIHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let platform: ReferencePlatform
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(platform: ReferencePlatform) { self.platform = platform }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            if body.count < 1 << 20 { body += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        case .end:
            guard let head else { return }
            let (status, object) = route(head)
            respond(context, head: head, status: status, object: object)
            self.head = nil
        }
    }

    private func route(_ head: HTTPRequestHead) -> (HTTPResponseStatus, Any) {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? "/"
        let query = parts.count > 1 ? String(parts[1]) : ""
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        switch (head.method, segments.count, segments.first) {
        case (.GET, 1, "alarms"):
            let since = query.split(separator: "&").compactMap { item -> Int? in
                let pair = item.split(separator: "=", maxSplits: 1)
                return pair.count == 2 && pair[0] == "since" ? Int(pair[1]) : nil
            }.first ?? 0
            return (.ok, platform.records.alarms(since: since).map(\.jsonObject))
        case (.GET, 1, "devices"):
            return (.ok, platform.devices.values.sorted { $0.id < $1.id }.map(\.jsonObject))
        case (.GET, 2, "devices"):
            guard let device = platform.devices[segments[1]] else { return (.notFound, ["error": "no device '\(segments[1])'"]) }
            return (.ok, device.jsonObject)
        case (.POST, 3, "devices") where segments[2] == "commands":
            guard let request = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let command = request["command"] as? String, !command.isEmpty else {
                return (.badRequest, ["error": #"expected a JSON body {"command": "name", "arguments": {...}}"#])
            }
            switch platform.command(segments[1], command: command, arguments: request["arguments"] as? [String: Any] ?? [:]) {
            case .success(let id): return (.accepted, ["id": id])
            case .failure(let error): return (.notFound, ["error": error.description])
            }
        case (.GET, 2, "commands"):
            guard let command = platform.records.command(segments[1]) else { return (.notFound, ["error": "no command '\(segments[1])'"]) }
            var object: [String: Any] = [
                "id": command.id, "device": command.device, "command": command.command, "sent_ns": command.sentNanoseconds,
                "origin": command.origin,
            ]
            if let ack = command.ack {
                var answer: [String: Any] = ["accepted": ack.accepted, "ns": ack.nanoseconds,
                                             "latency_ms": Double(ack.nanoseconds - command.sentNanoseconds) / 1e6]
                if let reason = ack.reason { answer["reason"] = reason }
                object["ack"] = answer
            }
            return (.ok, object)
        default:
            return (.notFound, ["error": "no \(head.method) \(path); see GET /alarms, /devices, /devices/{id}, /commands/{id}, POST /devices/{id}/commands"])
        }
    }

    private func respond(_ context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, object: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(data.count))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
