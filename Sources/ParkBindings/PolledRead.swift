import ParkCore

/// What a polled device (a meter on a bus) answered to one read: the points the master asked
/// for, as the registers or data fields held them, and when. A gateway can only forward what it
/// read, so this — not the device's inner truth — is what its published readings are held to.
public struct PolledRead: Sendable {
    /// One point's value in its engineering unit.
    public struct Value: Sendable, Hashable {
        public var point: String
        public var value: Double

        public init(point: String, value: Double) {
            self.point = point
            self.value = value
        }
    }

    public var device: String
    /// Wall-clock time of the answer (the time base of observations and ledger records).
    public var wallNanoseconds: Int64
    public var values: [Value]

    public init(device: String, wallNanoseconds: Int64, values: [Value]) {
        self.device = device
        self.wallNanoseconds = wallNanoseconds
        self.values = values
    }
}

/// Told of every read a polled-device binding answers, on the protocol's thread: keep it cheap.
public protocol PolledReadObserver: Sendable {
    func answered(_ read: PolledRead)
}
