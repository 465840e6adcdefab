import Foundation
import ParkMQTT
import Synchronization
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

// parkbench-bench pool [--clients N] [--threads T]
//
// The client pool in one process (formerly the opt-in PARKMQTT_BENCH test): connect rate for N
// clients, then paced QoS 0/1 publish latency and the flat-out QoS 0 rate. Prints numbers; fails
// only when something was lost, so it stays meaningful on slower machines.
enum PoolBench {
    static func run(_ arguments: [String]) async throws {
        var clientCount = 2000, threads = 1
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next().flatMap({ Int($0) }), value > 0 else { fail("\(argument) needs a positive whole number") }
            switch argument {
            case "--clients": clientCount = value
            case "--threads": threads = value
            default: fail("unknown argument \(argument)")
            }
        }
        raiseOpenFileLimit()
        let broker = try MosquittoBroker()
        let meter = ThroughputMeter()
        let pool = try MQTTClientPool(configuration: .init(ioThreads: threads), delegate: meter)
        defer { pool.shutdown() }

        // Connect rate.
        let connectStart = ContinuousClock.now
        var clients: [MQTTClientHandle] = []
        for index in 0..<clientCount {
            clients.append(try pool.addClient(.init(clientID: "bench-\(index)", port: broker.port)))
        }
        try await waitUntil("\(clientCount) connected", timeout: .seconds(120)) {
            pool.statistics.connectedClients == clientCount
        }
        let connectTime = ContinuousClock.now - connectStart
        let connectStatistics = pool.statistics
        print(
            """
            connect: \(clientCount) clients on \(threads) I/O thread(s) in \(connectTime) \
            (\(Int(Double(clientCount) / connectTime.seconds)) /s); latency p50 \(connectStatistics.connectLatency.percentile(0.5)!) \
            p99 \(connectStatistics.connectLatency.percentile(0.99)!) max \(connectStatistics.connectLatency.maximum!); \
            attempts \(connectStatistics.connectsAttempted), failures \(connectStatistics.connectsFailed)
            """)
        expect(connectStatistics.connectsFailed == 0)

        let publishers = Array(clients.prefix(1000))
        let topics = publishers.indices.map { "bench/\($0)" }
        let payload = [UInt8](repeating: 0x5A, count: 64)

        // Paced QoS 0 at 50,000 messages/s for 5 s.
        let paced = try await publishPaced(
            pool, publishers, topics, payload, qos: .atMostOnce, rate: 50_000, duration: .seconds(5), meter: meter)
        print("QoS 0 paced: \(paced)")

        // QoS 1 at 20,000 messages/s for 3 s, with broker-ack latency.
        let acked = try await publishPaced(
            pool, publishers, topics, payload, qos: .atLeastOnce, rate: 20_000, duration: .seconds(3), meter: meter)
        print("QoS 1 paced: \(acked)")

