import CMosquitto
import Logging
import ParkEventLoop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The event loop of one I/O thread: epoll over its clients' sockets, its inbox, its timers, and
/// the keep-alive sweep. Created on the thread, used only there, gone when the thread ends; so are
/// the ``MQTTConnection``s it owns, which is why neither needs to be Sendable.
///
/// One pass: wait on epoll (until the earliest timer or sweep tick) → service ready sockets →
/// drain the inbox in one batch → fire due timers → admit clients waiting for the connect window →
/// call `mosquitto_loop_misc` for the slice of clients due this tick → destroy removed clients.
final class MQTTIOLoop {
    let thread: MQTTIOThread
    let core: MQTTPoolCore
    let logger: Logger
    let readBudget: Int
    let connectTimeout: UInt64
    /// Monotonic time of the current pass; good enough for deadlines, not for latencies.
    private(set) var now: UInt64
    private(set) var stopping = false
    var random = SplitMix64()

    private var connections: [MQTTConnection?] = []
    private var clientCount = 0
    private var timers = MQTTTimerQueue()
    private var windowWaiters: [Int] = []
    private var windowWaitersHead = 0
    private var pendingRemovals: [Int] = []
    private var inboxBuffer: [MQTTIOCommand] = []
    /// Clients that published outside a socket event; their epoll interest is checked once per batch.
    private var needsSync: [MQTTConnection] = []
    private var sweepCursor = 0
    private var sweepCredit = 0.0
    private var lastSweep: UInt64
    private var stopDeadline: UInt64 = 0

    init(thread: MQTTIOThread, core: MQTTPoolCore) {
        self.thread = thread
        self.core = core
        var logger = core.configuration.logger
        logger[metadataKey: "mqtt.io-thread"] = "\(thread.index)"
        self.logger = logger
        readBudget = core.configuration.readBudget
        delegate = core.delegate
        connectTimeout = core.configuration.connectTimeout.nanoseconds
        now = MonotonicClock.now()
        lastSweep = now
    }

    var counters: MQTTCounters { thread.counters }
    /// Read once from the pool, so events cost no lock; dropped when the thread ends.
    let delegate: (any MQTTClientPoolDelegate)?

    func run() {
        Self.blockSIGPIPE()
        Self.nameThread("mqtt-io-\(thread.index)")
        var events = EpollEvents(capacity: 1024)
        logger.debug("MQTT I/O thread started")
        while true {
            now = MonotonicClock.now()
            do {
                // An interrupted wait comes back empty and the pass runs as after a timeout.
                try thread.selector.wait(into: &events, timeoutMilliseconds: nextTimeout())
            } catch {
                logger.critical("epoll_wait failed; MQTT I/O thread stops", metadata: ["errno": "\(error.code)"])
                break
            }
            now = MonotonicClock.now()
            var woken = false
            for index in 0..<events.count {
                let event = events[index]
                if event.token == MQTTIOThread.wakeToken {
                    woken = true
                } else if let connection = connection(Int(event.token)) {
                    connection.handleEvents(event)
                }
            }
            if woken {
                thread.drainWakeFD()
                processInbox()
            }
            fireTimers()
            admitWindowWaiters()
            sweepKeepAlive()
            processRemovals()
            if stopping, now >= stopDeadline || !connections.contains(where: { $0?.isActive ?? false }) {
                break
            }
        }
        teardown()
        logger.debug("MQTT I/O thread stopped")
    }

