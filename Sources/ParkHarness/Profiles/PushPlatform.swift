import Foundation
import ParkProfiles
import Yams

/// Where a platform takes pushed events (`push:` in its profile): the URL the park's devices
/// whose model has an `http_push:` section POST their reads to, as vendors' plate cameras and
/// face terminals do.
///
/// ```yaml
/// push:
///   url: http://127.0.0.1:8080/push
/// ```
public struct PushPlatform: Sendable, Hashable {
    public var url: URL

    public init(url: URL) { self.url = url }

    static func read(_ node: Node, log: IssueLog) -> PushPlatform? {
        guard var section = MappingReader(node, path: "push", log: log, what: "the push endpoint") else { return nil }
        defer { section.finish(allowed: ["url"]) }
        guard let text = section.string("url", required: true, expected: "http://host:port/path the devices POST to") else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), let url = URL(string: text), url.host != nil else {
            log.add("expected http://host:port/path, got '\(IssueLog.excerpt(text))'", at: section.value("url"), path: "push.url")
            return nil
        }
        return PushPlatform(url: url)
    }
}
