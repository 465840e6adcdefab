import ParkGB28181
import ParkMedia

/// Answers GB/T 28181 INVITEs with live video: builds the ``GB28181DeviceAgent/MediaHooks`` a
/// device agent calls, on one ``RTPSender`` shared by every camera (one clip, one thread).
///
/// The mapping (GB/T 28181-2016 §9.2, Annex F; RFC 4145 for TCP roles):
/// - `m=video <port> RTP/AVP` → UDP to the offer's `c=` address and port, from the sender's UDP port;
/// - `TCP/RTP/AVP` with `a=setup:passive` (the platform listens) → we connect to its address and port;
/// - `TCP/RTP/AVP` with `a=setup:active` (the platform connects) → we listen, and answer our port;
/// - `y=` → the RTP SSRC (the agent echoes it in the answer); `s=Playback`/`Download` → the clip
///   looped over the `t=` range, then the stream ends; `s=Play` → live until BYE.
///
/// Streams are prepared on INVITE (sockets opened, so the answer can carry the port), begun on
/// ACK and ended on BYE — or when the 2xx is never ACKed.
public struct GB28181MediaHooks: Sendable {
    public let sender: RTPSender
    /// The `f=` of every answer, e.g. `v/2/2/25/1/512a///`.
    public let format: String

    /// - Parameters:
    ///   - sender: the started sender the streams run on.
    ///   - resolution: GB/T 28181 Annex F resolution code of the clip (1 QCIF, 2 CIF, 3 4CIF, 4 D1,
    ///     5 720P, 6 1080P); the fixture is CIF.
    public init(sender: RTPSender, resolution: Int = 2) {
        self.sender = sender
        format = Self.format(for: sender.clip, resolution: resolution)
    }

    /// `f=v/<codec 2: H.264>/<resolution>/<fps>/<rate type 1: CBR>/<kbit/s>a///` (no audio), per
    /// GB/T 28181-2016 Annex F.
    public static func format(for clip: PacketizedClip, resolution: Int) -> String {
        "v/2/\(resolution)/\(clip.framesPerSecond)/1/\(clip.averageBitRate / 1000)a///"
    }

    /// The longest playback range honoured, in seconds (a day): a `t=` line is untrusted input.
    public static let maximumPlaybackSeconds: Int64 = 86_400

    /// What the sender is asked for an offer to device `index`, channel `channel`.
    public static func request(for offer: GB28181SDP, index: Int, channel: Int, framesPerSecond: Int) -> RTPSender.StreamRequest {
        let transport: RTPSender.Transport = switch offer.transport {
        case .udp: .udp(address: offer.address, port: offer.port)
        // The parsed offer names the platform's role.
        case .tcpPassive: .tcpConnect(address: offer.address, port: offer.port)
        case .tcpActive: .tcpListen
        }
        // Without a y= line the platform cannot demultiplex by SSRC anyway; any fixed value will do.
        let ssrc = offer.ssrcValue ?? UInt32(truncatingIfNeeded: index &* 1_000 &+ channel)
        let clock = RTPStreamClock(ssrc: ssrc, seed: UInt64(index) << 20 ^ UInt64(channel) << 36 ^ UInt64(ssrc))
        let mode: RTPSender.Mode
        switch offer.sessionName.lowercased() {
        case "playback", "download":
            // Untrusted numbers: a difference that overflows is as good as no range.
            let (span, overflow) = offer.timeStop.subtractingReportingOverflow(offer.timeStart)
            let seconds = overflow ? 1 : min(max(1, span), maximumPlaybackSeconds)
            mode = .playback(frames: UInt64(seconds) * UInt64(framesPerSecond))
        default:
            mode = .live
        }
        return RTPSender.StreamRequest(transport: transport, clock: clock, mode: mode)
    }

    /// The hooks for ``GB28181DeviceAgent/init(client:hooks:media:)``.
    public var hooks: GB28181DeviceAgent.MediaHooks {
        let sender = sender, format = format
        return GB28181DeviceAgent.MediaHooks(
            prepare: { index, channel, offer in
                let request = Self.request(for: offer, index: index, channel: channel, framesPerSecond: sender.clip.framesPerSecond)
                // A refused socket (no free port, an address we cannot reach) answers 486, not a dead stream.
                guard let opened = try? sender.open(request) else { return nil }
                return GB28181DeviceAgent.MediaAnswer(
                    stream: opened.id, address: sender.configuration.localAddress, port: opened.localPort, format: format)
            },
            begin: { stream in sender.begin(stream) },
            end: { stream in sender.end(stream) })
    }
}
