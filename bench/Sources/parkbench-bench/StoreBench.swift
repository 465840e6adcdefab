import Foundation
import ParkPlatform

/// `parkbench-bench store [--messages N] [--batch-ms M]`: how fast the reference platform's
/// SQLite writer (GRDB, batched transactions) takes device messages — the rate a platform can
/// ingest before its database, not MQTT, is what falls behind.
func runStoreBench(_ arguments: [String]) {
    var messages = 200_000
    var batchMilliseconds = 100
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : ""
        switch arguments[index] {
        case "--messages": messages = Int(value) ?? { fail("--messages takes a whole number") }()
        case "--batch-ms": batchMilliseconds = Int(value) ?? { fail("--batch-ms takes a whole number") }()
        default: fail("usage: parkbench-bench store [--messages N] [--batch-ms M]")
        }
        index += 2
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-store-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store: PlatformStore
    do { store = try PlatformStore(path: directory.appendingPathComponent("bench.sqlite").path, flushInterval: .milliseconds(Int64(batchMilliseconds))) } catch {
        fail("\(error)")
    }
    let started = Date()
    var appendSeconds = 0.0
    for n in 0 ..< messages {
        let before = Date()
        store.record(RecordedMessage(
            device: "dev-\(n % 1000)", kind: "environment-sensor", channel: "telemetry", name: "telemetry", sequence: n / 1000 + 1,
            messageID: "dev-\(n % 1000)#\(n / 1000 + 1)", deviceTimeNanoseconds: Int64(n), receivedNanoseconds: UInt64(n),
            values: ["pm25": 35.2, "pm10": 61.0, "temperature": 21.4]))
        appendSeconds += Date().timeIntervalSince(before)
    }
    store.close()
    let total = Date().timeIntervalSince(started)
    let rows = (try? store.counts()["messages"]) ?? 0
    print("store bench: \(messages) messages, \(batchMilliseconds) ms batches")
    print(String(format: "  rows written      %d (%@)", rows, rows == messages ? "all" : "MISSING \(messages - rows)"))
    print(String(format: "  ingest            %.0f messages/s end to end (%.2f s)", Double(messages) / total, total))
    print(String(format: "  receive-path cost %.2f µs per message (append to the batch)", appendSeconds / Double(messages) * 1e6))
}
