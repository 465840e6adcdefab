import Foundation
import ParkEventLoop
import ParkGB28181
import ParkMedia
import ParkMQTT

/// One live video session of the reference platform: asked for through the REST API, an INVITE
/// to the camera's channel, an RTP port of the platform's receiver.
struct PlatformVideoSession: Sendable {
    let id: String
    let deviceID: String
    let channelID: String
    /// Monotonic ns when it was asked for (the receiver stamps packets on the same clock).
    let requestedAt: UInt64
    let stream: Int
    var callID: String?
    var answered = false
    var started = false
    var lastReport: UInt64 = 0
}

/// The reference platform's video side: its sessions, the receiver they arrive on, the channels
/// each camera's catalog named, and the monitor that reports them.
struct PlatformVideoState: Sendable {
    var receiver: RTPReceiver?
    var sessions: [String: PlatformVideoSession] = [:]
    var channels: [String: [String]] = [:]
    var nextSession = 1
    var monitor: ScheduledWork?
}

/// Live video on the platform (issue 14): `POST /devices/{id}/video` INVITEs a camera's channel
/// to an RTP port of the platform's receiver, which judges the MPEG-PS stream as it arrives
/// (``PSStreamInspector``); the platform reports on `platform/video` when the first whole key
/// frame arrives (`playing`, with the time it took), every second while it plays (`stats`),
/// when the camera refuses (`failed`) and when it is stopped (`stopped`, the final figures).
extension ReferencePlatform {
    /// How often the receiver's figures are looked at: the `playing` report is at most this late.
    static var videoMonitorPeriod: Duration { .milliseconds(20) }

    /// How a session is asked for: live or a recording's time range, over UDP or TCP.
    struct VideoRequest: Sendable {
        var channel: String?
        /// The platform listens and the camera connects (the offer's `a=setup:passive`).
        var tcp = false
        /// Playback of `start…end` (Unix seconds) instead of live video.
        var playback: (start: Int64, end: Int64)?
    }

    /// Asks device `deviceID` (its 20-digit id) for video of `request.channel` (default: the first
    /// channel of its catalog, else the device itself). The session's id.
    func startVideo(_ deviceID: String, _ request: VideoRequest) -> Result<String, PlatformError> {
        let channel = request.channel
        guard let transport = sip.withLock({ $0 }) else { return .failure(PlatformError("the SIP server is not running")) }
        guard transport.inspect({ $0.server.devices[deviceID] != nil }) else {
            return .failure(PlatformError("camera \(deviceID.prefix(40)) is not registered to the SIP server"))
        }
        let faults = core.withLock { $0.faults }
        let opened: (id: String, channel: String, port: Int)
        do {
            opened = try video.withLock { state throws(MediaError) in
                if state.receiver == nil {
                    let receiver = try RTPReceiver(localAddress: transport.local.host)
                    try receiver.start()
                    state.receiver = receiver
                }
                guard let receiver = state.receiver else { throw MediaError.badParameter("no receiver") }
                receiver.discardOneIn.store(faults.rtpLossOneIn, ordering: .relaxed)
                let stream = try receiver.open(request.tcp ? .tcpListen : .udp, expectedSSRC: nil)
                let id = "video-\(state.nextSession)"
                state.nextSession += 1
                let channelID = channel ?? state.channels[deviceID]?.first ?? deviceID
                state.sessions[id] = PlatformVideoSession(
                    id: id, deviceID: deviceID, channelID: channelID, requestedAt: MonotonicClock.now(), stream: stream.id)
                if state.monitor == nil {
                    state.monitor = clock.scheduleRepeating(every: Self.videoMonitorPeriod) { [weak self] in self?.monitorVideo() }
                }
                return (id, channelID, stream.port)
            }
        } catch {
            return .failure(PlatformError("cannot open an RTP port for the video: \(error)"))
        }
        var offer = GB28181SDP(sessionName: "Play", origin: "", address: transport.local.host, port: opened.port,
                               transport: request.tcp ? .tcpPassive : .udp, direction: "recvonly")
        if let range = request.playback {
            offer.sessionName = "Playback"
            offer.uri = "\(opened.channel):0"
            offer.timeStart = range.start
            offer.timeStop = range.end
        }
        let invite: @Sendable () -> Void = { [weak self, offer] in
            guard let self else { return }
            // The Call-ID goes on the session under the transport's lock, before the camera's
            // answer can be handled (on the transport's thread, which takes this lock first).
            let callID = transport.perform { user, now in
                let callID = user.server.invite(deviceID: deviceID, channelID: opened.channel, receiver: offer, now: now)
                self.video.withLock { $0.sessions[opened.id]?.callID = callID }
                return callID
            }
            if callID == nil { endVideo(opened.id, state: "failed", reason: "camera \(deviceID) is no longer registered") }
        }
        if faults.videoDelay > .zero {
            _ = clock.schedule(after: faults.videoDelay, invite)
        } else {
            invite()
        }
        return .success(opened.id)
    }

    /// Hangs up every session of `deviceID` (BYE); how many were ended.
    func stopVideo(_ deviceID: String) -> Int {
        let ids = video.withLock { $0.sessions.values.filter { $0.deviceID == deviceID }.map(\.id) }
        for id in ids { endVideo(id, state: "stopped", reason: nil) }
        return ids.count
    }

