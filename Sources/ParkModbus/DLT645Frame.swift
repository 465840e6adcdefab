/// A DL/T 645-2007 frame: the meter-reading protocol of Chinese electricity meters on RS-485.
///
/// On the wire: optional `FE` wake-up bytes, `68`, six address bytes (BCD, lowest first), `68`,
/// the control code, the data length, the data (each byte + 0x33), a checksum (sum of everything
/// from the first `68`, mod 256) and `16`. ``data`` here is without the 0x33 offset.
/// Hand-written: no maintained Swift (or C) library for DL/T 645 exists to depend on.
public struct DLT645Frame: Hashable, Sendable {
    /// Six bytes, lowest first, as on the wire (`A0 … A5`); the meter number printed on its
    /// nameplate is these bytes in BCD read from A5 down to A0.
    public var address: [UInt8]
    public var control: UInt8
    /// The data field without the +0x33 offset.
    public var data: [UInt8]

    public init(address: [UInt8], control: UInt8, data: [UInt8] = []) {
        self.address = address
        self.control = control
        self.data = data
    }

    /// Control codes (function, low five bits) used here.
    public enum Function: UInt8, Sendable {
        case broadcastTime = 0x08
        case readData = 0x11
        case readAddress = 0x13
        case relayControl = 0x1C
    }

    /// 0x80: sent by the meter; 0x40: an error answer (data is one error byte).
    public static let replyBit: UInt8 = 0x80
    public static let errorBit: UInt8 = 0x40

    /// The longest data field the standard allows (L ≤ 200 when reading; writes are shorter).
    public static let maximumDataLength = 200

    /// `AA…AA`: any meter (read address on a point-to-point link); `99…99`: broadcast.
    public static let wildcardAddress = [UInt8](repeating: 0xAA, count: 6)
    public static let broadcastAddress = [UInt8](repeating: 0x99, count: 6)

    public var function: UInt8 { control & 0x1F }
    public var isReply: Bool { control & Self.replyBit != 0 }

    /// The bytes on the wire, with `preamble` FE bytes first.
    public func encoded(preamble: Int = 4) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xFE, count: preamble)
        var body: [UInt8] = [0x68] + address + [0x68, control, UInt8(data.count)] + data.map { $0 &+ 0x33 }
        body.append(body.reduce(0, &+))
        body.append(0x16)
        bytes += body
        return bytes
    }

    /// A meter address from its printed number (`"123456781012"` → A0 = 0x12 … A5 = 0x12 34).
    public static func address(_ number: String) -> [UInt8]? {
        guard number.count == 12, number.allSatisfy(\.isHexDigit) else { return nil }
        let digits = Array(number)
        return (0 ..< 6).reversed().map { index in UInt8(String(digits[index * 2 ..< index * 2 + 2]), radix: 16)! }
    }

    /// The printed number of an address.
    public static func number(_ address: [UInt8]) -> String {
        address.reversed().map { byte in (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true) }.joined()
    }
}

/// Finds frames in a byte stream as real meters and converters deliver it: any number of `FE`
/// (or other) bytes before a frame, frames back to back, a checksum that happens to be 0x16, and
/// frames split across reads. Frames are found by their length field, never by searching for the
/// `16` end byte; a length over ``DLT645Frame/maximumDataLength`` marks a false start, so a
/// corrupted header cannot hold back the frames that follow it.
public struct DLT645Decoder: Sendable {
    /// What the next bytes were.
    public enum Item: Hashable, Sendable {
        case frame(DLT645Frame)
        /// A complete frame whose checksum or end byte is wrong, or bytes that cannot start one.
        case malformed(String)
    }

    private var buffer: [UInt8] = []
    /// Bytes skipped before a frame start (wake-up FEs and noise), for statistics.
    public private(set) var skippedBytes = 0

    public init() {}

    /// Adds `bytes` and returns every item now complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Item] {
        buffer.append(contentsOf: bytes)
        var items: [Item] = []
        var start = 0
        while true {
            // A frame starts with 68, six address bytes and a second 68.
            while start < buffer.count, buffer[start] != 0x68 { start += 1; skippedBytes += 1 }
            guard buffer.count - start >= 12 else { break }
            guard buffer[start + 7] == 0x68 else {
                // Not a frame start after all (a 68 inside noise): skip it.
                start += 1
                skippedBytes += 1
                continue
            }
            let length = Int(buffer[start + 9])
            guard length <= DLT645Frame.maximumDataLength else {
                // No frame is this long: waiting for its bytes would swallow the frames behind it.
                items.append(.malformed("data length \(length) exceeds the standard's \(DLT645Frame.maximumDataLength)"))
                start += 1
                skippedBytes += 1
                continue
            }
            let total = 12 + length
            guard buffer.count - start >= total else { break }
            let frameBytes = buffer[start ..< start + total]
            let sum = frameBytes.prefix(10 + length).reduce(0, &+)
            if frameBytes[frameBytes.startIndex + 10 + length] != sum {
                items.append(.malformed("checksum \(hex(frameBytes[frameBytes.startIndex + 10 + length])) but the bytes sum to \(hex(sum))"))
                start += 1
                continue
            }
            if frameBytes.last != 0x16 {
                items.append(.malformed("frame does not end with 16 (got \(hex(frameBytes.last ?? 0)))"))
                start += 1
                continue
            }
            let address = Array(frameBytes[(start + 1) ..< (start + 7)])
            let data = frameBytes[(start + 10) ..< (start + 10 + length)].map { $0 &- 0x33 }
            items.append(.frame(DLT645Frame(address: address, control: buffer[start + 8], data: data)))
            start += total
        }
        buffer.removeFirst(start)
        // A stream of noise with no frame in it must not grow without bound.
        if buffer.count > 4096 { skippedBytes += buffer.count; buffer.removeAll() }
        return items
    }

    private func hex(_ byte: UInt8) -> String { (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true) }
}

