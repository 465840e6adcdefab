@testable import ParkMQTT
import Testing

/// Pool pieces that need no broker.
@Suite("MQTT pool building blocks")
struct MQTTUnitTests {
    /// The ceiling doubles from `base` and stops at `cap`; each jitter mode stays inside its band.
    @Test func backoffStaysWithinItsBands() {
        let policy = MQTTReconnectPolicy(base: .milliseconds(200), cap: .seconds(3))
        #expect((1...6).map { policy.ceiling(afterFailures: $0) }
            == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(3), .seconds(3)])
        #expect(policy.ceiling(afterFailures: 1_000) == .seconds(3), "no overflow for long outages")

        var generator = SeededGenerator(state: 42)
        var fullDelays: [Duration] = []
        for failures in 1...8 {
            let ceiling = policy.ceiling(afterFailures: failures)
            for _ in 0..<200 {
                var full = policy
                full.jitter = .full
                let delay = full.delay(afterFailures: failures, using: &generator)
                #expect(delay >= .zero && delay <= ceiling)
                fullDelays.append(delay)
                var equal = policy
                equal.jitter = .equal
                let halfToFull = equal.delay(afterFailures: failures, using: &generator)
                #expect(halfToFull >= ceiling / 2 && halfToFull <= ceiling)
                var none = policy
                none.jitter = .none
                #expect(none.delay(afterFailures: failures, using: &generator) == ceiling)
            }
        }
        // Full jitter actually spreads: a thousand clients must not come back in lock step.
        #expect(Set(fullDelays).count > fullDelays.count * 9 / 10)
    }

    @Test func latencyHistogramPercentilesAreWithinABucket() {
        var histogram = MQTTLatencyHistogram()
        #expect(histogram.percentile(0.5) == nil)
        for microseconds in 1...10_000 { histogram.record(.microseconds(microseconds)) }
        #expect(histogram.count == 10_000)
        #expect(histogram.minimum == .microseconds(1))
        #expect(histogram.maximum == .microseconds(10_000))
        let p50 = histogram.percentile(0.5)!
        let p99 = histogram.percentile(0.99)!
        #expect(p50 >= .microseconds(5_000) && p50 <= .microseconds(5_000) * 1.125)
        #expect(p99 >= .microseconds(9_900) && p99 <= .microseconds(10_000))
        var merged = MQTTLatencyHistogram()
        merged.merge(histogram)
        merged.merge(histogram)
        #expect(merged.count == 20_000 && merged.percentile(0.5) == p50)
    }

    /// The refusal text says "not authorized" in words an operator searches for.
    @Test func refusalsExplainThemselves() {
        let refused = MQTTError.connectionRefused(reasonCode: 5, reason: "Connection Refused: not authorised.")
        #expect(refused.isAuthenticationFailure)
        #expect("\(refused)" == "not authorized: the broker refused the connection (CONNACK 5: Connection Refused: not authorised.)")
        #expect(MQTTError.connectionRefused(reasonCode: 135, reason: "Not authorized").isAuthenticationFailure)
        let identifier = MQTTError.connectionRefused(reasonCode: 2, reason: "Connection Refused: identifier rejected.")
        #expect(!identifier.isAuthenticationFailure)
        #expect(!"\(identifier)".contains("not authorized"))
    }

    /// Bad settings are rejected when the client is added, all at once, naming the client.
    @Test func invalidConfigurationsAreRejectedUpFront() throws {
        let pool = try MQTTClientPool()
        defer { pool.shutdown() }
        var configuration = MQTTClientConfiguration(clientID: "bad", port: 0, keepAlive: .seconds(2), session: .persistent())
        configuration.clientID = ""
        #expect {
            try pool.addClient(configuration)
        } throws: { error in
            guard case .invalidArgument(let text) = error as? MQTTError else { return false }
            return text.contains("port 0") && text.contains("keep-alive") && text.contains("persistent session")
        }
        #expect(throws: MQTTError.self) { try MQTTClientPool(configuration: .init(ioThreads: 0)) }
        #expect(pool.clientCount == 0)
    }
}

/// Deterministic generator so the jitter checks are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

