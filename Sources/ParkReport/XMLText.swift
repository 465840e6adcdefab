/// Escaping for XML and HTML text and attribute values.
enum MarkupText {
    /// Escapes `& < > " '` and drops characters XML 1.0 does not allow (most C0 controls), so a
    /// hostile device id or platform answer cannot break the document.
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                if value < 0x20 || (0xFFFE ... 0xFFFF).contains(value) || (0xD800 ... 0xDFFF).contains(value) {
                    result += "\u{FFFD}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
