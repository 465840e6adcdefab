import Dispatch
import Foundation
import GRDB
import ParkWire
import Synchronization

/// The reference platform's SQLite database (GRDB): every device message (events and
/// telemetry, with their values as JSON), status changes, alarms and commands.
///
/// The MQTT receive path only appends to an in-memory batch; a writer flushes the batch in one
/// transaction every `flushInterval` (and on close), so a slow disk delays rows, never messages.
public final class PlatformStore: Sendable {
    enum Row: Sendable {
        case message(RecordedMessage)
        case status(device: String, status: String, at: UInt64)
        case alarm(PlatformAlarm, raised: UInt64)
        case command(id: String, device: String, command: String, origin: String, sent: UInt64)
        case ack(id: String, accepted: Bool, at: UInt64)
    }

    public let path: String
    private let database: DatabaseQueue
    private let pending = Mutex<[Row]>([])
    private let timer: Mutex<(any DispatchSourceTimer)?> = Mutex(nil)
    private let written = Atomic<Int>(0)
    private let failures = Mutex<String?>(nil)

    /// Opens (and migrates) the database at `path` (`:memory:` for none on disk).
    public init(path: String, flushInterval: Duration = .milliseconds(100)) throws(PlatformError) {
        self.path = path
        do {
            database = path == ":memory:" ? try DatabaseQueue() : try DatabaseQueue(path: path)
            try Self.migrator.migrate(database)
        } catch {
            throw PlatformError("cannot open the platform database \(path): \(error)")
        }
        let milliseconds = Int(flushInterval.components.seconds * 1000 + flushInterval.components.attoseconds / 1_000_000_000_000_000)
        timer.withLock { slot in
            let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "parkbench.platform.store"))
            source.schedule(deadline: .now() + .milliseconds(milliseconds), repeating: .milliseconds(max(1, milliseconds)))
            source.setEventHandler { [weak self] in self?.flush() }
            source.resume()
            slot = source
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "messages") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("device", .text).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("name", .text)
                t.column("seq", .integer)
                t.column("msg_id", .text)
                t.column("device_ts_ns", .integer)
                t.column("received_ns", .integer).notNull()
                t.column("values_json", .text).notNull()
            }
            try db.create(table: "status_changes") { t in
                t.column("device", .text).notNull().indexed()
                t.column("status", .text).notNull()
                t.column("at_ns", .integer).notNull()
            }
            try db.create(table: "alarms") { t in
                t.primaryKey("alarm_id", .integer)
                t.column("device", .text).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("event", .text).notNull()
                t.column("msg_id", .text)
                t.column("received_ns", .integer).notNull()
                t.column("raised_ns", .integer).notNull()
            }
            try db.create(table: "commands") { t in
                t.primaryKey("id", .text)
                t.column("device", .text).notNull()
                t.column("command", .text).notNull()
                t.column("origin", .text).notNull()
                t.column("sent_ns", .integer).notNull()
                t.column("ack_accepted", .boolean)
                t.column("ack_ns", .integer)
            }
        }
        return migrator
    }

    func append(_ row: Row) { pending.withLock { $0.append(row) } }

    /// Keeps a device message (what the platform does for every one it receives).
    public func record(_ message: RecordedMessage) { append(.message(message)) }

    /// Rows written so far.
    public var rowsWritten: Int { written.load(ordering: .relaxed) }

    /// The last write error, if any (logged by the caller; rows are kept for the next try).
    public var lastError: String? { failures.withLock { $0 } }

    /// Writes what is pending, in one transaction.
    public func flush() {
        let batch = pending.withLock { rows -> [Row] in
            defer { rows.removeAll(keepingCapacity: true) }
            return rows
        }
        guard !batch.isEmpty else { return }
        do {
            try database.write { db in
                for row in batch { try Self.insert(row, db) }
            }
            written.add(batch.count, ordering: .relaxed)
        } catch {
            // Keep them for the next flush rather than lose a recorded result.
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
            failures.withLock { $0 = "\(error)" }
        }
    }

    /// Flushes and stops the writer.
    public func close() {
        timer.withLock { $0?.cancel(); $0 = nil }
        flush()
    }

    /// Row counts per table, for summaries and tests.
    public func counts() throws -> [String: Int] {
        try database.read { db in
            var result: [String: Int] = [:]
            for table in ["messages", "status_changes", "alarms", "commands"] {
                result[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return result
        }
    }

    private static func insert(_ row: Row, _ db: Database) throws {
        switch row {
        case .message(let message):
            // Values are flat name → number; writing them by hand is 5× cheaper than JSONSerialization.
            let values = "{" + message.values.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.number($0.value))" }
                .joined(separator: ",") + "}"
            // A cached statement: compiled once per connection, not once per row.
            let statement = try db.cachedStatement(
                sql: "INSERT INTO messages (device, kind, channel, name, seq, msg_id, device_ts_ns, received_ns, values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            try statement.execute(arguments: [
                message.device, message.kind, message.channel, message.name, message.sequence, message.messageID,
                message.deviceTimeNanoseconds, Int64(message.receivedNanoseconds), values,
            ])
        case .status(let device, let status, let at):
            try db.execute(sql: "INSERT INTO status_changes (device, status, at_ns) VALUES (?, ?, ?)", arguments: [device, status, Int64(at)])
        case .alarm(let alarm, let raised):
            try db.execute(
                sql: "INSERT OR REPLACE INTO alarms (alarm_id, device, kind, event, msg_id, received_ns, raised_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [alarm.id, alarm.device, alarm.kind, alarm.event, alarm.messageID, Int64(alarm.receivedNanoseconds), Int64(raised)])
        case .command(let id, let device, let command, let origin, let sent):
            try db.execute(
                sql: "INSERT OR REPLACE INTO commands (id, device, command, origin, sent_ns) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, device, command, origin, Int64(sent)])
        case .ack(let id, let accepted, let at):
            try db.execute(sql: "UPDATE commands SET ack_accepted = ?, ack_ns = ? WHERE id = ?", arguments: [accepted, Int64(at), id])
        }
    }
}
