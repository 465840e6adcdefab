import ParkMedia
import Testing

/// The pack, system header, PSM and PES layout of ISO 13818-1 §2.5, read back by a walker written
/// from the standard, not from the muxer.
@Suite struct MPEGPSMuxerTests {
    static let idr = H264AccessUnit(bytes: [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21], nalTypes: [9, 7, 5])
    static let p = H264AccessUnit(bytes: [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x41, 0x9A, 0x02], nalTypes: [9, 1])

    /// The MPEG-2 CRC of "123456789" is 0x0376E6E7 (the check value of CRC-32/MPEG-2).
    @Test func crcIsTheMPEG2Variant() {
        #expect(MPEGCRC32.checksum(Array("123456789".utf8)) == 0x0376_E6E7)
    }

    @Test func aKeyFrameIsPackHeaderSystemHeaderPSMThenPESWithPTSAndDTS() throws {
        let frame = MPEGPSMuxer(bitRate: 1_000_000).mux(Self.idr, pts: 123_456_789, scr: 123_453_189)
        let packets = try PSWalker.walk(frame.bytes)
        #expect(packets.map(\.code) == [0xBA, 0xBB, 0xBC, 0xE0])
        let pack = packets[0].bytes
        #expect(pack.count == 14)
        #expect(pack[4] >> 6 == 0b01)  // MPEG-2 pack header
        #expect(MPEGTimestamp.readSCR(pack[4...]) == 123_453_189)
        #expect(pack[13] & 0x07 == 0)  // no stuffing
        let muxRate = UInt32(pack[10]) << 14 | UInt32(pack[11]) << 6 | UInt32(pack[12]) >> 2
        #expect(muxRate == 2_500)  // 1 Mbit/s in 50-byte units

        let system = packets[1].bytes
        #expect(system[6] & 0x80 != 0 && system[8] & 0x01 != 0)  // marker bits around rate_bound
        #expect(system[10] & 0x1F == 1)  // video_bound
        #expect(system[12] == 0xE0)  // the one stream listed is video 0xE0

        let map = packets[2].bytes
        #expect(map.count == 20)
        #expect(MPEGCRC32.checksum(map) == 0, "PSM CRC must check to zero")
        let esMapLength = Int(map[10]) << 8 | Int(map[11])
        #expect(esMapLength == 4)
        #expect(Array(map[12..<16]) == [0x1B, 0xE0, 0x00, 0x00])

        let pes = packets[3].bytes
        #expect(pes[6] == 0x84)  // '10', data_alignment_indicator
        #expect(pes[7] >> 6 == 0b11)  // PTS and DTS
        #expect(pes[8] == 10)
        #expect(pes[9] >> 4 == 0b0011 && pes[14] >> 4 == 0b0001)
        #expect(MPEGTimestamp.readPES(pes[9...]) == 123_456_789)
        #expect(MPEGTimestamp.readPES(pes[14...]) == 123_456_789)
        #expect(Array(pes[19...]) == Self.idr.bytes)
        #expect(frame.ptsOffset == 14 + 15 + 20 + 9 && frame.stampedLength == 68)
    }

    @Test func aPFrameIsPackHeaderThenPESOnly() throws {
        let frame = MPEGPSMuxer(bitRate: 1_000_000).mux(Self.p, pts: 3_600, scr: 0)
        let packets = try PSWalker.walk(frame.bytes)
        #expect(packets.map(\.code) == [0xBA, 0xE0])
        #expect(Array(packets[1].bytes[19...]) == Self.p.bytes)
        #expect(frame.isKeyFrame == false && frame.ptsOffset == 23)
    }

    /// PES_packet_length is 16 bits: a 150,000-byte picture goes in three PES, timestamps on the first.
    @Test func aFrameOverOnePESContinuesInPESWithoutTimestamps() throws {
        let body = [0, 0, 0, 1, 0x65] + (0..<149_995).map { UInt8(truncatingIfNeeded: $0 % 251 + 2) }
        let unit = H264AccessUnit(bytes: body, nalTypes: [5])
        let frame = MPEGPSMuxer(bitRate: 8_000_000).mux(unit, pts: 90_000, scr: 86_400)
        let packets = try PSWalker.walk(frame.bytes)
        let pes = packets.filter { $0.code == 0xE0 }
        #expect(pes.count == 3)
        #expect(pes.allSatisfy { $0.bytes.count <= 6 + 65_535 })
        #expect(pes[0].bytes[7] == 0xC0 && pes[1].bytes[7] == 0x00 && pes[2].bytes[7] == 0x00)
        #expect(pes[1].bytes[6] == 0x80)  // only the first is aligned to the access unit
        let payload = pes.flatMap { Array($0.bytes[(9 + Int($0.bytes[8]))...]) }
        #expect(payload == body)
    }

    /// Timestamps wrap at 2^33 and keep their marker bits whatever the value.
    @Test func timestampsRoundTripOverTheir33Bits() {
        for value: UInt64 in [0, 1, 3_600, 0x1_0000_0000, MPEGTimestamp.modulus - 1, MPEGTimestamp.modulus + 5] {
            var bytes = [UInt8](repeating: 0, count: 11)
            bytes.withUnsafeMutableBytes { raw in
                MPEGTimestamp.writeSCR(value, into: raw.baseAddress!, at: 0)
                MPEGTimestamp.writePES(value, prefix: 2, into: raw.baseAddress!, at: 6)
            }
            #expect(MPEGTimestamp.readSCR(bytes[0...]) == value % MPEGTimestamp.modulus)
            #expect(MPEGTimestamp.readPES(bytes[6...]) == value % MPEGTimestamp.modulus)
            #expect(bytes[2] & 0x04 != 0 && bytes[4] & 0x04 != 0 && bytes[5] & 0x01 != 0)  // SCR markers
            #expect(bytes[6] & 1 == 1 && bytes[8] & 1 == 1 && bytes[10] & 1 == 1)  // PTS markers
        }
    }
}

/// Walks a program stream packet by packet, from the start codes and lengths alone.
enum PSWalker {
    struct Packet {
        var code: UInt8
        var bytes: [UInt8]
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func walk(_ bytes: [UInt8]) throws -> [Packet] {
        var packets: [Packet] = []
        var index = 0
        while index < bytes.count {
            guard index + 6 <= bytes.count, bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1 else {
                throw Malformed(description: "no start code at \(index)")
            }
            let code = bytes[index + 3]
            let length: Int
            if code == 0xBA {
                guard index + 14 <= bytes.count else { throw Malformed(description: "short pack header at \(index)") }
                length = 14 + Int(bytes[index + 13] & 0x07)
            } else {
                length = 6 + (Int(bytes[index + 4]) << 8 | Int(bytes[index + 5]))
            }
            guard index + length <= bytes.count else { throw Malformed(description: "packet 0x\(code) at \(index) runs past the end") }
            packets.append(Packet(code: code, bytes: Array(bytes[index..<(index + length)])))
            index += length
        }
        return packets
    }
}
