/// Judges one received GB/T 28181 stream packet by packet, as a platform's receiver should: RTP
/// loss, duplicates and reordering by sequence number (RFC 3550 A.1/A.3), interarrival jitter
/// (A.8), and every frame — the packets between markers — reassembled and read as an MPEG-PS
/// pack (pack header, system header, PSM, PES of stream 0xE0) down to the H.264 NAL units, so a
/// frame counts only when it arrived whole and is well formed. The first frame that can be shown
/// is the first whole key frame (an IDR): that instant is what "video started" means.
///
/// A value fed by whoever owns the socket (``RTPReceiver``, or a test with packets in hand);
/// memory is bounded by ``maximumFrameBytes`` whatever the peer sends.
public struct PSStreamInspector: Sendable {
    /// What the stream looked like so far.
    public struct Statistics: Sendable, Equatable {
        /// RTP packets of the stream's SSRC and payload type, duplicates included.
        public var packets = 0
        public var bytes = 0
        /// Sequence numbers never received: expected (highest − first + 1) minus received.
        public var lost = 0
        public var duplicates = 0
        /// Packets that arrived after a later sequence number.
        public var reordered = 0
        /// Whole, well-formed PS frames.
        public var frames = 0
        /// Of those, frames holding an IDR.
        public var keyFrames = 0
        /// Frames with a packet missing (or arriving out of order), not counted in `frames`.
        public var incompleteFrames = 0
        /// Whole frames that were not a well-formed PS pack of H.264.
        public var malformedFrames = 0
        /// Frames whose PTS did not move forward from the previous frame's.
        public var timestampRegressions = 0
        /// Packets of another SSRC or payload type, or not RTP at all.
        public var foreignPackets = 0
        /// What was wrong with the first malformed frame or foreign packet.
        public var firstProblem: String?
        /// The SSRC the stream carries (the first packet's).
        public var ssrc: UInt32?
        /// Monotonic ns of the first packet, of the first whole key frame, and of the last packet.
        public var firstPacketAt: UInt64?
        public var firstKeyFrameAt: UInt64?
        public var lastPacketAt: UInt64?
        /// RFC 3550 interarrival jitter now, and the highest it has been, in milliseconds.
        public var jitterMilliseconds = 0.0
        public var maximumJitterMilliseconds = 0.0

        public init() {}
    }

    /// A frame larger than this is dropped as malformed rather than buffered.
    public static let maximumFrameBytes = 4 << 20

    public let payloadType: UInt8
    /// The SSRC the SDP asked for (`y=`); packets of another are foreign. Nil: the first packet's.
    public let expectedSSRC: UInt32?
    public private(set) var statistics = Statistics()
    /// Keep the whole frames' PS bytes, up to this many (0: none), for a decoder to read back.
    public var recordingLimit = 0
    /// The PS stream as received, whole frames only, at most ``recordingLimit`` bytes.
    public private(set) var recording: [UInt8] = []

    // Sequence state (RFC 3550 A.1): extended numbers, so a wrap at 65,535 is not a loss.
    private var firstSequence: Int64 = 0
    private var highestSequence: Int64 = 0
    private var received: Int64 = 0
    /// Which of the last 1,024 sequence numbers arrived, to tell a duplicate from a late packet.
    private var seen = [UInt64](repeating: 0, count: 16)
    // Jitter in timestamp units, and the previous packet's transit (A.8).
    private var jitter = 0.0
    private var previousTransit: Int64?
    // The frame being reassembled.
    private var frame: [UInt8] = []
    private var frameTimestamp: UInt32?
    private var frameWhole = true
    private var previousTimestamp: UInt32?
    private var previousPTS: UInt64?

    public init(expectedSSRC: UInt32? = nil, payloadType: UInt8 = 96) {
        self.expectedSSRC = expectedSSRC
        self.payloadType = payloadType
    }

