import Foundation
import Testing
@testable import ParkCore

/// The ground-truth ledger: ordering, bounded memory, and its file format.
@Suite struct LedgerTests {
    func record(_ device: String, _ sequence: UInt64, readings: [Reading] = []) -> LedgerRecord {
        LedgerRecord(
            time: ClockReading(monotonic: MonotonicInstant(nanoseconds: sequence * 1_000), wall: WallTime(nanosecondsSinceEpoch: 5)),
            deviceID: device, kind: "ticker", entry: .emission, channel: .event, name: "tick",
            deviceSequence: sequence, messageID: "\(device)#\(sequence)", readings: readings)
    }

    /// Past its memory limit the ledger spills to disk, keeps memory bounded, and still gives
    /// back every record in order.
    @Test func spillsToDiskAndReadsBackInOrder() throws {
        let ledger = Ledger(memoryLimit: 100)
        for sequence in 1...1_050 { ledger.append(record("d", UInt64(sequence))) }
        #expect(ledger.recordsInMemory == 50)
        let records = try ledger.records()
        #expect(records.count == 1_050)
        #expect(records.map(\.order) == Array(1...1_050))
        #expect(records.map(\.deviceSequence) == Array(1...1_050))
    }

    /// A ledger's own spill file is anonymous: nothing is left in the temporary directory, even
    /// while it holds records, so a process that exits without cleaning up leaks no files.
    @Test func anonymousSpillLeavesNoFiles() throws {
        func spillFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
                .filter { $0.hasPrefix("parkbench-ledger-\(getpid())-") }
        }
        let before = try spillFiles()
        let ledger = Ledger(memoryLimit: 10)
        for sequence in 1...35 { ledger.append(record("d", UInt64(sequence))) }
        ledger.flushSpill()
        #expect(try spillFiles() == before)
        #expect(try ledger.records().map(\.deviceSequence) == Array(1...35))
        ledger.append(record("d", 36))
        #expect(try ledger.records().count == 36, "reading back leaves the file ready for more")
    }

    /// With a file of the user's, records stream to it, and flush leaves the whole ledger there.
    @Test func flushLeavesTheWholeLedgerInTheUsersFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let ledger = Ledger(memoryLimit: 64, spillURL: url)
        for sequence in 1...150 { ledger.append(record("d", UInt64(sequence))) }
        ledger.flushSpill()
        #expect(try Ledger.read(jsonLinesAt: url).count == 128, "two full batches spilled so far")
        try ledger.flush()
        #expect(ledger.recordsInMemory == 0)
        #expect(try Ledger.read(jsonLinesAt: url).map(\.deviceSequence) == Array(1...150))
        ledger.append(record("d", 151))
        #expect(try ledger.records().count == 151)
    }

    /// Appends from many threads at once get unique, gap-free order numbers.
    @Test func concurrentAppendsGetUniqueOrders() async throws {
        let ledger = Ledger(memoryLimit: 1_000)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask { for sequence in 1...2_000 { ledger.append(self.record("d\(task)", UInt64(sequence))) } }
            }
        }
        let records = try ledger.records()
        #expect(records.count == 16_000)
        #expect(Set(records.map(\.order)).count == 16_000)
        for task in 0..<8 {
            #expect(records.filter { $0.deviceID == "d\(task)" }.map(\.deviceSequence) == Array(1...2_000))
        }
    }

    /// The hand-written JSON line decodes back to the same record, typed values and awkward
    /// strings included.
    @Test func jsonLinesRoundTrip() throws {
        var original = record("smoke \"A\"\n01", 7, readings: [
            Reading("density", .double(0.25), truth: .double(0.2)), Reading("count", .int(3)),
            Reading("ok", .bool(true)), Reading("code", .string("dirty\\chamber")), Reading("whole", .double(2)),
        ])
        original.order = 9
        original.detail = "accepted"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try (original.jsonLine + "\n").write(to: url, atomically: true, encoding: .utf8)
        let decoded = try Ledger.read(jsonLinesAt: url)
        #expect(decoded == [original])
        let object = try JSONSerialization.jsonObject(with: Data(original.jsonLine.utf8)) as? [String: Any]
        #expect(object?["msg_id"] as? String == "smoke \"A\"\n01#7")
    }

    /// A corrupt ledger file is reported with its line number, not a crash.
    @Test func corruptLedgerFileNamesTheLine() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try (record("d", 1).jsonLine + "\n{\"order\": oops\n").write(to: url, atomically: true, encoding: .utf8)
        #expect {
            try Ledger.read(jsonLinesAt: url)
        } throws: { error in
            (error as? LedgerError)?.message.contains("\(url.path):2: not a ledger record") == true
        }
    }
}
