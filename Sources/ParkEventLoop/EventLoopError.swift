#if canImport(Glibc)
import Glibc
#endif

/// A system call of the event-loop runtime failed. Small on purpose: the protocol modules map it
/// to their own error types (``operation`` and ``code`` are all they need to say what happened).
public struct EventLoopError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, e.g. `epoll_ctl(ADD)`.
    public let operation: String
    /// Its errno (or, for pthread calls, the returned error number).
    public let code: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    /// Captures `errno` now, so it must be called right after the failing call.
    static func lastError(_ operation: String) -> EventLoopError {
        EventLoopError(operation, code: errno)
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
