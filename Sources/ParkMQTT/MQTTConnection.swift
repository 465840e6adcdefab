import CMosquitto
import Logging
import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// One client on its I/O thread: the libmosquitto handle, the connection state machine, and what
/// must outlive a single connection (subscriptions, messages held while offline, the caller tags of
/// unacknowledged publishes).
///
/// Thread-confined: created by its ``MQTTIOLoop`` on the I/O thread and touched only there, by the
/// loop and by libmosquitto's callbacks, which libmosquitto runs inside the loop's own calls.
///
/// States: `stopped` → (window slot) `connecting` → CONNACK → `connected` → lost → `backingOff` →
/// timer → `connecting` …; a full connect window parks an attempt in `waitingForWindow`;
/// `disconnect()` goes through `disconnecting` (DISCONNECT queued) to `stopped`.
final class MQTTConnection {
    enum State { case stopped, waitingForWindow, connecting, connected, backingOff, disconnecting }

    let slot: Int
    let handle: MQTTClientHandle
    let configuration: MQTTClientConfiguration
    unowned let loop: MQTTIOLoop
    let mosq: OpaquePointer

    private(set) var state: State = .stopped
    /// The socket epoll watches for us, or -1.
    var registeredFD: Int32 = -1
    var interest: EventInterest = []
    /// A socket we stopped watching because it hung up without libmosquitto noticing; it stays
    /// open in libmosquitto until the next attempt, and must not be registered again.
    var abandonedFD: Int32 = -1
    /// Bumped whenever a pending timer becomes meaningless; timers carry the value they were armed with.
    var timerSerial: UInt32 = 0
    /// Already queued for the loop's post-batch `sync`.
    var pendingSync = false
    /// Publishes sent in the current inbox batch; from the second on, the socket is corked.
    var publishesInBatch = 0
    /// TCP_CORK is on until the loop's post-batch sync.
    var corked = false
    /// Counts libmosquitto callbacks, to tell a socket that makes progress from one that only hangs up.
    var callbackCount = 0
    /// libmosquitto's last error or warning during the current attempt: the only place it says *why*
    /// TLS failed ("OpenSSL Error[0]: …certificate verify failed").
    var libraryDiagnostic: String?
    /// libmosquitto formats a log line (a malloc and vsnprintf) for every packet once a log callback
    /// is set, so it is installed only during connect attempts, or always when tracing.
    let forwardsLibraryLog: Bool

    private var holdsWindowSlot = false
    private var failures = 0
    private var attemptStartedAt: UInt64 = 0
    private var connectedAt: UInt64 = 0
    private var hasConnectedBefore = false
    private var countedAsConnected = false
    private var refusal: MQTTError?
    private var timedOut = false
    private var droppedOnRequest = false
    private var reconnectAfterDrop = true
    private var removeWhenStopped = false
    private var subscriptions: [MQTTSubscription]
    /// Changes made while offline that a surviving (persistent) session does not know about yet.
    private var subscribesWhileOffline: [MQTTSubscription] = []
    private var unsubscribesWhileOffline: [String] = []
    private var pendingSubscribes: [Int32: MQTTSubscription] = [:]
    private var unacknowledged: [Int32: UInt64] = [:]
    private var offline: [MQTTOutgoingMessage] = []
    /// A CONNACK arrived: ``offline`` goes out after libmosquitto's own resends (see `didReceiveConnack`).
    private var offlineFlushPending = false

    private var counters: MQTTCounters { loop.counters }
    private var isV5: Bool { configuration.protocolVersion == .v5 }

    init(slot: Int, handle: MQTTClientHandle, configuration: MQTTClientConfiguration, loop: MQTTIOLoop)
        throws(MQTTError)
    {
        LibMosquitto.initializeOnce()
        let created = withOptionalCString(configuration.clientID.isEmpty ? nil : configuration.clientID) {
            mosquitto_new($0, configuration.session.isClean, nil)
        }
        guard let mosq = created else {
            let code = errno
            throw .system(errno: code, message: "mosquitto_new: \(String(cString: strerror(code)))")
        }
        self.slot = slot
        self.handle = handle
        self.configuration = configuration
        self.loop = loop
        self.mosq = mosq
        self.subscriptions = configuration.subscriptions
        self.forwardsLibraryLog = loop.logger.logLevel <= .trace
        do {
            try configureLibraryOptions()
        } catch {
            mosquitto_destroy(mosq)
            throw error
        }
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        installCallbacks()
    }