    /// Takes one RTP packet that arrived at `now` (monotonic ns).
    public mutating func receive(_ packet: ArraySlice<UInt8>, at now: UInt64) {
        guard let header = RTPHeader(parsing: packet), let offset = RTPHeader.payloadOffset(in: packet) else {
            return foreign("a \(packet.count)-byte datagram that is not RTP version 2")
        }
        guard header.payloadType == payloadType else { return foreign("payload type \(header.payloadType), not \(payloadType)") }
        if statistics.ssrc == nil { statistics.ssrc = expectedSSRC ?? header.ssrc }
        guard header.ssrc == statistics.ssrc else { return foreign("SSRC \(header.ssrc), not \(statistics.ssrc ?? 0)") }
        statistics.packets += 1
        statistics.bytes += packet.count
        statistics.lastPacketAt = now
        let inOrder = sequence(header.sequence, first: statistics.firstPacketAt == nil)
        if statistics.firstPacketAt == nil { statistics.firstPacketAt = now }
        guard let inOrder else { return }  // a duplicate
        updateJitter(timestamp: header.timestamp, now: now)
        guard inOrder.follows else {
            // A late packet: its frame has already been judged incomplete.
            return
        }
        var payload = packet[(packet.startIndex + offset)...]
        if packet[packet.startIndex] & 0x20 != 0, let padding = payload.last, Int(padding) <= payload.count {
            payload = payload.dropLast(Int(padding))
        }
        if let timestamp = frameTimestamp, timestamp != header.timestamp {
            // The previous frame's marker never came.
            finishFrame(at: now, whole: false)
        }
        if frameTimestamp == nil {
            frameTimestamp = header.timestamp
            // After a gap a frame is whole only if this is its start: a new timestamp and a pack
            // header (the packets lost were the end of the frame before).
            frameWhole = inOrder.contiguous
                || (header.timestamp != previousTimestamp && payload.starts(with: [0x00, 0x00, 0x01, 0xBA]))
        } else if !inOrder.contiguous {
            frameWhole = false
        }
        if frame.count + payload.count > Self.maximumFrameBytes {
            frameWhole = false
        } else if frameWhole {
            frame.append(contentsOf: payload)
        }
        previousTimestamp = header.timestamp
        if header.marker { finishFrame(at: now, whole: frameWhole) }
    }

    private mutating func foreign(_ problem: String) {
        statistics.foreignPackets += 1
        if statistics.firstProblem == nil { statistics.firstProblem = problem }
    }

    /// Records `number`; nil for a duplicate, else whether it is the newest (`follows`) and comes
    /// right after the previous newest (`contiguous`).
    private mutating func sequence(_ number: UInt16, first: Bool) -> (follows: Bool, contiguous: Bool)? {
        if first {
            firstSequence = Int64(number)
            highestSequence = Int64(number)
            received = 1
            mark(Int64(number))
            return (true, true)
        }
        let delta = Int64(Int16(bitPattern: number &- UInt16(truncatingIfNeeded: highestSequence)))
        let extended = highestSequence + delta
        if delta <= 0 {
            if highestSequence - extended >= 1024 || isMarked(extended) || extended < firstSequence {
                statistics.duplicates += 1
                return nil
            }
            mark(extended)
            received += 1
            statistics.reordered += 1
            statistics.lost = Int(max(0, highestSequence - firstSequence + 1 - received))
            return (false, false)
        }
        // Sequence numbers skipped over leave the window unmarked.
        for skipped in (highestSequence + 1)..<min(extended, highestSequence + 1025) { unmark(skipped) }
        highestSequence = extended
        mark(extended)
        received += 1
        statistics.lost = Int(max(0, highestSequence - firstSequence + 1 - received))
        return (true, delta == 1)
    }

    private func isMarked(_ n: Int64) -> Bool { seen[Int((n & 1023) >> 6)] & (1 << UInt64(n & 63)) != 0 }
    private mutating func mark(_ n: Int64) { seen[Int((n & 1023) >> 6)] |= 1 << UInt64(n & 63) }
    private mutating func unmark(_ n: Int64) { seen[Int((n & 1023) >> 6)] &= ~(1 << UInt64(n & 63)) }

    /// RFC 3550 A.8, arrival time in the 90 kHz media clock.
    private mutating func updateJitter(timestamp: UInt32, now: UInt64) {
        let arrival = Int64(bitPattern: now / 100_000 * 9 + now % 100_000 * 9 / 100_000)
        let transit = arrival &- Int64(timestamp)
        if let previousTransit {
            let d = Double(abs(transit &- previousTransit))
            jitter += (d - jitter) / 16
            statistics.jitterMilliseconds = jitter / 90
            statistics.maximumJitterMilliseconds = max(statistics.maximumJitterMilliseconds, statistics.jitterMilliseconds)
        }
        previousTransit = transit
    }

