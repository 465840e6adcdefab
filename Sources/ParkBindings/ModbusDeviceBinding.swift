import Logging
import ParkCore
import ParkModbus
import ParkProfiles
import ParkWire

/// Puts a park's polled devices (meters) on Modbus TCP: endpoints of up to 247 unit ids each, as
/// gateways in front of RS-485 buses, every device a unit answering from its model's register map
/// with its values at the instant of the request (``PolledState``). A coil write becomes the
/// command the map names (a relay coil → `relay-open` / `relay-close`), sent to the device through
/// the engine so it is in the ledger.
public final class ModbusDeviceBinding: CommandTakingBinding, Sendable {
    /// Where one device answers.
    public struct Address: Sendable, Hashable, Codable {
        public var device: String
        /// The TCP port (0 on an RTU bus).
        public var port: Int
        public var unit: UInt8
        /// The RTU bus's serial device (a pty), nil on TCP.
        public var path: String?
    }

    /// How the devices are reached.
    public enum Transport: Sendable {
        /// TCP endpoints from `firstPort` on (0: free ports).
        case tcp(host: String, firstPort: Int)
        /// RTU buses on pseudo-terminals.
        case rtu(baudRate: Int, parity: Character)
    }

    /// Sends a coil's command to a device (through the engine).
    public typealias CommandHandler = PolledCommandRelay.Handler

    private let addresses: [Address]
    private let servers: [any ModbusEndpoint]
    private let unitsPerEndpoint: Int
    private let relay = PolledCommandRelay()
    /// Each device's index in `addresses`, for faults by device id.
    private let indexByDevice: [String: Int]

    /// - Parameters:
    ///   - devices: the devices to serve; those whose model has no register map are skipped.
    ///   - maps: register maps by model name.
    ///   - firstPort: port of the first endpoint, the others following it; 0 for free ports.
    ///   - unitsPerEndpoint: devices behind one port (1…247).
    public convenience init(devices: [BoundDevice], maps: [String: ModelModbusMap], registry: PolledStateRegistry,
                            host: String = "127.0.0.1", firstPort: Int = 0, unitsPerEndpoint: Int = 247) throws(BindingError) {
        try self.init(devices: devices, maps: maps, registry: registry, transport: .tcp(host: host, firstPort: firstPort),
                      unitsPerEndpoint: unitsPerEndpoint)
    }