    /// libmosquitto writes with `write(2)`, which raises SIGPIPE on a socket the broker reset. The
    /// signal is thread-directed, so blocking it here keeps it from killing the process without
    /// changing the process-wide disposition behind the host program's back; the write still fails
    /// with EPIPE and libmosquitto reports the lost connection.
    private static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Names the thread for `top -H`, gdb and /proc. (`pthread_setname_np` is a GNU extension that
    /// Swift's Glibc module does not export; /proc/thread-self/comm is the same thing.)
    private static func nameThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    private func nextTimeout() -> Int32 {
        var timeout = UInt64.max
        if let deadline = timers.nextDeadline { timeout = deadline > now ? deadline - now : 0 }
        if clientCount > 0 {
            // Visit every client about once a second, in slices small enough to stay smooth.
            let tick = min(max(1_000_000_000 / UInt64(clientCount), 10_000_000), 250_000_000)
            timeout = min(timeout, tick)
        }
        if stopping { timeout = min(timeout, 20_000_000) }
        guard timeout != .max else { return -1 }
        return Int32(clamping: (timeout + 999_999) / 1_000_000)
    }

    func connection(_ slot: Int) -> MQTTConnection? {
        slot < connections.count ? connections[slot] : nil
    }

    private func handle(forSlot slot: Int) -> MQTTClientHandle {
        MQTTClientHandle(index: slot * core.threads.count + thread.index, poolID: core.id)
    }

    // MARK: - Inbox

    private func processInbox() {
        var batch = inboxBuffer
        inboxBuffer = []
        thread.takeCommands(into: &batch)
        for index in batch.indices {
            execute(batch[index])
        }
        batch.removeAll(keepingCapacity: true)
        inboxBuffer = batch
        // A publish whose write would block stays queued in libmosquitto; EPOLLOUT must be armed
        // for it now, not at the client's next unrelated event.
        for connection in needsSync {
            connection.pendingSync = false
            connection.endBatch()
            sync(connection)
        }
        needsSync.removeAll(keepingCapacity: true)
    }

    /// Asks for `sync(connection)` after the current inbox batch (once, however many publishes).
    func markForSync(_ connection: MQTTConnection) {
        guard !connection.pendingSync else { return }
        connection.pendingSync = true
        needsSync.append(connection)
    }

    private func execute(_ command: MQTTIOCommand) {
        switch command {
        case .publish(let message):
            if let connection = connection(message.slot) {
                connection.publish(message)
            } else {
                counters.publishesFailed.increment()
                delegate?.mqttPublishDidComplete(
                    handle(forSlot: message.slot), tag: message.tag, outcome: .failed(.unknownClient))
            }
        case .add(let slot, let handle, let configuration, let connect):
            addConnection(slot: slot, handle: handle, configuration: configuration, connect: connect)
        case .connect(let slot):
            connection(slot)?.connectRequested()
        case .disconnect(let slot):
            connection(slot)?.disconnect()
        case .dropConnection(let slot, let reconnect):
            connection(slot)?.dropConnection(reconnect: reconnect)
        case .remove(let slot):
            connection(slot)?.remove()
        case .subscribe(let slot, let subscriptions):
            connection(slot)?.subscribe(subscriptions)
        case .unsubscribe(let slot, let filters):
            connection(slot)?.unsubscribe(filters)
        case .shutdown:
            beginStopping()
        }
    }

    private func addConnection(
        slot: Int, handle: MQTTClientHandle, configuration: MQTTClientConfiguration, connect: Bool
    ) {
        while connections.count <= slot { connections.append(nil) }
        do {
            let connection = try MQTTConnection(
                slot: slot, handle: handle, configuration: configuration, loop: self)
            connections[slot] = connection
            clientCount += 1
            if connect && !stopping { connection.connectRequested() }
        } catch {
            logger.error(
                "MQTT client could not be created",
                metadata: ["mqtt.client": "\(configuration.clientID)", "error": "\(error)"])
            delegate?.mqttClientDidFailToConnect(handle, error: error, failures: 0, retryIn: nil)
        }
    }

    private func beginStopping() {
        stopping = true
        stopDeadline = now &+ core.configuration.shutdownGracePeriod.nanoseconds
        timers.removeAll()
        for connection in connections {
            connection?.stopForShutdown()
        }
    }

    private func teardown() {
        processRemovals()
        for index in connections.indices {
            connections[index]?.destroy()
            connections[index] = nil
        }
        connections = []
        clientCount = 0
        windowWaiters = []
        windowWaitersHead = 0
        thread.hasConnectWaiters.store(false, ordering: .sequentiallyConsistent)
    }

    // MARK: - Removal

    /// Destroys a client after the current libmosquitto call has returned (never inside a callback).
    func scheduleRemoval(_ slot: Int) {
        pendingRemovals.append(slot)
    }

    private func processRemovals() {
        guard !pendingRemovals.isEmpty else { return }
        for slot in pendingRemovals {
            guard let connection = connection(slot) else { continue }
            connection.destroy()
            connections[slot] = nil
            clientCount -= 1
        }
        pendingRemovals.removeAll(keepingCapacity: true)
    }

    // MARK: - epoll registration

    /// Makes epoll's view match libmosquitto's socket for `connection`: registers a new socket,
    /// forgets a closed one, and arms EPOLLOUT only while libmosquitto has something to write
    /// (level-triggered EPOLLOUT on an idle socket would spin).
    ///
    /// libmosquitto opens and closes sockets itself. A socket it closed has already left the epoll
    /// set (closing the last descriptor of a file removes it), and its number may by now belong to
    /// another client, so a stale number is only forgotten, never passed to EPOLL_CTL_DEL.
    func sync(_ connection: MQTTConnection) {
        let fd = mosquitto_socket(connection.mosq)
        if fd != connection.registeredFD {
            connection.registeredFD = -1
            connection.interest = []
            guard fd >= 0, fd != connection.abandonedFD else { return }
            // libmosquitto opens its sockets without close-on-exec. A child process spawned while
            // one is open would keep it (and its epoll registration, token and all) alive after
            // libmosquitto closes it: its hang-up would then be reported as this client's
            // current socket's, failing every reconnect while that child lives.
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
            let wanted = interest(for: connection)
            do {
                try thread.selector.add(fd, interest: wanted, token: UInt64(connection.slot))
                connection.registeredFD = fd
                connection.interest = wanted
            } catch {
                logger.error(
                    "epoll_ctl(ADD) failed for an MQTT socket",
                    metadata: ["mqtt.client": "\(connection.configuration.clientID)", "errno": "\(error.code)"])
            }
        } else if fd >= 0 {
            let wanted = interest(for: connection)
            if wanted != connection.interest,
                (try? thread.selector.modify(fd, interest: wanted, token: UInt64(connection.slot))) != nil
            {
                connection.interest = wanted
            }
        }
    }

    /// Takes a socket that keeps reporting hang-up out of epoll (EPOLLHUP cannot be masked); it stays
    /// open in libmosquitto until the next connect attempt or `mosquitto_destroy` closes it.
    func unregister(_ fd: Int32) {
        try? thread.selector.remove(fd)
    }

    private func interest(for connection: MQTTConnection) -> EventInterest {
        mosquitto_want_write(connection.mosq) ? [.readable, .writable] : .readable
    }

    // MARK: - Timers

    func schedule(_ kind: MQTTTimerQueue.Kind, for connection: MQTTConnection, after nanoseconds: UInt64) {
        connection.timerSerial &+= 1
        timers.schedule(
            .init(deadline: now &+ nanoseconds, slot: connection.slot, serial: connection.timerSerial, kind: kind))
    }

    private func fireTimers() {
        while let entry = timers.popDue(now: now) {
            guard let connection = connection(entry.slot), connection.timerSerial == entry.serial else { continue }
            switch entry.kind {
            case .reconnect: connection.backoffElapsed()
            case .connectTimeout: connection.connectTimeoutElapsed()
            }
        }
    }

    // MARK: - Connect window

    /// Takes a window slot now, or queues `connection` for one; true if it may connect now.
    func acquireWindowSlot(for connection: MQTTConnection) -> Bool {
        if windowWaitersHead == windowWaiters.count && core.window.tryAcquire() { return true }
        windowWaiters.append(connection.slot)
        thread.hasConnectWaiters.store(true, ordering: .sequentiallyConsistent)
        return false
    }

    func releaseWindowSlot() {
        core.window.release()
        core.windowSlotFreed(by: thread)
    }

    private func admitWindowWaiters() {
        guard windowWaitersHead < windowWaiters.count else { return }
        while windowWaitersHead < windowWaiters.count {
            let slot = windowWaiters[windowWaitersHead]
            guard let connection = connection(slot), connection.state == .waitingForWindow else {
                windowWaitersHead += 1
                continue
            }
            guard core.window.tryAcquire() else { break }
            windowWaitersHead += 1
            connection.startAttempt()
        }
        if windowWaitersHead == windowWaiters.count {
            windowWaiters.removeAll(keepingCapacity: true)
            windowWaitersHead = 0
            thread.hasConnectWaiters.store(false, ordering: .sequentiallyConsistent)
        } else if windowWaitersHead > 4096 && windowWaitersHead * 2 > windowWaiters.count {
            windowWaiters.removeFirst(windowWaitersHead)
            windowWaitersHead = 0
        }
    }

    // MARK: - Keep-alive

    /// Calls `mosquitto_loop_misc` (PINGREQ when due, keep-alive timeout) for each client about once
    /// a second, a slice per pass, so 6,000 clients cost 60 calls every 10 ms rather than a burst.
    private func sweepKeepAlive() {
        let elapsed = now &- lastSweep
        lastSweep = now
        guard !connections.isEmpty else { return }
        sweepCredit += Double(connections.count) * Double(elapsed) / 1e9
        let due = sweepCredit.rounded(.down)
        sweepCredit -= due
        var budget = min(Int(due), connections.count)
        while budget > 0 {
            budget -= 1
            sweepCursor += 1
            if sweepCursor >= connections.count { sweepCursor = 0 }
            connections[sweepCursor]?.keepAlive()
        }
    }
}

/// What all of a pool's threads share; immutable after init except for atomics.
final class MQTTPoolCore: Sendable {
    let id: UInt32
    let configuration: MQTTClientPoolConfiguration
    let threads: [MQTTIOThread]
    let window: MQTTConnectWindow
    private let delegateStorage: Mutex<(any MQTTClientPoolDelegate)?>

    init(
        id: UInt32, configuration: MQTTClientPoolConfiguration, threads: [MQTTIOThread],
        delegate: (any MQTTClientPoolDelegate)?
    ) {
        self.id = id
        self.configuration = configuration
        self.threads = threads
        self.window = MQTTConnectWindow(limit: configuration.connectWindow)
        self.delegateStorage = Mutex(delegate)
    }

    /// The delegate, for an I/O thread starting up.
    var delegate: (any MQTTClientPoolDelegate)? { delegateStorage.withLock { $0 } }

    /// After the threads have ended: lets go of the delegate, which may itself hold the pool.
    func releaseDelegate() { delegateStorage.withLock { $0 = nil } }

    /// A slot came free on `thread`: wake the other threads that have clients waiting for one.
    /// (`thread` admits its own waiters at the end of its current pass.)
    func windowSlotFreed(by thread: MQTTIOThread) {
        for other in threads where other !== thread && other.hasConnectWaiters.load(ordering: .sequentiallyConsistent) {
            other.wake()
        }
    }
}
