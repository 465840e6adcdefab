import Foundation
import ParkCore
import ParkEventLoop
import ParkGB28181
import ParkMedia
import ParkProfiles
import ParkReport

/// Certifies a real GB/T 28181 camera or NVR against its model profile (issue 14, camera
/// certification): ParkBench is the SIP server the device registers to, and judges what it does —
/// registration with digest, the catalog (complete, every item well formed), DeviceInfo and
/// DeviceStatus answers, keepalive regularity, an alarm raised at the device arriving with the
/// right fields, and live video: INVITE to first key frame, the stream whole and well formed,
/// BYE honoured.
///
/// Blocking, one run per call; the SIP server and the RTP receiver each run on a thread of their
/// own and this waits on what they report. A device that never registers is an error (exit 3 in
/// the CLI), not a failed check.
public struct CameraCertification: Sendable {
    public struct Configuration: Sendable {
        /// Where the SIP server listens (the address the device is configured with) and the RTP receiver binds.
        public var host: String
        public var port: UInt16
        /// The device's 20-digit id and its password (from the environment or a file, never the command line).
        public var deviceID: String
        public var password: String
        public var platformID = "34020000002000000001"
        /// The SIP domain: the first ten digits of the device id unless given.
        public var domain: String
        public var profile: ModelProfile
        /// How long the device has to register (it may be rebooting, or being configured).
        public var registerTimeout: Duration = .seconds(120)
        /// How long each query (Catalog, DeviceInfo, DeviceStatus) and the INVITE have for their answers.
        public var answerTimeout: Duration = .seconds(10)
        /// Keepalives to observe for the regularity check (at least 2: one interval).
        public var keepalives = 3
        /// How long to wait for an alarm raised at the device; zero: the alarm check is skipped.
        public var alarmTimeout: Duration = .zero
        /// How long the live stream is watched.
        public var videoSeconds: Duration = .seconds(5)
        /// INVITE to first whole key frame above this fails.
        public var videoStartLimit: Duration = .seconds(2)
        /// Bytes of the received PS stream to keep (for a decoder to check), 0: none.
        public var recordingLimit = 0
        public var waived: Set<String> = []
        /// Told what the run is doing and waiting for.
        public var progress: @Sendable (String) -> Void = { _ in }

        public init(host: String, port: UInt16, deviceID: String, password: String, profile: ModelProfile) {
            self.host = host
            self.port = port
            self.deviceID = deviceID
            self.password = password
            self.domain = String(deviceID.prefix(10))
            self.profile = profile
        }
    }

    /// What a run produced: the checks, and the PS bytes kept of the live stream.
    public struct Outcome: Sendable {
        public var checks: [CheckResult]
        public var recording: [UInt8]
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    typealias Transport = SIPUDPTransport<GB28181PlatformServer>

    /// The checks in the order they run; a device that stops registering leaves the rest not run.
    public static let checkIDs = [
        "registration", "catalog", "device-info", "device-status", "alarm", "video-start", "video-stream", "video-bye", "keepalive",
    ]

    public func run() throws(CameraCertificationError) -> Outcome {
        let c = configuration
        guard let address = SIPAddress(c.host, port: c.port) else { throw .configuration("--target host \(c.host) is not a dotted-quad IPv4 address") }
        let deviceID = c.deviceID, password = c.password
        let transport: Transport
        do {
            transport = try Transport(binding: address) { local in
                let settings = GB28181PlatformSettings(platformID: c.platformID, domain: c.domain, local: local)
                return GB28181PlatformServer(settings: settings, seed: MonotonicClock.now()) { $0 == deviceID ? password : nil }
            }
            try transport.start()
        } catch {
            throw .configuration("cannot serve SIP on udp://\(address): \(error)")
        }
        defer { transport.stop() }
        var run = Run(configuration: c, transport: transport)
        return try run.all()
    }
}

/// Why a camera certification could not judge the device.
public enum CameraCertificationError: Error, Sendable, CustomStringConvertible {
    /// The options or the local address are wrong (exit 2).
    case configuration(String)
    /// The device never registered (exit 3).
    case noRegistration(String)

