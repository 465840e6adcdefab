import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The reference platform's REST API, so a harness (or a person with curl) can see what the
/// platform holds and ask it to command a device:
///
/// | request | answer |
/// |---|---|
/// | `GET /alarms[?since=<alarm_id>][&limit=N]` | the alarms raised, oldest first |
/// | `GET /devices[?after=<device id>][&limit=N]` | devices by id: status, last seen, counters, latest values with their `msg_id` |
/// | `GET /devices/{id}` | one device |
/// | `POST /push` a device event (its envelope with `zone`) | `200 {"accepted": true}`; taken in as if it came on the device's MQTT event topic |
/// | `POST /devices/{id}/commands` `{"command": "...", "arguments": {...}}` | `202 {"id": "api-N"}`; the command goes out on the device's `cmd` topic |
/// | `GET /commands/{id}` | when it was sent and whether (and when) the device acknowledged it |
/// | `POST /devices/{id}/video` `[{"channel": "...", "transport": "udp"\|"tcp", "playback": {"start": s, "end": s}}]` | `202 {"session": "video-N"}`; a GB/T 28181 camera is INVITEd to stream (live, or a recording's range) to the platform's receiver, reported on `platform/video` |
/// | `DELETE /devices/{id}/video` | `200 {"stopped": N}`: every session of the camera ends with BYE |
/// | `GET /video` | the live video sessions and their receivers' figures (frames, loss, jitter) |
/// | `GET /statistics` | alarms raised, what was refused or left out of device messages, and the limits |
///
/// Listings are pages of at most `limit` items (default ``defaultPageLimit``, at most
/// ``maximumPageLimit``), still plain JSON arrays; when more follow, a `Link: <…>; rel="next"`
/// header (RFC 8288) gives the request for the next page, so a large park is read in pieces
/// and one listing never holds up the others. Answers are built off the event loop.
///
/// Errors are JSON bodies naming the problem (`404 {"error": "no device 'x'"}`).
final class PlatformHTTPAPI: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    let port: Int
    /// Items in a listing page when the request names no `limit`.
    static let defaultPageLimit = 1_000
    /// The largest `limit` a listing accepts.
    static let maximumPageLimit = 10_000

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

/// One connection's requests. The answer is computed on a dispatch queue, not the event loop,
/// so a large page on one connection never delays another's; NIO's pipelining handler keeps a
/// connection's answers in request order.
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
            self.head = nil
            let channel = context.channel, platform = self.platform, body = self.body
            DispatchQueue.global(qos: .userInitiated).async {
                let answer = APIRoutes.answer(method: head.method, uri: head.uri, body: body, platform: platform)
                channel.eventLoop.execute { Self.respond(channel, head: head, answer: answer) }
            }
        }
    }

    private static func respond(_ channel: any Channel, head: HTTPRequestHead, answer: APIRoutes.Answer) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(answer.body.count))
        for (name, value) in answer.headers { headers.add(name: name, value: value) }
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers)), promise: nil)
        var buffer = channel.allocator.buffer(capacity: answer.body.count)
        buffer.writeBytes(answer.body)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !head.isKeepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// What each request is answered with, apart from the socket (so it is tested without one).
enum APIRoutes {
    /// A status, extra headers (the next page's `Link`) and a JSON body.
    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: [UInt8]

        /// The status code as a number.
        var code: Int { Int(status.code) }

        init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        init(_ status: HTTPResponseStatus, object: Any) {
            self.status = status
            body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? Array("{}".utf8)
        }