    /// Everything that must be set before the first connect; a failure here is a configuration error.
    private func configureLibraryOptions() throws(MQTTError) {
        let c = configuration
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, c.protocolVersion.mosquittoValue))
        if c.tcpNoDelay { try check(mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)) }
        if let inflight = c.maxInflightMessages {
            try check(mosquitto_max_inflight_messages_set(mosq, UInt32(inflight)))
        }
        if let credentials = c.credentials {
            try check(
                withOptionalCString(credentials.password) {
                    mosquitto_username_pw_set(mosq, credentials.username, $0)
                })
        }
        if let will = c.will {
            try check(
                will.payload.withUnsafeBytes {
                    mosquitto_will_set(mosq, will.topic, Int32($0.count), $0.baseAddress, will.qos.rawValue, will.retain)
                })
        }
        if let tls = c.tls {
            let rc = withOptionalCString(tls.caFile) { caFile in
                withOptionalCString(tls.caDirectory) { caDirectory in
                    withOptionalCString(tls.certificateFile) { certificate in
                        withOptionalCString(tls.privateKeyFile) { key in
                            mosquitto_tls_set(mosq, caFile, caDirectory, certificate, key, nil)
                        }
                    }
                }
            }
            try check(rc)
            try check(mosquitto_tls_insecure_set(mosq, !tls.verifyHostname))
            if let version = tls.version {
                try check(mosquitto_tls_opts_set(mosq, 1 /* SSL_VERIFY_PEER */, version, nil))
            }
        }
    }

    private func check(_ rc: Int32) throws(MQTTError) {
        let code = errno
        if let error = MQTTError(mosquittoReturnCode: rc, errno: code) { throw error }
    }

    /// Has a socket or is about to: shutdown waits for these to finish.
    var isActive: Bool { state != .stopped }

    // MARK: - Connecting

    /// Starts connecting if stopped; cuts a backoff short.
    func connectRequested() {
        switch state {
        case .stopped:
            failures = 0
            reconnectAfterDrop = true
            removeWhenStopped = false
            beginAttempt()
        case .backingOff:
            cancelTimer()
            beginAttempt()
        case .waitingForWindow, .connecting, .connected, .disconnecting:
            break
        }
    }

    func backoffElapsed() {
        guard state == .backingOff else { return }
        beginAttempt()
    }

    private func beginAttempt() {
        guard !loop.stopping else { return becomeStopped() }
        if loop.acquireWindowSlot(for: self) {
            startAttempt()
        } else {
            state = .waitingForWindow
        }
    }

    /// Starts the TCP connect; the caller has taken a connect-window slot for this attempt.
    func startAttempt() {
        holdsWindowSlot = true
        state = .connecting
        attemptStartedAt = MonotonicClock.now()
        refusal = nil
        timedOut = false
        droppedOnRequest = false
        counters.connectsAttempted.increment()
        // libmosquitto closes any previous socket itself; closing also drops its epoll registration.
        registeredFD = -1
        interest = []
        abandonedFD = -1
        libraryDiagnostic = nil
        setLibraryLog(enabled: true)
        let rc = connectCall()
        let code = errno
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            return attemptFailed(
                MQTTError(mosquittoReturnCode: rc, errno: code) ?? .connectionLost("connect failed"))
        }
        limitWakeSocketPair()
        loop.sync(self)
        loop.schedule(.connectTimeout, for: self, after: loop.connectTimeout)
    }

    private func connectCall() -> Int32 {
        let c = configuration
        return withOptionalCString(c.bindAddress) { bindAddress in
            if c.protocolVersion == .v5, case .persistent(let expiry) = c.session {
                // Session expiry is a CONNECT property, which libmosquitto 2.0 takes only in the
                // blocking connect (see MQTTSessionMode.persistent).
                var properties: OpaquePointer? = nil
                defer { mosquitto_property_free_all(&properties) }
                let seconds = UInt32(clamping: expiry.components.seconds)
                _ = mosquitto_property_add_int32(&properties, 17 /* MQTT_PROP_SESSION_EXPIRY_INTERVAL */, seconds)
                return mosquitto_connect_bind_v5(mosq, c.host, Int32(c.port), c.keepAliveSeconds, bindAddress, properties)
            }
            return mosquitto_connect_bind_async(mosq, c.host, Int32(c.port), c.keepAliveSeconds, bindAddress)
        }
    }

    func connectTimeoutElapsed() {
        guard state == .connecting else { return }
        timedOut = true
        if registeredFD >= 0 {
            // libmosquitto has no "abort"; a shut-down socket makes its next read fail, and the failure
            // comes back through on_disconnect like any other.
            shutdown(registeredFD, Int32(SHUT_RDWR))
        } else {
            attemptFailed(timeoutError)
        }
    }

    private var timeoutError: MQTTError {
        .connectTimeout(milliseconds: Int(loop.connectTimeout / 1_000_000))
    }

    private func attemptFailed(_ plainError: MQTTError) {
        let error = plainError.adding(diagnostic: libraryDiagnostic)
        libraryDiagnostic = nil
        releaseWindowSlot()
        cancelTimer()
        counters.connectsFailed.increment()
        if case .connectionRefused(let code, _) = error, code >= 0 { counters.connectsRefused.increment() }
        failures += 1
        let retry = retryDelay(after: error)
        if let retry {
            state = .backingOff
            loop.schedule(.reconnect, for: self, after: retry.nanoseconds)
        } else {
            becomeStopped()
        }
        // The first failure of a streak is a warning; retries that fail the same way are debug
        // noise (a park of thousands against a dead broker would print megabytes a minute).
        if !loop.stopping {
            loop.logger.log(
                level: failures == 1 || retry == nil ? .warning : .debug,
                "MQTT connect failed",
                metadata: [
                    "mqtt.client": "\(configuration.clientID)", "error": "\(error)", "failures": "\(failures)",
                    "retry-in": "\(retry.map { "\($0)" } ?? "never")",
                ])
        }
        loop.delegate?.mqttClientDidFailToConnect(handle, error: error, failures: failures, retryIn: retry)
    }

    private func retryDelay(after error: MQTTError) -> Duration? {
        guard !loop.stopping, reconnectAfterDrop else { return nil }
        if error.isAuthenticationFailure && configuration.reconnect.onAuthenticationFailure == .stop { return nil }
        return configuration.reconnect.delay(afterFailures: failures, using: &loop.random)
    }

    // MARK: - libmosquitto callbacks (see MQTTConnection+Callbacks.swift)

    func didReceiveConnack(code: Int32, flags: Int32) {
        guard state == .connecting else { return }
        guard code == 0 else {
            // The disconnect that libmosquitto reports next carries only MOSQ_ERR_CONN_REFUSED.
            refusal = MQTTError.connectRefused(code: code, protocolVersion: configuration.protocolVersion)
            return
        }
        let connectedNow = MonotonicClock.now()
        cancelTimer()
        releaseWindowSlot()
        state = .connected
        setLibraryLog(enabled: false)
        libraryDiagnostic = nil
        connectedAt = connectedNow
        countedAsConnected = true
        counters.connected.increment()
        counters.connectsSucceeded.increment()
        counters.lastConnectedAt.store(connectedNow, ordering: .relaxed)
        if hasConnectedBefore { counters.reconnects.increment() }
        hasConnectedBefore = true
        let latency = connectedNow &- attemptStartedAt
        counters.connectLatency.withLock { $0.record(nanoseconds: latency) }
        let sessionPresent = flags & 1 != 0
        loop.logger.debug(
            "MQTT client connected",
            metadata: ["mqtt.client": "\(configuration.clientID)", "session-present": "\(sessionPresent)"])
        loop.delegate?.mqttClientDidConnect(
            handle, sessionPresent: sessionPresent, latency: .nanoseconds(Int64(clamping: latency)))
        if sessionPresent {
            sendUnsubscribe(unsubscribesWhileOffline)
            sendSubscribe(subscribesWhileOffline)
        } else {
            sendSubscribe(subscriptions)
        }
        subscribesWhileOffline = []
        unsubscribesWhileOffline = []
        // Not yet: libmosquitto resends the QoS 1/2 messages the lost connection left unacknowledged
        // only after this callback returns. Sent now, the held messages would overtake those older
        // ones; they go once the read that carried the CONNACK is done (``readAvailable()``).
        offlineFlushPending = true
    }

    func didDisconnect(code: Int32, errno errnoValue: Int32) {
        switch state {
        case .connecting:
            let error =
                refusal ?? (timedOut ? timeoutError : nil)
                ?? (droppedOnRequest ? .connectionLost("dropped on request") : nil)
                ?? disconnectError(code: code, errno: errnoValue) ?? .connectionLost("closed before CONNACK")
            attemptFailed(error)
        case .connected:
            connectionLost(
                droppedOnRequest
                    ? .connectionLost("dropped on request, without DISCONNECT")
                    : disconnectError(code: code, errno: errnoValue) ?? .connectionLost("closed by the broker"))
        case .disconnecting:
            becomeStopped()
            loop.delegate?.mqttClientDidDisconnect(handle, error: nil, retryIn: nil)
        case .stopped, .waitingForWindow, .backingOff:
            break  // Already handled (a synthetic report, or a socket given up on).
        }
    }

    private func disconnectError(code: Int32, errno: Int32) -> MQTTError? {
        code >= 128 ? .serverDisconnected(code: code) : MQTTError(mosquittoReturnCode: code, errno: errno)
    }

    private func connectionLost(_ error: MQTTError) {
        uncountConnected()
        counters.connectionsLost.increment()
        let lived = MonotonicClock.now() &- connectedAt
        if lived >= configuration.reconnect.resetAfter.nanoseconds { failures = 0 }
        failures += 1
        let retry = retryDelay(after: error)
        if let retry {
            state = .backingOff
            loop.schedule(.reconnect, for: self, after: retry.nanoseconds)
        } else {
            becomeStopped()
        }
        if !loop.stopping {
            loop.logger.info(
                "MQTT connection lost",
                metadata: [
                    "mqtt.client": "\(configuration.clientID)", "error": "\(error)",
                    "retry-in": "\(retry.map { "\($0)" } ?? "never")",
                ])
        }
        loop.delegate?.mqttClientDidDisconnect(handle, error: error, retryIn: retry)
    }

    func didPublish(messageID: Int32, reasonCode: Int32) {
        // QoS 0 messages were reported when handed over; their on_publish has no entry here.
        guard let tag = unacknowledged.removeValue(forKey: messageID) else { return }
        if reasonCode >= 128 {
            counters.publishesFailed.increment()
            loop.delegate?.mqttPublishDidComplete(
                handle, tag: tag, outcome: .failed(MQTTError.publishRejected(code: reasonCode)))
        } else {
            counters.messagesAcknowledged.increment()
            loop.delegate?.mqttPublishDidComplete(handle, tag: tag, outcome: .acknowledged(messageID: messageID))
        }
    }

    func didReceive(_ message: UnsafePointer<mosquitto_message>) {
        let message = message.pointee
        counters.messagesReceived.increment()
        counters.bytesReceived.increment(by: Int(message.payloadlen))
        guard let delegate = loop.delegate else { return }
        let payload =
            message.payloadlen > 0
            ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
        delegate.mqttClientDidReceive(
            handle,
            message: MQTTMessage(
                topic: String(cString: message.topic), payload: payload,
                qos: MQTTQoS(rawValue: message.qos) ?? .atMostOnce, retain: message.retain,
                messageID: message.mid))
    }

    func didSubscribe(messageID: Int32, granted: UnsafeBufferPointer<Int32>) {
        guard let subscription = pendingSubscribes.removeValue(forKey: messageID) else { return }
        let grantedQoS = Array(granted)
        if let code = grantedQoS.first, code >= 128 {
            loop.logger.warning(
                "MQTT subscription refused",
                metadata: [
                    "mqtt.client": "\(configuration.clientID)", "filter": "\(subscription.filter)",
                    "reason": "\(code)",
                ])
        }
        loop.delegate?.mqttClientDidSubscribe(handle, subscriptions: [subscription], grantedQoS: grantedQoS)
    }

    // MARK: - Socket events

    func handleEvents(_ events: Readiness) {
        let fd = registeredFD
        guard fd >= 0 else { return }
        let callbacksBefore = callbackCount
        var drained = true
        if events.readable || events.failed {
            drained = readAvailable()
        }
        if events.writable, mosquitto_socket(mosq) == fd {
            let rc = mosquitto_loop_write(mosq, 1)
            let code = errno
            noticeFailure(rc: rc, errno: code)
            // While TLS is still handshaking, libmosquitto advances the handshake in loop_read
            // (its `want_connect` path), also when the handshake was waiting to write.
            if state == .connecting, mosquitto_socket(mosq) == fd { _ = readAvailable() }
        }
        loop.sync(self)
        if events.failed, registeredFD == fd,
            drained || callbackCount == callbacksBefore
        {
            abandonSocket(fd)
        }
    }

    /// Reads until the socket has nothing more (or the fairness budget is spent); true if drained.
    ///
    /// `mosquitto_loop_read` handles about one packet per call and reports "would block" only through
    /// errno, so errno is cleared before each call and EAGAIN after it means the socket is empty.
    private func readAvailable() -> Bool {
        let fd = registeredFD
        for _ in 0..<loop.readBudget {
            errno = 0
            let rc = mosquitto_loop_read(mosq, 1)
            let code = errno
            if offlineFlushPending {
                offlineFlushPending = false
                if state == .connected { flushOffline() }
            }
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                noticeFailure(rc: rc, errno: code)
                return true
            }
            if mosquitto_socket(mosq) != fd || code == EAGAIN || code == EWOULDBLOCK { return true }
        }
        return false
    }

    /// Some libmosquitto paths (a failed TLS handshake) close the socket without calling
    /// on_disconnect; report those ourselves. `didDisconnect` ignores a second report.
    private func noticeFailure(rc: Int32, errno code: Int32) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue, mosquitto_socket(mosq) < 0 else { return }
        didDisconnect(code: rc, errno: code)
    }

    /// The socket hangs up but libmosquitto does not close it (it can wait for a TLS handshake that
    /// will never finish): stop watching it and treat the connection as lost.
    private func abandonSocket(_ fd: Int32) {
        loop.unregister(fd)
        registeredFD = -1
        interest = []
        abandonedFD = fd
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
        let error: MQTTError =
            socketError != 0
            ? .system(errno: socketError, message: String(cString: strerror(socketError)))
            : .connectionLost("the socket hung up")
        loop.logger.warning(
            "MQTT socket hung up without libmosquitto closing it; no longer watched",
            metadata: ["mqtt.client": "\(configuration.clientID)", "error": "\(error)"])
        switch state {
        case .connecting: attemptFailed(timedOut ? timeoutError : error)
        case .connected: connectionLost(error)
        case .disconnecting: becomeStopped()
        case .stopped, .waitingForWindow, .backingOff: break
        }
    }

    func keepAlive() {
        guard registeredFD >= 0 else { return }
        let rc = mosquitto_loop_misc(mosq)
        let code = errno
        noticeFailure(rc: rc, errno: code)
        loop.sync(self)
    }

    // MARK: - Publishing

    func publish(_ message: MQTTOutgoingMessage) {
        switch state {
        case .connected:
            send(message)
        case .connecting, .backingOff, .waitingForWindow:
            if offline.count < configuration.offlineQueueLimit {
                offline.append(message)
            } else {
                fail(message, .offlineQueueFull(limit: configuration.offlineQueueLimit))
            }
        case .stopped, .disconnecting:
            fail(message, .clientStopped)
        }
    }

    private func send(_ message: MQTTOutgoingMessage) {
        // Marked first, so the batch's end (uncork, EPOLLOUT) comes whatever this publish does.
        loop.markForSync(self)
        publishesInBatch += 1
        if publishesInBatch == 2 { cork() }
        var messageID: Int32 = 0
        let rc = message.topic.withCString { topic in
            message.payload.withUnsafeBytes { payload in
                isV5
                    ? mosquitto_publish_v5(
                        mosq, &messageID, topic, Int32(payload.count), payload.baseAddress, message.qos.rawValue,
                        message.retain, nil)
                    : mosquitto_publish(
                        mosq, &messageID, topic, Int32(payload.count), payload.baseAddress, message.qos.rawValue,
                        message.retain)
            }
        }
        let code = errno
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            // A QoS 1/2 message that passed validation is in libmosquitto's outgoing queue even when
            // the write then failed (no socket, reset); libmosquitto resends it after the next CONNACK.
            let queuedAnyway: Bool
            switch mosq_err_t(rawValue: rc) {
            case MOSQ_ERR_NO_CONN, MOSQ_ERR_CONN_LOST, MOSQ_ERR_ERRNO: queuedAnyway = message.qos != .atMostOnce
            default: queuedAnyway = false
            }
            guard queuedAnyway else {
                return fail(message, MQTTError(mosquittoReturnCode: rc, errno: code) ?? .notConnected)
            }
        }
        counters.messagesPublished.increment()
        counters.bytesPublished.increment(by: message.payload.count)
        if message.qos == .atMostOnce {
            loop.delegate?.mqttPublishDidComplete(handle, tag: message.tag, outcome: .sent(messageID: messageID))
        } else {
            unacknowledged[messageID] = message.tag
        }
    }

    /// Holds this client's writes in the kernel until ``uncork()``: each libmosquitto publish is
    /// still its own send(), but a batch leaves as one TCP segment instead of one per message, so
    /// the transmit path, loopback delivery and the broker's wake-up are paid once per batch.
    /// Used only for a client with two or more publishes in one batch, where it pays off.
    private func cork() {
        let fd = mosquitto_socket(mosq)
        guard fd >= 0 else { return }
        var on: Int32 = 1
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 { corked = true }
    }

    /// Ends the batch: releases a corked socket (the kernel sends what it held at once).
    func endBatch() {
        publishesInBatch = 0
        guard corked else { return }
        corked = false
        let fd = mosquitto_socket(mosq)
        guard fd >= 0 else { return }
        var off: Int32 = 0
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &off, socklen_t(MemoryLayout<Int32>.size))
    }

    private func fail(_ message: MQTTOutgoingMessage, _ error: MQTTError) {
        counters.publishesFailed.increment()
        loop.delegate?.mqttPublishDidComplete(handle, tag: message.tag, outcome: .failed(error))
    }

    private func flushOffline() {
        guard !offline.isEmpty else { return }
        let held = offline
        offline = []
        for message in held { publish(message) }
    }

    private func failOffline(_ error: MQTTError) {
        guard !offline.isEmpty else { return }
        let held = offline
        offline = []
        for message in held { fail(message, error) }
    }

    // MARK: - Subscriptions

    func subscribe(_ new: [MQTTSubscription]) {
        for subscription in new {
            if let index = subscriptions.firstIndex(where: { $0.filter == subscription.filter }) {
                subscriptions[index] = subscription
            } else {
                subscriptions.append(subscription)
            }
        }
        if state == .connected {
            sendSubscribe(new)
            loop.sync(self)
        } else {
            unsubscribesWhileOffline.removeAll { filter in new.contains { $0.filter == filter } }
            subscribesWhileOffline.append(contentsOf: new)
        }
    }

    func unsubscribe(_ filters: [String]) {
        subscriptions.removeAll { filters.contains($0.filter) }
        if state == .connected {
            sendUnsubscribe(filters)
            loop.sync(self)
        } else {
            subscribesWhileOffline.removeAll { filters.contains($0.filter) }
            unsubscribesWhileOffline.append(contentsOf: filters)
        }
    }

    private func sendUnsubscribe(_ filters: [String]) {
        for filter in filters {
            let rc = isV5 ? mosquitto_unsubscribe_v5(mosq, nil, filter, nil) : mosquitto_unsubscribe(mosq, nil, filter)
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                loop.logger.warning(
                    "MQTT unsubscribe failed",
                    metadata: ["mqtt.client": "\(configuration.clientID)", "filter": "\(filter)", "rc": "\(rc)"])
            }
        }
    }

    /// One SUBSCRIBE per filter, so each SUBACK reports exactly one filter's grant.
    private func sendSubscribe(_ list: [MQTTSubscription]) {
        for subscription in list {
            var messageID: Int32 = 0
            let rc =
                isV5
                ? mosquitto_subscribe_v5(mosq, &messageID, subscription.filter, subscription.qos.rawValue, 0, nil)
                : mosquitto_subscribe(mosq, &messageID, subscription.filter, subscription.qos.rawValue)
            let code = errno
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                pendingSubscribes[messageID] = subscription
            } else {
                loop.logger.warning(
                    "MQTT subscribe failed",
                    metadata: [
                        "mqtt.client": "\(configuration.clientID)", "filter": "\(subscription.filter)",
                        "error": "\(MQTTError(mosquittoReturnCode: rc, errno: code).map { "\($0)" } ?? "")",
                    ])
            }
        }
    }

    // MARK: - Disconnecting and removal

    /// Sends DISCONNECT (no will) and stops reconnecting; a later `connectRequested` starts again.
    func disconnect() {
        switch state {
        case .connected, .connecting:
            state = .disconnecting
            cancelTimer()
            releaseWindowSlot()
            failOffline(.clientStopped)
            let rc = isV5 ? mosquitto_disconnect_v5(mosq, 0, nil) : mosquitto_disconnect(mosq)
            loop.sync(self)
            // When DISCONNECT went out at once, on_disconnect has already moved us to `stopped`.
            if state == .disconnecting && (rc != MOSQ_ERR_SUCCESS.rawValue || registeredFD < 0) {
                becomeStopped()
                loop.delegate?.mqttClientDidDisconnect(handle, error: nil, retryIn: nil)
            }
        case .waitingForWindow, .backingOff:
            becomeStopped()
        case .stopped:
            if removeWhenStopped { loop.scheduleRemoval(slot) }
        case .disconnecting:
            break
        }
    }

    /// Closes the socket under libmosquitto without DISCONNECT, as a crash or a cut cable would: the
    /// broker publishes the will. For fault injection and tests.
    func dropConnection(reconnect: Bool) {
        guard state == .connected || state == .connecting, registeredFD >= 0 else { return }
        droppedOnRequest = true
        reconnectAfterDrop = reconnect
        // shutdown, not close: the descriptor stays libmosquitto's, and its next read sees EOF.
        shutdown(registeredFD, Int32(SHUT_RDWR))
    }

    func remove() {
        removeWhenStopped = true
        if state == .stopped { loop.scheduleRemoval(slot) } else { disconnect() }
    }

    func stopForShutdown() {
        reconnectAfterDrop = false
        disconnect()
    }

    private func becomeStopped() {
        state = .stopped
        cancelTimer()
        releaseWindowSlot()
        uncountConnected()
        failOffline(.clientStopped)
        if removeWhenStopped { loop.scheduleRemoval(slot) }
    }

    /// Frees libmosquitto's handle (and its socket and socket pair). Never called from a callback.
    func destroy() {
        releaseWindowSlot()
        cancelTimer()
        uncountConnected()
        state = .stopped
        mosquitto_destroy(mosq)
        registeredFD = -1
        failOffline(.clientStopped)
        for tag in unacknowledged.values {
            counters.publishesFailed.increment()
            loop.delegate?.mqttPublishDidComplete(handle, tag: tag, outcome: .failed(.clientStopped))
        }
        unacknowledged = [:]
    }

    private func uncountConnected() {
        guard countedAsConnected else { return }
        countedAsConnected = false
        counters.connected.increment(by: -1)
    }

    private func releaseWindowSlot() {
        guard holdsWindowSlot else { return }
        holdsWindowSlot = false
        loop.releaseWindowSlot()
    }

    private func cancelTimer() { timerSerial &+= 1 }
}

/// Calls `body` with a C string for `string`, or with nil.
func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let string else { return try body(nil) }
    return try string.withCString(body)
}
