import CoreFoundation
import Foundation

/// A MANSCDP body (`Application/MANSCDP+xml`, GB/T 28181-2016 §A.2): the root says what it is
/// (Query, Response, Notify, Control), and every body carries CmdType, SN and DeviceID; the rest
/// depends on the command and is read from `root`.
public struct MANSCDPMessage: Sendable, Equatable {
    /// The root element's name.
    public enum Kind: String, Sendable, CaseIterable {
        case query = "Query", response = "Response", notify = "Notify", control = "Control"
    }

    public var kind: Kind
    /// The whole body as an element tree; `CmdType`, `SN` and `DeviceID` are its first children.
    public var root: MANSCDPElement

    public var cmdType: String { root["CmdType"] ?? "" }
    public var sn: Int { root["SN"].flatMap { Int($0) } ?? 0 }
    public var deviceID: String { root["DeviceID"] ?? "" }

    /// A field of the body by element name (text trimmed), e.g. `message["Status"]`.
    public subscript(name: String) -> String? { root[name] }

    public init(kind: Kind, cmdType: String, sn: Int, deviceID: String, fields: [MANSCDPElement] = []) {
        self.kind = kind
        root = MANSCDPElement(
            kind.rawValue, children: [.leaf("CmdType", cmdType), .leaf("SN", String(sn)), .leaf("DeviceID", deviceID)] + fields)
    }

    /// Reads a body in UTF-8 or GB2312/GBK/GB18030 (as its XML declaration says; UTF-8 without
    /// one), at most `maxBytes` long.
    public init(bytes: [UInt8], maxBytes: Int = 65_535) throws(MANSCDPError) {
        guard bytes.count <= maxBytes else { throw .tooLarge(size: bytes.count, limit: maxBytes) }
        let text = try MANSCDPCharset.decode(bytes)
        let root = try MANSCDPXML.parse(text)
        guard let kind = Kind(rawValue: root.name) else { throw .unknownRoot(root.name) }
        guard let cmdType = root["CmdType"], !cmdType.isEmpty else { throw .missingField("CmdType") }
        guard let sn = root["SN"] else { throw .missingField("SN") }
        guard let number = Int(sn), number >= 0 else { throw .invalidField(name: "SN", value: sn) }
        guard root["DeviceID"] != nil else { throw .missingField("DeviceID") }
        self.kind = kind
        self.root = root
    }

    /// The body's bytes with an XML declaration naming `charset`. GB2312 output encodes through
    /// Foundation's EUC-CN converter; a character GB2312 lacks is an error, never mislabelled.
    public func encoded(charset: MANSCDPCharset = .utf8) throws(MANSCDPError) -> [UInt8] {
        var text = "<?xml version=\"1.0\" encoding=\"\(charset.label)\"?>\r\n"
        MANSCDPXML.write(root, into: &text)
        text += "\r\n"
        return try charset.encode(text)
    }
}

/// The character sets MANSCDP bodies are declared in: UTF-8 and GB2312 (many devices), GBK and
/// GB18030 (read only).
public enum MANSCDPCharset: String, Sendable, CaseIterable {
    case utf8 = "UTF-8", gb2312 = "GB2312", gbk = "GBK", gb18030 = "GB18030"

    public var label: String { rawValue }

