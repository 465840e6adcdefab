import Foundation

/// Runs a short-lived command-line tool (tshark, kamcmd) to its end and returns its standard
/// output; `name` is looked up on PATH unless it is a path. A tool that exits non-zero throws with what it wrote to standard error: tshark given a
/// display filter it cannot parse prints nothing on standard output, which would read as "no
/// packet matched" and pass a test that checked nothing.
public func toolOutput(_ name: String, _ arguments: [String]) throws -> String {
    let directory = try TemporaryDirectory()
    let errors = directory.path("stderr")
    guard FileManager.default.createFile(atPath: errors, contents: nil) else { throw BrokerError("cannot create \(errors)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: name.contains("/") ? name : try executablePath(name))
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle(forWritingAtPath: errors)
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        throw BrokerError("\(name) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(said)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Runs tshark (the independent dissector the capture tests compare against) and returns its output.
public func tshark(_ arguments: [String]) throws -> String { try toolOutput("tshark", arguments) }
