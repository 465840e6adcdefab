@testable import ParkCapture
import Testing

/// Captured frames cut down to their TCP payload.
@Suite struct TCPSegmentTests {
    /// An Ethernet + IPv4 + TCP frame (TCP header with 12 bytes of options) around `payload`.
    func frame(payload: [UInt8], ipTotalLength: Int?) -> [UInt8] {
        let ethernet: [UInt8] = Array(repeating: 0, count: 12) + [0x08, 0x00]
        let tcpHeaderLength = 32
        let total = ipTotalLength ?? (20 + tcpHeaderLength + payload.count)
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, 6, 0, 0]
        ip += [127, 0, 0, 1, 127, 0, 0, 2]
        var tcp: [UInt8] = [0xC3, 0x50, 0x07, 0x5B, 0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0]
        tcp += [UInt8(tcpHeaderLength / 4) << 4, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]
        tcp += [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]
        return ethernet + ip + tcp + payload
    }

    func segment(_ bytes: [UInt8]) -> TCPSegment? {
        bytes.withUnsafeBufferPointer { TCPSegment(frame: $0, linkType: 1) }  // 1 = DLT_EN10MB
    }

    @Test func payloadFollowsTheTCPOptions() throws {
        let payload: [UInt8] = [0x30, 3, 0, 1, 0x61]
        let cut = try #require(segment(frame(payload: payload, ipTotalLength: nil)))
        #expect(Array(cut.payload) == payload)
        #expect(cut.sequence == 0x1000)
        #expect(cut.flow.sourcePort == 50_000 && cut.flow.destinationPort == 1883)
        #expect(cut.flow.sourceAddress == 0x7F00_0001 && cut.flow.destinationAddress == 0x7F00_0002)
    }

    /// Segmentation offload leaves 0 in a large segment's IPv4 total length.
    @Test func zeroTotalLengthTakesTheFrameLength() throws {
        let payload = Array(repeating: UInt8(0x41), count: 70_000)
        let cut = try #require(segment(frame(payload: payload, ipTotalLength: 0)))
        #expect(cut.payload.count == payload.count)
    }

    @Test func shortOrForeignFramesAreNotSegments() {
        let good = frame(payload: [1, 2, 3], ipTotalLength: nil)
        #expect(segment(Array(good.prefix(40))) == nil)
        var arp = good
        arp[12] = 0x08; arp[13] = 0x06
        #expect(segment(arp) == nil)
    }
}
