import Foundation

/// A Python peer (a pymodbus server, a `dlt645` meter, …) run from a script text on a free
/// loopback port: the port is the script's first argument, and the peer is ready once it accepts
/// connections. Stopped by ``stop()``; its output lands in `<name>.log` for failure messages.
public final class PythonPeer {
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ChildProcess
    private let log: String

    /// Why the peer did not come up, with what it printed.
    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameter port: the port to serve on; nil picks a free one. A test that restarts a peer
    ///   on the port its clients know passes the first one's.
    public init(script: String, name: String, arguments: [String] = [], port: Int? = nil, timeout: TimeInterval = 30) throws {
        directory = try TemporaryDirectory()
        let file = directory.path("\(name).py")
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        self.port = try port ?? freeLoopbackPort()
        log = directory.path("\(name).log")
        process = try ChildProcess(try executablePath("python3"), [file, String(self.port)] + arguments, output: log)
        let deadline = Date().addingTimeInterval(timeout)
        while !loopbackPortAccepts(self.port) {
            guard process.isRunning, Date() < deadline else {
                process.stop()
                throw StartFailure(description: "the \(name) peer did not start on port \(self.port): "
                                   + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "no output"))
            }
            usleep(50_000)
        }
    }

    public func stop() { process.stop() }
}
