import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One problem in a user's file, with the place it is at.
///
/// Printed as `file:line:column: key.path: message`, the form editors and CI logs link to.
public struct ProfileIssue: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// Where in the document, e.g. `populations[1].parameters.heartbeat_interval`; empty at the top.
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(keyPath): \(message)"
    }
}

/// Every problem found in one or more files; loaders report them all at once, not one per run.
public struct ProfileErrors: Error, Sendable, CustomStringConvertible {
    public var issues: [ProfileIssue]

    public init(_ issues: [ProfileIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Reading a profile file's text, with the errors every loader reports the same way.
///
/// Every YAML file the tool reads comes through here, so the checks are in one place: only a
/// regular file is read (a FIFO would block the read forever, `/dev/zero` never ends), and
/// only up to ``maximumBytes`` — the YAML library holds several times a file's size in memory
/// while composing it, and no hand-written profile, park or suite comes near the limit.
package enum ProfileText {
    /// The default cap on a YAML file's size: 16 MiB. The largest shipped file is a few KiB; a
    /// park of 100,000 devices is a few lines (populations expand), and even one zone per line
    /// for 400,000 zones fits. Composing 16 MiB takes seconds and a few hundred MB; the 50 MB
    /// park of the hostile-input report took over a gigabyte.
    package static let defaultMaximumBytes = 16 << 20

    /// The environment variable that overrides ``defaultMaximumBytes`` (a whole number of bytes).
    package static let maximumBytesVariable = "PARKBENCH_MAX_FILE_BYTES"

    /// The cap in force: `PARKBENCH_MAX_FILE_BYTES` if set, else 16 MiB.
    /// - Throws: a message naming the variable when its value is not a positive whole number.
    package static func maximumBytes(
        for file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ProfileErrors) -> Int {
        try limit(maximumBytesVariable, default: defaultMaximumBytes, for: file, environment: environment)
    }

    /// A limit that an environment variable may override: its value if set, else `defaultValue`.
    /// - Throws: a message at `file` naming the variable when its value is not a positive whole
    ///   number, rather than falling back silently to the default the user meant to change.
    package static func limit(
        _ variable: String, default defaultValue: Int, for file: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ProfileErrors) -> Int {
        guard let text = environment[variable] else { return defaultValue }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
            throw ProfileErrors([ProfileIssue(
                file: file, line: 1, column: 1, keyPath: "",
                message: "\(variable) is '\(IssueLog.excerpt(text))'; expected a whole number greater than 0")])
        }
        return value
    }

    /// The file's UTF-8 text. - Throws: ``ProfileErrors`` with `file:1:1: cannot read file: …`
    /// (or the line and column of the first byte that is not UTF-8).
    package static func read(_ file: String, maximumBytes: Int? = nil) throws(ProfileErrors) -> String {
        func failure(_ message: String, line: Int = 1, column: Int = 1) -> ProfileErrors {
            ProfileErrors([ProfileIssue(file: file, line: line, column: column, keyPath: "", message: message)])
        }
        let limit: Int
        if let given = maximumBytes { limit = given } else { limit = try ProfileText.maximumBytes(for: file) }
        // stat before open: opening a FIFO for reading waits for a writer, and opening a device
        // can have side effects (a serial port raises DTR).
        var status = stat()
        guard stat(file, &status) == 0 else { throw failure("cannot read file: \(String(cString: strerror(errno)))") }
        if let what = notRegular(status) { throw failure("cannot read file: not a regular file (\(what))") }
        guard Int(status.st_size) <= limit else { throw failure(tooLarge(Int(status.st_size), limit: limit)) }

        // The path may have been replaced since the stat; O_NONBLOCK keeps even that from
        // blocking, and fstat judges what was actually opened.
        let fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fstat(fd, &status) == 0 else { throw failure("cannot read file: \(String(cString: strerror(errno)))") }
        if let what = notRegular(status) { throw failure("cannot read file: not a regular file (\(what))") }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw failure("cannot read file: \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            bytes += chunk[..<got]
            // The file may have grown since the stat.
            guard bytes.count <= limit else { throw failure(tooLarge(bytes.count, limit: limit, grew: true)) }
        }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let place = firstInvalidUTF8(in: bytes)
        throw failure("cannot read the file as UTF-8 text: byte \(place.offset) is not valid UTF-8", line: place.line, column: place.column)
    }

    private static func tooLarge(_ size: Int, limit: Int, grew: Bool = false) -> String {
        "cannot read file: it is \(grew ? "over " : "")\(size) bytes, more than the \(limit) bytes a YAML file may have "
            + "(set \(maximumBytesVariable) to allow more)"
    }

    /// What a non-regular file is, for the message; nil for a regular file.
    private static func notRegular(_ status: stat) -> String? {
        switch status.st_mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        default: "not a file that can be read as text"
        }
    }

    /// The byte offset, line and column (in Unicode scalars, as the YAML library counts) of the
    /// first byte sequence that is not UTF-8.
    private static func firstInvalidUTF8(in bytes: [UInt8]) -> (offset: Int, line: Int, column: Int) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0, line = 1, column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            case .error:
                return (offset, line, column)
            case .emptyInput:
                return (offset, line, column)
            }
        }
    }
}
