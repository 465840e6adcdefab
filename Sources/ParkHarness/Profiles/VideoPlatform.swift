import ParkProfiles
import Yams

/// The GB/T 28181 side of a platform (`video:` in its profile): the SIP server the park's cameras
/// and NVRs register to, the platform's 20-digit id, and the domain the devices' ids are
/// numbered under.
///
/// ```yaml
/// video:
///   sip: 127.0.0.1:5060          # the platform's SIP server (UDP)
///   id: "34020000002000000001"   # its SIP id (type 200)
///   domain: "3402000000"         # centre code + industry: the devices' ids start with it
///   play: {method: POST, url: "http://127.0.0.1:8080/devices/{device}/video", body: '{"channel": "{channel}"}'}
///   stop: {method: DELETE, url: "http://127.0.0.1:8080/devices/{device}/video"}
/// ```
///
/// `play` and `stop` are how the harness asks the platform for a camera's live video and ends
/// it (the video checks); `{device}` is the camera's 20-digit id, `{channel}` its first channel's.
///
/// The devices' passwords are the run's device secrets (`--secrets-file`), one per device
/// (004 L754), never the profile.
public struct VideoPlatform: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var id: String
    public var domain: String
    /// How to ask the platform for live video, and to end it.
    public var play: PlatformProfile.CommandEndpoint?
    public var stop: PlatformProfile.CommandEndpoint?

    public init(host: String, port: Int, id: String = "34020000002000000001", domain: String = "3402000000") {
        self.host = host
        self.port = port
        self.id = id
        self.domain = domain
    }

    static func read(_ node: Node, log: IssueLog) -> VideoPlatform? {
        guard var section = MappingReader(node, path: "video", log: log, what: "the GB/T 28181 platform") else { return nil }
        defer { section.finish(allowed: ["sip", "id", "domain", "play", "stop"]) }
        guard let address = section.string("sip", required: true, expected: "host:port of the platform's SIP server") else { return nil }
        guard let endpoint = PlatformProfile.MeterEndpoints.Endpoint(parsing: address) else {
            log.add("expected host:port, got '\(IssueLog.excerpt(address))'", at: section.value("sip"), path: "video.sip")
            return nil
        }
        var platform = VideoPlatform(host: endpoint.host, port: endpoint.port)
        if let id = section.string("id") {
            if id.count == 20, id.allSatisfy({ $0.isASCII && $0.isNumber }) { platform.id = id } else {
                log.add("id must be the platform's 20-digit GB/T 28181 id, got '\(IssueLog.excerpt(id))'", at: section.value("id"), path: "video.id")
            }
        }
        if let domain = section.string("domain") {
            if domain.count == 10, domain.allSatisfy({ $0.isASCII && $0.isNumber }) { platform.domain = domain } else {
                log.add("domain must be 10 digits (centre code and industry), got '\(IssueLog.excerpt(domain))'", at: section.value("domain"), path: "video.domain")
            }
        }
        platform.play = request("play", in: &section, method: "POST", log: log)
        platform.stop = request("stop", in: &section, method: "DELETE", log: log)
        return platform
    }

    private static func request(_ key: String, in section: inout MappingReader, method: String, log: IssueLog) -> PlatformProfile.CommandEndpoint? {
        guard let node = section.value(key), var reader = MappingReader(node, path: "video.\(key)", log: log, what: "a REST request") else { return nil }
        defer { reader.finish(allowed: ["method", "url", "body"]) }
        guard let url = reader.string("url", required: true, expected: "a URL template with {device}") else { return nil }
        return PlatformProfile.CommandEndpoint(method: reader.string("method") ?? method, url: url, body: reader.string("body") ?? "")
    }
}
