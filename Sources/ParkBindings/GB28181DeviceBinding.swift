import Foundation
import Logging
import ParkCore
import ParkEventLoop
import ParkGB28181
import ParkProfiles
import ParkWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Puts a park's cameras and NVRs on GB/T 28181: they register with digest to a SIP platform,
/// keep alive when the device's own clock says so (its `keepalive` status emissions, so the
/// ledger and the wire agree on each), send their alarms as Alarm notifications, answer Catalog,
/// DeviceInfo, DeviceStatus and RecordInfo queries, and take DeviceControl (PTZ, guard, alarm
/// reset, reboot) as device commands through the engine.
///
/// Many devices share one UDP socket (``Configuration/devicesPerSocket``), each socket on one
/// event thread: 50,000 cameras need a few sockets, never a thread or a descriptor per camera.
///
/// A device's wire faults (stop keepalives, refuse re-register, alarm in the wrong field,
/// malformed XML) are read from its polled state at the moment they matter; a reboot is a power
/// loss on the wire (silence, no unregistration) and a fresh registration after.
public final class GB28181DeviceBinding: EmissionObserver, CommandTakingBinding, Sendable {
    /// Where the devices register and how.
    public struct Configuration: Sendable {
        /// The platform's SIP address.
        public var platform: SIPAddress
        /// The platform's 20-digit id.
        public var platformID: String
        /// The SIP domain: the ids' first 10 digits (centre code + industry), e.g. `3402000000`.
        public var domain: String
        /// The address the devices' sockets bind (port 0: free ports).
        public var bindHost: String
        public var devicesPerSocket: Int
        /// Each device's SIP password (nil: the device cannot register and is left out, with a
        /// warning). From a secrets file or the environment, never a profile.
        public var password: @Sendable (BoundDevice) -> String?
        public var timers: SIPTimers
        /// Live video on INVITE: every channel answers with the media sender's clip (nil: INVITEs
        /// are refused 488, as before). The sender is the caller's to start and stop, so one
        /// sender (one thread, one packetized clip) can serve several bindings.
        public var media: GB28181MediaHooks?
        /// Devices that begin registering per second when the binding starts, spread over its
        /// sockets in 10 ms steps (0: all at once). Fifty thousand REGISTERs at once are a
        /// retransmission storm for any registrar — sipp's included — so a park comes up at a rate
        /// the platform can answer; 5,000 a second brings 50,000 cameras up in 10 s.
        public var registrationsPerSecond: Int

        public init(
            platform: SIPAddress, platformID: String = "34020000002000000001", domain: String = "3402000000", bindHost: String = "127.0.0.1",
            devicesPerSocket: Int = 5_000, password: @escaping @Sendable (BoundDevice) -> String?, timers: SIPTimers = .rfc3261,
            media: GB28181MediaHooks? = nil, registrationsPerSecond: Int = 5_000
        ) {
            self.registrationsPerSecond = registrationsPerSecond
            self.platform = platform
            self.platformID = platformID
            self.domain = domain
            self.bindHost = bindHost
            self.devicesPerSocket = devicesPerSocket
            self.password = password
            self.timers = timers
            self.media = media
        }
    }

    /// A device's place on GB/T 28181, for a person or a platform to provision.
    public struct Address: Sendable, Hashable, Codable {
        public var device: String
        /// Its 20-digit id (type 132 for a camera, 118 for an NVR).
        public var id: String
        /// Its channels' ids (type 131), in channel order.
        public var channels: [String]
        /// The local port its socket sends from.
        public var port: Int
    }

    /// What one video model says on the wire.
    struct Model: Sendable {
        var settings: ModelGB28181Settings
        /// Alarm events this model reports, with their severities.
        var alarms: [String: EventSeverity]
        var registerExpires: Int
    }

    private struct Placement: Sendable {
        var socket: Int
        var index: Int
        var device: Int
    }

