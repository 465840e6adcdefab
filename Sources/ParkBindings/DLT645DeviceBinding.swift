import ParkCore
import ParkModbus

/// Puts a park's electricity meters on DL/T 645-2007: TCP endpoints that each carry one RS-485
/// bus of up to `metersPerBus` meters, addressed `000000000001`, `000000000002`, … in park order.
/// Reads answer with the meter's values at that instant (``PolledState``) under the standard data
/// identifiers; relay control (1C) and broadcast time sync (08) become the device's commands,
/// through the engine and into the ledger.
public final class DLT645DeviceBinding: Sendable {
    /// Where one meter answers.
    public struct Address: Sendable, Hashable, Codable {
        public var device: String
        public var port: Int
        /// The meter number (12 digits).
        public var meter: String
    }

    public typealias CommandHandler = PolledCommandRelay.Handler

    /// The standard data identifiers served, with the point and BCD layout of each (DL/T 645-2007
    /// appendix A: energy XXXXXX.XX kWh, voltage XXX.X V, current XXX.XXX A, power XX.XXXX kW,
    /// power factor X.XXX, frequency XX.XX Hz).
    public static let dataItems: [UInt32: (point: String, number: DLT645Number)] = [
        0x0000_0000: ("energy_import_1", DLT645Number(bytes: 4, decimals: 2)),
        0x0001_0000: ("energy_import_1", DLT645Number(bytes: 4, decimals: 2)),
        0x0002_0000: ("energy_export_1", DLT645Number(bytes: 4, decimals: 2)),
        0x0201_0100: ("voltage_a", DLT645Number(bytes: 2, decimals: 1)),
        0x0201_0200: ("voltage_b", DLT645Number(bytes: 2, decimals: 1)),
        0x0201_0300: ("voltage_c", DLT645Number(bytes: 2, decimals: 1)),
        0x0202_0100: ("current_a", DLT645Number(bytes: 3, decimals: 3, signed: true)),
        0x0202_0200: ("current_b", DLT645Number(bytes: 3, decimals: 3, signed: true)),
        0x0202_0300: ("current_c", DLT645Number(bytes: 3, decimals: 3, signed: true)),
        0x0203_0000: ("active_power", DLT645Number(bytes: 3, decimals: 4, signed: true)),
        0x0206_0000: ("power_factor", DLT645Number(bytes: 2, decimals: 3, signed: true)),
        0x0280_0002: ("frequency", DLT645Number(bytes: 2, decimals: 2)),
    ]

    private let servers: [DLT645TCPServer]
    private let addresses: [Address]
    private let metersPerBus: Int
    private let relay = PolledCommandRelay()

    /// - Parameters:
    ///   - devices: devices of kind `electric-meter` are served; others are skipped.
    ///   - firstPort: port of the first bus, the others following; 0 for free ports.
    public init(devices: [BoundDevice], registry: PolledStateRegistry, host: String = "127.0.0.1", firstPort: Int = 0,
                metersPerBus: Int = 32) throws(BindingError) {
        guard metersPerBus >= 1 else { throw BindingError("metersPerBus must be at least 1") }
        let meters = devices.filter { $0.kind == "electric-meter" }
        var servers: [DLT645TCPServer] = []
        var addresses: [Address] = []
        for (index, device) in meters.enumerated() {
            let bus = index / metersPerBus
            if bus == servers.count { servers.append(DLT645TCPServer(host: host, port: firstPort == 0 ? 0 : firstPort + bus)) }
            var number = String(index + 1)
            number = String(repeating: "0", count: max(0, 12 - number.count)) + number
            servers[bus].add(MeterAdapter(deviceID: device.id, address: DLT645Frame.address(number)!, registry: registry, relay: relay))
            addresses.append(Address(device: device.id, port: 0, meter: number))
        }
        self.servers = servers
        self.addresses = addresses
        self.metersPerBus = metersPerBus
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

    init(deviceID: String, address: [UInt8], registry: PolledStateRegistry, relay: PolledCommandRelay) {
        self.deviceID = deviceID
        self.address = address
        self.registry = registry
        self.relay = relay
    }

    func read(_ identifier: UInt32) -> [UInt8]? {
        guard let item = DLT645DeviceBinding.dataItems[identifier], let state = registry.state(of: deviceID) else { return nil }
        guard let reading = state.readings(at: SystemClock.monotonicNow()).first(where: { $0.point == item.point }) else { return nil }
        switch reading.value {
        case .double(let value): return item.number.encode(value)
        case .int(let value): return item.number.encode(Double(value))
        default: return nil
        }
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