    /// The sessions open now, with their figures, for `GET /video`.
    var videoSessions: [[String: Any]] {
        let (sessions, receiver) = video.withLock { (Array($0.sessions.values), $0.receiver) }
        return sessions.sorted { $0.id < $1.id }.map { session in
            var object = Self.videoReport(session, state: session.started ? "playing" : "starting", statistics: receiver?.statistics(session.stream))
            object.removeValue(forKey: "ts_ns")
            return object
        }
    }

    /// Ends a session: BYE when it was INVITEd, its last figures reported as `state`, its port closed.
    private func endVideo(_ id: String, state: String, reason: String?) {
        guard let (session, receiver) = video.withLock({ video in video.sessions.removeValue(forKey: id).map { ($0, video.receiver) } }) else { return }
        if let callID = session.callID, let transport = sip.withLock({ $0 }) {
            transport.perform { user, now in _ = user.server.bye(callID: callID, now: now) }
        }
        var object = Self.videoReport(session, state: state, statistics: receiver?.statistics(session.stream))
        if let reason { object["reason"] = reason }
        receiver?.close(session.stream)
        publishVideo(object)
    }

    /// Stops the receiver and the monitor (the platform is stopping).
    func stopVideo() {
        let (receiver, monitor) = video.withLock { state in
            defer { state = PlatformVideoState() }
            return (state.receiver, state.monitor)
        }
        monitor?.cancel()
        receiver?.stop()
    }

    /// What the SIP server said about a session, and the channels a catalog named.
    func videoEvent(_ event: GB28181PlatformEvent) {
        switch event {
        case .catalog(let deviceID, _, let items, _, _):
            video.withLock { $0.channels[deviceID] = items.map(\.deviceID) }
        case .mediaAnswered(_, _, let callID, _):
            video.withLock { state in
                if let id = state.sessions.values.first(where: { $0.callID == callID })?.id { state.sessions[id]?.answered = true }
            }
        case .mediaFailed(_, _, let callID, let reason):
            if let id = video.withLock({ state in state.sessions.values.first { $0.callID == callID }?.id }) {
                video.withLock { $0.sessions[id]?.callID = nil }
                endVideo(id, state: "failed", reason: reason)
            }
        default:
            break
        }
    }

    /// Reports a session `playing` when its first whole key frame has arrived, and its figures every second.
    private func monitorVideo() {
        guard !isCrashed else { return }
        let now = MonotonicClock.now()
        var reports: [[String: Any]] = []
        video.withLock { state in
            guard let receiver = state.receiver else { return }
            for (id, session) in state.sessions {
                guard let statistics = receiver.statistics(session.stream) else { continue }
                if !session.started, statistics.firstKeyFrameAt != nil {
                    state.sessions[id]?.started = true
                    state.sessions[id]?.lastReport = now
                    reports.append(Self.videoReport(session, state: "playing", statistics: statistics))
                } else if session.started, now &- session.lastReport >= 1_000_000_000 {
                    state.sessions[id]?.lastReport = now
                    reports.append(Self.videoReport(session, state: "stats", statistics: statistics))
                }
            }
        }
        for report in reports { publishVideo(report) }
    }

    private func publishVideo(_ object: [String: Any]) {
        var object = object
        object["ts_ns"] = clock.now()
        let payload = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
        try? publisher()?(endpoints.videoTopic, payload, .atLeastOnce)
    }

    /// A session's report: who, which state, and the receiver's figures as `values`.
    static func videoReport(_ session: PlatformVideoSession, state: String, statistics: PSStreamInspector.Statistics?) -> [String: Any] {
        var object: [String: Any] = ["device": session.deviceID, "channel": session.channelID, "session": session.id, "state": state]
        guard let s = statistics else { return object }
        var values: [String: Double] = [
            "packets": Double(s.packets), "frames": Double(s.frames), "key_frames": Double(s.keyFrames), "lost": Double(s.lost),
            "duplicates": Double(s.duplicates), "reordered": Double(s.reordered), "incomplete_frames": Double(s.incompleteFrames),
            "malformed_frames": Double(s.malformedFrames), "foreign_packets": Double(s.foreignPackets),
            "timestamp_regressions": Double(s.timestampRegressions),
            "jitter_ms": (s.jitterMilliseconds * 100).rounded() / 100, "max_jitter_ms": (s.maximumJitterMilliseconds * 100).rounded() / 100,
        ]
        if let first = s.firstKeyFrameAt { values["first_frame_ms"] = Double(first &- session.requestedAt) / 1e6 }
        if let first = s.firstPacketAt, let last = s.lastPacketAt, last > first {
            let seconds = Double(last - first) / 1e9
            values["seconds"] = (seconds * 1000).rounded() / 1000
            values["kbps"] = (Double(s.bytes) * 8 / seconds / 1000).rounded()
            values["frame_rate"] = (Double(s.frames) / seconds * 100).rounded() / 100
        }
        object["values"] = values
        if let problem = s.firstProblem { object["problem"] = problem }
        return object
    }
}
