// The media target: what ParkMedia reads that could come from outside — an H.264 clip given on a
// command line, an RFC 4571 byte stream, an RTP header. Properties: the splitter never traps and
// gives back only bytes it was given; a clip it accepts packetizes so that one pass, stamped with
// the clock the clip was muxed at, is exactly the clip's PS bytes, every packet within its payload
// size, one marker per frame; a stream de-frames the same however its reads split; the platform's
// receiver (PSStreamInspector) takes the de-framed packets as RTP and the bytes as a PS pack without
// trapping, and never counts more frames than packets with a marker, nor reads a PS pack its reader refused.
import ParkMedia

let mediaTarget = FuzzTarget(
    name: "media",
    summary: "H264AccessUnitSplitter.split, PacketizedClip (pass 0 is the PS bytes), RFC4571Deframer (split vs whole), RTPHeader parsing, PSStreamInspector, PSPackReader"
) { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    let data = Array(input.rest)

    if let units = try? H264AccessUnitSplitter.split(data) {
        check(units.reduce(0) { $0 + $1.bytes.count } <= data.count, "units hold more bytes than the input")
        check(units.allSatisfy { $0.nalTypes.contains { (1...5).contains($0) } }, "a unit without a slice")
        let payload = 128 + Int(control & 0x3F) * 16
        if let clip = try? PacketizedClip(annexB: data, maximumPayload: payload) {
            check(clip.frames.count == units.count, "\(clip.frames.count) frames from \(units.count) units")
            check(clip.packets.allSatisfy { $0.length <= payload && $0.stampedLength <= $0.length }, "a packet over its payload size")
            check(clip.packets.filter(\.marker).count == clip.frames.count, "markers are not one per frame")
            let clock = RTPStreamClock(ssrc: 1, firstSequence: 0, rtpBase: 0, psBase: 90_000)
            var pass: [UInt8] = []
            for index in clip.packets.indices { pass += clip.packet(index, loop: 0, clock: clock).dropFirst(RTPHeader.length) }
            check(pass == Array(clip.bytes), "pass 0 restamped at the muxing clock differs from the clip's PS bytes")
        }
    }

    // The same bytes as an RFC 4571 stream, whole and in reads of 1-32 bytes.
    let size = Int(control >> 3 & 0x1F) + 1
    var whole = RFC4571Deframer(), split = RFC4571Deframer()
    whole.append(data)
    var wholePackets: [[UInt8]] = [], splitPackets: [[UInt8]] = []
    while let packet = whole.next() { wholePackets.append(packet) }
    for start in stride(from: 0, to: data.count, by: size) {
        split.append(data[start..<min(start + size, data.count)])
        while let packet = split.next() { splitPackets.append(packet) }
    }
    check(wholePackets == splitPackets && whole.pending == split.pending, "split reads de-frame differently")
    var inspector = PSStreamInspector(expectedSSRC: control & 1 == 0 ? nil : 0)
    var markers = 0
    for (index, packet) in wholePackets.enumerated() {
        if let header = RTPHeader(parsing: packet[...]) {
            _ = RTPHeader.payloadOffset(in: packet[...])
            if packet[0] == 0x80 { check(Array(packet.prefix(12)) == header.bytes, "an RTP header does not write back as read") }
            if header.marker { markers += 1 }
        }
        inspector.receive(packet[...], at: UInt64(index) * 40_000_000)
    }
    let statistics = inspector.statistics
    check(statistics.frames <= markers, "\(statistics.frames) whole frames from \(markers) markers")
    check(statistics.packets + statistics.foreignPackets <= wholePackets.count, "more packets counted than given")
    if case .success(let pack) = PSPackReader.read(data) { check(pack.videoBytes <= data.count, "a pack with more video than bytes") }
}
