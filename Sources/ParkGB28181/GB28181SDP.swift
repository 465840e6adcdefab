/// The SDP of a GB/T 28181 media session (§C.2 and Annex F): what a platform's INVITE offers and
/// what a device answers — session name Play, Playback or Download, the RTP address and port,
/// UDP or TCP (with `a=setup` active or passive, RFC 4145/4571), payload 96 PS/90000, the SSRC in
/// the `y=` line and the media description in the `f=` line.
///
/// Only what GB/T 28181 uses is read; unknown lines are kept out of the way, not refused, since
/// platforms add their own (`a=stream:`, `a=downloadspeed:`).
public struct GB28181SDP: Sendable, Equatable {
    /// How the RTP goes.
    public enum Transport: Sendable, Equatable {
        case udp
        /// TCP where the device connects to the platform (`a=setup:active` on the device's side).
        case tcpActive
        /// TCP where the device listens and the platform connects (`a=setup:passive` on the device's side).
        case tcpPassive
    }

    /// `s=`: Play (live), Playback, Download.
    public var sessionName: String
    /// `o=` username: the id of who sends the SDP.
    public var origin: String
    /// `c=` address.
    public var address: String
    public var port: Int
    public var transport: Transport
    /// `a=sendonly` / `a=recvonly`.
    public var direction: String
    /// `t=` start and stop (NTP-free Unix seconds in GB/T 28181 playback; 0 0 for live).
    public var timeStart: Int64
    public var timeStop: Int64
    /// `u=` for playback: `<channel id>:0`.
    public var uri: String?
    /// `y=`: ten digits, the SSRC in decimal (first digit 0 live, 1 history).
    public var ssrc: String?
    /// `f=`: `v/codec/resolution/framerate/ratetype/kbps` + `a/codec/kbps/samplerate`.
    public var format: String?

    public init(
        sessionName: String, origin: String, address: String, port: Int, transport: Transport = .udp, direction: String,
        timeStart: Int64 = 0, timeStop: Int64 = 0, uri: String? = nil, ssrc: String? = nil, format: String? = nil
    ) {
        self.sessionName = sessionName
        self.origin = origin
        self.address = address
        self.port = port
        self.transport = transport
        self.direction = direction
        self.timeStart = timeStart
        self.timeStop = timeStop
        self.uri = uri
        self.ssrc = ssrc
        self.format = format
    }

    /// The SSRC as a number (nil without a `y=` line or with one that is not ten digits).
    public var ssrcValue: UInt32? {
        guard let ssrc, ssrc.count == 10, let value = UInt32(ssrc) else { return nil }
        return value
    }

    /// The text, CRLF line ends, in the order RFC 4566 §5 requires (y= and f= last, as GB/T 28181 puts them).
    public var text: String {
        var lines = [
            "v=0", "o=\(origin) 0 0 IN IP4 \(address)", "s=\(sessionName)",
        ]
        if let uri { lines.append("u=\(uri)") }
        lines += ["c=IN IP4 \(address)", "t=\(timeStart) \(timeStop)"]
        let proto = transport == .udp ? "RTP/AVP" : "TCP/RTP/AVP"
        lines.append("m=video \(port) \(proto) 96")
        lines.append("a=\(direction)")
        lines.append("a=rtpmap:96 PS/90000")
        switch transport {
        case .udp: break
        case .tcpActive: lines += ["a=setup:active", "a=connection:new"]
        case .tcpPassive: lines += ["a=setup:passive", "a=connection:new"]
        }
        if let ssrc { lines.append("y=\(ssrc)") }
        if let format { lines.append("f=\(format)") }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public var bytes: [UInt8] { Array(text.utf8) }

    /// Reads an SDP body; an error names the line that is missing or wrong. At most 8 KiB.
    public init(bytes: [UInt8]) throws(GB28181SDPError) {
        guard bytes.count <= 8192 else { throw .tooLarge(bytes.count) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notText }
        var session: String?, origin: String?, address: String?, media: (port: Int, proto: String, payloads: [String])?
        var direction = "sendrecv", setup: String?, times: (Int64, Int64) = (0, 0), uri: String?, ssrc: String?, format: String?
        var hasPS = false
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = raw.trimmingSpaces
            guard line.count >= 2, line[line.index(after: line.startIndex)] == "=" else { continue }
            let value = String(line.dropFirst(2))
            switch line.first {
            case "s": session = value
            case "o": origin = value.split(separator: " ").first.map(String.init)
            case "c":
                let parts = value.split(separator: " ")
                guard parts.count == 3, parts[0] == "IN", parts[1] == "IP4" else { throw .badLine("c=\(value)") }
                address = String(parts[2])
            case "t":
                let parts = value.split(separator: " ")
                guard parts.count == 2, let start = Int64(parts[0]), let stop = Int64(parts[1]) else { throw .badLine("t=\(value)") }
                times = (start, stop)
            case "u": uri = value
            case "y": ssrc = value
            case "f": format = value
            case "m":
                // A second media line (audio) is left alone: the video one is what GB/T 28181 streams.
                guard media == nil else { continue }
                let parts = value.split(separator: " ").map(String.init)
                guard parts.count >= 4, parts[0] == "video", let port = Int(parts[1]), (0...65_535).contains(port) else { throw .badLine("m=\(value)") }
                media = (port, parts[2], Array(parts[3...]))
            case "a":
                if ["sendonly", "recvonly", "sendrecv", "inactive"].contains(value) { direction = value }
                else if value.hasPrefix("setup:") { setup = String(value.dropFirst(6)) }
                else if value.hasPrefix("rtpmap:96 "), value.dropFirst(10).uppercased().hasPrefix("PS/90000") { hasPS = true }
            default: continue
            }
        }
        guard let session else { throw .missing("s=") }
        guard let address else { throw .missing("c=") }
        guard let media else { throw .missing("m=video") }
        guard media.payloads.contains("96"), hasPS else { throw .noPS }
        let transport: Transport
        switch media.proto.uppercased() {
        case "RTP/AVP": transport = .udp
        case "TCP/RTP/AVP":
            // The offer's setup is the platform's role; ours is the other.
            switch setup {
            case "passive": transport = .tcpPassive
            case "active": transport = .tcpActive
            default: throw .badLine("a=setup:\(setup ?? "(none)") for TCP")
            }
        default: throw .badLine("m=video \(media.port) \(media.proto)")
        }
        self.init(sessionName: session, origin: origin ?? "", address: address, port: media.port, transport: transport,
                  direction: direction, timeStart: times.0, timeStop: times.1, uri: uri, ssrc: ssrc, format: format)
    }
}

/// Why an SDP body could not be read.
public enum GB28181SDPError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(Int)
    case notText
    case missing(String)
    case badLine(String)
    /// No payload type 96 mapped to PS/90000: nothing a GB/T 28181 device can send.
    case noPS

    public var description: String {
        switch self {
        case .tooLarge(let size): "SDP of \(size) bytes is over the 8192-byte limit"
        case .notText: "SDP is not UTF-8 text"
        case .missing(let line): "SDP has no \(line) line"
        case .badLine(let line): "SDP line '\(line.prefix(80))' is not what GB/T 28181 sends"
        case .noPS: "SDP offers no payload 96 as PS/90000"
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
