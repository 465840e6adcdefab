#if canImport(Glibc)
import Glibc
#endif

/// An H.264 clip split, muxed into PS and cut into RTP payloads once, shared by every stream
/// that plays it: a stream to a thousand viewers must not mean a thousand encoders. Per stream
/// and per frame only the 12-byte RTP header and the few PS bytes holding the SCR, PTS and DTS
/// (at the start of each frame's first packet) are written anew; the rest of every packet is sent
/// straight from these bytes.
///
/// Immutable after init, so it is shared across threads without locks.
public struct PacketizedClip: Sendable {
    /// One RTP packet's payload: a slice of the shared PS bytes.
    public struct Packet: Sendable, Equatable {
        /// Offset and length in ``PacketizedClip/bytes``.
        public var offset: Int
        public var length: Int
        /// The frame (access unit) it belongs to.
        public var frame: Int
        /// The last packet of its frame (RTP marker bit, RFC 3551 for video: end of a frame).
        public var marker: Bool
        /// How many leading bytes carry time fields to restamp (0 for all but a frame's first packet).
        public var stampedLength: Int
    }

    /// One video frame: a PS pack in one or more packets.
    public struct Frame: Sendable, Equatable {
        public var firstPacket: Int
        public var packetCount: Int
        public var isKeyFrame: Bool
        /// Its PS pack's offset and length in ``PacketizedClip/bytes``.
        public var offset: Int
        public var length: Int
        /// Where its PTS and DTS are, from the pack's (and so its first packet's) start.
        public var ptsOffset: Int
        public var dtsOffset: Int
    }

    /// The RTP clock of PS over RTP (GB/T 28181 `a=rtpmap:96 PS/90000`).
    public static let clockRate = 90_000
    /// Room before a packet's body for its header and restamped prefix: 12 + the longest prefix.
    public static let headRoom = 128
    /// The payload type GB/T 28181 maps to PS.
    public static let payloadType: UInt8 = 96

    public let frames: [Frame]
    public let packets: [Packet]
    public let framesPerSecond: Int
    /// 90 kHz ticks per frame (3600 at 25 fps).
    public let frameTicks: UInt32
    private let storage: Storage

    /// Splits, muxes and packetizes `annexB`.
    /// - Parameters:
    ///   - framesPerSecond: the clip's rate (the elementary stream does not say it reliably).
    ///   - maximumPayload: RTP payload bytes per packet; 1400 keeps a packet with IP, UDP and RTP
    ///     headers under a 1500-byte MTU.
    /// - Throws: the splitter's errors, or ``MediaError/badParameter(_:)``.
    public init(annexB: [UInt8], framesPerSecond: Int = 25, maximumPayload: Int = 1400) throws(MediaError) {
        guard (1...120).contains(framesPerSecond), Self.clockRate % framesPerSecond == 0 else {
            throw .badParameter("frame rate \(framesPerSecond) must divide 90000 and be 1...120")
        }
        guard (Self.headRoom...65_000).contains(maximumPayload) else {
            throw .badParameter("RTP payload size \(maximumPayload) must be \(Self.headRoom)...65000")
        }
        let units = try H264AccessUnitSplitter.split(annexB)
        let ticks = UInt32(Self.clockRate / framesPerSecond)
        let peak = units.map(\.bytes.count).max() ?? 0
        let muxer = MPEGPSMuxer(bitRate: peak * 8 * framesPerSecond)
        var bytes: [UInt8] = []
        var frames: [Frame] = []
        var packets: [Packet] = []
        for (index, unit) in units.enumerated() {
            let pts = 90_000 + UInt64(index) * UInt64(ticks)
            let pack = muxer.mux(unit, pts: pts, scr: pts - UInt64(ticks))
            let frameStart = bytes.count
            bytes += pack.bytes
            let first = packets.count
            var offset = 0
            while offset < pack.bytes.count {
                let length = min(maximumPayload, pack.bytes.count - offset)
                packets.append(Packet(
                    offset: frameStart + offset, length: length, frame: index, marker: offset + length == pack.bytes.count,
                    stampedLength: offset == 0 ? pack.stampedLength : 0))
                offset += length
            }
            frames.append(Frame(
                firstPacket: first, packetCount: packets.count - first, isKeyFrame: unit.isKeyFrame, offset: frameStart,
                length: pack.bytes.count, ptsOffset: pack.ptsOffset, dtsOffset: pack.dtsOffset))
        }
        self.frames = frames
        self.packets = packets
        self.framesPerSecond = framesPerSecond
        frameTicks = ticks
        storage = Storage(bytes)
    }

