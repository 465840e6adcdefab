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

    /// Alarm delay and drop are the platform core's (the same switches as MQTT alarms), so the SIP
    /// server only gets its own two.
    static func sipFaults(_ faults: PlatformFaults) -> GB28181PlatformFaults {
        GB28181PlatformFaults(catalogTruncated: faults.catalogTruncated, keepalivesIgnored: faults.keepalivesIgnored)
    }

    func sipFaultsChanged(_ faults: PlatformFaults) {
        let transport = sip.withLock { $0 }
        transport?.perform { user, _ in user.server.faults = Self.sipFaults(faults) }
    }

    private func sipEvents(_ records: [GB28181PlatformEventRecord]) {
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
                    actions += core.cameraAlarm(id, values: values, now: now)
                case .problem(let id, let reason):
                    actions.append(.refused(PlatformInputProblem(.malformed, topic: "sip", device: id, bytes: 0, detail: reason)))
                default:
                    break
                }
            }
        }
        perform(actions)
    }
}