    /// The declared encoding of a body (the `encoding` of its XML declaration), nil without one.
    static func declared(in bytes: [UInt8]) throws(MANSCDPError) -> MANSCDPCharset? {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[start]) { start += 1 }
        guard bytes[start...].starts(with: "<?xml".utf8) else { return nil }
        let window = bytes[start..<min(bytes.count, start + 256)]
        guard let end = window.indices.first(where: { window[$0] == UInt8(ascii: "?") && $0 + 1 < window.endIndex && window[$0 + 1] == UInt8(ascii: ">") }),
            let declaration = String(validating: bytes[start..<end], as: UTF8.self)
        else { throw .xml(line: 1, reason: "XML declaration is not closed within 256 bytes") }
        guard let range = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "=" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { throw .xml(line: 1, reason: "encoding in the XML declaration is not quoted") }
        let label = rest.dropFirst().prefix { $0 != quote }
        guard let charset = MANSCDPCharset.allCases.first(where: { $0.rawValue.caseInsensitiveCompare(String(label)) == .orderedSame })
            ?? (label.lowercased() == "utf8" ? .utf8 : nil)
        else { throw .unsupportedCharset(String(label)) }
        return charset
    }

    static func decode(_ bytes: [UInt8]) throws(MANSCDPError) -> String {
        let charset = try declared(in: bytes) ?? .utf8
        if charset == .utf8 || bytes.allSatisfy({ $0 < 0x80 }) {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw .undecodable(charset: charset.label) }
            return text
        }
        // GB2312 labels are read as GB18030, as the WHATWG Encoding Standard reads them as GBK:
        // devices that declare GB2312 routinely send GBK characters.
        guard let text = String(bytes: bytes, encoding: gb18030Encoding) else { throw .undecodable(charset: charset.label) }
        return text
    }

    func encode(_ text: String) throws(MANSCDPError) -> [UInt8] {
        switch self {
        case .utf8: return Array(text.utf8)
        case .gb2312, .gbk, .gb18030:
            if text.utf8.allSatisfy({ $0 < 0x80 }) { return Array(text.utf8) }
            let encoding = self == .gb2312 ? MANSCDPCharset.eucCNEncoding : MANSCDPCharset.gb18030Encoding
            guard let data = text.data(using: encoding, allowLossyConversion: false) else { throw .cannotEncode(charset: label) }
            // Written bytes must read back as the same text (the reader takes GB labels as
            // GB18030). EUC-CN and GB18030 put private-use characters in different places, so
            // one read from a GBK body can be written but would come back as another.
            guard String(bytes: data, encoding: MANSCDPCharset.gb18030Encoding) == text else { throw .cannotEncode(charset: label) }
            return Array(data)
        }
    }

    private static let gb18030Encoding = String.Encoding(
        rawValue: CFStringConvertEncodingToNSStringEncoding(CFStringEncoding(CFStringEncodings.GB_18030_2000.rawValue)))
    /// EUC-CN is GB2312's byte encoding.
    private static let eucCNEncoding = String.Encoding(
        rawValue: CFStringConvertEncodingToNSStringEncoding(CFStringEncoding(CFStringEncodings.EUC_CN.rawValue)))
}

/// Why bytes are not a MANSCDP body, or a body cannot be written.
public enum MANSCDPError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(size: Int, limit: Int)
    case unsupportedCharset(String)
    case undecodable(charset: String)
    case cannotEncode(charset: String)
    case xml(line: Int, reason: String)
    case tooDeep(limit: Int)
    case tooManyElements(limit: Int)
    case unknownRoot(String)
    case missingField(String)
    case invalidField(name: String, value: String)

    public var description: String {
        switch self {
        case .tooLarge(let size, let limit): "MANSCDP body of \(size) bytes is over the \(limit)-byte limit"
        case .unsupportedCharset(let label): "MANSCDP body declares encoding \(label.prefix(30).debugDescription), not UTF-8 or GB2312/GBK/GB18030"
        case .undecodable(let charset): "MANSCDP body is not valid \(charset)"
        case .cannotEncode(let charset): "MANSCDP body has characters \(charset) cannot hold"
        case .xml(let line, let reason): "MANSCDP XML line \(line): \(reason)"
        case .tooDeep(let limit): "MANSCDP XML nests deeper than \(limit) elements"
        case .tooManyElements(let limit): "MANSCDP XML has more than \(limit) elements"
        case .unknownRoot(let name): "MANSCDP root <\(name.prefix(30))> is not Query, Response, Notify or Control"
        case .missingField(let name): "MANSCDP body has no \(name)"
        case .invalidField(let name, let value): "MANSCDP \(name) \(value.prefix(30).debugDescription) is not valid"
        }
    }
}
