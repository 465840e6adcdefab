import Foundation
import Synchronization

/// The ground truth of a run: every emission, every command a device received, every stimulus.
///
/// Checks compare what the system under test saw against this record. Memory is bounded: once
/// `memoryLimit` records are held, they are handed to a background writer that appends them
/// to the spill file as JSON Lines (see ``LedgerRecord/jsonLine``), so a long load test does
/// not grow without limit. ``records()`` reads both parts back in order.
///
/// Appending is thread-safe and cheap (a lock and an array append); encoding and file I/O
/// happen on the writer queue, off the device event loops.
public final class Ledger: Sendable {
    private struct State {
        var memory: [LedgerRecord] = []
        var nextOrder: UInt64 = 1
        var spilledCount: UInt64 = 0
        var writeError: String?
    }

    private let state = Mutex(State())
    private let writer = DispatchQueue(label: "parkbench.ledger.writer")
    /// Records kept in memory before a batch goes to the spill file.
    public let memoryLimit: Int
    /// The user's JSON Lines file that spilled records go to; nil when they go to an anonymous
    /// temporary file.
    public let spillURL: URL?
    /// Opened on the first spill; used only on the writer queue.
    private let spillHandle: Mutex<FileHandle?> = Mutex(nil)

    /// - Parameters:
    ///   - memoryLimit: how many records to keep in memory before spilling (at least 1).
    ///   - spillURL: where to write spilled records; a given file is truncated first and kept.
    ///     By default records spill to a temporary file that is unlinked as soon as it is open,
    ///     so it vanishes with the process however the process ends.
    public init(memoryLimit: Int = 65_536, spillURL: URL? = nil) {
        self.memoryLimit = max(1, memoryLimit)
        self.spillURL = spillURL
        if let spillURL { _ = FileManager.default.createFile(atPath: spillURL.path, contents: nil) }
    }

    deinit {
        writer.sync {}
        spillHandle.withLock { try? $0?.close() }
    }

    /// Appends `record`, assigning its ``LedgerRecord/order``; returns the order.
    @discardableResult
    public func append(_ record: LedgerRecord) -> UInt64 {
        state.withLock { state in
            var record = record
            record.order = state.nextOrder
            state.nextOrder += 1
            state.memory.append(record)
            if state.memory.count >= memoryLimit {
                let batch = state.memory
                state.memory.removeAll(keepingCapacity: true)
                state.spilledCount += UInt64(batch.count)
                // Enqueued under the lock so batches reach the file in ledger order.
                writer.async { self.write(batch) }
            }
            return record.order
        }
    }

    /// How many records were appended so far.
    public var count: UInt64 { state.withLock { $0.nextOrder - 1 } }

    /// Records held in memory right now (the rest are in the spill file).
    public var recordsInMemory: Int { state.withLock { $0.memory.count } }

    /// Hands the records held in memory to the background writer without waiting. Real-time runs
    /// call it every second: memory stays flat whatever the record rate, and a process that is
    /// killed loses at most the last second of its ledger file.
    public func spillHeldRecords() {
        state.withLock { state in
            guard !state.memory.isEmpty else { return }
            let batch = state.memory
            state.memory.removeAll(keepingCapacity: false)
            state.spilledCount += UInt64(batch.count)
            writer.async { self.write(batch) }
        }
    }

    /// Waits until every spilled batch is on disk.
    public func flushSpill() { writer.sync {} }

    /// Moves every record held in memory to the spill file and waits until it is written, so
    /// the file alone holds the whole ledger (as `simulate --ledger` wants at the end of a run).
    /// Later appends go on as before.
    public func flush() throws(LedgerError) {
        spillHeldRecords()
        flushSpill()
        if let error = state.withLock({ $0.writeError }) { throw LedgerError(message: error) }
    }

    /// Every record of the run, in order: the spill file read back, then memory.
    /// - Throws: ``LedgerError`` if the spill file could not be written or read.
    public func records() throws(LedgerError) -> [LedgerRecord] {
        let inMemory = state.withLock { $0.memory }
        // On the writer queue, so no batch is half-written while the file is read.
        let spilled: Result<Data, LedgerError> = writer.sync { readSpilled() }
        if let error = state.withLock({ $0.writeError }) { throw LedgerError(message: error) }
        return try Ledger.parse(try spilled.get(), source: spillURL?.path ?? "ledger spill file") + inMemory
    }

    /// Everything spilled so far. Runs on the writer queue.
    private func readSpilled() -> Result<Data, LedgerError> {
        spillHandle.withLock { handle in
            guard let handle else { return .success(Data()) }
            do {
                let end = try handle.offset()
                try handle.seek(toOffset: 0)
                let data = try handle.readToEnd() ?? Data()
                try handle.seek(toOffset: end)
                return .success(data)
            } catch {
                return .failure(LedgerError(message: "cannot read the ledger spill file back: \(error.localizedDescription)"))
            }
        }
    }

    /// Writes every record of the run to `url` as JSON Lines.
    public func export(to url: URL) throws(LedgerError) {
        let lines = try records().map(\.jsonLine)
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        do { try text.write(to: url, atomically: true, encoding: .utf8) } catch {
            throw LedgerError(message: "cannot write ledger to \(url.path): \(error.localizedDescription)")
        }
    }

    /// Reads a ledger file written by ``export(to:)`` or the spill writer.
    public static func read(jsonLinesAt url: URL) throws(LedgerError) -> [LedgerRecord] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LedgerError(message: "cannot read ledger \(url.path): \(error.localizedDescription)")
        }
        return try parse(data, source: url.path)
    }

    /// Parses JSON Lines; `source` names the file in messages.
    static func parse(_ data: Data, source: String) throws(LedgerError) -> [LedgerRecord] {
        let decoder = JSONDecoder()
        var records: [LedgerRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            do { records.append(try decoder.decode(LedgerRecord.self, from: Data(line))) } catch {
                throw LedgerError(message: "\(source):\(lineNumber): not a ledger record: \(error)")
            }
        }
        return records
    }

    private func write(_ batch: [LedgerRecord]) {
        var text = ""
        text.reserveCapacity(batch.count * 200)
        for record in batch {
            text += record.jsonLine
            text += "\n"
        }
        spillHandle.withLock { handle in
            do {
                if handle == nil { handle = try openSpillFile() }
                try handle?.write(contentsOf: Data(text.utf8))
            } catch {
                let message = "cannot spill ledger to \(spillURL?.path ?? "a temporary file"): \(error.localizedDescription)"
                state.withLock { if $0.writeError == nil { $0.writeError = message } }
            }
        }
    }

    private func openSpillFile() throws -> FileHandle {
        if let spillURL {
            let handle = try FileHandle(forUpdating: spillURL)
            try handle.seekToEnd()
            return handle
        }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("parkbench-ledger-\(getpid())-\(UInt64.random(in: 0 ... .max)).jsonl").path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw LedgerError(message: "cannot create \(path)")
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        unlink(path)
        return handle
    }
}

/// The ledger could not be written or read back.
public struct LedgerError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