    public var description: String {
        switch self {
        case .configuration(let text), .noRegistration(let text): text
        }
    }

    public var unreachable: Bool { if case .noRegistration = self { true } else { false } }
}

/// One certification run: the event log the server fills, and the checks made from it.
private struct Run {
    let configuration: CameraCertification.Configuration
    let transport: CameraCertification.Transport
    var events: [GB28181PlatformEventRecord] = []
    var registeredAt: UInt64 = 0
    var channels: [CatalogItem] = []
    var recording: [UInt8] = []

    init(configuration: CameraCertification.Configuration, transport: CameraCertification.Transport) {
        self.configuration = configuration
        self.transport = transport
    }

    var device: String { configuration.deviceID }

    // MARK: Waiting on the server

    /// Takes the server's new events into the log.
    mutating func drain() {
        events += transport.perform { server, _ in server.takeEvents() }
    }

    /// Polls the log (5 ms) until `find` gives a value or `timeout` passes.
    mutating func wait<T>(_ timeout: Duration, from start: Int = 0, _ find: (ArraySlice<GB28181PlatformEventRecord>) -> T?) -> T? {
        let deadline = MonotonicClock.now() + UInt64(timeout.components.seconds) * 1_000_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000)
        while true {
            drain()
            if let found = find(events[min(start, events.count)...]) { return found }
            guard MonotonicClock.now() < deadline else { return nil }
            usleep(5_000)
        }
    }

