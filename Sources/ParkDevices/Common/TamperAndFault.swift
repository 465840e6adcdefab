import ParkCore

/// A casing (tamper) switch: `tamper` is reported once when it opens and `tamper-clear` once
/// when it closes, however often the harness repeats the stimulus.
///
/// Four kinds had the same guard-flip-emit pair for it; one type keeps the event names and the
/// once-only rule alike.
struct TamperSwitch {
    private(set) var isOpen = false

    /// Opens the casing and reports `tamper` with `readings`; false (and nothing reported) if
    /// it was already open.
    @discardableResult
    mutating func open(_ context: DeviceContext, _ readings: [Reading] = []) -> Bool {
        guard !isOpen else { return false }
        isOpen = true
        context.emit(event: "tamper", readings)
        return true
    }

    /// Closes the casing and reports `tamper-clear`; false if it was already closed.
    @discardableResult
    mutating func close(_ context: DeviceContext) -> Bool {
        guard isOpen else { return false }
        isOpen = false
        context.emit(event: "tamper-clear")
        return true
    }
}

/// A device fault that latches until cleared: `fault` with its `code` once when it appears,
/// `fault-clear` once when it goes.
///
/// A second fault while one is active is not reported (the first code stays), as the kinds
/// behaved when each kept its own `faultCode`.
struct FaultLatch {
    /// The active fault's code; nil when there is none.
    private(set) var code: String?

    /// Raises a fault and reports it; false (and nothing reported) if one is already active.
    @discardableResult
    mutating func raise(_ code: String, _ context: DeviceContext) -> Bool {
        guard self.code == nil else { return false }
        self.code = code
        context.emit(event: "fault", [Reading("code", .string(code))])
        return true
    }

    /// Clears the fault and reports `fault-clear`; false if there was none.
    @discardableResult
    mutating func clear(_ context: DeviceContext) -> Bool {
        guard code != nil else { return false }
        code = nil
        context.emit(event: "fault-clear")
        return true
    }
}
