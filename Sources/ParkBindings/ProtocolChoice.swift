import ParkCore
import ParkProfiles
import ParkWire

extension ParkFile {
    /// The park's devices as the protocol bindings see them, in park order.
    public var boundDevices: [BoundDevice] {
        devices.map { BoundDevice(id: $0.id, kind: $0.kind, model: $0.model, zone: $0.placement.zone, floor: $0.placement.floor) }
    }
}

extension ModelCatalog {
    /// The register maps of the models among `devices` whose profile has a `modbus:` section:
    /// those devices, and only those, answer on Modbus.
    public func modbusMaps(for devices: [BoundDevice]) -> [String: ModelModbusMap] {
        var maps: [String: ModelModbusMap] = [:]
        for device in devices where maps[device.model] == nil {
            if let map = model(named: device.model)?.modbus { maps[device.model] = map }
        }
        return maps
    }
}
