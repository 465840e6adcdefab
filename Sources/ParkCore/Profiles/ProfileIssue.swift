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

/// Reading a profile file's text, with the one error every loader reports the same way.
package enum ProfileText {
    /// The file's UTF-8 text. - Throws: ``ProfileErrors`` with `file:1:1: cannot read file: …`.
    package static func read(_ file: String) throws(ProfileErrors) -> String {
        do { return try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ProfileErrors([ProfileIssue(file: file, line: 1, column: 1, keyPath: "", message: "cannot read file: \(error.localizedDescription)")])
        }
    }
}
