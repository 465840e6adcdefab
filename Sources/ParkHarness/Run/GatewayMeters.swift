import ParkBindings
import ParkCore
import ParkProfiles
import ParkRuntime
import ParkWire

/// Where the park's meters answer for the system's gateway: per Modbus unit and per DL/T 645 meter number.
public typealias GatewayMeterAddresses = ParkSession.EndpointAddresses

/// The park's meters behind the system under test's gateway (the profile's `meters:`): devices
/// whose model has a register map on Modbus TCP, the other electricity meters on DL/T 645 buses.
/// Every read they answer goes to one ``MeterReadLog``. The session runs them; this chooses them
/// and lets checks silence one.
final class GatewayMeters: Sendable {
    /// The session's polled bindings (no MQTT).
    let bindings: ParkSession.Bindings

    /// Nil when the profile has no `meters:` or the park has no meter it could serve.
    static func make(
        _ endpoints: PlatformProfile.MeterEndpoints?, devices: [BoundDevice], catalog: ModelCatalog?, reads: MeterReadLog
    ) throws(HarnessError) -> GatewayMeters? {
        guard let endpoints else { return nil }
        guard let catalog else { throw .configuration("the profile's meters: needs the model profiles (their register maps)") }
        let registry = PolledStateRegistry()
        do throws(BindingError) {
            var modbus: ModbusDeviceBinding?
            let maps = catalog.modbusMaps(for: devices)
            if let address = endpoints.modbus, !maps.isEmpty {
                modbus = try ModbusDeviceBinding(
                    devices: devices, maps: maps, registry: registry, transport: .tcp(host: address.host, firstPort: address.port),
                    unitsPerEndpoint: endpoints.unitsPerEndpoint, readObserver: reads)
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
            return GatewayMeters(bindings: ParkSession.Bindings(modbus: modbus, dlt645: dlt645, registry: registry))
        } catch {
            throw .configuration("cannot set up the park's meters: \(error)")
        }
    }

    private init(bindings: ParkSession.Bindings) {
        self.bindings = bindings
    }

    func serves(_ deviceID: String) -> Bool { bindings.polls(deviceID) }

    func setSilent(_ deviceID: String, _ silent: Bool) throws(BindingError) {
        if let dlt645 = bindings.dlt645, dlt645.serves(deviceID) { try dlt645.setSilent(deviceID, silent) } else if let modbus = bindings.modbus {
            try modbus.setSilent(deviceID, silent)
        } else {
            throw BindingError("\(deviceID) is not a meter behind the gateway")
        }
    }

    /// The meter table a gateway under test is configured from (`meters.csv` in the run folder):
    /// per meter, where it answers and how it is read — `device,kind,model,protocol,host,port,
    /// unit,address,register_map` (unit for Modbus, the 12-digit address for DL/T 645; the
    /// register map is the model profile's file).
    static func table(
        _ addresses: GatewayMeterAddresses, _ endpoints: PlatformProfile.MeterEndpoints, devices: [BoundDevice], catalog: ModelCatalog?
    ) -> String {
        let byID = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func field(_ text: String) -> String {
            text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func row(_ device: String, _ protocolName: String, _ host: String, _ port: Int, unit: String, address: String, map: String) -> String {
            let bound = byID[device]
            return [device, bound?.kind ?? "", bound?.model ?? "", protocolName, host, String(port), unit, address, map].map(field)
                .joined(separator: ",")
        }
        var lines = ["device,kind,model,protocol,host,port,unit,address,register_map"]
        for address in addresses.modbus {
            let model = byID[address.device]?.model ?? ""
            lines.append(row(address.device, "modbus-tcp", endpoints.modbus?.host ?? "", address.port, unit: String(address.unit), address: "",
                             map: catalog?.model(named: model)?.file ?? ""))
        }
        for address in addresses.dlt645 {
            lines.append(row(address.device, "dlt645-2007", endpoints.dlt645?.host ?? "", address.port, unit: "", address: address.meter, map: ""))
        }
        return lines.joined(separator: "\n") + "\n"
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
