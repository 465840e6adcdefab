import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One OS thread running one closure: what an event loop runs on. A pthread rather than a Swift
/// task because the loop blocks in `epoll_wait`, which must never hold a cooperative-pool thread.
public final class NativeThread: Sendable {
    private let handle = Mutex<pthread_t?>(nil)

    public init() {}

    /// The closure travels through `pthread_create`'s `void *` in this box.
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts the thread running `body`. Call once.
    public func start(_ body: @escaping @Sendable () -> Void) throws(EventLoopError) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        try handle.withLock { (handle) throws(EventLoopError) in
            precondition(handle == nil, "thread already started")
            var created = pthread_t()
            let rc = pthread_create(
                &created, nil,
                { argument in
                    Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
                    return nil
                }, box)
            guard rc == 0 else {
                Unmanaged<Body>.fromOpaque(box).release()
                throw EventLoopError("pthread_create", code: rc)
            }
            handle = created
        }
    }

    /// Waits for the thread to end. Idempotent, and a no-op if it never started; must not be called
    /// on the thread itself (see ``isCurrent``).
    public func join() {
        guard let joined = handle.withLock({ $0.take() }) else { return }
        pthread_join(joined, nil)
    }

    /// True when called on this thread (where ``join()`` would wait for itself).
    public var isCurrent: Bool {
        handle.withLock { handle in handle.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }
}
