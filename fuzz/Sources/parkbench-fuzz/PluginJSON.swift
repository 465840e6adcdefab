import Foundation
@testable import ParkCore
@testable import ParkPluginJSON

// MARK: - Plugin JSON (what the host reads from a plugin library across the C ABI)

/// A kind as a vendor's plugin might declare it: a point of every type, so the host's typing of
/// readings (an integer for a double point, an integral double for an int point) is exercised.
private let fuzzKindJSON = #"""
{"name":"fuzz-kind","summary":"fuzz","sources":[],"points":[
 {"name":"d","type":"double","summary":"d"},{"name":"i","type":"int","summary":"i"},
 {"name":"b","type":"bool","summary":"b"},{"name":"s","type":"string","summary":"s"},
 {"name":"t","type":"duration","summary":"t"}],
"events":[{"name":"e","severity":"alarm","summary":"e"}],"commands":[],"stimuli":[],"parameters":[]}
"""#

/// A library that is never called: only its reading of JSON is fuzzed.
private let fuzzLibrary: PluginLibrary = {
    let descriptor = fuzzKindJSON.withCString { try! PluginLoader.decodeDescriptor($0, length: strlen($0)) }
    return PluginLibrary(
        path: "fuzz", handle: UnsafeMutableRawPointer(bitPattern: 0x1000)!, descriptor: descriptor,
        create: { _, _, _ in nil }, destroy: { _ in }, start: { _, _ in }, timer: { _, _, _ in },
        stimulus: { _, _, _, _ in }, command: { _, _, _, _ in })
}()

/// The host's side of the plugin ABI: `PluginJSONParser` on any bytes (never reading past them,
/// whatever parses writes back to text that parses equal), then the value as an emission and as
/// a command result (an accepted one keeps every reading, typed as the kind declares), and the
/// bytes as a kind description (a broken one is refused with a message, never a trap).
let pluginJSONTarget = FuzzTarget(
    name: "plugin-json", summary: "PluginJSONParser and the host's readers of emissions, command results and kind JSON",
    setUp: { _ = fuzzLibrary }
) { bytes in
    let value = bytes.withUnsafeBufferPointer { try? PluginJSONParser.parse($0) }
    if let value {
        let text = canonicalText(value)
        let again = try? PluginJSONParser.parse(text)
        check(again == value, "\(value) wrote \(text), which reads back as \(String(describing: again))")

        if let emission = try? fuzzLibrary.emission(from: value) {
            check(!emission.name.isEmpty, "an emission without a name")
            if case .object(let members) = value, case .array(let readings)? = members["readings"] {
                check(emission.readings.count == readings.count, "\(readings.count) readings became \(emission.readings.count)")
            }
            for reading in emission.readings { checkTyped(reading) }
        }
        if let result = try? fuzzLibrary.commandResult(from: value) {
            for reading in result.readings { checkTyped(reading) }
        }
    }
    // The kind description goes through Foundation's decoder and then the loader's own checks.
    bytes.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { characters in
            if let descriptor = try? PluginLoader.decodeDescriptor(characters.baseAddress, length: characters.count) {
                check(!descriptor.name.isEmpty && !descriptor.name.contains(where: \.isWhitespace), "kind name '\(descriptor.name)'")
                check(Set(descriptor.points.map(\.name)).count == descriptor.points.count, "a point declared twice was let through")
            }
        }
    }
}

/// A number written to a point declared double is a double; an integral one written to a point
/// declared int is an int (a non-integral one stays a double, to be refused where it is used).
private func checkTyped(_ reading: Reading) {
    for value in [reading.value] + (reading.truth.map { [$0] } ?? []) {
        switch (reading.point, value) {
        case ("d", .int(let integer)): check(false, "the double point 'd' read \(integer) as an int")
        case ("i", .double(let number)):
            check(number.rounded() != number || abs(number) >= 9.2e18, "the int point 'i' read \(number) as a double")
        default: break
        }
    }
}

/// `value` as JSON text: keys sorted, strings escaped, numbers as Swift prints them (the
/// shortest text that reads back as the same double).
private func canonicalText(_ value: PluginJSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .integer(let integer): return String(integer)
    case .number(let number): return "\(number)"
    case .string(let text): return quoted(text)
    case .array(let elements): return "[" + elements.map(canonicalText).joined(separator: ",") + "]"
    case .object(let members):
        return "{" + members.keys.sorted().map { quoted($0) + ":" + canonicalText(members[$0]!) }.joined(separator: ",") + "}"
    }
}

private func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
