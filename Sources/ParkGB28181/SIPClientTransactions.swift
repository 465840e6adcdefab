import ParkEventLoop
/// Identifies a client transaction the way RFC 3261 §17.1.3 matches a response to it: the top
/// Via's branch and the CSeq method (a CANCEL shares its INVITE's branch).
public struct SIPTransactionKey: Sendable, Hashable {
    public var branch: String
    public var method: String

    public init(branch: String, method: String) {
        self.branch = branch
        self.method = method
    }

    /// The key a response names, nil when it lacks a branch or CSeq (it then matches nothing).
    public init?(response: SIPMessage) {
        guard let branch = response.viaBranch, let cseq = response.cseq else { return nil }
        self.init(branch: branch, method: cseq.method)
    }
}

/// Every live non-INVITE client transaction of one transport, each with its request bytes, its
/// destination and the `Owner` the outcome goes back to; one ``DeadlineHeap`` times them all.
///
/// Pure: time comes in as `now`, datagrams go out through the `send` argument, so the same code
/// runs on the transport's event thread and in a unit test.
public struct SIPClientTransactions<Owner: Sendable>: Sendable {
    /// What became of a transaction, for its owner.
    public enum Outcome: Sendable {
        case response(Owner, SIPMessage, final: Bool)
        case timedOut(Owner, SIPTransactionKey)
        /// Timer E sent the request again.
        case retransmitted(Owner)
    }

    private struct Entry: Sendable {
        var transaction: NonInviteClientTransaction
        let request: [UInt8]
        let destination: SIPAddress
        let owner: Owner
    }

    public let timers: SIPTimers
    private var live: [SIPTransactionKey: Entry] = [:]
    private var heap = DeadlineHeap<SIPTransactionKey>()
    /// Responses that matched no live transaction (late copies, or not ours).
    public private(set) var strayResponses = 0
    public private(set) var retransmissions = 0

    public init(timers: SIPTimers) { self.timers = timers }

    public var count: Int { live.count }
    public var nextDeadline: UInt64 { heap.earliest ?? .max }

    /// Sends `request` and keeps it until a final response or Timer F. The request must carry a
    /// fresh branch; a key already live is replaced (its old owner hears nothing more).
    public mutating func start(_ request: SIPMessage, to destination: SIPAddress, owner: Owner, now: UInt64, send: (SIPDatagram) -> Void) {
        guard let branch = request.viaBranch, let method = request.method else {
            preconditionFailure("a client transaction's request needs a Via branch")
        }
        let key = SIPTransactionKey(branch: branch, method: method)
        let bytes = request.serialized()
        let transaction = NonInviteClientTransaction(now: now, timers: timers)
        live[key] = Entry(transaction: transaction, request: bytes, destination: destination, owner: owner)
        heap.push(transaction.nextDeadline, key)
        send(SIPDatagram(bytes: bytes, address: destination))
    }

    /// Matches a response to its transaction; nil for a stray one (counted).
    public mutating func received(_ response: SIPMessage) -> Outcome? {
        guard let status = response.status, let key = SIPTransactionKey(response: response), var entry = live[key] else {
            strayResponses += 1
            return nil
        }
        switch entry.transaction.received(status: status) {
        case .provisional:
            live[key] = entry
            return .response(entry.owner, response, final: false)
        case .final:
            live[key] = nil
            return .response(entry.owner, response, final: true)
        case .ignored:
            strayResponses += 1
            return nil
        }
    }

    /// Fires every timer due at `now`: retransmits through `send`, reports retransmissions and
    /// timeouts to `outcome`.
    public mutating func advance(now: UInt64, send: (SIPDatagram) -> Void, outcome: (Outcome) -> Void) {
        while let (deadline, key) = heap.popDue(now) {
            // A stale entry: the transaction ended or its deadline moved on.
            guard var entry = live[key], entry.transaction.nextDeadline == deadline else { continue }
            switch entry.transaction.timerFired(now: now) {
            case .nothing:
                live[key] = entry
            case .retransmit:
                retransmissions += 1
                live[key] = entry
                heap.push(entry.transaction.nextDeadline, key)
                send(SIPDatagram(bytes: entry.request, address: entry.destination))
                outcome(.retransmitted(entry.owner))
            case .timedOut:
                live[key] = nil
                outcome(.timedOut(entry.owner, key))
            }
        }
    }
}
