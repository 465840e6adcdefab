/// One element of a MANSCDP body: name, attributes in order, child elements, and its character
/// data (whitespace between child elements dropped). The tree `MANSCDPXML` reads and writes.
public struct MANSCDPElement: Sendable, Equatable {
    public var name: String
    public var attributes: [MANSCDPAttribute]
    public var children: [MANSCDPElement]
    public var text: String

    public init(_ name: String, attributes: [MANSCDPAttribute] = [], text: String = "", children: [MANSCDPElement] = []) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    /// A leaf element `<name>text</name>`.
    public static func leaf(_ name: String, _ text: String) -> MANSCDPElement { MANSCDPElement(name, text: text) }

    /// The first child named `name`.
    public func child(_ name: String) -> MANSCDPElement? { children.first { $0.name == name } }

    /// The first child named `name`'s text with surrounding whitespace trimmed.
    public subscript(name: String) -> String? { child(name).map { MANSCDPXML.trimmed($0.text) } }

    public func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }
}

/// An XML attribute, `name="value"`.
public struct MANSCDPAttribute: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A small strict XML reader and writer for MANSCDP bodies: elements, attributes, character data,
/// the five predefined entities and character references, comments and CDATA. No DTD (a
/// `<!DOCTYPE` is refused, so no entity expansion), no namespaces beyond names with colons, and
/// bounded depth and element count — a body from a peer cannot cost more than its size.
enum MANSCDPXML {
    static let maxDepth = 16
    static let maxElements = 10_000

    static func parse(_ text: String) throws(MANSCDPError) -> MANSCDPElement {
        var reader = Reader(bytes: Array(text.utf8))
        return try reader.document()
    }

    static func write(_ element: MANSCDPElement, into out: inout String) {
        out += "<" + element.name
        for attribute in element.attributes { out += " \(attribute.name)=\"\(escaped(attribute.value))\"" }
        out += ">"
        out += escaped(element.text)
        // Line breaks between children only where they cannot join the element's own text.
        let separator = element.text.isEmpty ? "\r\n" : ""
        if !element.children.isEmpty { out += separator }
        for child in element.children {
            write(child, into: &out)
            out += separator
        }
        out += "</\(element.name)>"
    }