    /// - Parameter readObserver: told what every register read answered (the harness's ground
    ///   truth for a gateway's readings); nil costs nothing per request.
    public init(devices: [BoundDevice], maps: [String: ModelModbusMap], registry: PolledStateRegistry,
                transport: Transport, unitsPerEndpoint: Int = 247, readObserver: (any PolledReadObserver)? = nil) throws(BindingError) {
        guard (1 ... 247).contains(unitsPerEndpoint) else { throw BindingError("unitsPerEndpoint must be 1…247") }
        var layouts: [String: RegisterLayout] = [:]
        for (model, map) in maps {
            do { layouts[model] = try RegisterLayout(map) } catch { throw BindingError("model \(model): \(error.message)") }
        }
        let served = devices.filter { layouts[$0.model] != nil }
        var servers: [any ModbusEndpoint] = []
        var addresses: [Address] = []
        for (index, device) in served.enumerated() {
            let endpoint = index / unitsPerEndpoint
            if endpoint == servers.count {
                do {
                    switch transport {
                    case .tcp(let host, let firstPort):
                        servers.append(try ModbusTCPServer(host: host, port: firstPort == 0 ? 0 : firstPort + endpoint,
                                                           warning: { Logger(label: "parkbench.modbus").warning("\($0)") }))
                    case .rtu(let baudRate, let parity):
                        servers.append(try ModbusRTUServer(baudRate: baudRate, parity: parity))
                    }
                } catch { throw BindingError("Modbus endpoint \(endpoint + 1): \(error.description)") }
            }
            let unitID = UInt8(index % unitsPerEndpoint + 1)
            let unit = PolledUnit(deviceID: device.id, layout: layouts[device.model]!, registry: registry, relay: relay, observer: readObserver)
            servers[endpoint].setUnit(unitID, unit)
            addresses.append(Address(device: device.id, port: 0, unit: unitID, path: nil))
        }
        self.servers = servers
        self.addresses = addresses
        self.unitsPerEndpoint = unitsPerEndpoint
        indexByDevice = Dictionary(addresses.enumerated().map { ($1.device, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Which devices of `devices` a binding with these maps serves, in unit order: those whose
    /// model has a map, `unitsPerEndpoint` to an endpoint, units 1, 2, … on each. A gateway's
    /// meter list can be written from this before the endpoints exist.
    public static func assignment(devices: [BoundDevice], maps: [String: ModelModbusMap], unitsPerEndpoint: Int = 247)
        -> [(device: BoundDevice, endpoint: Int, unit: UInt8)] {
        devices.filter { maps[$0.model] != nil }.enumerated().map { index, device in
            (device, index / unitsPerEndpoint, UInt8(index % unitsPerEndpoint + 1))
        }
    }

    /// Whether this binding serves `deviceID`.
    public func serves(_ deviceID: String) -> Bool { indexByDevice[deviceID] != nil }

    /// Makes a device's unit fall silent (a meter losing power or its bus wire) or answer again.
    public func setSilent(_ deviceID: String, _ silent: Bool) throws(BindingError) {
        guard let index = indexByDevice[deviceID] else { throw BindingError("\(deviceID) is not on a Modbus endpoint") }
        servers[index / unitsPerEndpoint].setFaults(ModbusFaults(silent: silent), for: addresses[index].unit)
    }

    /// Starts every endpoint; returns each device's address (ports now known).
    public func start() throws(BindingError) -> [Address] {
        for (index, server) in servers.enumerated() {
            do { try server.start() } catch {
                for started in servers.prefix(index) { started.stop() }
                throw BindingError("Modbus endpoint \(index + 1): \(error.description)")
            }
        }
        return currentAddresses
    }

    /// Addresses with their ports (valid after ``start()``).
    public var currentAddresses: [Address] {
        addresses.enumerated().map { index, address in
            var address = address
            switch servers[index / unitsPerEndpoint] {
            case let tcp as ModbusTCPServer: address.port = tcp.port
            case let rtu as ModbusRTUServer: address.path = rtu.devicePath
            default: break
            }
            return address
        }
    }

    public var endpoints: [any ModbusEndpoint] { servers }

    public func setCommandHandler(_ handler: @escaping CommandHandler) { relay.setHandler(handler) }

    public func stop() {
        for server in servers { server.stop() }
    }
}

/// A model's register map turned into formats, shared by every device of the model — tables
/// included: an endpoint answers one request at a time and every read refreshes exactly the
/// registers it returns from the device just before the reply, so a meter whose map spans 0x2000
/// to 0x4100 costs those 17 KB once per model, not once per meter. (Consequence: a value a master
/// writes into a holding register is not kept per device.)
final class RegisterLayout: @unchecked Sendable {
    struct Entry: Sendable {
        var point: String
        var table: ModbusRegisterBank.Table
        var address: Int
        var format: ModbusValueFormat
    }

    let entries: [Entry]
    let coils: [ModelModbusMap.Coil]
    let holding: Range<Int>
    let input: Range<Int>
    let coilRange: Range<Int>
    let bank: ModbusRegisterBank

    init(_ map: ModelModbusMap) throws(BindingError) {
        var entries: [Entry] = []
        for register in map.registers {
            guard let format = ModbusValueFormat(typeName: register.type, orderName: register.order, scale: register.scale) else {
                throw BindingError("register of '\(register.point)' has type '\(register.type)' or order '\(register.order)' that ParkModbus does not know")
            }
            entries.append(Entry(point: register.point, table: register.table == "input" ? .input : .holding, address: register.address,
                                 format: format))
        }
        func span(_ table: ModbusRegisterBank.Table) -> Range<Int> {
            let items = entries.filter { $0.table == table }
            guard let low = items.map(\.address).min(), let high = items.map({ $0.address + $0.format.type.registerCount }).max() else { return 0 ..< 0 }
            return low ..< high
        }
        self.entries = entries
        coils = map.coils
        holding = span(.holding)
        input = span(.input)
        coilRange = (map.coils.map(\.address).min() ?? 0) ..< ((map.coils.map(\.address).max() ?? -1) + 1)
        do { bank = try ModbusRegisterBank(coils: coilRange, holdingRegisters: holding, inputRegisters: input) } catch {
            throw BindingError(error.description)
        }
    }
}

/// One polled device behind a unit id.
final class PolledUnit: ModbusUnit, @unchecked Sendable {
    var bank: ModbusRegisterBank { layout.bank }
    let deviceID: String
    let layout: RegisterLayout
    let registry: PolledStateRegistry
    /// Looked up on the first request: devices register their state when the engine creates them.
    private var state: (any PolledState)?
    /// Per map entry (then per coil): the index of its point in the device's readings.
    private var positions: [Int?]?
    let relay: PolledCommandRelay
    let observer: (any PolledReadObserver)?

    init(deviceID: String, layout: RegisterLayout, registry: PolledStateRegistry, relay: PolledCommandRelay,
         observer: (any PolledReadObserver)? = nil) {
        self.deviceID = deviceID
        self.layout = layout
        self.registry = registry
        self.relay = relay
        self.observer = observer
    }

    func willAnswer(_ request: ModbusRequest) {
        if state == nil { state = registry.state(of: deviceID) }
        guard let state else { return }
        let readings = state.readings(at: SystemClock.monotonicNow())
        // Where each map entry's point sits in the readings, found once: a device returns its
        // readings in the same order every time, so requests need no name lookups.
        if positions == nil || positions?.count != layout.entries.count + layout.coils.count {
            positions = (layout.entries.map(\.point) + layout.coils.map(\.point)).map { point in readings.firstIndex { $0.point == point } }
        }
        guard let positions else { return }
        func value(_ slot: Int) -> PointValue? {
            guard let index = positions[slot], index < readings.count else { return nil }
            return readings[index].value
        }
        switch request.function {
        case 0x01:
            for (offset, coil) in layout.coils.enumerated() {
                if case .bool(let on)? = value(layout.entries.count + offset) { bank.setBit(.coils, coil.address, on) }
            }
        case 0x03, 0x04:
            let table: ModbusRegisterBank.Table = request.function == 0x03 ? .holding : .input
            let requested = request.address ..< request.address + request.quantity
            var answered: [PolledRead.Value] = []
            defer {
                if let observer, !answered.isEmpty {
                    observer.answered(PolledRead(device: deviceID, wallNanoseconds: SystemClock.wallNow().nanosecondsSinceEpoch, values: answered))
                }
            }
            for (slot, entry) in layout.entries.enumerated() where entry.table == table {
                guard entry.address < requested.upperBound, entry.address + entry.format.type.registerCount > requested.lowerBound else { continue }
                let number: Double
                switch value(slot) {
                case .double(let x)?: number = x
                case .int(let x)?: number = Double(x)
                case .bool(let x)?: number = x ? 1 : 0
                default: continue
                }
                let registers = entry.format.encode(number)
                bank.setRegisters(entry.table, at: entry.address, registers)
                // What the registers hold, not the number before encoding: scaling and float32
                // rounding are the meter's, and a gateway can only be held to what it could read.
                if observer != nil, let held = entry.format.decode(registers) { answered.append(.init(point: entry.point, value: held)) }
            }
        default:
            return
        }
    }

    func didWrite(_ request: ModbusRequest) {
        guard request.function == 0x05 || request.function == 0x0F else { return }
        for coil in layout.coils where (request.address ..< request.address + request.quantity).contains(coil.address) {
            guard let on = bank.bit(.coils, coil.address) else { continue }
            relay.send(DeviceCommand(on ? coil.onCommand : coil.offCommand), to: deviceID)
        }
    }
}
