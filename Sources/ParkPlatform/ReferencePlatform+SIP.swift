import Foundation
import ParkEventLoop
import ParkGB28181

/// Where and as whom the reference platform serves GB/T 28181 cameras (issue 14, the platform
/// role). Passwords are looked up per device and never logged.
public struct PlatformSIPOptions: Sendable {
    public var host: String
    /// UDP port (0: a free one).
    public var port: UInt16
    public var platformID: String
    public var domain: String
    public var keepaliveInterval: Duration
    public var passwords: @Sendable (String) -> String?

    public init(
        host: String = "127.0.0.1", port: UInt16, platformID: String = "34020000002000000001", domain: String = "3402000000",
        keepaliveInterval: Duration = .seconds(60), passwords: @escaping @Sendable (String) -> String?
    ) {
        self.host = host
        self.port = port
        self.platformID = platformID
        self.domain = domain
        self.keepaliveInterval = keepaliveInterval
        self.passwords = passwords
    }
}

/// The platform's ``GB28181PlatformServer`` with its events handed on as they happen, so a camera
/// alarm reaches `platform/alarms` without waiting for a poll. The hand-off runs under the
/// transport's lock and takes the platform core's: never the other way round.
struct PlatformSIPUser: SIPTransportUser {
    var server: GB28181PlatformServer
    let sink: @Sendable ([GB28181PlatformEventRecord]) -> Void

    mutating func received(_ response: SIPMessage, now: UInt64) {
        server.received(response, now: now)
        handOn()
    }

    mutating func received(request: SIPMessage, from source: SIPAddress, now: UInt64) -> SIPMessage? {
        let answer = server.received(request: request, from: source, now: now)
        handOn()
        return answer
    }

    mutating func advance(now: UInt64) {
        server.advance(now: now)
        handOn()
    }

    var nextDeadline: UInt64 { server.nextDeadline }
    mutating func takeOutbox() -> [SIPDatagram] { server.takeOutbox() }

    private mutating func handOn() {
        let events = server.takeEvents()
        if !events.isEmpty { sink(events) }
    }
}

typealias PlatformSIPTransport = SIPUDPTransport<PlatformSIPUser>

extension ReferencePlatform {
    /// Serves GB/T 28181 cameras on UDP `options.port`; returns the bound port. Registration,
    /// keepalive timeout and unregistration feed the device status; alarms the alarm path.
    public func startSIP(_ options: PlatformSIPOptions) throws -> UInt16 {
        guard let address = SIPAddress(options.host, port: options.port) else {
            throw PlatformError("--sip-host \(options.host.prefix(40).debugDescription) is not a dotted-quad IPv4 address")
        }
        let faults = core.withLock { $0.faults }
        let transport: PlatformSIPTransport
        do {
            let sink: @Sendable ([GB28181PlatformEventRecord]) -> Void = { [weak self] in self?.sipEvents($0) }
            transport = try PlatformSIPTransport(binding: address) { local in
                let settings = GB28181PlatformSettings(
                    platformID: options.platformID, domain: options.domain, local: local, keepaliveInterval: options.keepaliveInterval)
                var server = GB28181PlatformServer(settings: settings, seed: MonotonicClock.now(), password: options.passwords)
                server.faults = Self.sipFaults(faults)
                return PlatformSIPUser(server: server, sink: sink)
            }
            try transport.start()
        } catch {
            throw PlatformError("cannot serve SIP on \(address): \(error)")
        }
        sip.withLock { $0 = transport }
        return transport.local.port
    }

    /// What the SIP server counted (nil before ``startSIP(_:)``).
    public var sipCounters: GB28181PlatformCounters? { sip.withLock { $0?.inspect { $0.server.counters } } }

    /// The cameras registered to the SIP server.
    public var sipDevices: [String: GB28181PlatformDevice] { sip.withLock { $0?.inspect { $0.server.devices } } ?? [:] }

