import DequeModule

/// The central system's side of one charge point's OCPP-J connection, as a value on an injected
/// clock: the charge point's calls come out as events for the CSMS to answer, and the CSMS's own
/// calls go out one at a time (OCPP-J 1.6 §4.1.1 asks the same of both ends), each answered,
/// refused or timed out exactly once.
///
/// A frame that is not OCPP-J is counted and, when it was a CALL whose id could be read, answered
/// with the CALLERROR the frame layer names; a text never brings the session down.
public struct OCPPCentralSystemSession: Sendable {
    /// What the CSMS must act on.
    public enum Event: Sendable, Hashable {
        /// The charge point calls; answer with ``answer(_:payload:)`` or ``answerError(_:code:description:)``.
        case call(id: String, action: String, payload: JSONValue)
        /// A call of ours was answered; `context` is what was given with it.
        case answered(action: String, payload: JSONValue, context: JSONValue)
        /// A call of ours was refused with a CALLERROR.
        case refused(action: String, code: OCPPErrorCode, description: String, context: JSONValue)
        /// A call of ours had no answer within the timeout.
        case timedOut(action: String, context: JSONValue)
    }

    /// Figures for a report.
    public struct Counters: Sendable, Hashable {
        public var callsReceived = 0
        public var callsSent = 0
        public var badFrames = 0
        public var strayAnswers = 0
        public var timeouts = 0
        public init() {}
    }

    struct Pending: Sendable {
        var action: String
        var payload: JSONValue
        var context: JSONValue
    }

    public let callTimeout: UInt64
    public private(set) var counters = Counters()
    private var queue = Deque<Pending>()
    private var inFlight: (id: String, call: Pending, deadline: UInt64)?
    private var outbox: [OCPPFrame] = []
    private var events: [Event] = []
    private var nextID: UInt64 = 1
    /// Makes ids unique across this CSMS's sessions, so a log of many charge points reads clearly.
    private let idPrefix: String

    /// - Parameter callTimeout: nanoseconds a call of ours waits for its answer.
    public init(callTimeout: UInt64 = 30_000_000_000, idPrefix: String = "csms-") {
        self.callTimeout = callTimeout
        self.idPrefix = idPrefix
    }

    /// Calls waiting behind the one in flight.
    public var queuedCount: Int { queue.count }

    public mutating func receive(_ text: some StringProtocol, now: UInt64) {
        let frame: OCPPFrame
        do { frame = try OCPPFrame.parse(text) } catch {
            counters.badFrames += 1
            if let answer = error.answer { outbox.append(answer) }
            return
        }
        switch frame {
        case .call(let id, let action, let payload):
            counters.callsReceived += 1
            events.append(.call(id: id, action: action, payload: payload))
        case .result(let id, let payload):
            guard let flying = inFlight, flying.id == id else { counters.strayAnswers += 1; return }
            inFlight = nil
            events.append(.answered(action: flying.call.action, payload: payload, context: flying.call.context))
        case .error(let id, let code, let description, _):
            guard let flying = inFlight, flying.id == id else { counters.strayAnswers += 1; return }
            inFlight = nil
            events.append(.refused(action: flying.call.action, code: code, description: description, context: flying.call.context))
        }
    }

    /// Queues a call to the charge point.
    public mutating func call(_ action: String, _ payload: JSONValue, context: JSONValue = .null) {
        queue.append(Pending(action: action, payload: payload, context: context))
    }

    public mutating func answer(_ id: String, payload: JSONValue) { outbox.append(.result(id: id, payload: payload)) }

    public mutating func answerError(_ id: String, code: OCPPErrorCode, description: String) {
        outbox.append(.error(id: id, code: code, description: description, details: .object([:])))
    }

    /// Frames to send now: answers, then the next call when none is in flight.
    public mutating func poll(now: UInt64) -> [OCPPFrame] {
        if let flying = inFlight, now >= flying.deadline {
            inFlight = nil
            counters.timeouts += 1
            events.append(.timedOut(action: flying.call.action, context: flying.call.context))
        }
        var frames = outbox
        outbox.removeAll(keepingCapacity: true)
        if inFlight == nil, let next = queue.popFirst() {
            let id = idPrefix + String(nextID)
            nextID += 1
            inFlight = (id, next, now + callTimeout)
            counters.callsSent += 1
            frames.append(.call(id: id, action: next.action, payload: next.payload))
        }
        return frames
    }

    public mutating func takeEvents() -> [Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// When ``poll(now:)`` has work, if nothing arrives before.
    public var nextDeadline: UInt64? {
        if !outbox.isEmpty { return 0 }
        if let flying = inFlight { return flying.deadline }
        return queue.isEmpty ? nil : 0
    }

    /// The connection is gone: calls in flight and queued end as timed out, so each is settled once.
    public mutating func connectionLost() {
        if let flying = inFlight { events.append(.timedOut(action: flying.call.action, context: flying.call.context)) }
        inFlight = nil
        while let next = queue.popFirst() { events.append(.timedOut(action: next.action, context: next.context)) }
        outbox.removeAll()
    }
}
