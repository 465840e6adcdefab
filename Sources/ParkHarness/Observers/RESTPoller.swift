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

    /// One poll; returns how many new items it recorded.
    @discardableResult
    func fetch(recordNew: Bool) async -> Int {
        let source = "rest GET \(poll.url)"
        guard let url = URL(string: poll.url) else { return 0 }
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        for (header, value) in headers { request.setValue(value, forHTTPHeaderField: header) }
        let data: Data
        do {
            let (body, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard (200 ..< 300).contains(status) else {
                report(source, "HTTP \(status)")
                return 0
            }
            data = body
        } catch {
            report(source, "\(error.localizedDescription)")
            return 0
        }
        let arrived = SystemClock.wallNow().nanosecondsSinceEpoch
        guard let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let items = poll.items.value(in: json) as? [Any] else {
            report(source, "expected a JSON array at \(poll.items), got \(String(decoding: data.prefix(80), as: UTF8.self))")
            return 0
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
        return recorded
    }

    private func report(_ source: String, _ message: String) {
        failures.add(1, ordering: .relaxed)
        log.report(ObservationProblem(source: source, message: message))
    }
}