    /// A REST command to a camera or NVR: a DeviceControl over SIP, in the camera kind's own
    /// command words (`ptz` with `preset` or `direction`, `guard` with `action` set or reset,
    /// `reset-alarm`, `reboot`). The `commandsDropped` fault
    /// switch records it and sends nothing, as for MQTT devices.
    func sipCommand(_ deviceID: String, command: String, arguments: [String: Any]) -> Result<String, PlatformError> {
        guard let control = Self.deviceControl(command, arguments: arguments) else {
            return .failure(PlatformError(
                "a camera takes ptz (with preset 1-255 or direction up/down/left/right/zoom-in/zoom-out/stop), guard (action set or reset), reset-alarm or reboot; got '\(command.prefix(40))' with arguments [\(arguments.keys.sorted().prefix(5).map { String($0.prefix(20)) }.joined(separator: ", "))]"))
        }
        guard let transport = sip.withLock({ $0 }) else { return .failure(PlatformError("the SIP server is not running")) }
        let sentAt = clock.now()
        let id = records.sent(device: deviceID, command: command, origin: "api", at: sentAt)
        store?.append(.command(id: id, device: deviceID, command: command, origin: "api", sent: sentAt))
        guard !core.withLock({ $0.faults.commandsDropped }) else { return .success(id) }
        let sn = transport.perform { user, now in user.server.control(deviceID: deviceID, control, now: now) }
        guard sn != nil else { return .failure(PlatformError("camera \(deviceID) is not registered to the SIP server")) }
        return .success(id)
    }

    /// The DeviceControl a REST command names; nil when it names none.
    static func deviceControl(_ command: String, arguments: [String: Any]) -> GB28181DeviceControl? {
        switch command {
        case "ptz":
            if let preset = (arguments["preset"] as? NSNumber)?.intValue ?? (arguments["preset"] as? String).flatMap({ Int($0) }) {
                guard (1...255).contains(preset) else { return nil }
                return .ptz(GB28181PTZCommand(action: .gotoPreset(preset)))
            }
            if let direction = arguments["direction"] as? String {
                return direction == "stop" ? .ptz(.stop) : GB28181PTZCommand(direction: direction).map { .ptz($0) }
            }
            return nil
        case "guard":
            switch arguments["action"] as? String ?? "set" {
            case "set": return .guarding(true)
            case "reset": return .guarding(false)
            default: return nil
            }
        case "reset-alarm": return .resetAlarm
        case "reboot": return .teleBoot
        default: return nil
        }
    }

    /// Alarm delay and drop are the platform core's (the same switches as MQTT alarms), so the SIP
    /// server only gets its own two.
    static func sipFaults(_ faults: PlatformFaults) -> GB28181PlatformFaults {
        GB28181PlatformFaults(
            catalogTruncated: faults.catalogTruncated, keepalivesIgnored: faults.keepalivesIgnored, passwordsUnchecked: faults.sipPasswordsUnchecked)
    }

    func sipFaultsChanged(_ faults: PlatformFaults) {
        let transport = sip.withLock { $0 }
        transport?.perform { user, _ in user.server.faults = Self.sipFaults(faults) }
    }

    func sipEvents(_ records: [GB28181PlatformEventRecord]) {
        guard !isCrashed else { return }
        let now = clock.now()
        var actions: [PlatformCore.Action] = []
        core.withLock { core in
            for record in records {
                switch record.event {
                case .online(let id): actions += core.camera(id, online: true, now: now)
                case .offline(let id, _), .unregistered(let id, _): actions += core.camera(id, online: false, now: now)
                case .alarm(let id, _, let alarm):
                    var values = ["priority": Double(alarm.priority), "method": Double(alarm.method)]
                    if let type = alarm.type { values["type"] = Double(type) }
                    let event = GB28181AlarmTypes.event(of: alarm) ?? PlatformCore.cameraAlarmEvent
                    actions += core.cameraAlarm(id, event: event, values: values, now: now)
                case .catalog(let id, _, let items, let sumNum, let complete):
                    actions.append(.showCatalog(device: id, channels: items.count, sumNum: sumNum, complete: complete))
                case .problem(let id, let reason):
                    actions.append(.refused(PlatformInputProblem(.malformed, topic: "sip", device: id, bytes: 0, detail: reason)))
                default:
                    break
                }
            }
        }
        perform(actions)
        // Under the transport's lock: nothing here may call back into the SIP server.
        for record in records {
            switch record.event {
            case .catalog, .mediaAnswered, .mediaFailed: videoEvent(record.event)
            default: break
            }
        }
    }
}
