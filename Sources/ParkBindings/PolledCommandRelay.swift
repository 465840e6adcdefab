import ParkCore
import Synchronization

/// Passes commands from a polled protocol (a Modbus coil write, a DL/T 645 relay frame) to the
/// device through whatever handler the run sets — the engine, so the command is in the ledger.
/// Protocol units hold it directly; it holds nothing of theirs, so no reference cycle forms.
public final class PolledCommandRelay: Sendable {
    public typealias Handler = DeviceCommandHandler

    private let handler = Mutex<Handler?>(nil)

    public init() {}

    /// Where commands go; until set, they are dropped.
    public func setHandler(_ handler: @escaping Handler) { self.handler.withLock { $0 = handler } }

    /// Sends without waiting: the protocol thread answers its master at once.
    func send(_ command: DeviceCommand, to deviceID: String) {
        guard let handler = handler.withLock({ $0 }) else { return }
        Task { _ = await handler(deviceID, command) }
    }
}
