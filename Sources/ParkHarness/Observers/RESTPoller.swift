import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParkCore
import Synchronization

/// Polls a platform's REST endpoint (e.g. `GET /alarms`) and records each item it has not seen
/// before as an observation, stamped at the poll that first showed it — so a REST-observed
/// latency is only as fine as the poll interval, which the report's samples make plain.
public final class RESTPoller: Sendable {
    private let poll: PlatformProfile.RESTPoll
    private let log: ObservationLog
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let seen = Mutex<Set<String>>([])
    private let failures = Atomic<Int>(0)
    private let headers: [String: String]

    /// - Throws: ``HarnessError/configuration(_:)`` when a header's environment variable is not set.
    public init(_ poll: PlatformProfile.RESTPoll, log: ObservationLog) throws(HarnessError) {
        self.poll = poll
        self.log = log
        var headers: [String: String] = [:]
        for (header, variable) in poll.headerEnvironment {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw .configuration("observe.rest \(poll.url): headers_env.\(header) names \(variable), which is not set")
            }
            headers[header] = value
        }
        self.headers = headers
    }

    /// Polls once now (items already there are the baseline, not observations), then every interval.
    public func start() async {
        _ = await fetch(recordNew: false)
        let interval = poll.interval.nanoseconds
        let loop = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: interval)
                guard let self, !Task.isCancelled else { return }
                _ = await self.fetch(recordNew: true)
            }
        }
        task.withLock { $0 = loop }
    }

    public func stop() {
        task.withLock { $0?.cancel(); $0 = nil }
    }

    /// Polls that failed (connection refused, HTTP error, not JSON).
    public var failedPolls: Int { failures.load(ordering: .relaxed) }

    /// Pages one poll follows at most (`Link: <…>; rel="next"`, RFC 8288), so a platform that
    /// pages forever cannot hold a poll.
    static let maximumPages = 100

    /// One poll, every page of it; returns how many new items it recorded.
    @discardableResult
    func fetch(recordNew: Bool) async -> Int {
        guard var url = URL(string: poll.url) else { return 0 }
        var recorded = 0
        var visited: Set<URL> = []
        for _ in 0 ..< Self.maximumPages {
            visited.insert(url)
            guard let page = await fetchPage(url, recordNew: recordNew) else { break }
            recorded += page.recorded
            guard let next = page.next, !visited.contains(next) else { break }
            url = next
        }
        return recorded
    }

    /// One page: its new items recorded, and the next page's URL when the answer links one.
    private func fetchPage(_ url: URL, recordNew: Bool) async -> (recorded: Int, next: URL?)? {
        let source = "rest GET \(url.absoluteString)"
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        for (header, value) in headers { request.setValue(value, forHTTPHeaderField: header) }
        let data: Data
        let link: String?
        do {
            let (body, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard (200 ..< 300).contains(status) else {
                report(source, "HTTP \(status)")
                return nil
            }
            data = body
            link = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Link")
        } catch {
            report(source, "\(error.localizedDescription)")
            return nil
        }
        let arrived = SystemClock.wallNow().nanosecondsSinceEpoch
        guard let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let items = poll.items.value(in: json) as? [Any] else {
            report(source, "expected a JSON array at \(poll.items), got \(String(decoding: data.prefix(80), as: UTF8.self))")
            return nil
        }
        var recorded = 0
        for item in items {
            let key = (try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "\(item)"
            guard seen.withLock({ $0.insert(key).inserted }), recordNew else { continue }
            switch Observation.mapped(item, fields: poll.fields, kind: poll.kind, source: source, arrived: arrived) {
            case .success(let observation):
                log.append(observation)
                recorded += 1
            case .failure(let problem): log.report(problem)
            }
        }
        return (recorded, link.flatMap { Self.nextLink(in: $0, relativeTo: url) })
    }

    /// The `rel="next"` target of a `Link` header, resolved against the page's URL.
    static func nextLink(in header: String, relativeTo base: URL) -> URL? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">"),
                  pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "").lowercased() == "rel=next" })
            else { continue }
            return URL(string: String(target.dropFirst().dropLast()), relativeTo: base)?.absoluteURL
        }
        return nil
    }

    private func report(_ source: String, _ message: String) {
        failures.add(1, ordering: .relaxed)
        log.report(ObservationProblem(source: source, message: message))
    }
}
