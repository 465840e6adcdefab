import Logging
import ParkCore
import ParkModbus
import ParkWire
import Synchronization

/// Puts a park's electricity meters on DL/T 645-2007: TCP endpoints that each carry one RS-485
/// bus of up to `metersPerBus` meters, addressed `000000000001`, `000000000002`, … in park order.
/// Reads answer with the meter's values at that instant (``PolledState``) under the standard data
/// identifiers; relay control (1C) and broadcast time sync (08) become the device's commands,
/// through the engine and into the ledger.
public final class DLT645DeviceBinding: CommandTakingBinding, Sendable {
    /// Where one meter answers.
    public struct Address: Sendable, Hashable, Codable {
        public var device: String
        public var port: Int
        /// The meter number (12 digits).
        public var meter: String
    }

    public typealias CommandHandler = PolledCommandRelay.Handler

    /// The standard data identifiers served (``DLT645DataItem/standard`` and the tariff energies),
    /// with the point each reads.
    public static let dataItems: [UInt32: (point: String, number: DLT645Number)] = Dictionary(
        uniqueKeysWithValues: (DLT645DataItem.standard + DLT645DataItem.tariffEnergy).map { ($0.identifier, ($0.quantity, $0.number)) })

    private let servers: [DLT645TCPServer]
    private let addresses: [Address]
    private let metersPerBus: Int
    private let relay = PolledCommandRelay()
    private let adapters: [String: MeterAdapter]

    /// - Parameters:
    ///   - devices: the meters to serve, each answering from its electricity-meter points: the
    ///     caller picks the devices whose model profile has a `dlt645:` section.
    ///   - firstPort: port of the first bus, the others following; 0 for free ports.
    ///   - readObserver: told what every read answered (the harness's ground truth for a gateway).
    public init(devices: [BoundDevice], registry: PolledStateRegistry, host: String = "127.0.0.1", firstPort: Int = 0,
                metersPerBus: Int = 32, readObserver: (any PolledReadObserver)? = nil) throws(BindingError) {
        guard metersPerBus >= 1 else { throw BindingError("metersPerBus must be at least 1") }
        var servers: [DLT645TCPServer] = []
        var addresses: [Address] = []
        var adapters: [String: MeterAdapter] = [:]
        for (index, device) in devices.enumerated() {
            let bus = index / metersPerBus
            if bus == servers.count {
                servers.append(DLT645TCPServer(host: host, port: firstPort == 0 ? 0 : firstPort + bus,
                                               warning: { Logger(label: "parkbench.dlt645").warning("\($0)") }))
            }
            var number = String(index + 1)
            number = String(repeating: "0", count: max(0, 12 - number.count)) + number
            let adapter = MeterAdapter(deviceID: device.id, address: DLT645Frame.address(number)!, registry: registry, relay: relay,
                                       observer: readObserver)
            adapters[device.id] = adapter
            servers[bus].add(adapter)
            addresses.append(Address(device: device.id, port: 0, meter: number))
        }
        self.servers = servers
        self.addresses = addresses
        self.metersPerBus = metersPerBus
        self.adapters = adapters
    }

    /// Whether this binding serves `deviceID`.
    public func serves(_ deviceID: String) -> Bool { adapters[deviceID] != nil }

    /// Makes a meter stop answering on its bus (power or wiring lost), or answer again.
    public func setSilent(_ deviceID: String, _ silent: Bool) throws(BindingError) {
        guard let adapter = adapters[deviceID] else { throw BindingError("\(deviceID) is not on a DL/T 645 bus") }
        adapter.silent.store(silent, ordering: .relaxed)
    }

    public func start() throws(BindingError) -> [Address] {
        for (index, server) in servers.enumerated() {
            do { try server.start() } catch {
                for started in servers.prefix(index) { started.stop() }
                throw BindingError("DL/T 645 bus \(index + 1): \(error.description)")
            }
        }
        return addresses.enumerated().map { index, address in
            var address = address
            address.port = servers[index / metersPerBus].port
            return address
        }
    }

    public var buses: [DLT645TCPServer] { servers }

    public func setCommandHandler(_ handler: @escaping CommandHandler) { relay.setHandler(handler) }

    public func stop() { for server in servers { server.stop() } }
}

/// One electricity meter as a DL/T 645 meter.
final class MeterAdapter: DLT645Meter, @unchecked Sendable {
    let deviceID: String
    let address: [UInt8]
    let registry: PolledStateRegistry
    let relay: PolledCommandRelay
    let observer: (any PolledReadObserver)?
    let silent = Atomic<Bool>(false)

    init(deviceID: String, address: [UInt8], registry: PolledStateRegistry, relay: PolledCommandRelay,
         observer: (any PolledReadObserver)? = nil) {
        self.deviceID = deviceID
        self.address = address
        self.registry = registry
        self.relay = relay
        self.observer = observer
    }