/// Packed BCD numbers as DL/T 645 data items carry them: little-endian bytes, a fixed number of
/// decimals, and for signed items the top bit of the last byte as the sign.
public struct DLT645Number: Hashable, Sendable {
    /// Bytes on the wire (2 digits each).
    public var bytes: Int
    /// Digits after the decimal point.
    public var decimals: Int
    public var signed: Bool

    public init(bytes: Int, decimals: Int, signed: Bool = false) {
        self.bytes = bytes
        self.decimals = decimals
        self.signed = signed
    }

    /// Rounded to the item's decimals and clamped to what its digits can hold.
    public func encode(_ value: Double) -> [UInt8] {
        // Signed items keep the sign in the top bit, so their first digit can only reach 7.
        let digits = bytes * 2
        var scaled = (abs(value) * pow10(decimals)).rounded()
        let limit = signed ? 8 * pow10(digits - 1) - 1 : pow10(digits) - 1
        if !scaled.isFinite || scaled > limit { scaled = limit }
        var integer = UInt64(scaled)
        var result: [UInt8] = []
        for _ in 0 ..< bytes {
            let low = UInt8(integer % 10), high = UInt8((integer / 10) % 10)
            result.append(high << 4 | low)
            integer /= 100
        }
        if signed, value < 0 { result[bytes - 1] |= 0x80 }
        return result
    }

    /// The value, or nil if a nibble is not a decimal digit.
    public func decode(_ data: some Collection<UInt8>) -> Double? {
        guard data.count == bytes else { return nil }
        var value = 0.0, factor = 1.0
        var negative = false
        for (index, byte) in data.enumerated() {
            var byte = byte
            if signed, index == bytes - 1 {
                negative = byte & 0x80 != 0
                byte &= 0x7F
            }
            let low = byte & 0x0F, high = byte >> 4
            guard low < 10, high < 10 else { return nil }
            value += Double(low) * factor + Double(high) * factor * 10
            factor *= 100
        }
        value /= pow10(decimals)
        return negative ? -value : value
    }

    private func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0 ..< n { result *= 10 }
        return result
    }
}

/// The DL/T 645-2007 data items ParkBench reads and serves (appendix A), each with its BCD layout
/// and the quantity it carries under the name meters use in ParkBench: energy XXXXXX.XX kWh,
/// voltage XXX.X V, current XXX.XXX A, power XX.XXXX kW, power factor X.XXX, frequency XX.XX Hz.
public struct DLT645DataItem: Hashable, Sendable {
    /// DI3 DI2 DI1 DI0 as written (0x0001_0000: forward active energy, total).
    public var identifier: UInt32
    public var quantity: String
    public var number: DLT645Number

    public static let standard: [DLT645DataItem] = [
        .init(identifier: 0x0000_0000, quantity: "energy_import_1", number: DLT645Number(bytes: 4, decimals: 2)),
        .init(identifier: 0x0001_0000, quantity: "energy_import_1", number: DLT645Number(bytes: 4, decimals: 2)),
        .init(identifier: 0x0002_0000, quantity: "energy_export_1", number: DLT645Number(bytes: 4, decimals: 2)),
        .init(identifier: 0x0201_0100, quantity: "voltage_a", number: DLT645Number(bytes: 2, decimals: 1)),
        .init(identifier: 0x0201_0200, quantity: "voltage_b", number: DLT645Number(bytes: 2, decimals: 1)),
        .init(identifier: 0x0201_0300, quantity: "voltage_c", number: DLT645Number(bytes: 2, decimals: 1)),
        .init(identifier: 0x0202_0100, quantity: "current_a", number: DLT645Number(bytes: 3, decimals: 3, signed: true)),
        .init(identifier: 0x0202_0200, quantity: "current_b", number: DLT645Number(bytes: 3, decimals: 3, signed: true)),
        .init(identifier: 0x0202_0300, quantity: "current_c", number: DLT645Number(bytes: 3, decimals: 3, signed: true)),
        .init(identifier: 0x0203_0000, quantity: "active_power", number: DLT645Number(bytes: 3, decimals: 4, signed: true)),
        .init(identifier: 0x0206_0000, quantity: "power_factor", number: DLT645Number(bytes: 2, decimals: 3, signed: true)),
        .init(identifier: 0x0280_0002, quantity: "frequency", number: DLT645Number(bytes: 2, decimals: 2)),
    ]

    /// What a gateway polls: each quantity once (0001_0000 for forward energy, not the 0000_0000 combined total).
    public static let polled: [DLT645DataItem] = standard.filter { $0.identifier != 0x0000_0000 }

    /// Forward active energy under tariffs 1…4 (尖峰平谷: sharp, peak, flat, valley), `0001 0T00`:
    /// what a time-of-use meter adds; a one-rate meter answers zeros or nothing.
    public static let tariffEnergy: [DLT645DataItem] = ["sharp", "peak", "flat", "valley"].enumerated().map { index, name in
        .init(identifier: 0x0001_0000 | UInt32(index + 1) << 8, quantity: "energy_import_1_\(name)", number: DLT645Number(bytes: 4, decimals: 2))
    }
}