    /// Escapes `& < > " '`; C0 controls XML 1.0 does not allow (which no parsed body holds) become
    /// U+FFFD, so a caller's stray byte cannot make the body unreadable to a platform. The same
    /// rules as ParkReport's MarkupText, which this module may not import.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 || ($0 < 0x20 && $0 != 9 && $0 != 10 && $0 != 13) })
        else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: if scalar.value < 0x20 { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    static func trimmed(_ text: String) -> String {
        var slice = Substring(text)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var elements = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ reason: String) -> MANSCDPError { .xml(line: line, reason: reason) }

        mutating func document() throws(MANSCDPError) -> MANSCDPElement {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            // The declaration may only come first (some devices put a blank line before it).
            skipSpace()
            if starts("<?xml") { try skipPast("?>", what: "XML declaration") }
            try misc()
            guard index < bytes.count else { throw fail("no root element") }
            let root = try element(depth: 1)
            try misc()
            guard index == bytes.count else { throw fail("content after the root element") }
            return root
        }

        /// Whitespace and comments; refuses DTDs and processing instructions.
        mutating func misc() throws(MANSCDPError) {
            while true {
                skipSpace()
                if starts("<!--") {
                    try skipPast("-->", what: "comment")
                } else if starts("<!") {
                    throw fail("DTDs and declarations are not accepted")
                } else if starts("<?") {
                    throw fail("processing instructions are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func element(depth: Int) throws(MANSCDPError) -> MANSCDPElement {
            guard depth <= MANSCDPXML.maxDepth else { throw .tooDeep(limit: MANSCDPXML.maxDepth) }
            elements += 1
            guard elements <= MANSCDPXML.maxElements else { throw .tooManyElements(limit: MANSCDPXML.maxElements) }
            guard take(UInt8(ascii: "<")) else { throw fail("expected '<'") }
            let name = try self.name()
            var element = MANSCDPElement(name)
            while true {
                let hadSpace = skipSpace()
                if take(UInt8(ascii: "/")) {
                    guard take(UInt8(ascii: ">")) else { throw fail("expected '>' after '/' in <\(name)>") }
                    return element
                }
                if take(UInt8(ascii: ">")) { break }
                guard hadSpace else { throw fail("expected whitespace before an attribute of <\(name)>") }
                let attributeName = try self.name()
                skipSpace()
                guard take(UInt8(ascii: "=")) else { throw fail("attribute \(attributeName) of <\(name)> has no '='") }
                skipSpace()
                guard index < bytes.count, bytes[index] == 34 || bytes[index] == 39 else {
                    throw fail("attribute \(attributeName) of <\(name)> is not quoted")
                }
                let quote = bytes[index]
                index += 1
                let value = try characterData(until: quote, what: "attribute \(attributeName)")
                index += 1
                guard !element.attributes.contains(where: { $0.name == attributeName }) else {
                    throw fail("attribute \(attributeName) of <\(name)> appears twice")
                }
                element.attributes.append(MANSCDPAttribute(attributeName, value))
            }
            var text = ""
            while true {
                guard index < bytes.count else { throw fail("<\(name)> is not closed") }
                if starts("</") {
                    index += 2
                    let closing = try self.name()
                    guard closing == name else { throw fail("</\(closing)> closes <\(name)>") }
                    skipSpace()
                    guard take(UInt8(ascii: ">")) else { throw fail("expected '>' in </\(name)>") }
                    break
                } else if starts("<!--") {
                    try skipPast("-->", what: "comment")
                } else if starts("<![CDATA[") {
                    index += 9
                    let from = index
                    try skipPast("]]>", what: "CDATA section")
                    text += try utf8(bytes[from..<(index - 3)])
                } else if starts("<!") || starts("<?") {
                    throw fail("declarations and processing instructions are not accepted inside <\(name)>")
                } else if bytes[index] == UInt8(ascii: "<") {
                    element.children.append(try self.element(depth: depth + 1))
                } else {
                    text += try characterData(until: UInt8(ascii: "<"), what: "text of <\(name)>")
                }
            }
            element.text = element.children.isEmpty || !text.allSatisfy(\.isWhitespace) ? text : ""
            return element
        }

        /// Character data up to (not including) `terminator`, entities resolved.
        mutating func characterData(until terminator: UInt8, what: String) throws(MANSCDPError) -> String {
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else {
                    if terminator == UInt8(ascii: "<") { return try utf8(out[...]) }
                    throw fail("\(what) is not closed")
                }
                let byte = bytes[index]
                if byte == terminator { return try utf8(out[...]) }
                if byte == UInt8(ascii: "<") { throw fail("'<' inside \(what)") }
                // XML 1.0's Char: no C0 controls but tab, LF and CR.
                if byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D { throw fail("control byte \(byte) in \(what)") }
                if byte == 10 { line += 1 }
                if byte == UInt8(ascii: "&") {
                    index += 1
                    let from = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - from < 12 { index += 1 }
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else { throw fail("unterminated entity in \(what)") }
                    let entity = String(decoding: bytes[from..<index], as: UTF8.self)
                    index += 1
                    out.append(contentsOf: try resolve(entity).utf8)
                    continue
                }
                out.append(byte)
                index += 1
            }
        }

        func resolve(_ entity: String) throws(MANSCDPError) -> String {
            switch entity {
            case "lt": return "<"
            case "gt": return ">"
            case "amp": return "&"
            case "quot": return "\""
            case "apos": return "'"
            default:
                var value: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    value = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    value = UInt32(entity.dropFirst(1))
                }
                guard let value, value >= 0x20 || value == 0x09 || value == 0x0A || value == 0x0D, let scalar = Unicode.Scalar(value) else {
                    throw fail("unknown entity &\(entity);")
                }
                return String(Character(scalar))
            }
        }

        mutating func name() throws(MANSCDPError) -> String {
            let from = index
            while index < bytes.count, isNameByte(bytes[index], first: index == from) { index += 1 }
            guard index > from else { throw fail("expected a name") }
            return try utf8(bytes[from..<index])
        }

        func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"), 0x80...0xFF: true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
            default: false
            }
        }

        func utf8(_ slice: ArraySlice<UInt8>) throws(MANSCDPError) -> String {
            guard let text = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
            return text
        }

        func starts(_ prefix: String) -> Bool {
            let utf8 = prefix.utf8
            return bytes.count - index >= utf8.count && bytes[index..<(index + utf8.count)].elementsEqual(utf8)
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        @discardableResult
        mutating func skipSpace() -> Bool {
            let from = index
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A {
                if bytes[index] == 0x0A { line += 1 }
                index += 1
            }
            return index > from
        }

        mutating func skipPast(_ terminator: String, what: String) throws(MANSCDPError) {
            while index < bytes.count {
                if starts(terminator) {
                    index += terminator.utf8.count
                    return
                }
                if bytes[index] == 0x0A { line += 1 }
                index += 1
            }
            throw fail("\(what) is not closed")
        }
    }
}
