import Foundation

/// One run's folder: `report.json`, `junit.xml` and `report.html`, written so a crash mid-write
/// never leaves a half file that looks whole (each is written to a temporary name, then renamed).
public struct RunFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var reportJSON: String { (path as NSString).appendingPathComponent("report.json") }
    public var junitXML: String { (path as NSString).appendingPathComponent("junit.xml") }
    public var reportHTML: String { (path as NSString).appendingPathComponent("report.html") }

    /// Writes the three files. - Throws: ``RunFolderError`` naming the file that failed.
    public func write(_ report: RunReport) throws(RunFolderError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw RunFolderError("cannot create the run folder \(path): \(error.localizedDescription)")
        }
        let json: Data
        do { json = try RunReport.makeEncoder().encode(report) } catch {
            throw RunFolderError("cannot encode the report: \(error)")
        }
        // report.json first: it is the record the others are rendered from.
        try atomicWrite(json, to: reportJSON)
        try atomicWrite(Data(JUnitWriter.xml(report).utf8), to: junitXML)
        try atomicWrite(Data(HTMLReportWriter.html(report).utf8), to: reportHTML)
    }

    /// Reads `report.json` back. - Throws: ``RunFolderError`` naming the file and the problem.
    public func read() throws(RunFolderError) -> RunReport {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: reportJSON)) } catch {
            throw RunFolderError("cannot read \(reportJSON): \(error.localizedDescription)")
        }
        do { return try RunReport.makeDecoder().decode(RunReport.self, from: data) } catch let error as DecodingError {
            throw RunFolderError("\(reportJSON) is not a ParkBench report: \(Self.describe(error))")
        } catch {
            throw RunFolderError("\(reportJSON) is not a ParkBench report: \(error)")
        }
    }

    private func atomicWrite(_ data: Data, to file: String) throws(RunFolderError) {
        let temporary = file + ".partial"
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
            try FileManager.default.moveItem(atPath: temporary, toPath: file)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw RunFolderError("cannot write \(file): \(error.localizedDescription)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(path(context).isEmpty ? "" : path(context) + ": ")\(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A run folder that could not be written or read.
public struct RunFolderError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
