import ParkProfiles
import Yams

/// The OCPP side of a platform (`ocpp:` in its profile): the central system the park's EV
/// chargers connect to, each on its own WebSocket to `<url>/<device id>`.
///
/// ```yaml
/// ocpp:
///   url: ws://127.0.0.1:9000/ocpp   # the CSMS; chargers connect to <url>/<device id>
/// ```
///
/// A charger's basic-auth password (security profile 1) is its device secret from the run's
/// `--secrets-file`, when the run has one; never the profile.
public struct OCPPPlatform: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// The path before each charger's id, ending in `/`.
    public var pathPrefix: String

    public init(host: String, port: Int, pathPrefix: String = "/ocpp/") {
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix.hasSuffix("/") ? pathPrefix : pathPrefix + "/"
    }

    /// `ws://host[:port][/prefix]`; nil for anything else.
    public init?(url: String) {
        guard url.hasPrefix("ws://") else { return nil }
        let rest = url.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return nil }
        var port = 80
        if parts.count == 2 {
            guard let number = Int(parts[1]), (1...65_535).contains(number) else { return nil }
            port = number
        }
        let path = String(rest[slash...])
        guard !path.contains("?"), !path.contains("#") else { return nil }
        self.init(host: String(parts[0]), port: port, pathPrefix: path.isEmpty ? "/" : path)
    }

    /// The URL as a person would write it.
    public var url: String { "ws://\(host):\(port)\(pathPrefix.count > 1 ? String(pathPrefix.dropLast()) : "")" }

    static func read(_ node: Node, log: IssueLog) -> OCPPPlatform? {
        guard var section = MappingReader(node, path: "ocpp", log: log, what: "the OCPP central system") else { return nil }
        defer { section.finish(allowed: ["url"]) }
        guard let url = section.string("url", required: true, expected: "ws://host:port/path of the central system") else { return nil }
        guard let platform = OCPPPlatform(url: url) else {
            let why = url.hasPrefix("wss://") ? "wss:// (TLS, security profile 2) is not built yet; use ws://" : "expected ws://host:port/path"
            log.add("\(why), got '\(IssueLog.excerpt(url))'", at: section.value("url"), path: "ocpp.url")
            return nil
        }
        return platform
    }
}