    private mutating func finishFrame(at now: UInt64, whole: Bool) {
        defer {
            frame.removeAll(keepingCapacity: frame.capacity <= 1 << 20)
            frameTimestamp = nil
            frameWhole = true
        }
        guard whole else {
            statistics.incompleteFrames += 1
            return
        }
        switch PSPackReader.read(frame) {
        case .failure(let problem):
            statistics.malformedFrames += 1
            if statistics.firstProblem == nil { statistics.firstProblem = "frame \(statistics.frames + statistics.malformedFrames): \(problem)" }
        case .success(let pack):
            statistics.frames += 1
            if recording.count + frame.count <= recordingLimit { recording += frame }
            if pack.isKeyFrame {
                statistics.keyFrames += 1
                if statistics.firstKeyFrameAt == nil { statistics.firstKeyFrameAt = now }
            }
            if let pts = pack.pts {
                if let previousPTS, pts <= previousPTS { statistics.timestampRegressions += 1 }
                previousPTS = pts
            }
        }
    }
}

/// Reads one MPEG-PS pack of H.264 as GB/T 28181 cameras send it (ISO 13818-1 §2.5.3): what it
/// holds, or what is wrong with it. Not a general demuxer: enough to tell a frame a decoder can
/// use from one it cannot.
public enum PSPackReader {
    /// What a well-formed pack held.
    public struct Pack: Sendable, Equatable {
        /// The first video PES's PTS (90 kHz), if it had one.
        public var pts: UInt64?
        /// An IDR slice among the NAL units.
        public var isKeyFrame: Bool
        /// Bytes of H.264 in the video PES packets.
        public var videoBytes: Int
    }

    public static func read(_ bytes: [UInt8]) -> Result<Pack, PSProblem> {
        let n = bytes.count
        guard n >= 14, bytes[0] == 0, bytes[1] == 0, bytes[2] == 1, bytes[3] == 0xBA else {
            return .failure(PSProblem("does not start with a pack header (00 00 01 BA)"))
        }
        var pack = Pack(pts: nil, isKeyFrame: false, videoBytes: 0)
        var video: [UInt8] = []
        var i = 0
        while i < n {
            guard i + 4 <= n, bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 else {
                return .failure(PSProblem("no start code at byte \(i)"))
            }
            let id = bytes[i + 3]
            switch id {
            case 0xBA:
                guard i + 14 <= n, bytes[i + 4] >> 6 == 0b01 else { return .failure(PSProblem("pack header at byte \(i) is not MPEG-2")) }
                i += 14 + Int(bytes[i + 13] & 0x07)
            case 0xB9:
                i += 4
            case 0xBB...0xFF:
                guard i + 6 <= n else { return .failure(PSProblem("stream 0x\(String(id, radix: 16)) header cut short at byte \(i)")) }
                let length = Int(bytes[i + 4]) << 8 | Int(bytes[i + 5])
                guard i + 6 + length <= n else {
                    return .failure(PSProblem("stream 0x\(String(id, radix: 16)) at byte \(i) says \(length) bytes, \(n - i - 6) remain"))
                }
                if (0xE0...0xEF).contains(id) {
                    guard length >= 3, bytes[i + 6] >> 6 == 0b10 else { return .failure(PSProblem("video PES at byte \(i) has no MPEG-2 PES header")) }
                    let headerLength = Int(bytes[i + 8])
                    guard 3 + headerLength <= length else { return .failure(PSProblem("video PES at byte \(i) has a header longer than the packet")) }
                    if pack.pts == nil, bytes[i + 7] & 0x80 != 0, headerLength >= 5 {
                        let p = i + 9
                        pack.pts = UInt64(bytes[p] >> 1 & 0x07) << 30 | UInt64(bytes[p + 1]) << 22 | UInt64(bytes[p + 2] >> 1) << 15
                            | UInt64(bytes[p + 3]) << 7 | UInt64(bytes[p + 4] >> 1)
                    }
                    video += bytes[(i + 9 + headerLength)..<(i + 6 + length)]
                }
                i += 6 + length
            default:
                return .failure(PSProblem("unexpected start code 00 00 01 \(String(id, radix: 16)) at byte \(i)"))
            }
        }
        guard !video.isEmpty else { return .failure(PSProblem("holds no video PES (stream 0xE0)")) }
        pack.videoBytes = video.count
        // NAL units after 00 00 01 start codes (a four-byte start code ends in the same three).
        var nals = 0
        var j = 0
        while j + 3 < video.count {
            if video[j] == 0, video[j + 1] == 0, video[j + 2] == 1 {
                nals += 1
                let type = video[j + 3] & 0x1F
                if type == 5 { pack.isKeyFrame = true }
                j += 3
            } else {
                j += 1
            }
        }
        guard nals > 0 else { return .failure(PSProblem("its video holds no H.264 NAL unit start code")) }
        return .success(pack)
    }
}

/// What is wrong with a PS pack.
public struct PSProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
