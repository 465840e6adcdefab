@testable import ParkGB28181

/// A camera (``SIPRegistrarClient``) and the platform (``GB28181PlatformServer``) joined in
/// memory: each one's outbox is parsed and handed to the other, and the fake clock moves to the
/// next deadline of either. `cameraCut` loses everything the camera sends, as when it dies.
struct GB28181PlatformWire {
    static let second: UInt64 = 1_000_000_000
    static let serverAddress = SIPAddress.loopback(port: 5060)
    static let cameraAddress = SIPAddress.loopback(port: 5070)
    static let platformID = "34020000002000000001"
    static let domain = "3402000000"
    static let device = "34020000001110000001"
    static let password = "12345678"

    var camera: SIPRegistrarClient
    var server: GB28181PlatformServer
    /// Starts well away from 0 so nonce seconds and `now - interval` are ordinary numbers.
    var now: UInt64 = 1_000 * second
    var cameraCut = false
    var events: [GB28181PlatformEventRecord] = []
    /// Requests the platform sent the camera, in order.
    var requestsToCamera: [SIPMessage] = []
    /// Requests that reached the platform, with the instant they arrived.
    var requestsToServer: [(at: UInt64, message: SIPMessage)] = []
    private var handSN = 1000

    init(
        cameraPassword: String = password, keepalive: Duration = .seconds(60),
        knownPasswords: [String: String] = [device: password], faults: GB28181PlatformFaults = GB28181PlatformFaults()
    ) {
        let cameraSettings = SIPRegistrationSettings(
            server: Self.serverAddress, serverID: Self.platformID, domain: Self.domain, local: Self.cameraAddress,
            keepaliveInterval: keepalive)
        camera = SIPRegistrarClient(settings: cameraSettings, seed: 7)
        camera.add(deviceID: Self.device, password: cameraPassword)
        let settings = GB28181PlatformSettings(
            platformID: Self.platformID, domain: Self.domain, local: Self.serverAddress, keepaliveInterval: keepalive)
        server = GB28181PlatformServer(settings: settings, seed: 11, password: { knownPasswords[$0] })
        server.faults = faults
    }

    var registration: SIPRegistration { camera.registrations[0] }

    /// Delivers datagrams both ways until neither side has more to send.
    mutating func flush() {
        while true {
            let fromCamera = camera.takeOutbox(), fromServer = server.takeOutbox()
            if fromCamera.isEmpty, fromServer.isEmpty { break }
            for datagram in fromCamera where !cameraCut {
                precondition(datagram.address == Self.serverAddress, "camera sent to \(datagram.address)")
                let message = try! SIPParser().parse(datagram.bytes)
                if message.isRequest {
                    requestsToServer.append((now, message))
                    if let answer = server.received(request: message, from: Self.cameraAddress, now: now) { camera.received(answer, now: now) }
                } else {
                    server.received(message, now: now)
                }
            }
            for datagram in fromServer {
                precondition(datagram.address == Self.cameraAddress, "platform sent to \(datagram.address)")
                let message = try! SIPParser().parse(datagram.bytes)
                if message.isRequest {
                    requestsToCamera.append(message)
                    let answer = camera.received(request: message, from: Self.serverAddress, now: now)
                    if let answer, !cameraCut { server.received(answer, now: now) }
                } else {
                    camera.received(message, now: now)
                }
            }
        }
        events += server.takeEvents()
    }

    /// Fires every deadline of either side up to `time`, moving the clock along.
    mutating func run(until time: UInt64) {
        flush()
        while min(camera.nextDeadline, server.nextDeadline) <= time {
            now = max(now, min(camera.nextDeadline, server.nextDeadline))
            camera.advance(now: now)
            server.advance(now: now)
            flush()
        }
        now = time
    }

    mutating func run(for duration: UInt64) { run(until: now + duration) }

    /// Registers the camera and lets everything settle for a second.
    mutating func register() {
        camera.start(0, now: now)
        run(for: Self.second)
    }

    /// A MESSAGE the device sends by hand (what the camera agent will send once merged); the
    /// platform's answer.
    @discardableResult
    mutating func deviceSends(_ body: MANSCDPMessage, from device: String = device) -> SIPMessage {
        let bytes = try! body.encoded()
        return deviceSends(bytes: bytes, from: device)
    }

    mutating func deviceSends(bytes: [UInt8], from device: String = device) -> SIPMessage {
        handSN += 1
        let request = Self.message(bytes: bytes, from: device, branch: "z9hG4bKhand\(handSN)", cseq: handSN)
        requestsToServer.append((now, request))
        let answer = server.received(request: request, from: Self.cameraAddress, now: now)!
        flush()
        return answer
    }

    static func message(bytes: [UInt8], from device: String, branch: String, cseq: Int) -> SIPMessage {
        .request(method: "MESSAGE", uri: "sip:\(platformID)@\(domain)", headers: [
            SIPHeader("Via", "SIP/2.0/UDP \(cameraAddress);rport;branch=\(branch)"),
            SIPHeader("From", "<sip:\(device)@\(domain)>;tag=hand\(cseq)"),
            SIPHeader("To", "<sip:\(platformID)@\(domain)>"),
            SIPHeader("Call-ID", "hand\(cseq)@127.0.0.1"),
            SIPHeader("CSeq", "\(cseq) MESSAGE"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ], body: bytes)
    }

    /// The events of one kind, e.g. `events(\.isOffline)`.
    func events(where matches: (GB28181PlatformEvent) -> Bool) -> [GB28181PlatformEventRecord] { events.filter { matches($0.event) } }

    /// The body of the last request the platform sent the camera.
    var lastQuery: MANSCDPMessage? { requestsToCamera.last.flatMap { try? MANSCDPMessage(bytes: $0.body) } }
}

extension GB28181PlatformEvent {
    var isOffline: Bool { if case .offline = self { true } else { false } }
    var isOnline: Bool { if case .online = self { true } else { false } }
    var isAlarm: Bool { if case .alarm = self { true } else { false } }
    var isCatalog: Bool { if case .catalog = self { true } else { false } }
    var isRegistered: Bool { if case .registered = self { true } else { false } }
}
