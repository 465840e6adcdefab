/// The 8-byte PTZ command of GB/T 28181-2016 §A.3 (`PTZCmd` in a DeviceControl, as 16 hex
/// digits): pan/tilt/zoom moves with speeds, stop, and the preset commands.
///
/// Byte 1 is A5, byte 2 the version (0) and a nibble check over the first three nibbles, bytes 3
/// and 7's low nibble the 12-bit address, byte 4 the instruction, bytes 5–6 the data (pan and tilt
/// speed, or the preset number in byte 6), byte 7's high nibble the zoom speed, byte 8 the sum of
/// bytes 1–7 modulo 256.
public struct GB28181PTZCommand: Sendable, Equatable {
    /// What the camera is asked to do.
    public enum Action: Sendable, Equatable {
        /// Pan/tilt/zoom at the speeds given; all directions false is a stop.
        case move(up: Bool, down: Bool, left: Bool, right: Bool, zoomIn: Bool, zoomOut: Bool)
        case setPreset(Int)
        case gotoPreset(Int)
        case deletePreset(Int)
    }

    public var action: Action
    public var panSpeed: UInt8
    public var tiltSpeed: UInt8
    /// 0…15.
    public var zoomSpeed: UInt8
    /// 0…4095.
    public var address: UInt16

    public init(action: Action, panSpeed: UInt8 = 0x80, tiltSpeed: UInt8 = 0x80, zoomSpeed: UInt8 = 0x8, address: UInt16 = 1) {
        self.action = action
        self.address = address & 0x0FFF
        // A preset command carries no speeds: bytes 5 and 7 are 0 and byte 6 is the preset.
        let moves = if case .move = action { true } else { false }
        self.panSpeed = moves ? panSpeed : 0
        self.tiltSpeed = moves ? tiltSpeed : 0
        self.zoomSpeed = moves ? zoomSpeed & 0x0F : 0
    }

    /// The stop command (every direction off).
    public static var stop: GB28181PTZCommand {
        GB28181PTZCommand(action: .move(up: false, down: false, left: false, right: false, zoomIn: false, zoomOut: false), panSpeed: 0, tiltSpeed: 0, zoomSpeed: 0)
    }

    /// A move in one named direction: up, down, left, right, zoom-in, zoom-out, or stop.
    public init?(direction: String) {
        switch direction {
        case "up": self.init(action: .move(up: true, down: false, left: false, right: false, zoomIn: false, zoomOut: false))
        case "down": self.init(action: .move(up: false, down: true, left: false, right: false, zoomIn: false, zoomOut: false))
        case "left": self.init(action: .move(up: false, down: false, left: true, right: false, zoomIn: false, zoomOut: false))
        case "right": self.init(action: .move(up: false, down: false, left: false, right: true, zoomIn: false, zoomOut: false))
        case "zoom-in": self.init(action: .move(up: false, down: false, left: false, right: false, zoomIn: true, zoomOut: false))
        case "zoom-out": self.init(action: .move(up: false, down: false, left: false, right: false, zoomIn: false, zoomOut: true))
        case "stop": self = .stop
        default: return nil
        }
    }

    /// The direction a single-direction move names (`up` … `zoom-out`, `stop`); nil for presets
    /// and combined moves.
    public var direction: String? {
        guard case .move(let up, let down, let left, let right, let zoomIn, let zoomOut) = action else { return nil }
        let named = [(up, "up"), (down, "down"), (left, "left"), (right, "right"), (zoomIn, "zoom-in"), (zoomOut, "zoom-out")].filter(\.0)
        if named.isEmpty { return "stop" }
        return named.count == 1 ? named[0].1 : nil
    }

    /// The preset a preset command names.
    public var preset: Int? {
        switch action {
        case .setPreset(let number), .gotoPreset(let number), .deletePreset(let number): number
        case .move: nil
        }
    }

    /// The 8 bytes.
    public var bytes: [UInt8] {
        var instruction: UInt8 = 0
        var data1 = panSpeed, data2 = tiltSpeed, zoom = zoomSpeed
        switch action {
        case .move(let up, let down, let left, let right, let zoomIn, let zoomOut):
            if right { instruction |= 0x01 }
            if left { instruction |= 0x02 }
            if down { instruction |= 0x04 }
            if up { instruction |= 0x08 }
            if zoomIn { instruction |= 0x10 }
            if zoomOut { instruction |= 0x20 }
        case .setPreset(let number), .gotoPreset(let number), .deletePreset(let number):
            instruction = switch action {
            case .setPreset: 0x81
            case .gotoPreset: 0x82
            default: 0x83
            }
            data1 = 0
            data2 = UInt8(clamping: number)
            zoom = 0
        }
        var out: [UInt8] = [0xA5, 0x0F, UInt8(address & 0xFF), instruction, data1, data2, zoom << 4 | UInt8(address >> 8)]
        out.append(UInt8(out.reduce(0) { ($0 + Int($1)) } & 0xFF))
        return out
    }

    /// `PTZCmd`'s text: 16 upper-case hex digits.
    public var hex: String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }

    /// Reads `PTZCmd`'s 16 hex digits, checking the header, the nibble check and the checksum.
    public init(hex text: String) throws(MANSCDPError) {
        let digits = Array(text.utf8)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        guard digits.count == 16 else { throw .invalidField(name: "PTZCmd", value: text) }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 16, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { throw .invalidField(name: "PTZCmd", value: text) }
            bytes.append(high << 4 | low)
        }
        let check = (Int(bytes[0] >> 4) + Int(bytes[0] & 0xF) + Int(bytes[1] >> 4)) % 16
        guard bytes[0] == 0xA5, Int(bytes[1] & 0xF) == check,
            bytes[7] == UInt8(bytes[0..<7].reduce(0) { $0 + Int($1) } & 0xFF)
        else { throw .invalidField(name: "PTZCmd", value: text) }
        let instruction = bytes[3]
        let action: Action
        switch instruction {
        case 0x81: action = .setPreset(Int(bytes[5]))
        case 0x82: action = .gotoPreset(Int(bytes[5]))
        case 0x83: action = .deletePreset(Int(bytes[5]))
        case let code where code & 0xC0 == 0:
            action = .move(up: code & 0x08 != 0, down: code & 0x04 != 0, left: code & 0x02 != 0, right: code & 0x01 != 0,
                           zoomIn: code & 0x10 != 0, zoomOut: code & 0x20 != 0)
        default:
            // Aperture/focus (0x4x) and the auxiliary switches exist but no simulated camera acts on them.
            throw .invalidField(name: "PTZCmd", value: text)
        }
        self.init(action: action, panSpeed: bytes[4], tiltSpeed: bytes[5], zoomSpeed: bytes[6] >> 4,
                  address: UInt16(bytes[2]) | UInt16(bytes[6] & 0x0F) << 8)
    }
}
