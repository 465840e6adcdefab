import ParkWire

/// JSON text helpers, from ParkWire (where the device envelope is written), for the ledger and
/// the device kinds, which see only ParkCore.
public typealias JSONText = ParkWire.JSONText