        static func error(_ status: HTTPResponseStatus, _ message: String) -> Answer { Answer(status, object: ["error": message]) }
    }

    static func answer(method: HTTPMethod, uri: String, body: [UInt8], platform: ReferencePlatform) -> Answer {
        let parts = uri.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? "/"
        let query = parameters(parts.count > 1 ? String(parts[1]) : "")
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        switch (method, segments.count, segments.first) {
        case (.GET, 1, "alarms"):
            let limit: Int
            switch pageLimit(query) {
            case .success(let value): limit = value
            case .failure(let problem): return .error(.badRequest, problem.description)
            }
            var since = 0
            if let text = query["since"] {
                guard let value = Int(text) else { return .error(.badRequest, "since must be an alarm_id (a whole number), got '\(text.prefix(64))'") }
                since = value
            }
            let (alarms, more) = platform.records.alarms(since: since, limit: limit)
            var headers: [(String, String)] = []
            if more, let last = alarms.last { headers.append(("Link", "</alarms?since=\(last.id)&limit=\(limit)>; rel=\"next\"")) }
            return Answer(.ok, headers: headers, body: ListingJSON.array(alarms, ListingJSON.alarm))
        case (.GET, 1, "devices"):
            let limit: Int
            switch pageLimit(query) {
            case .success(let value): limit = value
            case .failure(let problem): return .error(.badRequest, problem.description)
            }
            let devices = platform.devices
            let after = query["after"]
            let ids = (after.map { after in devices.keys.filter { $0 > after } } ?? Array(devices.keys)).sorted()
            let page = ids.prefix(limit)
            var headers: [(String, String)] = []
            if ids.count > limit, let last = page.last {
                headers.append(("Link", "</devices?after=\(percentEncoded(last))&limit=\(limit)>; rel=\"next\""))
            }
            return Answer(.ok, headers: headers, body: ListingJSON.array(page.compactMap { devices[$0] }, ListingJSON.device))
        case (.GET, 2, "devices"):
            guard let device = platform.devices[segments[1]] else { return .error(.notFound, "no device '\(segments[1])'") }
            var out = ""
            ListingJSON.device(device, into: &out)
            return Answer(.ok, body: Array(out.utf8))
        case (.POST, 3, "devices") where segments[2] == "commands":
            guard let request = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let command = request["command"] as? String, !command.isEmpty else {
                return .error(.badRequest, #"expected a JSON body {"command": "name", "arguments": {...}}"#)
            }
            switch platform.command(segments[1], command: command, arguments: request["arguments"] as? [String: Any] ?? [:]) {
            case .success(let id): return Answer(.accepted, object: ["id": id])
            case .failure(let error): return .error(.notFound, error.description)
            }
        case (.POST, 3, "devices") where segments[2] == "video":
            var video = ReferencePlatform.VideoRequest()
            if !body.isEmpty {
                let expected = #"expected no body or a JSON body {"channel": "<20-digit id>", "transport": "udp"|"tcp", "playback": {"start": <unix s>, "end": <unix s>}}"#
                guard let request = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                    return .error(.badRequest, expected)
                }
                video.channel = request["channel"] as? String
                switch request["transport"] as? String {
                case nil, "udp": break
                case "tcp": video.tcp = true
                default: return .error(.badRequest, expected)
                }
                if let playback = request["playback"] {
                    guard let range = playback as? [String: Any], let start = (range["start"] as? NSNumber)?.int64Value,
                          let end = (range["end"] as? NSNumber)?.int64Value, end > start else {
                        return .error(.badRequest, expected + "; playback needs start < end")
                    }
                    video.playback = (start, end)
                }
            }
            switch platform.startVideo(segments[1], video) {
            case .success(let id): return Answer(.accepted, object: ["session": id])
            case .failure(let error): return .error(.notFound, error.description)
            }
        case (.DELETE, 3, "devices") where segments[2] == "video":
            return Answer(.ok, object: ["stopped": platform.stopVideo(segments[1])])
        case (.POST, 1, "push"):
            switch platform.pushed(body) {
            case .success(let topic): return Answer(.ok, object: ["accepted": true, "as": topic])
            case .failure(let error): return .error(.badRequest, error.description)
            }
        case (.GET, 1, "video"):
            return Answer(.ok, object: platform.videoSessions)
        case (.GET, 2, "commands"):
            guard let command = platform.records.command(segments[1]) else { return .error(.notFound, "no command '\(segments[1])'") }
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
            return Answer(.ok, object: object)
        case (.GET, 1, "statistics"):
            let counters = platform.counters, input = platform.inputStatistics, limits = platform.limits
            return Answer(.ok, object: [
                "alarms_raised": counters.raised, "alarms_dropped": counters.dropped, "devices": platform.devices.count,
                "refused": ["malformed": input.malformed, "oversized": input.oversized, "too_many_values": input.tooManyValues],
                "left_out": ["bad_values": input.badValues, "points": input.pointsRefused],
                "not_shown": ["duplicates": input.duplicatesDropped, "stale": input.staleDropped],
                "limits": ["max_payload_bytes": limits.maxPayloadBytes, "max_values": limits.maxValues,
                           "page_limit_default": PlatformHTTPAPI.defaultPageLimit, "page_limit_max": PlatformHTTPAPI.maximumPageLimit],
            ])
        default:
            return .error(.notFound, "no \(method) \(path); see GET /alarms, /devices, /devices/{id}, /commands/{id}, /statistics, /video, POST /devices/{id}/commands, POST and DELETE /devices/{id}/video, POST /push")
        }
    }

    /// `limit` from the query: absent gives the default; anything but 1 … maximum is refused, not clamped.
    static func pageLimit(_ query: [String: String]) -> Result<Int, PlatformError> {
        guard let text = query["limit"] else { return .success(PlatformHTTPAPI.defaultPageLimit) }
        guard let limit = Int(text), (1 ... PlatformHTTPAPI.maximumPageLimit).contains(limit) else {
            return .failure(PlatformError("limit must be a whole number from 1 to \(PlatformHTTPAPI.maximumPageLimit), got '\(text.prefix(64))'"))
        }
        return .success(limit)
    }

    /// `a=1&b=x%20y` as a dictionary, values percent-decoded (the last of a repeated name wins).
    static func parameters(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = pair.count == 2 ? String(pair[1]).replacingOccurrences(of: "+", with: " ") : ""
            result[String(pair[0])] = value.removingPercentEncoding ?? value
        }
        return result
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A device id as a query value (ids come from the wire and may hold anything).
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
