/// A GB/T 28181-2016 device, channel, platform or user id (Appendix D, coding rule A): 20
/// decimal digits — centre code (8: province 2, city 2, district 2, grass-roots unit 2), industry
/// (2), type (3), network flag (1), serial (6).
///
/// Sources used for the layout and the type table: GB/T 28181-2016 Appendix D as summarised at
/// zhouqishan.cn "GB28181之国标编码" (the five segments, network flag at digit 14),
/// iter01.com "GB28181協議中20位編碼規則說明" (200 centre server, 111 DVR, 118 NVR, 132 camera),
/// and WVP-Pro's catalog parser (215 business group, 216 virtual organisation, 136–138 audio
/// and mobile devices); the other names follow the standard's Table D.1 as those pages and the
/// project's reading of it give them.
public struct GB28181ID: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Checks the length, the digits and that the type code falls in a range the standard defines.
    public init(_ text: String) throws(GB28181IDError) {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 else { throw .wrongLength(bytes.count) }
        if let position = bytes.firstIndex(where: { $0 < 48 || $0 > 57 }) {
            throw .nonDigit(position: position + 1)
        }
        rawValue = text
        guard GB28181DeviceType(code: typeCode) != nil else { throw .unknownType(typeCode) }
    }

    /// The id of the `serial`-th device of `type` under an 8-digit centre code.
    public init(centre: String, industry: Int = 0, type: GB28181DeviceType, network: Int = 0, serial: Int) throws(GB28181IDError) {
        guard centre.utf8.count == 8, centre.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .badCentreCode(centre) }
        guard (0...99).contains(industry) else { throw .fieldOutOfRange(field: "industry", value: industry) }
        guard (0...9).contains(network) else { throw .fieldOutOfRange(field: "network", value: network) }
        guard (0...999_999).contains(serial) else { throw .fieldOutOfRange(field: "serial", value: serial) }
        try self.init(centre + GB28181ID.digits(industry, 2) + GB28181ID.digits(type.code, 3) + String(network) + GB28181ID.digits(serial, 6))
    }

    /// The `n`-th id (from 1) of `type` under `centre`: serial n, so ids a generator hands out are
    /// stable and ordered.
    public static func nth(_ n: Int, of type: GB28181DeviceType, centre: String, industry: Int = 0, network: Int = 0) throws(GB28181IDError) -> GB28181ID {
        try GB28181ID(centre: centre, industry: industry, type: type, network: network, serial: n)
    }

    public var description: String { rawValue }
    public static func < (lhs: GB28181ID, rhs: GB28181ID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Digits 1–8: where the monitoring centre is (GB/T 2260 division code, zero-padded).
    public var centreCode: String { digits(0, 8) }
    public var province: String { digits(0, 2) }
    public var city: String { digits(2, 2) }
    public var district: String { digits(4, 2) }
    public var grassRootsUnit: String { digits(6, 2) }
    public var industry: Int { Int(digits(8, 2))! }
    public var typeCode: Int { Int(digits(10, 3))! }
    public var type: GB28181DeviceType { GB28181DeviceType(code: typeCode)! }
    public var networkFlag: Int { Int(digits(13, 1))! }
    public var serial: Int { Int(digits(14, 6))! }
    /// The 10-digit SIP domain GB/T 28181 platforms derive from an id (centre code + industry).
    public var domain: String { digits(0, 10) }

    private func digits(_ offset: Int, _ count: Int) -> String {
        let utf8 = rawValue.utf8
        let from = utf8.index(utf8.startIndex, offsetBy: offset)
        return String(decoding: utf8[from..<utf8.index(from, offsetBy: count)], as: UTF8.self)
    }

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Why a string is not a GB/T 28181 id.
public enum GB28181IDError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongLength(Int)
    /// 1-based position of the first character that is not 0–9.
    case nonDigit(position: Int)
    case unknownType(Int)
    case badCentreCode(String)
    case fieldOutOfRange(field: String, value: Int)

    public var description: String {
        switch self {
        case .wrongLength(let length): "a GB/T 28181 id has 20 digits, not \(length)"
        case .nonDigit(let position): "GB/T 28181 id character \(position) is not a digit"
        case .unknownType(let code): "GB/T 28181 type code \(GB28181ID.digits(code, 3)) is in no range of Appendix D (111–499)"
        case .badCentreCode(let centre): "centre code \(centre.prefix(20).debugDescription) is not 8 digits"
        case .fieldOutOfRange(let field, let value): "GB/T 28181 id \(field) \(value) is out of range"
        }
    }
}

/// A type code (digits 11–13 of an id) and what GB/T 28181-2016 Table D.1 calls it.
public struct GB28181DeviceType: Sendable, Hashable, CustomStringConvertible {
    public let code: Int

    /// Codes the standard defines or reserves for extension: 111–130 front-end main devices,
    /// 131–199 front-end peripherals, 200–299 platform devices, 300–399 centre users, 400–499
    /// terminal users. Anything else (000–110, 500–999) is unknown.
    public init?(code: Int) {
        guard (111...499).contains(code) else { return nil }
        self.code = code
    }

    public static let dvr = GB28181DeviceType(code: 111)!
    public static let videoServer = GB28181DeviceType(code: 112)!
    public static let encoder = GB28181DeviceType(code: 113)!
    public static let decoder = GB28181DeviceType(code: 114)!
    public static let alarmController = GB28181DeviceType(code: 117)!
    public static let nvr = GB28181DeviceType(code: 118)!
    public static let camera = GB28181DeviceType(code: 131)!
    public static let ipc = GB28181DeviceType(code: 132)!
    public static let alarmInput = GB28181DeviceType(code: 134)!
    public static let alarmOutput = GB28181DeviceType(code: 135)!
    public static let sipServer = GB28181DeviceType(code: 200)!
    public static let alarmServer = GB28181DeviceType(code: 205)!
    public static let businessGroup = GB28181DeviceType(code: 215)!
    public static let virtualOrganisation = GB28181DeviceType(code: 216)!
    public static let centreUser = GB28181DeviceType(code: 300)!
    public static let terminalUser = GB28181DeviceType(code: 400)!

    /// The standard's name for the code, or the range it falls in for extension codes.
    public var name: String {
        if let name = GB28181DeviceType.names[code] { return name }
        switch code {
        case 119...130: return "front-end main device (extension)"
        case 140...199: return "front-end peripheral (extension)"
        case 212...214, 217...299: return "platform device (extension)"
        case 301...399: return "centre user (extension)"
        default: return "terminal user (extension)"
        }
    }

    /// Front-end devices (111–199): what registers to a platform and streams.
    public var isFrontEnd: Bool { code < 200 }

    public var description: String { "\(GB28181ID.digits(code, 3)) \(name)" }

    static let names: [Int: String] = [
        111: "DVR", 112: "video server", 113: "encoder", 114: "decoder", 115: "video switching matrix",
        116: "audio switching matrix", 117: "alarm controller", 118: "NVR",
        131: "camera", 132: "network camera (IPC)", 133: "display", 134: "alarm input device",
        135: "alarm output device", 136: "audio input device", 137: "audio output device",
        138: "mobile transmission device", 139: "other peripheral",
        200: "centre signalling control server", 201: "web application server", 202: "media distribution server",
        203: "proxy server", 204: "security server", 205: "alarm server", 206: "database server", 207: "GIS server",
        208: "management server", 209: "access gateway", 210: "media storage server", 211: "signalling security routing gateway",
        215: "business group", 216: "virtual organisation", 300: "centre user", 400: "terminal user",
    ]
}
