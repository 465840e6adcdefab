import ParkEventLoop
/// Many cameras' registrations over one transport: their ``SIPRegistration`` values, the client
/// transactions they have in flight, and one deadline heap for their own timers (refresh,
/// keepalive, retry). No thread, no socket: `now` comes in, datagrams go out through the outbox,
/// so ``SIPUDPTransport`` runs it on its event thread and a unit test runs it on a fake clock.
public struct SIPRegistrarClient: Sendable {
    /// Who a transaction belongs to: a camera and what the request was for.
    public struct Owner: Sendable, Equatable {
        public var index: Int32
        public var purpose: SIPRegistration.Purpose
    }

    public let settings: SIPRegistrationSettings
    public private(set) var registrations: [SIPRegistration] = []
    public private(set) var transactions: SIPClientTransactions<Owner>
    private var wakeups = DeadlineHeap<Int32>()
    private var random: SIPRandom
    /// Datagrams to send, oldest first; the transport (or a test) takes them.
    public private(set) var outbox: [SIPDatagram] = []

    public init(settings: SIPRegistrationSettings, seed: UInt64) {
        self.settings = settings
        transactions = SIPClientTransactions(timers: settings.timers)
        random = SIPRandom(seed: seed)
    }

    /// Adds a camera (not yet registering); returns its index.
    @discardableResult
    public mutating func add(deviceID: String, password: String) -> Int {
        let registration = SIPRegistration(
            deviceID: deviceID, password: password, callID: SIPIdentifiers.callID(host: settings.local.host, using: &random),
            fromTag: SIPIdentifiers.tag(using: &random))
        registrations.append(registration)
        return registrations.count - 1
    }

    public mutating func start(_ index: Int, now: UInt64) {
        event(index, now) { registration, settings, random in registration.start(now: now, settings: settings, random: &random) }
    }

    public mutating func stop(_ index: Int, now: UInt64) {
        event(index, now) { registration, settings, random in registration.stop(now: now, settings: settings, random: &random) }
    }

    /// Sends camera `index`'s Keepalive now if it is registered (for owners that turned
    /// ``SIPRegistrationSettings/keepalivesFromTimer`` off).
    public mutating func keepalive(_ index: Int, now: UInt64) {
        event(index, now) { registration, settings, random in registration.keepaliveDue(settings: settings, random: &random) }
    }

    /// Sends a MESSAGE with a MANSCDP body from camera `index` to the platform.
    public mutating func message(_ index: Int, body: [UInt8], now: UInt64) {
        event(index, now) { registration, settings, random in registration.message(body: body, settings: settings, random: &random) }
    }

    /// Sends a request camera `index` built itself (a NOTIFY in a subscription's dialog) to
    /// `destination` (the subscriber), as a client transaction whose outcome is only counted.
    public mutating func send(_ index: Int, request: SIPMessage, to destination: SIPAddress, now: UInt64) {
        transactions.start(request, to: destination, owner: Owner(index: Int32(index), purpose: .message), now: now, send: { outbox.append($0) })
    }

    /// Sets or clears camera `index`'s refusal to refresh its registration (a fault a harness sets).
    public mutating func setRefreshRefused(_ index: Int, _ refused: Bool) {
        registrations[index].refreshRefused = refused
    }

    /// Ends camera `index`'s registration without a word (power lost).
    public mutating func halt(_ index: Int) { registrations[index].halt() }

    public mutating func startAll(now: UInt64) { for index in registrations.indices { start(index, now: now) } }
    public mutating func stopAll(now: UInt64) { for index in registrations.indices { stop(index, now: now) } }

    /// A response from the platform: to its transaction, then (final ones) to its camera.
    public mutating func received(_ response: SIPMessage, now: UInt64) {
        guard let outcome = transactions.received(response) else { return }
        handle(outcome, now: now)
    }

    /// Runs every timer due at `now`: transaction retransmissions and timeouts, then cameras'.
    public mutating func advance(now: UInt64) {
        var outcomes: [SIPClientTransactions<Owner>.Outcome] = []
        transactions.advance(now: now, send: { outbox.append($0) }, outcome: { outcomes.append($0) })
        for outcome in outcomes { handle(outcome, now: now) }
        while let (deadline, index) = wakeups.popDue(now) {
            let camera = Int(index)
            guard registrations[camera].scheduledWake == deadline else { continue }
            registrations[camera].scheduledWake = .max
            event(camera, now) { registration, settings, random in registration.timerFired(now: now, settings: settings, random: &random) }
        }
    }

    /// The earliest instant ``advance(now:)`` has work.
    public var nextDeadline: UInt64 { min(transactions.nextDeadline, wakeups.earliest ?? .max) }

    public mutating func takeOutbox() -> [SIPDatagram] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    private mutating func handle(_ outcome: SIPClientTransactions<Owner>.Outcome, now: UInt64) {
        switch outcome {
        case .response(let owner, let response, let final):
            guard final else { return }
            event(Int(owner.index), now) { registration, settings, random in
                registration.received(response, for: owner.purpose, now: now, settings: settings, random: &random)
            }
        case .timedOut(let owner, _):
            event(Int(owner.index), now) { registration, settings, random in
                registration.timedOut(owner.purpose, now: now, settings: settings, random: &random)
            }
        case .retransmitted(let owner):
            registrations[Int(owner.index)].counters.retransmissions += 1
        }
    }

    /// Runs one event on a camera, starts the transactions it asks for, and queues its next wake-up.
    private mutating func event(
        _ index: Int, _ now: UInt64,
        _ body: (inout SIPRegistration, SIPRegistrationSettings, inout SIPRandom) -> [SIPRegistration.Outgoing]
    ) {
        let outgoing = body(&registrations[index], settings, &random)
        for request in outgoing {
            transactions.start(
                request.message, to: settings.server, owner: Owner(index: Int32(index), purpose: request.purpose), now: now,
                send: { outbox.append($0) })
        }
        let wake = registrations[index].wakeAt
        if wake != .max, wake != registrations[index].scheduledWake {
            registrations[index].scheduledWake = wake
            wakeups.push(wake, Int32(index))
        }
    }
}
