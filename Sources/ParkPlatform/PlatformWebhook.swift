import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Synchronization

/// POSTs each alarm to a URL (a control room, a notification service, a harness listening),
/// with an optional shared-secret header whose value comes from the environment. A slow or dead
/// receiver never holds up alarms on MQTT or REST: deliveries run on their own, are retried
/// with backoff (0.5 s, 1 s, 2 s), and a failure is logged once per alarm, never the secret.
public final class PlatformWebhook: Sendable {
    public let url: URL
    public let header: String
    private let secret: String?
    private let failed = Atomic<Int>(0)
    private let delivered = Atomic<Int>(0)
    private let logger = Logger(label: "parkbench.platform.webhook")

    /// - Throws: ``PlatformError`` for a URL that is not http(s) or an unset secret variable.
    public init(url text: String, secretEnvironment: String? = nil, header: String = "X-ParkBench-Secret") throws(PlatformError) {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? "") else {
            throw PlatformError("--webhook expects an http:// or https:// URL, got '\(text)'")
        }
        self.url = url
        self.header = header
        if let secretEnvironment {
            guard let value = ProcessInfo.processInfo.environment[secretEnvironment], !value.isEmpty else {
                throw PlatformError("--webhook-secret-env names \(secretEnvironment), which is not set")
            }
            secret = value
        } else {
            secret = nil
        }
    }

    public var failures: Int { failed.load(ordering: .relaxed) }
    public var deliveries: Int { delivered.load(ordering: .relaxed) }

    /// Sends `body` in the background.
    func deliver(_ body: [UInt8]) {
        Task.detached { [self] in
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.timeoutInterval = 5
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let secret { request.setValue(secret, forHTTPHeaderField: header) }
            request.httpBody = Data(body)
            var lastProblem = ""
            for attempt in 0 ..< 4 {
                if attempt > 0 { try? await Task.sleep(nanoseconds: 250_000_000 << UInt64(attempt)) }
                do {
                    let (_, response) = try await URLSession.shared.data(for: request)
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    if (200 ..< 300).contains(status) {
                        delivered.add(1, ordering: .relaxed)
                        return
                    }
                    lastProblem = "HTTP \(status)"
                } catch {
                    lastProblem = error.localizedDescription
                }
            }
            failed.add(1, ordering: .relaxed)
            logger.warning("webhook delivery failed after 4 attempts", metadata: ["url": "\(url)", "problem": "\(lastProblem)"])
        }
    }
}
