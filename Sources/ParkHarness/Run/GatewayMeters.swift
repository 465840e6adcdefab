import ParkBindings
import ParkCore
import ParkProfiles
import ParkWire

/// Where the park's meters answer for the system's gateway: per Modbus unit and per DL/T 645 meter number.
public struct GatewayMeterAddresses: Sendable {
    public var modbus: [ModbusDeviceBinding.Address] = []
    public var dlt645: [DLT645DeviceBinding.Address] = []

    public var isEmpty: Bool { modbus.isEmpty && dlt645.isEmpty }
    public var count: Int { modbus.count + dlt645.count }
}

/// The park's meters behind the system under test's gateway (the profile's `meters:`): devices
/// whose model has a register map on Modbus TCP, the other electricity meters on DL/T 645 buses.
/// Every read they answer goes to one ``MeterReadLog``.
final class GatewayMeters: Sendable {
    let modbus: ModbusDeviceBinding?
    let dlt645: DLT645DeviceBinding?

    /// Nil when the profile has no `meters:` or the park has no meter it could serve.
    static func make(
        _ endpoints: PlatformProfile.MeterEndpoints?, devices: [BoundDevice], catalog: ModelCatalog?, plan: inout [PlannedDevice],
        reads: MeterReadLog
    ) throws(HarnessError) -> GatewayMeters? {
        guard let endpoints else { return nil }
        guard let catalog else { throw .configuration("the profile's meters: needs the model profiles (their register maps)") }
        let registry = PolledStateRegistry()
        do throws(BindingError) {
            var modbus: ModbusDeviceBinding?
            if let address = endpoints.modbus {
                var maps: [String: ModelModbusMap] = [:]
                for device in devices where maps[device.model] == nil {
                    if let map = catalog.model(named: device.model)?.modbus { maps[device.model] = map }
                }
                if !maps.isEmpty {
                    modbus = try ModbusDeviceBinding(
                        devices: devices, maps: maps, registry: registry, transport: .tcp(host: address.host, firstPort: address.port),
                        unitsPerEndpoint: endpoints.unitsPerEndpoint, readObserver: reads)
                }
            }
            var dlt645: DLT645DeviceBinding?
            if let address = endpoints.dlt645 {
                // A model with a register map is read over Modbus when the gateway has both.
                let rest = devices.filter { catalog.speaksDLT645($0.model) && !(modbus?.serves($0.id) ?? false) }
                if !rest.isEmpty {
                    dlt645 = try DLT645DeviceBinding(devices: rest, registry: registry, host: address.host, firstPort: address.port,
                                                     metersPerBus: endpoints.metersPerBus, readObserver: reads)
                }
            }
            // A park without meters runs all on MQTT, whatever the profile offers.
            guard modbus != nil || dlt645 != nil else { return nil }
            for index in plan.indices { plan[index].setup.polled = registry }
            return GatewayMeters(modbus: modbus, dlt645: dlt645)
        } catch {
            throw .configuration("cannot set up the park's meters: \(error)")
        }
    }

    private init(modbus: ModbusDeviceBinding?, dlt645: DLT645DeviceBinding?) {
        self.modbus = modbus
        self.dlt645 = dlt645
    }

    func serves(_ deviceID: String) -> Bool { (modbus?.serves(deviceID) ?? false) || (dlt645?.serves(deviceID) ?? false) }

    func setSilent(_ deviceID: String, _ silent: Bool) throws(BindingError) {
        if let dlt645, dlt645.serves(deviceID) { try dlt645.setSilent(deviceID, silent) } else if let modbus {
            try modbus.setSilent(deviceID, silent)
        } else {
            throw BindingError("\(deviceID) is not a meter behind the gateway")
        }
    }

    func routeCommands(to engine: RealTimeEngine) {
        modbus?.routeCommands(to: engine)
        dlt645?.routeCommands(to: engine)
    }

    func start() throws(BindingError) -> GatewayMeterAddresses {
        var addresses = GatewayMeterAddresses()
        if let modbus { addresses.modbus = try modbus.start() }
        do throws(BindingError) {
            if let dlt645 { addresses.dlt645 = try dlt645.start() }
        } catch {
            modbus?.stop()
            throw error
        }
        return addresses
    }

    func stop() {
        modbus?.stop()
        dlt645?.stop()
    }

    /// One line per protocol for the run's progress.
    static func describe(_ addresses: GatewayMeterAddresses, _ endpoints: PlatformProfile.MeterEndpoints) -> [String] {
        var lines: [String] = []
        if !addresses.modbus.isEmpty, let host = endpoints.modbus?.host {
            let ports = Set(addresses.modbus.map(\.port)).sorted().map(String.init).joined(separator: ", ")
            lines.append("\(addresses.modbus.count) meters on Modbus TCP \(host):\(ports) "
                         + "(units 1–\(min(addresses.modbus.count, endpoints.unitsPerEndpoint)) per port) for the gateway to poll")
        }
        if !addresses.dlt645.isEmpty, let host = endpoints.dlt645?.host {
            let ports = Set(addresses.dlt645.map(\.port)).sorted().map(String.init).joined(separator: ", ")
            lines.append("\(addresses.dlt645.count) electricity meters on DL/T 645 \(host):\(ports) "
                         + "(meters \(addresses.dlt645.first?.meter ?? "")–\(addresses.dlt645.last?.meter ?? "")) for the gateway to poll")
        }
        return lines
    }
}
