import Foundation
import GRDB

/// Every run, one row each, in a SQLite database (GRDB): what `parkbench report list`,
/// `show` and `compare` read. The run folder stays the full record; the history keeps the
/// figures needed to list and compare runs even after a folder is gone.
public final class RunHistory: Sendable {
    /// A run as the history lists it.
    public struct Run: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
        public static let databaseTableName = "runs"
        public var id: String
        public var startedAt: String
        public var suite: String
        public var platform: String
        public var park: String
        public var verdict: String
        public var checks: Int
        public var passed: Int
        public var failed: Int
        public var faults: String
        /// Absolute path of the run folder.
        public var folder: String
    }

    /// One check of a run, with the figures `compare` needs.
    public struct Check: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
        public static let databaseTableName = "check_results"
        public var runID: String
        public var checkID: String
        public var type: String
        public var source: String
        public var verdict: String
        public var summary: String
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
        public var max: Double?
        public var loss: Double?

        enum CodingKeys: String, CodingKey {
            case runID = "run_id", checkID = "check_id", type, source, verdict, summary, p50, p95, p99, max, loss
        }
    }

    private let database: DatabaseQueue
    public let path: String

    /// `$PARKBENCH_HISTORY`, else `~/.local/share/parkbench/history.sqlite`.
    public static var defaultPath: String {
        if let path = ProcessInfo.processInfo.environment["PARKBENCH_HISTORY"], !path.isEmpty { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/share/parkbench/history.sqlite")
    }

    /// Opens (creating it and its folder if needed) and migrates the history at `path`.
    public init(path: String = RunHistory.defaultPath) throws(RunHistoryError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            database = try DatabaseQueue(path: path)
            try Self.migrator.migrate(database)
        } catch {
            throw RunHistoryError("cannot open the run history \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { table in
                table.primaryKey("id", .text)
                table.column("startedAt", .text).notNull().indexed()
                table.column("suite", .text).notNull()
                table.column("platform", .text).notNull()
                table.column("park", .text).notNull()
                table.column("verdict", .text).notNull()
                table.column("checks", .integer).notNull()
                table.column("passed", .integer).notNull()
                table.column("failed", .integer).notNull()
                table.column("faults", .text).notNull()
                table.column("folder", .text).notNull()
            }
            try db.create(table: "check_results") { table in
                table.column("run_id", .text).notNull().references("runs", onDelete: .cascade)
                table.column("check_id", .text).notNull()
                table.column("type", .text).notNull()
                table.column("source", .text).notNull()
                table.column("verdict", .text).notNull()
                table.column("summary", .text).notNull()
                table.column("p50", .double)
                table.column("p95", .double)
                table.column("p99", .double)
                table.column("max", .double)
                table.column("loss", .double)
                table.primaryKey(["run_id", "check_id"])
            }
        }
        return migrator
    }

    /// Adds a run (replacing a row with the same id).
    public func record(_ report: RunReport, folder: String) throws(RunHistoryError) {
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        let run = Run(
            id: report.runID, startedAt: report.startedAt, suite: report.suite.name, platform: report.platform.name,
            park: report.park.name, verdict: report.verdict.rawValue, checks: report.checks.count,
            passed: report.checks.filter { $0.verdict == .pass }.count,
            failed: report.checks.filter { $0.verdict == .fail || $0.verdict == .error }.count,
            faults: report.faults.joined(separator: ","), folder: absolute)
        let checks = report.checks.map { check in
            Check(
                runID: report.runID, checkID: check.id, type: check.type, source: check.source, verdict: check.verdict.rawValue,
                summary: check.summary, p50: check.latency?.p50, p95: check.latency?.p95, p99: check.latency?.p99,
                max: check.latency?.max, loss: check.metrics["loss"]?.value)
        }
        do {
            try database.write { db in
                try Check.filter(Column("run_id") == report.runID).deleteAll(db)
                try run.save(db)
                for check in checks { try check.insert(db) }
            }
        } catch {
            throw RunHistoryError("cannot record run \(report.runID) in \(path): \(error)")
        }
    }

    /// The latest runs, newest first.
    public func runs(limit: Int = 20) throws(RunHistoryError) -> [Run] {
        do { return try database.read { try Run.order(Column("startedAt").desc, Column("id").desc).limit(limit).fetchAll($0) } } catch {
            throw RunHistoryError("cannot read \(path): \(error)")
        }
    }

    /// The run whose id is `id` or uniquely starts with it.
    public func run(_ id: String) throws(RunHistoryError) -> Run {
        let matches: [Run]
        do {
            matches = try database.read { db in
                if let exact = try Run.fetchOne(db, key: id) { return [exact] }
                return try Run.filter(Column("id").like(id.replacingOccurrences(of: "%", with: "") + "%")).limit(3).fetchAll(db)
            }
        } catch {
            throw RunHistoryError("cannot read \(path): \(error)")
        }
        guard let first = matches.first else { throw RunHistoryError("no run '\(id)' in the history \(path); `parkbench report list` shows the runs") }
        guard matches.count == 1 else {
            throw RunHistoryError("'\(id)' matches several runs (\(matches.map(\.id).joined(separator: ", "))); give more of the id")
        }
        return first
    }

    /// The checks of a run, in the order they ran.
    public func checks(of runID: String) throws(RunHistoryError) -> [Check] {
        do { return try database.read { try Check.filter(Column("run_id") == runID).order(Column("rowid")).fetchAll($0) } } catch {
            throw RunHistoryError("cannot read \(path): \(error)")
        }
    }
}

/// The history could not be opened, read or written.
public struct RunHistoryError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What changed between two runs of (usually) the same suite.
public struct RunComparison: Sendable {
    /// One check's two sides.
    public struct Row: Sendable, Hashable {
        public var checkID: String
        public var before: RunHistory.Check?
        public var after: RunHistory.Check?

        public var verdictChanged: Bool { before?.verdict != after?.verdict }
    }

    public var before: RunHistory.Run
    public var after: RunHistory.Run
    public var rows: [Row]

    public init(before: RunHistory.Run, beforeChecks: [RunHistory.Check], after: RunHistory.Run, afterChecks: [RunHistory.Check]) {
        self.before = before
        self.after = after
        var ids = beforeChecks.map(\.checkID)
        for id in afterChecks.map(\.checkID) where !ids.contains(id) { ids.append(id) }
        rows = ids.map { id in
            Row(checkID: id, before: beforeChecks.first { $0.checkID == id }, after: afterChecks.first { $0.checkID == id })
        }
    }

    /// `+12.3 ms (+8%)`, or nil when either side has no figure.
    public static func delta(_ before: Double?, _ after: Double?) -> String? {
        guard let before, let after else { return nil }
        let change = after - before
        var text = String(format: "%+.1f ms", change)
        if before > 0 { text += String(format: " (%+.0f%%)", change / before * 100) }
        return text
    }
}