    /// Reads and packetizes an Annex-B file (e.g. `fixtures/media/clip.h264`).
    public init(contentsOf path: String, framesPerSecond: Int = 25, maximumPayload: Int = 1400) throws(MediaError) {
        guard let file = fopen(path, "rb") else { throw .cannotRead(path, code: errno) }
        defer { fclose(file) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            data += chunk[0..<read]
            guard data.count <= H264AccessUnitSplitter.maximumInput else { throw .tooLarge(data.count) }
        }
        try self.init(annexB: data, framesPerSecond: framesPerSecond, maximumPayload: maximumPayload)
    }

    /// The PS bytes of the whole clip (every frame's pack, in order, stamped for a stream at 0).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(storage.buffer) }
    public var byteCount: Int { storage.buffer.count }
    /// The clip's length in 90 kHz ticks.
    public var durationTicks: UInt64 { UInt64(frames.count) * UInt64(frameTicks) }
    /// Average PS bit rate in bits per second.
    public var averageBitRate: Int { byteCount * 8 * framesPerSecond / max(1, frames.count) }

    /// The RTP header and PS time fields of `frameNumber` (frames since the stream began) for `clock`.
    @inlinable
    public func times(frameNumber: UInt64, clock: RTPStreamClock) -> (rtp: UInt32, pts: UInt64, scr: UInt64) {
        let elapsed = frameNumber &* UInt64(frameTicks)
        let pts = (clock.psBase &+ elapsed) % MPEGTimestamp.modulus
        let scr = (pts &+ MPEGTimestamp.modulus &- UInt64(frameTicks)) % MPEGTimestamp.modulus
        return (clock.rtpBase &+ UInt32(truncatingIfNeeded: elapsed), pts, scr)
    }

    /// The sequence number of packet `index` of the clip's `loop`th pass for `clock`.
    @inlinable
    public func sequence(packet index: Int, loop: UInt64, clock: RTPStreamClock) -> UInt16 {
        clock.firstSequence &+ UInt16(truncatingIfNeeded: loop &* UInt64(packets.count) &+ UInt64(index))
    }

    /// Writes packet `index`'s RTP header and restamped prefix at `head` (at least ``headRoom``
    /// bytes) for the `loop`th pass of `clock`'s stream. Returns how many bytes it wrote; the
    /// packet continues with the `bodyLength` shared bytes at `body`.
    @inlinable
    public func writeHead(packet index: Int, loop: UInt64, clock: RTPStreamClock, into head: UnsafeMutableRawPointer)
        -> (headLength: Int, body: UnsafeRawPointer, bodyLength: Int)
    {
        let packet = packets[index]
        let frameNumber = loop &* UInt64(frames.count) &+ UInt64(packet.frame)
        let (rtp, pts, scr) = times(frameNumber: frameNumber, clock: clock)
        RTPHeader(marker: packet.marker, payloadType: Self.payloadType, sequence: sequence(packet: index, loop: loop, clock: clock),
                  timestamp: rtp, ssrc: clock.ssrc).write(to: head)
        let source = bytes.baseAddress!.advanced(by: packet.offset)
        guard packet.stampedLength > 0 else {
            return (RTPHeader.length, source, packet.length)
        }
        let prefix = head.advanced(by: RTPHeader.length)
        prefix.copyMemory(from: source, byteCount: packet.stampedLength)
        let frame = frames[packet.frame]
        MPEGPSFrame.stamp(prefix, ptsOffset: frame.ptsOffset, dtsOffset: frame.dtsOffset, pts: pts, scr: scr)
        return (RTPHeader.length + packet.stampedLength, source.advanced(by: packet.stampedLength), packet.length - packet.stampedLength)
    }

    /// Packet `index` of pass `loop` as one array (tests, and the TCP queue's copy).
    public func packet(_ index: Int, loop: UInt64, clock: RTPStreamClock) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: Self.headRoom, alignment: 8) { head in
            let (headLength, body, bodyLength) = writeHead(packet: index, loop: loop, clock: clock, into: head.baseAddress!)
            return Array(UnsafeRawBufferPointer(start: head.baseAddress!, count: headLength))
                + Array(UnsafeRawBufferPointer(start: body, count: bodyLength))
        }
    }

    /// The bytes, allocated once and never moved, so senders can point iovecs at them.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        // Written once in init, read-only afterwards: safe to share.
        @usableFromInline let buffer: UnsafeMutableRawBufferPointer

        init(_ bytes: [UInt8]) {
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
            buffer.copyBytes(from: bytes)
        }

        deinit { buffer.deallocate() }
    }
}
