/// A node paused and resumed, as `kill -STOP`/`kill -CONT` or `docker pause`/`unpause` pause a
/// process: while frozen it does nothing — no timer fires, nothing it is sent is looked at — and
/// what reaches it waits, in order, as it would in its socket's buffer; thawed, it takes all of
/// it in at once, at the time it wakes. The classic way a primary that was never killed comes back
/// from the dead believing it still leads (see ``StandbyFaults/zombiePrimary``).
struct FreezeState: Sendable {
    var frozen = false
    var backlog: [(topic: String, payload: [UInt8])] = []
}

extension ReferencePlatform {
    /// Whether the node is paused.
    public var isFrozen: Bool { freezeState.withLock { $0.frozen } }

    /// Pauses the node (a no-op when it already is).
    public func freeze() {
        freezeState.withLock { $0.frozen = true }
    }

    /// Resumes the node: what arrived while it was paused is taken in first, in order, then its
    /// timers run, late, as a resumed process's do.
    public func thaw() {
        while true {
            // Messages arriving meanwhile join the backlog's end until it is empty.
            let batch = freezeState.withLock { state -> [(topic: String, payload: [UInt8])] in
                defer { state.backlog = [] }
                if state.backlog.isEmpty { state.frozen = false }
                return state.backlog
            }
            if batch.isEmpty { break }
            for message in batch { process(topic: message.topic, payload: message.payload) }
        }
        tick()
    }

    /// Keeps a message for later while the node is paused; true when it did.
    func heldWhileFrozen(topic: String, payload: [UInt8]) -> Bool {
        freezeState.withLock { state in
            guard state.frozen else { return false }
            state.backlog.append((topic, payload))
            return true
        }
    }
}