        // QoS 0 flat out for 3 s (backing off only on queueFull).
        meter.reset()
        let before = pool.statistics.messagesPublished
        let cpuBefore = processCPUTime()
        let start = ContinuousClock.now
        var accepted = 0
        var rejected = 0
        var index = 0
        while ContinuousClock.now - start < .seconds(3) {
            for _ in 0..<1000 {
                do {
                    try pool.publish(publishers[index], topic: topics[index], payload: payload, tag: 0)
                    accepted += 1
                } catch {
                    guard case .queueFull = error else { throw error }
                    rejected += 1
                    sched_yield()
                }
                index = index + 1 == publishers.count ? 0 : index + 1
            }
        }
        try await waitUntil("flat-out backlog drained", timeout: .seconds(60)) {
            pool.statistics.messagesPublished - before == accepted
        }
        let drained = ContinuousClock.now - start
        let cpu = processCPUTime() - cpuBefore
        print(
            """
            QoS 0 flat out: \(accepted) accepted (\(rejected) queue-full retries) in \(drained): \
            \(Int(Double(accepted) / drained.seconds)) msgs/s; process CPU \(String(format: "%.0f", cpu / drained.seconds * 100)) %
            """)
        print("socket-pair bytes held by the kernel: \(unixSocketSendQueueBytes())")
        expect(pool.statistics.publishesFailed == 0)
    }

    private static func publishPaced(
        _ pool: MQTTClientPool, _ publishers: [MQTTClientHandle], _ topics: [String], _ payload: [UInt8],
        qos: MQTTQoS, rate: Int, duration: Duration, meter: ThroughputMeter
    ) async throws -> String {
        meter.reset()
        let target = Int(Double(rate) * duration.seconds)
        let before = pool.statistics
        let cpuBefore = processCPUTime()
        let start = ContinuousClock.now
        var sent = 0
        var index = 0
        var slowestCall: Duration = .zero
        while sent < target {
            let due = min(target, Int(Double(rate) * (ContinuousClock.now - start).seconds))
            while sent < due {
                let callStart = ContinuousClock.now
                try pool.publish(
                    publishers[index], topic: topics[index], payload: payload, qos: qos, tag: MonotonicNanoseconds.now())
                slowestCall = max(slowestCall, ContinuousClock.now - callStart)
                sent += 1
                index = index + 1 == publishers.count ? 0 : index + 1
            }
            usleep(200)
        }
        let publishTime = ContinuousClock.now - start
        try await waitUntil("all \(target) completed", timeout: .seconds(60)) { meter.completed.load(ordering: .relaxed) >= target }
        let cpu = processCPUTime() - cpuBefore
        let after = pool.statistics
        let latency = meter.latency.withLock { $0 }
        expect(after.publishesFailed == before.publishesFailed)
        expect(after.messagesPublished - before.messagesPublished == target)
        return """
            \(target) msgs in \(publishTime) (\(Int(Double(target) / publishTime.seconds)) msgs/s offered); \
            completion latency p50 \(latency.percentile(0.5)!) p99 \(latency.percentile(0.99)!) max \(latency.maximum!); \
            slowest publish() call \(slowestCall); process CPU \(String(format: "%.0f", cpu / publishTime.seconds * 100)) %
            """
    }
}

/// Counts completions and their latency (the tag carries the enqueue time) without per-message locks
/// beyond one short histogram update.
final class ThroughputMeter: MQTTClientPoolDelegate {
    let completed = Atomic<Int>(0)
    let latency = Mutex(MQTTLatencyHistogram())

    func reset() {
        completed.store(0, ordering: .relaxed)
        latency.withLock { $0 = MQTTLatencyHistogram() }
    }

    func mqttPublishDidComplete(_ client: MQTTClientHandle, tag: UInt64, outcome: MQTTPublishOutcome) {
        let elapsed = MonotonicNanoseconds.now() &- tag
        latency.withLock { $0.record(.nanoseconds(Int64(bitPattern: elapsed))) }
        completed.wrappingAdd(1, ordering: .relaxed)
    }
}

enum MonotonicNanoseconds {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

func processCPUTime() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Bytes sitting unread in this process's Unix-socket send queues (libmosquitto's wake-up socket
/// pairs, which nothing reads when its own loop is not used), from `ss`.
func unixSocketSendQueueBytes() -> String {
    guard let ss = try? executablePath("ss") else { return "ss not installed" }
    let directory = try? TemporaryDirectory()
    guard let directory, let process = try? ChildProcess(ss, ["-x", "-a", "-p", "-m"], output: directory.path("ss.txt")),
        process.waitForExit(timeout: .seconds(10)),
        let text = try? String(contentsOfFile: directory.path("ss.txt"), encoding: .utf8)
    else { return "ss failed" }
    let me = "pid=\(getpid()),"
    var sockets = 0
    var allocated = 0
    var lines = text.split(separator: "\n").makeIterator()
    while let line = lines.next() {
        guard line.contains(me) else { continue }
        sockets += 1
        if let memory = lines.next(), let range = memory.range(of: ",t") {
            let digits = memory[range.upperBound...].prefix { $0.isNumber }
            allocated += Int(digits) ?? 0
        }
    }
    return "\(sockets) unix sockets, \(allocated) bytes of send buffer allocated"
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// A bench's only assertions: nothing lost. Reports and exits rather than crashing.
func expect(_ condition: Bool, _ what: String = "", file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fail("\(file):\(line): expectation failed \(what)") }
}

/// Polls `condition` every millisecond until it holds; fails the bench after `timeout`.
func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { fail("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}