    /// Set when the binding stops, so a paced start still under way starts no more devices.
    final class PacingFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .acquiring) }
        func set() { flag.store(true, ordering: .releasing) }
    }

    private let pacingStopped = PacingFlag()

    private struct Running: Sendable {
        var transports: [SIPUDPTransport<GB28181DeviceAgent>] = []
        var addresses: [Address] = []
    }

    public let configuration: Configuration
    private let devices: [BoundDevice]
    private let ids: [String]
    private let models: [String: Model]
    private let registry: PolledStateRegistry
    private let placements: [String: Placement]
    private let running = Mutex(Running())
    private let handler = Mutex<DeviceCommandHandler?>(nil)
    private let logger = Logger(label: "parkbench.gb28181")

    /// - Parameters:
    ///   - devices: the park's devices; those whose model profile has a `gb28181:` section are put
    ///     on the wire, the rest ignored.
    ///   - registry: where the video devices publish their live state (guard, lost channels,
    ///     faults); the session gives every device this registry.
    /// - Throws: ``BindingError`` for a domain that is not 10 digits or more devices of a type
    ///   than one centre can number.
    public init(devices: [BoundDevice], catalog: ModelCatalog, kinds: some KindCatalog, registry: PolledStateRegistry,
                configuration: Configuration) throws(BindingError) {
        guard configuration.domain.count == 10, configuration.domain.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw BindingError("the GB/T 28181 domain must be 10 digits (centre code and industry), got '\(configuration.domain)'")
        }
        guard configuration.devicesPerSocket >= 1 else { throw BindingError("devicesPerSocket must be at least 1") }
        var models: [String: Model] = [:]
        var chosen: [BoundDevice] = []
        for device in devices {
            if models[device.model] == nil, let profile = catalog.model(named: device.model), let settings = profile.gb28181 {
                let events = kinds.descriptor(named: profile.kind)?.events ?? []
                let allowed = settings.alarmTypes.isEmpty ? nil : Set(settings.alarmTypes)
                var alarms: [String: EventSeverity] = [:]
                for event in events where event.severity != .info && (allowed?.contains(event.name) ?? true) { alarms[event.name] = event.severity }
                let expires = profile.parameters["register_expires"].flatMap(DeviceDuration.init(parsing:)).map { Int($0.seconds) } ?? 3600
                models[device.model] = Model(settings: settings, alarms: alarms, registerExpires: expires)
            }
            if models[device.model] != nil { chosen.append(device) }
        }
        let ids = try Self.number(chosen, domain: configuration.domain)
        var placements: [String: Placement] = [:]
        for (number, device) in chosen.enumerated() {
            placements[device.id] = Placement(socket: number / configuration.devicesPerSocket, index: number % configuration.devicesPerSocket, device: number)
        }
        self.configuration = configuration
        self.devices = chosen
        self.ids = ids
        self.models = models
        self.registry = registry
        self.placements = placements
    }

    /// The 20-digit ids the park's cameras and NVRs go by under `domain` (a 10-digit centre code
    /// and industry), by park device id: what a binding made from the same park gives them, so a
    /// platform started before the binding (the demo's) can know whose password a REGISTER asks for.
    public static func ids(for devices: [BoundDevice], catalog: ModelCatalog, domain: String) throws(BindingError) -> [String: String] {
        guard domain.count == 10, domain.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw BindingError("the GB/T 28181 domain must be 10 digits (centre code and industry), got '\(domain)'")
        }
        let chosen = devices.filter { catalog.model(named: $0.model)?.gb28181 != nil }
        return Dictionary(zip(chosen.map(\.id), try number(chosen, domain: domain)), uniquingKeysWith: { first, _ in first })
    }

    /// Numbers cameras (type 132) and NVRs (118) in order, each type from 1.
    private static func number(_ devices: [BoundDevice], domain: String) throws(BindingError) -> [String] {
        var ids: [String] = []
        var counts: [Int: Int] = [:]
        let centre = String(domain.prefix(8)), industry = Int(domain.suffix(2))!
        for device in devices {
            let type: GB28181DeviceType = device.kind == "nvr" ? .nvr : .ipc
            counts[type.code, default: 0] += 1
            do { ids.append(try GB28181ID.nth(counts[type.code]!, of: type, centre: centre, industry: industry).rawValue) } catch {
                throw BindingError("cannot number \(device.id) under \(domain): \(error)")
            }
        }
        return ids
    }

    /// The devices on GB/T 28181, in park order.
    public var deviceIDs: [String] { devices.map(\.id) }

    /// Whether this binding serves `deviceID`.
    public func serves(_ deviceID: String) -> Bool { placements[deviceID] != nil }

    public func setCommandHandler(_ handler: @escaping DeviceCommandHandler) { self.handler.withLock { $0 = handler } }

    /// Opens the sockets and registers every device; call after the session has created the
    /// devices (their channel counts and state come from the registry). Returns where each is.
    public func start() throws(BindingError) -> [Address] {
        var transports: [SIPUDPTransport<GB28181DeviceAgent>] = []
        var addresses: [Address] = []
        var channelSerial = 0
        let centre = String(configuration.domain.prefix(8)), industry = Int(configuration.domain.suffix(2))!
        guard let bindAddress = SIPAddress(configuration.bindHost, port: 0) else {
            throw BindingError("cannot bind GB/T 28181 sockets to '\(configuration.bindHost)': not an IPv4 address")
        }
        do {
            for first in stride(from: 0, to: devices.count, by: configuration.devicesPerSocket) {
                let group = first..<min(first + configuration.devicesPerSocket, devices.count)
                let hooks = hooks(socket: transports.count, offset: first)
                let transport = try SIPUDPTransport(binding: bindAddress) { local in
                    var settings = SIPRegistrationSettings(
                        server: configuration.platform, serverID: configuration.platformID, domain: configuration.domain, local: local,
                        timers: configuration.timers)
                    settings.keepalivesFromTimer = false
                    return GB28181DeviceAgent(
                        client: SIPRegistrarClient(settings: settings, seed: UInt64(first) &+ 0x6B28181), hooks: hooks, media: configuration.media?.hooks)
                }
                var agentDevices: [GB28181DeviceAgent.Device] = []
                for number in group {
                    let device = devices[number]
                    let model = models[device.model]!
                    let channels = Int(registry.state(of: device.id)?.readings(at: .zero).first { $0.point == "channels" }?.value.doubleValue ?? 1)
                    var items: [CatalogItem] = []
                    for channel in 1...max(1, channels) {
                        channelSerial += 1
                        let id = try GB28181ID.nth(channelSerial, of: .camera, centre: centre, industry: industry).rawValue
                        items.append(CatalogItem(
                            deviceID: id, name: channels > 1 ? "\(device.id) 通道\(channel)" : device.id,
                            manufacturer: model.settings.manufacturer ?? "ParkBench", model: model.settings.model ?? device.model,
                            civilCode: String(centre.prefix(6)), address: device.zone ?? "", parentID: ids[number]))
                    }
                    guard let password = configuration.password(device) else {
                        throw BindingError("\(device.id) has no GB/T 28181 password (give one per device in the secrets file)")
                    }
                    agentDevices.append(GB28181DeviceAgent.Device(
                        deviceID: ids[number], password: password,
                        info: DeviceInfo(name: device.id, manufacturer: model.settings.manufacturer ?? "ParkBench",
                                         model: model.settings.model ?? device.model, firmware: model.settings.firmware ?? "1.0", channels: items.count),
                        channels: items, charset: model.settings.charset == "UTF-8" ? .utf8 : .gb2312, catalogSplit: model.settings.catalogSplit))
                    addresses.append(Address(device: device.id, id: ids[number], channels: items.map(\.deviceID), port: Int(transport.local.port)))
                }
                transport.perform { agent, _ in for device in agentDevices { agent.add(device) } }
                transports.append(transport)
            }
            for transport in transports { try transport.start() }
        } catch let error as BindingError {
            transports.forEach { $0.stop() }
            throw error
        } catch {
            transports.forEach { $0.stop() }
            throw BindingError("GB/T 28181: \(error)")
        }
        running.withLock { $0 = Running(transports: transports, addresses: addresses) }
        let perStep = configuration.registrationsPerSecond / 100
        if perStep < 1 || devices.count <= perStep {
            for transport in transports { transport.perform { agent, now in agent.startAll(now: now) } }
        } else {
            let started = transports, sizes = transports.map { $0.inspect { $0.devices.count } }, stopped = pacingStopped
            Thread.detachNewThread { Self.startPaced(started, sizes: sizes, perStep: perStep, stopped: stopped) }
        }
        return addresses
    }

    /// Starts `perStep` devices every 10 ms, taken from each socket in turn, until all have begun
    /// registering or the binding stops. Its own thread: the pacing sleeps, the event threads must not.
    private static func startPaced(_ transports: [SIPUDPTransport<GB28181DeviceAgent>], sizes: [Int], perStep: Int, stopped: PacingFlag) {
        var next = Array(repeating: 0, count: transports.count)
        let began = MonotonicClock.now()
        var step: UInt64 = 0
        while !stopped.isSet, zip(next, sizes).contains(where: { $0 < $1 }) {
            var quota = perStep
            while quota > 0, zip(next, sizes).contains(where: { $0 < $1 }) {
                for socket in transports.indices where quota > 0 && next[socket] < sizes[socket] {
                    let share = min(sizes[socket] - next[socket], max(1, quota / transports.count), quota)
                    let range = next[socket]..<(next[socket] + share)
                    transports[socket].perform { agent, now in for index in range { agent.start(index, now: now) } }
                    next[socket] += share
                    quota -= share
                }
            }
            step += 1
            let due = began + step * 10_000_000, now = MonotonicClock.now()
            if due > now { usleep(UInt32((due - now) / 1_000)) }
        }
    }

    /// Unregisters every device and closes the sockets once the platform has answered (or
    /// `grace` has passed), and stops the media sender. Safe to call more than once.
    public func stop(grace: Duration = .milliseconds(500)) {
        let transports = running.withLock { current -> [SIPUDPTransport<GB28181DeviceAgent>] in
            defer { current.transports = [] }
            return current.transports
        }
        guard !transports.isEmpty else { return }
        pacingStopped.set()
        for transport in transports { transport.perform { agent, now in agent.stopAll(now: now) } }
        let deadline = MonotonicClock.now() + UInt64(grace.nanoseconds)
        while MonotonicClock.now() < deadline,
              transports.contains(where: { $0.inspect { $0.client.transactions.count } > 0 }) {
            usleep(5_000)
        }
        transports.forEach { $0.stop() }
        configuration.media?.sender.stop()
    }

    /// Cuts a device off the wire as a power loss does (no unregistration, no keepalives, no
    /// answers: the platform can only notice the silence), or brings it back to register afresh.
    public func setPowered(_ deviceID: String, _ on: Bool) throws(BindingError) {
        guard let place = placements[deviceID] else { throw BindingError("\(deviceID) is not on GB/T 28181") }
        guard let transport = transport(place.socket) else { throw BindingError("the GB/T 28181 binding is not started") }
        transport.perform { agent, now in
            if on { agent.start(place.index, now: now) } else { agent.stop(place.index, clean: false, now: now) }
        }
    }

    /// Where each device is, once started.
    public var addresses: [Address] { running.withLock { $0.addresses } }

    /// Registration and traffic figures summed over the devices.
    public var counters: (registration: SIPRegistration.Counters, agent: GB28181DeviceAgent.Counters, registered: Int) {
        var registration = SIPRegistration.Counters(), agent = GB28181DeviceAgent.Counters(), registered = 0
        for transport in running.withLock({ $0.transports }) {
            transport.inspect { current in
                for camera in current.client.registrations {
                    registration.add(camera.counters)
                    if case .registered = camera.state { registered += 1 }
                }
                agent.add(current.counters)
            }
        }
        return (registration, agent, registered)
    }

    // MARK: EmissionObserver

    public func deviceEmitted(_ record: LedgerRecord) {
        guard let place = placements[record.deviceID], let transport = transport(place.socket) else { return }
        switch (record.channel, record.name) {
        case (.status?, "keepalive"):
            transport.perform { agent, now in agent.keepalive(place.index, now: now) }
        case (.status?, "offline"):
            transport.perform { agent, now in agent.stop(place.index, clean: false, now: now) }
        case (.status?, "online"):
            transport.perform { agent, now in agent.start(place.index, now: now) }
        case (.local?, "wire-fault"):
            guard fault(record) == "refuse_reregister" else { return }
            let on = record.readings.first { $0.point == "enabled" }?.value == .bool(true)
            transport.perform { agent, _ in agent.setRefreshRefused(place.index, on) }
        case (.event?, let name):
            if name == "video-loss" || name == "video-restored" { catalogChanged(record, lost: name == "video-loss", place: place, transport: transport) }
            let model = models[devices[place.device].model]!
            guard let severity = model.alarms[name],
                  var alarm = GB28181AlarmMapping.notification(event: name, severity: severity,
                                                               time: GB28181AlarmMapping.localTime(nanosecondsSinceEpoch: record.time.wall.nanosecondsSinceEpoch))
            else { return }
            let channel = record.readings.first { $0.point == "channel" }?.value.doubleValue.map { Int($0) } ?? 1
            let wrongField = isSet("alarm_in_wrong_field", on: record.deviceID)
            transport.perform { agent, now in
                let device = agent.devices[place.index]
                let channelID = device.channels[min(max(channel, 1), device.channels.count) - 1].deviceID
                var source = channelID
                if wrongField {
                    // The field bug: the device's own id where the channel's belongs, the channel's in the description.
                    source = device.deviceID
                    alarm.description = channelID
                }
                agent.send(.alarmNotify(sn: agent.nextSN(place.index), deviceID: source, alarm: alarm), from: place.index, now: now)
            }
        default:
            return
        }
    }

    public func deviceReceived(_ record: LedgerRecord) {}

    /// A channel's video lost or back: its catalog item, Status OFF or ON, to the device's Catalog
    /// subscribers as a VLOST or ON change (GB/T 28181-2016 §A.2.4.1).
    private func catalogChanged(_ record: LedgerRecord, lost: Bool, place: Placement, transport: SIPUDPTransport<GB28181DeviceAgent>) {
        let channel = record.readings.first { $0.point == "channel" }?.value.doubleValue.map { Int($0) } ?? 1
        transport.perform { agent, now in
            let device = agent.devices[place.index]
            var item = device.channels[min(max(channel, 1), device.channels.count) - 1]
            item.status = lost ? "OFF" : "ON"
            agent.catalogChanged(place.index, items: [item], event: lost ? "VLOST" : "ON", now: now)
        }
    }

    // MARK: Helpers

    private func transport(_ socket: Int) -> SIPUDPTransport<GB28181DeviceAgent>? {
        running.withLock { socket < $0.transports.count ? $0.transports[socket] : nil }
    }

    private func fault(_ record: LedgerRecord) -> String? {
        if case .string(let name)? = record.readings.first(where: { $0.point == "fault" })?.value { return name }
        return nil
    }

    private func isSet(_ point: String, on deviceID: String) -> Bool {
        registry.state(of: deviceID)?.readings(at: .zero).first { $0.point == point }?.value == .bool(true)
    }

    /// The agent's questions for socket `socket`, whose first device is `offset` in park order.
    private func hooks(socket: Int, offset: Int) -> GB28181DeviceAgent.Hooks {
        let devices = devices, registry = registry
        return GB28181DeviceAgent.Hooks(
            status: { index in
                let readings = registry.state(of: devices[offset + index].id)?.readings(at: .zero) ?? []
                func value(_ point: String) -> PointValue? { readings.first { $0.point == point }?.value }
                let guarded = value("guard") == .bool(true)
                return DeviceStatusReport(
                    online: value("online") != .bool(false), status: "OK",
                    deviceTime: GB28181AlarmMapping.localTime(nanosecondsSinceEpoch: SystemClock.wallNow().nanosecondsSinceEpoch),
                    channels: [DeviceStatusReport.ChannelDuty(channelID: "", dutyStatus: guarded ? "ONDUTY" : "OFFDUTY")])
            },
            control: { [weak self] index, channel, control, request in
                guard let command = Self.command(for: control, channel: channel), let deliver = self?.handler.withLock({ $0 }) else { return .refused }
                let deviceID = devices[offset + index].id
                Task { [weak self] in
                    let result = await deliver(deviceID, command)
                    guard control.hasResponse, let self, let transport = self.transport(socket) else { return }
                    let accepted = if case .success(let answer) = result, answer.outcome == .accepted { true } else { false }
                    transport.perform { agent, now in agent.answer(request, from: index, accepted: accepted, now: now) }
                }
                return .later
            },
            malformedBodies: { index in registry.state(of: devices[offset + index].id)?.readings(at: .zero).contains { $0.point == "malformed_xml" && $0.value == .bool(true) } ?? false })
    }

    /// The device command a DeviceControl becomes (channel 0, the device itself, is channel 1).
    static func command(for control: GB28181DeviceControl, channel: Int) -> DeviceCommand? {
        let channelArgument: [String: PointValue] = ["channel": .int(Int64(max(channel, 1)))]
        switch control {
        case .ptz(let ptz):
            if case .gotoPreset(let preset) = ptz.action { return DeviceCommand("ptz", arguments: channelArgument.merging(["preset": .int(Int64(preset))]) { $1 }) }
            guard let direction = ptz.direction else { return nil }
            return DeviceCommand("ptz", arguments: channelArgument.merging(["direction": .string(direction)]) { $1 })
        case .guarding(let on):
            return DeviceCommand("guard", arguments: ["action": .string(on ? "set" : "reset")])
        case .resetAlarm:
            return DeviceCommand("reset-alarm")
        case .teleBoot:
            return DeviceCommand("reboot")
        }
    }
}
