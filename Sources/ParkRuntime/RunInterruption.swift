import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C and SIGTERM end a long run cleanly (ledger flushed, summary printed) instead of killing
/// it mid-write: the first look at `received` installs the handlers, and loops poll it.
public enum RunInterruption {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let installLock = Mutex(())
    private static let flag = Atomic<Bool>(false)

    /// True once SIGINT or SIGTERM has arrived.
    public static var received: Bool {
        install()
        return flag.load(ordering: .relaxed)
    }

    private static func install() {
        installLock.withLock { _ in
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { flag.store(true, ordering: .relaxed) }
                source.resume()
                sources.append(source)
            }
        }
    }
}

/// Diagnostics of a run (progress, warnings, a worker's errors) go to standard error, so that
/// standard output stays the run's result (text, JSON, or a worker's report lines).
public enum StandardError {
    /// Writes `line` and a newline to standard error.
    @Sendable public static func writeLine(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