    var isSilent: Bool { silent.load(ordering: .relaxed) }

    func read(_ identifier: UInt32) -> [UInt8]? {
        if let history = DLT645History(identifier) {
            guard let state = registry.state(of: deviceID) else { return nil }
            return history.answer(state)
        }
        guard let item = DLT645DeviceBinding.dataItems[identifier], let state = registry.state(of: deviceID) else { return nil }
        guard let reading = state.readings(at: SystemClock.monotonicNow()).first(where: { $0.point == item.point }) else { return nil }
        let bytes: [UInt8]
        switch reading.value {
        case .double(let value): bytes = item.number.encode(value)
        case .int(let value): bytes = item.number.encode(Double(value))
        default: return nil
        }
        // What the BCD field holds (rounded to its decimals), as the gateway could read it.
        if let observer, let held = item.number.decode(bytes) {
            observer.answered(PolledRead(device: deviceID, wallNanoseconds: SystemClock.wallNow().nanosecondsSinceEpoch,
                                         values: [.init(point: item.point, value: held)]))
        }
        return bytes
    }

    func relay(_ code: UInt8) -> UInt8? {
        switch code {
        case 0x1A: relay.send(DeviceCommand("relay-open"), to: deviceID)
        case 0x1B, 0x1C: relay.send(DeviceCommand("relay-close"), to: deviceID)
        default: return 0x01
        }
        return nil
    }

    func synchronise(time: [UInt8]) {
        relay.send(DeviceCommand("sync-time"), to: deviceID)
    }
}

/// The frozen data items (DL/T 645-2007 appendix A) a meter answers from its freezes:
/// `0001 00NN` / `0002 00NN` forward / reverse active energy at the NN-th last settlement
/// (月结算, NN 1…12), `0001 0TNN` the forward energy under tariff T (1…4) then; `0504 00NN` the
/// NN-th last hourly freeze's time (YYMMDDhhmm), `0504 01NN` / `0504 02NN` its forward / reverse
/// energy; `0506 00NN` the NN-th last daily freeze's time, `0506 01NN` / `0506 02NN` its forward /
/// reverse energy as the standard's block of total and four tariffs (reverse energy has no
/// tariffs here, and a one-rate meter's are zero).
struct DLT645History {
    enum Field { case time, forward, reverse }

    let period: FreezePeriod
    let field: Field
    let back: Int
    /// 1…4 for one tariff's energy at a settlement; nil for the total (or a block).
    var tariff: Int?

    init?(_ identifier: UInt32) {
        let high = identifier >> 16, third = (identifier >> 8) & 0xFF
        // NN counts back from 01 (the last) in hex: 0C is the twelfth settlement back.
        back = Int(identifier & 0xFF)
        guard back >= 1 else { return nil }
        switch (high, third) {
        case (0x0001, 0x00): (period, field) = (.month, .forward)
        case (0x0002, 0x00): (period, field) = (.month, .reverse)
        case (0x0001, 0x01 ... 0x04): (period, field, tariff) = (.month, .forward, Int(third))
        case (0x0504, 0x00): (period, field) = (.hour, .time)
        case (0x0504, 0x01): (period, field) = (.hour, .forward)
        case (0x0504, 0x02): (period, field) = (.hour, .reverse)
        case (0x0506, 0x00): (period, field) = (.day, .time)
        case (0x0506, 0x01): (period, field) = (.day, .forward)
        case (0x0506, 0x02): (period, field) = (.day, .reverse)
        default: return nil
        }
        if period == .month, back > 12 { return nil }
    }

    static let energy = DLT645Number(bytes: 4, decimals: 2)

    func answer(_ state: any PolledState) -> [UInt8]? {
        guard let record = state.frozen(period, back: back) else { return nil }
        func value(_ point: String) -> Double {
            if case .double(let x)? = record.readings.first(where: { $0.point == point })?.value { return x }
            return 0
        }
        switch field {
        case .time:
            // YYMMDDhhmm, sent low byte first: mm hh DD MM YY.
            let t = record.time
            return [t.minute, t.hour, t.day, t.month, t.year % 100].map { UInt8(($0 / 10) << 4 | ($0 % 10)) }
        case .forward, .reverse:
            let names = DLT645DataItem.tariffEnergy.map(\.quantity)
            if let tariff { return Self.energy.encode(value(names[tariff - 1])) }
            let total = Self.energy.encode(value(field == .forward ? "energy_import_1" : "energy_export_1"))
            // Monthly and hourly items are the total alone; daily ones are total + four tariffs.
            guard period == .day else { return total }
            return total + names.flatMap { field == .forward ? Self.energy.encode(value($0)) : Self.energy.encode(0) }
        }
    }
}