    static func seconds(_ duration: Duration) -> String { duration.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)) }

    func result(_ id: String, _ title: String, source: String, verdict: RunReport.Verdict, summary: String, metrics: [String: Metric] = [:],
                findings: [String] = [], started: Date) -> CheckResult {
        CheckResult(
            id: id, title: title, type: "camera-certify", source: source, severity: id == "registration" ? "critical" : "major",
            verdict: verdict, summary: summary, metrics: metrics, latency: nil, findings: findings,
            startedAt: ISO8601DateFormatter().string(from: started), startedAtNanoseconds: RunReport.nanoseconds(started),
            durationMilliseconds: Date().timeIntervalSince(started) * 1000)
    }

    /// A check that could not run: `error` when ParkBench could not (no RTP port), `skipped` when
    /// an earlier failure of the device left nothing to judge (that failure is the verdict).
    func notRun(_ id: String, because reason: String, ours: Bool = false) -> CheckResult {
        result(id, id, source: "", verdict: ours ? .error : .skipped, summary: "not run: \(reason)", started: Date())
    }

    // MARK: The run

    mutating func all() throws(CameraCertificationError) -> CameraCertification.Outcome {
        var checks: [CheckResult] = []
        let registration = try register()
        checks.append(registration)
        guard registration.verdict == .pass else {
            // Skipped, not error: the device answered (it was refused), so the failure is a verdict on it.
            checks += CameraCertification.checkIDs.dropFirst().map { notRun($0, because: "the device did not register") }
            return .init(checks: checks.waiving(configuration.waived), recording: [])
        }
        checks.append(catalog())
        checks.append(deviceInfo())
        checks.append(deviceStatus())
        checks.append(alarm())
        checks += video()
        checks.append(keepalive())
        return .init(checks: checks.waiving(configuration.waived), recording: recording)
    }

    /// The device registers with its password: challenged first, then accepted.
    mutating func register() throws(CameraCertificationError) -> CheckResult {
        let started = Date()
        let c = configuration
        c.progress("waiting up to \(Self.seconds(c.registerTimeout)) for \(device) to register to sip:\(c.platformID)@\(c.domain) at udp://\(transport.local)")
        let device = self.device
        let outcome = wait(c.registerTimeout) { events -> (expires: Int, address: SIPAddress)? in
            for record in events { if case .registered(device, let address, let expires) = record.event { return (expires, address) } }
            return nil
        }
        let refusals = events.compactMap { record -> GB28181Refusal? in
            if case .refused(device, let reason) = record.event { reason } else { nil }
        }
        let strangers = Set(events.compactMap { record -> String? in
            if case .refused(let other, .unknownDevice) = record.event, other != device { other } else { nil }
        })
        guard let outcome else {
            if let refusal = refusals.first {
                return result("registration", "The device registers with its own password (digest, challenged first)", source: "004_5e9061d643d5fb41.txt L754",
                              verdict: .fail, summary: "refused \(refusals.count) times: \(refusal)",
                              findings: refusals.prefix(5).map { "REGISTER refused: \($0)" }, started: started)
            }
            let others = strangers.isEmpty ? "" : "; REGISTERs came from other ids: \(strangers.sorted().prefix(3).joined(separator: ", ")) (is --device-id right?)"
            throw .noRegistration("no REGISTER from \(device) reached udp://\(transport.local) within \(Self.seconds(c.registerTimeout))\(others)")
        }
        registeredAt = events.first { if case .registered = $0.event { true } else { false } }?.at ?? MonotonicClock.now()
        let counters = transport.inspect { $0.counters }
        var findings: [String] = []
        var passed = true
        if counters.challenges == 0 {
            passed = false
            findings.append("registered without being challenged: the server must have been given credentials it never asked for")
        }
        if !refusals.isEmpty { findings.append("\(refusals.count) REGISTERs refused before one was accepted: \(refusals.first!)") }
        do {
            let id = try GB28181ID(device)
            let expected: Set<GB28181DeviceType> = c.profile.kind == "nvr" ? [.nvr, .dvr] : [.ipc, .camera]
            if !expected.contains(id.type) {
                passed = false
                findings.append("the id's type code \(id.typeCode) (\(id.type)) is not a \(c.profile.kind)'s (\(expected.map { "\($0.code)" }.sorted().joined(separator: " or ")))")
            }
        } catch {
            passed = false
            findings.append("the device id is not a GB/T 28181 id: \(error)")
        }
        if outcome.expires < 60 { findings.append("Expires \(outcome.expires) s: the device re-registers more than once a minute") }
        return result("registration", "The device registers with its own password (digest, challenged first)", source: "004_5e9061d643d5fb41.txt L754",
                      verdict: passed ? .pass : .fail,
                      summary: "registered from \(outcome.address) for \(outcome.expires) s after \(counters.challenges) challenge(s)",
                      metrics: ["expires": .count(outcome.expires), "challenges": .count(counters.challenges), "refusals": .count(refusals.count)],
                      findings: findings, started: started)
    }

    /// The catalog the platform asked for after registration: complete, each item well formed,
    /// the channels the profile declares.
    mutating func catalog() -> CheckResult {
        let started = Date()
        let device = self.device
        let title = "The catalog answers the query completely (SumNum items, split or not), every item well formed"
        let source = "004_5e9061d643d5fb41.txt L2633"
        // The server's own catalog timeout ends a catalog that stops half way; give it room.
        let outcome = wait(configuration.answerTimeout + .seconds(6)) { events -> (items: [CatalogItem], sumNum: Int, complete: Bool)? in
            for record in events { if case .catalog(device, _, let items, let sumNum, let complete) = record.event { return (items, sumNum, complete) } }
            return nil
        }
        guard let outcome else {
            return result("catalog", title, source: source, verdict: .fail, summary: "no answer to the Catalog query within \(Self.seconds(configuration.answerTimeout))",
                          started: started)
        }
        channels = outcome.items
        var findings: [String] = []
        if !outcome.complete { findings.append("the catalog stopped at \(outcome.items.count) of SumNum \(outcome.sumNum) items") }
        let declared = Int(configuration.profile.parameters["channels"] ?? "") ?? (configuration.profile.kind == "nvr" ? 16 : 1)
        if outcome.sumNum != declared { findings.append("SumNum \(outcome.sumNum), but the profile declares \(declared) channels") }
        var seen = Set<String>()
        for item in outcome.items {
            if !seen.insert(item.deviceID).inserted { findings.append("\(item.deviceID) appears twice") }
            if (try? GB28181ID(item.deviceID)) == nil { findings.append("item \(item.deviceID.prefix(24)) is not a 20-digit GB/T 28181 id") }
            if item.name.isEmpty { findings.append("item \(item.deviceID) has no Name") }
            if !["ON", "OFF", "ONLINE", "OFFLINE"].contains(item.status.uppercased()) { findings.append("item \(item.deviceID) has Status '\(item.status.prefix(20))'") }
        }
        return result("catalog", title, source: source, verdict: findings.isEmpty ? .pass : .fail,
                      summary: "\(outcome.items.count) of SumNum \(outcome.sumNum) items\(outcome.complete ? "" : " (incomplete)")",
                      metrics: ["items": .count(outcome.items.count), "sum_num": .count(outcome.sumNum), "problems": .count(findings.count)],
                      findings: Array(findings.prefix(20)), started: started)
    }

    /// Sends a query and waits for its event.
    mutating func ask<T>(_ cmdType: String, _ find: @escaping (GB28181PlatformEvent) -> T?) -> (answer: T?, failed: Int?) {
        let device = self.device
        let start = events.count
        let sn = transport.perform { server, now in server.query(deviceID: device, cmdType: cmdType, now: now) }
        var failure: Int?
        let answer = wait(configuration.answerTimeout, from: start) { events -> T? in
            for record in events {
                if let found = find(record.event) { return found }
                if case .requestFailed(device, cmdType, sn, let status) = record.event { failure = status ?? 408 }
            }
            return nil
        }
        return (answer, failure)
    }

    mutating func deviceInfo() -> CheckResult {
        let started = Date()
        let device = self.device
        let title = "DeviceInfo answers with the manufacturer, model, firmware and channel count the profile declares"
        let source = "000_d2d2437d3c7b6906.txt L1111"
        let (info, failed) = ask("DeviceInfo") { if case .deviceInfo(device, let info) = $0 { info } else { nil } }
        guard let info else {
            return result("device-info", title, source: source, verdict: .fail,
                          summary: failed.map { "the query was answered \($0)" } ?? "no DeviceInfo response within \(Self.seconds(configuration.answerTimeout))",
                          started: started)
        }
        var findings: [String] = []
        let gb = configuration.profile.gb28181
        if info.manufacturer.isEmpty { findings.append("no Manufacturer") }
        if info.model.isEmpty { findings.append("no Model") }
        if info.firmware.isEmpty { findings.append("no Firmware") }
        if let declared = gb?.manufacturer, !info.manufacturer.isEmpty, info.manufacturer != declared {
            findings.append("Manufacturer '\(info.manufacturer.prefix(40))', the profile says '\(declared)'")
        }
        if let declared = gb?.model, !info.model.isEmpty, info.model != declared { findings.append("Model '\(info.model.prefix(40))', the profile says '\(declared)'") }
        if !channels.isEmpty, info.channels != channels.count { findings.append("Channel \(info.channels), the catalog has \(channels.count)") }
        return result("device-info", title, source: source, verdict: findings.isEmpty ? .pass : .fail,
                      summary: "\(info.manufacturer) \(info.model) firmware \(info.firmware), \(info.channels) channel(s)", findings: findings, started: started)
    }

    mutating func deviceStatus() -> CheckResult {
        let started = Date()
        let device = self.device
        let title = "DeviceStatus answers online and working"
        let source = "000_d2d2437d3c7b6906.txt L1111"
        let (status, failed) = ask("DeviceStatus") { event -> (online: String?, status: String?)? in
            if case .deviceStatus(device, let online, let status) = event { (online, status) } else { nil }
        }
        guard let status else {
            return result("device-status", title, source: source, verdict: .fail,
                          summary: failed.map { "the query was answered \($0)" } ?? "no DeviceStatus response within \(Self.seconds(configuration.answerTimeout))",
                          started: started)
        }
        var findings: [String] = []
        if status.online?.uppercased() != "ONLINE" { findings.append("Online is '\(status.online ?? "(missing)")', not ONLINE") }
        if status.status?.uppercased() != "OK" { findings.append("Status is '\(status.status ?? "(missing)")', not OK") }
        return result("device-status", title, source: source, verdict: findings.isEmpty ? .pass : .fail,
                      summary: "Online \(status.online ?? "-"), Status \(status.status ?? "-")", findings: findings, started: started)
    }

    /// An alarm raised at the device (its test button, motion, the vendor's tool) arrives naming
    /// the device or one of its channels, with priority, method, type and time in range.
    mutating func alarm() -> CheckResult {
        let started = Date()
        let title = "An alarm raised at the device reaches the platform with the right fields"
        let source = "004_5e9061d643d5fb41.txt L2714"
        guard configuration.alarmTimeout > .zero else {
            return result("alarm", title, source: source, verdict: .skipped,
                          summary: "not asked: give --alarm-timeout (e.g. 60s) and raise an alarm at the device when asked", started: started)
        }
        configuration.progress("raise an alarm at \(device) now (its test button, motion in front of it, or the vendor's tool): waiting up to \(Self.seconds(configuration.alarmTimeout))")
        let device = self.device
        // An alarm raised before the question (a tester quick on the button) counts too.
        let start = 0
        let found = wait(configuration.alarmTimeout, from: start) { events -> (channel: String, alarm: AlarmNotification)? in
            for record in events { if case .alarm(device, let channel, let alarm) = record.event { return (channel, alarm) } }
            return nil
        }
        let problems = events[start...].compactMap { record -> String? in if case .problem(device, let reason) = record.event { reason } else { nil } }
        guard let found else {
            return result("alarm", title, source: source, verdict: .fail,
                          summary: "no alarm within \(Self.seconds(configuration.alarmTimeout))" + (problems.first.map { "; a message was refused: \($0)" } ?? ""),
                          findings: problems, started: started)
        }
        var findings: [String] = []
        // The alarm names the channel whose picture alarmed (its catalog item), not the device: a
        // platform links the alarm to that channel's video.
        let known = channels.isEmpty ? [device] : Set(channels.map(\.deviceID))
        if !known.contains(found.channel) {
            let own = found.channel == device ? " but the device's own id (the channel's belongs there\(found.alarm.description.map { "; the Description says '\($0.prefix(30))'" } ?? ""))" : ""
            findings.append("the alarm's DeviceID \(found.channel.prefix(24)) is not one of its \(channels.count) catalog channels\(own)")
        }
        let a = found.alarm
        if !(1...4).contains(a.priority) { findings.append("AlarmPriority \(a.priority) is not 1-4") }
        if !(1...7).contains(a.method) { findings.append("AlarmMethod \(a.method) is not 1-7") }
        if a.method == 5, a.type == nil { findings.append("a video alarm (method 5) without an AlarmType") }
        if !Self.isTime(a.time) { findings.append("AlarmTime '\(a.time.prefix(30))' is not yyyy-MM-ddTHH:mm:ss") }
        let event = GB28181AlarmTypes.event(of: a) ?? "unknown type"
        return result("alarm", title, source: source, verdict: findings.isEmpty ? .pass : .fail,
                      summary: "\(event) from \(found.channel): priority \(a.priority), method \(a.method)\(a.type.map { ", type \($0)" } ?? "")",
                      findings: findings, started: started)
    }

    static func isTime(_ text: String) -> Bool {
        let parts = Array(text.utf8)
        guard parts.count >= 19 else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        return digits.allSatisfy { (48...57).contains(parts[$0]) } && parts[4] == 45 && parts[7] == 45 && parts[10] == 84 && parts[13] == 58 && parts[16] == 58
    }

    /// Live video of the first channel: INVITE → answer → first packet → first whole key frame,
    /// the stream watched, then BYE and no more packets.
    mutating func video() -> [CheckResult] {
        let started = Date()
        let c = configuration
        let startTitle = "INVITE to the first whole key frame at the platform within \(Self.seconds(c.videoStartLimit))"
        let streamTitle = "The live stream arrives whole: every RTP packet, every frame a well-formed PS pack of H.264, the offered SSRC, the declared frame rate"
        let byeTitle = "BYE is answered and the stream stops"
        let source = "000_d2d2437d3c7b6906.txt L1111"
        let receiver: RTPReceiver
        let stream: RTPReceiver.OpenedStream
        do {
            receiver = try RTPReceiver(localAddress: transport.local.host)
            try receiver.start()
            stream = try receiver.open(.udp, expectedSSRC: nil, recordingLimit: c.recordingLimit)
        } catch {
            let reason = "cannot open an RTP port on \(transport.local.host): \(error)"
            return [result("video-start", startTitle, source: source, verdict: .error, summary: reason, started: started),
                    notRun("video-stream", because: reason, ours: true), notRun("video-bye", because: reason, ours: true)]
        }
        defer { receiver.stop() }
        let device = self.device
        let channel = channels.first?.deviceID ?? device
        c.progress("live video: INVITE \(channel) to udp://\(transport.local.host):\(stream.port)")
        let offer = GB28181SDP(sessionName: "Play", origin: "", address: transport.local.host, port: stream.port, direction: "recvonly")
        let start = events.count
        let invitedAt = MonotonicClock.now()
        guard let callID = transport.perform({ server, now in server.invite(deviceID: device, channelID: channel, receiver: offer, now: now) }) else {
            let reason = "the device is no longer registered"
            return [result("video-start", startTitle, source: source, verdict: .fail, summary: reason, started: started),
                    notRun("video-stream", because: reason), notRun("video-bye", because: reason)]
        }
        let ssrc = transport.inspect { $0.mediaSessions[callID]?.ssrc }
        let answered = wait(c.answerTimeout + .seconds(1), from: start) { events -> InviteOutcome? in
            for record in events {
                if case .mediaAnswered(_, _, callID, let answer) = record.event { return .answered(answer, at: record.at) }
                if case .mediaFailed(_, _, callID, let reason) = record.event { return .failed(reason) }
            }
            return nil
        }
        guard case .answered(let answer, let answeredAt) = answered else {
            let reason: String
            if case .failed(let text) = answered { reason = text } else { reason = "no answer to the INVITE within \(Self.seconds(c.answerTimeout))" }
            return [result("video-start", startTitle, source: source, verdict: .fail, summary: reason, started: started),
                    notRun("video-stream", because: "no video session"), notRun("video-bye", because: "no video session")]
        }
        _ = wait(c.videoStartLimit + .seconds(3)) { _ in receiver.statistics(stream.id)?.firstKeyFrameAt }
        let early = receiver.statistics(stream.id) ?? PSStreamInspector.Statistics()
        let ms = { (at: UInt64?) in at.map { Double($0 &- invitedAt) / 1e6 } }
        var startMetrics: [String: Metric] = ["answer_ms": .milliseconds(ms(answeredAt) ?? 0)]
        if let first = ms(early.firstPacketAt) { startMetrics["first_packet_ms"] = .milliseconds(first) }
        var startFindings: [String] = []
        if answer.ssrc != ssrc { startFindings.append("the answer's y= is \(answer.ssrc ?? "(none)"), the offer's \(ssrc ?? "-")") }
        let startResult: CheckResult
        if let firstFrame = ms(early.firstKeyFrameAt) {
            startMetrics["first_frame_ms"] = .milliseconds(firstFrame)
            let limit = Double(c.videoStartLimit.components.seconds) * 1000 + Double(c.videoStartLimit.components.attoseconds) / 1e15
            startResult = result("video-start", startTitle, source: source, verdict: firstFrame <= limit ? .pass : .fail,
                                 summary: String(format: "answered in %.0f ms, first packet %.0f ms, first key frame %.0f ms", ms(answeredAt) ?? 0,
                                                 ms(early.firstPacketAt) ?? 0, firstFrame),
                                 metrics: startMetrics, findings: startFindings, started: started)
        } else {
            let got = early.packets == 0 ? "no RTP packet" : "\(early.packets) packets but no whole key frame"
            startResult = result("video-start", startTitle, source: source, verdict: .fail,
                                 summary: "\(got) within \(Self.seconds(c.videoStartLimit + .seconds(3))) of the INVITE" + (early.firstProblem.map { "; \($0)" } ?? ""),
                                 metrics: startMetrics, findings: startFindings, started: started)
        }

        let streamStarted = Date()
        c.progress("live video: watching the stream for \(Self.seconds(c.videoSeconds))")
        Thread.sleep(forTimeInterval: Double(c.videoSeconds.components.seconds) + Double(c.videoSeconds.components.attoseconds) / 1e18)
        let s = receiver.statistics(stream.id) ?? PSStreamInspector.Statistics()
        recording = receiver.recording(stream.id)
        var streamFindings: [String] = []
        for (count, what) in [(s.lost, "RTP packets lost"), (s.incompleteFrames, "frames incomplete"), (s.malformedFrames, "frames malformed"),
                              (s.foreignPackets, "packets of another SSRC or payload type"), (s.timestampRegressions, "PTS regressions")] where count > 0 {
            streamFindings.append("\(count) \(what)")
        }
        if let problem = s.firstProblem { streamFindings.append("first problem: \(problem)") }
        if let offered = ssrc.flatMap(UInt32.init), let carried = s.ssrc, carried != offered { streamFindings.append("the stream carries SSRC \(carried), the offer asked for \(offered)") }
        var rate = 0.0
        if let first = s.firstPacketAt, let last = s.lastPacketAt, last > first { rate = Double(s.frames) / (Double(last - first) / 1e9) }
        let declared = answer.format.flatMap { Self.frameRate(inFormat: $0) }
        if let declared, abs(rate - Double(declared)) > Double(declared) * 0.2 {
            streamFindings.append(String(format: "%.1f frames/s, the answer's f= declares %d", rate, declared))
        }
        if s.frames == 0 { streamFindings.append("no whole frame in \(Self.seconds(c.videoSeconds))") }
        let streamResult = result(
            "video-stream", streamTitle, source: "004_5e9061d643d5fb41.txt L2633", verdict: streamFindings.isEmpty ? .pass : .fail,
            summary: String(format: "%d frames (%d key) at %.1f/s, %d packets, %d lost, jitter up to %.1f ms", s.frames, s.keyFrames, rate, s.packets, s.lost,
                            s.maximumJitterMilliseconds),
            metrics: ["frames": .count(s.frames), "packets": .count(s.packets), "lost": .count(s.lost), "incomplete_frames": .count(s.incompleteFrames),
                      "malformed_frames": .count(s.malformedFrames), "jitter.max": .milliseconds(s.maximumJitterMilliseconds), "frame_rate": .number(rate)],
            findings: streamFindings, started: streamStarted)

        let byeStarted = Date()
        let byeStart = events.count
        transport.perform { server, now in _ = server.bye(callID: callID, now: now) }
        var byeFailed: Int??
        let sip = transport
        let answeredBye = wait(c.answerTimeout, from: byeStart) { events -> Bool? in
            for record in events { if case .requestFailed(device, "BYE", _, let status) = record.event { byeFailed = .some(status) ; return false } }
            return sip.inspect { $0.transactions.count == 0 } ? true : nil
        } ?? false
        // Packets in flight when the 200 left; then nothing more may come.
        Thread.sleep(forTimeInterval: 0.3)
        let afterBye = receiver.statistics(stream.id)?.packets ?? 0
        Thread.sleep(forTimeInterval: 1.0)
        let late = (receiver.statistics(stream.id)?.packets ?? 0) - afterBye
        var byeFindings: [String] = []
        if !answeredBye {
            byeFindings.append(byeFailed.map { status in status.map { "the BYE was answered \($0)" } ?? "the BYE got no answer" } ?? "the BYE got no answer")
        }
        if late > 0 { byeFindings.append("\(late) RTP packets arrived 0.3–1.3 s after the BYE") }
        let byeResult = result("video-bye", byeTitle, source: source, verdict: byeFindings.isEmpty ? .pass : .fail,
                               summary: answeredBye ? (late == 0 ? "answered; no packet after it" : "answered, but the stream went on") : "not answered",
                               metrics: ["packets_after_bye": .count(late)], findings: byeFindings, started: byeStarted)
        return [startResult, streamResult, byeResult]
    }

    enum InviteOutcome {
        case answered(GB28181SDP, at: UInt64)
        case failed(String)
    }

    /// `25` from `v/2/4/25/1/512a///`.
    static func frameRate(inFormat format: String) -> Int? {
        let video = format.split(separator: "a", maxSplits: 1).first ?? ""
        let fields = video.split(separator: "/", omittingEmptySubsequences: false)
        return fields.count > 3 ? Int(fields[3]) : nil
    }

    /// Keepalives seen over the whole run: each interval within 20 % (and 2 s) of the profile's.
    mutating func keepalive() -> CheckResult {
        let started = Date()
        let c = configuration
        let title = "Keepalives arrive at the declared interval"
        let source = "004_5e9061d643d5fb41.txt L725"
        let declared = c.profile.gb28181?.keepaliveInterval.flatMap { DeviceDuration(parsing: $0) }.map { Double($0.nanoseconds) / 1e9 } ?? 60
        let wanted = max(2, c.keepalives)
        let device = self.device
        let already = events.count { if case .keepalive(device) = $0.event { true } else { false } }
        if already < wanted {
            let left = Double(wanted - already) * declared * 1.3 + 2
            c.progress("keepalive: \(already) of \(wanted) seen; waiting up to \(Int(left)) s for the rest (every \(Int(declared)) s declared)")
            _ = wait(.milliseconds(Int64(left * 1000))) { events in
                events.count { if case .keepalive(device) = $0.event { true } else { false } } >= wanted ? true : nil
            }
        }
        let times = events.compactMap { record -> UInt64? in if case .keepalive(device) = record.event { record.at } else { nil } }
        guard times.count >= 2 else {
            return result("keepalive", title, source: source, verdict: .fail,
                          summary: "\(times.count) keepalive(s) in \(Int(Double(MonotonicClock.now() - registeredAt) / 1e9)) s; \(Int(declared)) s declared",
                          started: started)
        }
        let intervals = zip(times, times.dropFirst()).map { Double($1 - $0) / 1e9 }
        let tolerance = max(0.5, declared * 0.2)
        let off = intervals.filter { abs($0 - declared) > tolerance }
        return result("keepalive", title, source: source, verdict: off.isEmpty ? .pass : .fail,
                      summary: String(format: "%d intervals of %.1f–%.1f s (declared %.0f s ± %.0f s)", intervals.count, intervals.min() ?? 0, intervals.max() ?? 0,
                                      declared, tolerance),
                      metrics: ["keepalives": .count(times.count), "interval.max": .milliseconds((intervals.max() ?? 0) * 1000)],
                      findings: off.map { String(format: "an interval of %.1f s", $0) }, started: started)
    }
}
