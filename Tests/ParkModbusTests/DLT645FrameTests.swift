import ParkModbus
import Testing

/// DL/T 645-2007 framing as meters and converters really deliver it.
@Suite struct DLT645FrameTests {
    /// Read forward active energy (DI 00 01 00 00) from meter 123456789012, as the standard's
    /// appendix writes it: FE…, 68, address low byte first, 68, 11, 04, DI + 33h each, CS, 16.
    @Test func encodesTheStandardsExample() throws {
        let address = try #require(DLT645Frame.address("123456789012"))
        #expect(address == [0x12, 0x90, 0x78, 0x56, 0x34, 0x12])
        #expect(DLT645Frame.number(address) == "123456789012")
        let frame = DLT645Frame(address: address, control: 0x11, data: [0x00, 0x00, 0x01, 0x00])
        let body: [UInt8] = [0x68, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33]
        #expect(frame.encoded(preamble: 4) == [0xFE, 0xFE, 0xFE, 0xFE] + body + [body.reduce(0, &+), 0x16])
    }

    @Test func decodesThroughPreamblesSplitsAndBackToBackFrames() throws {
        let first = DLT645Frame(address: try #require(DLT645Frame.address("000000000001")), control: 0x11, data: [0x00, 0x00, 0x01, 0x00])
        let second = DLT645Frame(address: try #require(DLT645Frame.address("000000000002")), control: 0x13, data: [])
        let stream = first.encoded(preamble: 2) + [0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE] + second.encoded(preamble: 0)
        var decoder = DLT645Decoder()
        var items: [DLT645Decoder.Item] = []
        // Byte by byte, as a slow serial line delivers it.
        for byte in stream { items += decoder.feed([byte]) }
        #expect(items == [.frame(first), .frame(second)])
        #expect(decoder.skippedBytes == 8)
    }

    /// A checksum byte equal to 0x16 (the end byte) does not end the frame early: frames are
    /// delimited by their length, not by searching for 16.
    @Test func aChecksumOf16IsNotTheEnd() throws {
        let address = try #require(DLT645Frame.address("000000000001"))
        var found: DLT645Frame?
        for low in UInt8(0) ... 255 {
            let frame = DLT645Frame(address: address, control: 0x91, data: [0x00, 0x00, 0x01, 0x00, low, 0x12, 0x00, 0x00])
            if frame.encoded(preamble: 0).dropLast().last == 0x16 { found = frame; break }
        }
        let frame = try #require(found, "some data byte gives checksum 16")
        var decoder = DLT645Decoder()
        #expect(decoder.feed(frame.encoded() + frame.encoded()) == [.frame(frame), .frame(frame)])
    }

    @Test func aBadChecksumIsReportedAndTheNextFrameStillDecodes() throws {
        let frame = DLT645Frame(address: try #require(DLT645Frame.address("000000000003")), control: 0x11, data: [0, 0, 1, 0])
        var corrupt = frame.encoded(preamble: 0)
        corrupt[corrupt.count - 2] &+= 1
        var decoder = DLT645Decoder()
        let items = decoder.feed(corrupt + frame.encoded())
        #expect(items.count == 2)
        if case .malformed(let why)? = items.first { #expect(why.contains("checksum")) } else { Issue.record("first item: \(items)") }
        #expect(items.last == .frame(frame))
    }

    @Test func bcdNumbers() {
        let energy = DLT645Number(bytes: 4, decimals: 2)
        #expect(energy.encode(1234.56) == [0x56, 0x34, 0x12, 0x00])
        #expect(energy.decode([0x56, 0x34, 0x12, 0x00]) == 1234.56)
        let current = DLT645Number(bytes: 3, decimals: 3, signed: true)
        #expect(current.encode(-1.5) == [0x00, 0x15, 0x80])
        #expect(current.decode([0x00, 0x15, 0x80]) == -1.5)
        #expect(DLT645Number(bytes: 2, decimals: 1).encode(99_999) == [0x99, 0x99], "clamped to the digits there are")
        #expect(energy.decode([0x5A, 0, 0, 0]) == nil, "A is not a decimal digit")
    }
}
