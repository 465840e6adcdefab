/// Writes the few JSON shapes a plugin sends per call (emissions, command results) by hand.
///
/// A device may emit thousands of times a second across a park; Foundation's `JSONEncoder`
/// costs microseconds per object and would need Codable wrappers for `PluginValue`.
enum PluginJSONWriter {
    static func quoted(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A scalar as JSON. Doubles keep a fraction or exponent (Swift prints `20.0`, `1e-05`), so
    /// the host reads them back as doubles; non-finite doubles have no JSON form and become null.
    static func value(_ value: PluginValue) -> String {
        switch value {
        case .int(let number): String(number)
        case .double(let number): number.isFinite ? String(number) : "null"
        case .bool(let flag): flag ? "true" : "false"
        case .string(let text): quoted(text)
        }
    }

    static func readings(_ readings: [PluginReading]) -> String {
        var json = "["
        for (index, reading) in readings.enumerated() {
            if index > 0 { json += "," }
            json += "{\"point\":\(quoted(reading.point)),\"value\":\(value(reading.value))"
            if let truth = reading.truth { json += ",\"truth\":\(value(truth))" }
            json += "}"
        }
        return json + "]"
    }

    static func emission(channel: PluginChannel, name: String, readings: [PluginReading]) -> String {
        "{\"channel\":\"\(channel.rawValue)\",\"name\":\(quoted(name)),\"readings\":\(self.readings(readings))}"
    }

    static func commandResult(_ result: PluginCommandResult) -> String {
        switch result.outcome {
        case .accepted:
            "{\"accepted\":true,\"readings\":\(readings(result.readings))}"
        case .rejected(let reason):
            "{\"accepted\":false,\"reason\":\(quoted(reason)),\"readings\":\(readings(result.readings))}"
        }
    }

    /// Calls `body` with the UTF-8 bytes of `text` as the C boundary wants them.
    static func withBytes(_ text: String, _ body: (UnsafePointer<CChar>?, Int) -> Void) {
        var text = text
        text.withUTF8 { buffer in
            body(UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
    }
}
