import Foundation

/// VDA 5050's constants and the MQTT topic layout, `<interface>/<major>/<manufacturer>/<serial>/<topic>`
/// (`uagv/v2/Acme/R-001/state`).
public enum VDA5050 {
    /// The protocol version ParkBench writes.
    public static let version = "2.1.0"
    /// The topic's version level: the major version with a `v`.
    public static let majorVersion = "v2"
    /// The interface name the standard uses in its examples; a deployment may choose another.
    public static let interfaceName = "uagv"
    /// The longest `state` interval the standard allows: a robot sends state on every change and
    /// at least this often.
    public static let maximumStateInterval: Duration = .seconds(30)
    /// The largest message ParkBench reads from a peer. Orders are the longest; a thousand nodes
    /// with their edges and actions fit well within it.
    public static let maximumMessageBytes = 1 << 20

    /// The six topics.
    public enum Topic: String, Sendable, CaseIterable {
        case order, instantActions, state, visualization, connection, factsheet
    }

    /// The topic for robot `serialNumber` of `manufacturer`.
    public static func topic(_ topic: Topic, manufacturer: String, serialNumber: String, interface: String = interfaceName) -> String {
        "\(interface)/\(majorVersion)/\(manufacturer)/\(serialNumber)/\(topic.rawValue)"
    }

    /// A timestamp as the standard writes it: ISO 8601, UTC, milliseconds (`2026-12-07T08:00:00.000Z`).
    public static func timestamp(nanosecondsSinceEpoch: Int64) -> String {
        let milliseconds = nanosecondsSinceEpoch / 1_000_000
        let seconds = milliseconds.quotient(dividingBy: 1_000)
        var days = seconds.quotient(dividingBy: 86_400)
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = days.quotient(dividingBy: 146_097)
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millisecond = milliseconds - seconds * 1_000
        let fraction = millisecond < 10 ? "00\(millisecond)" : millisecond < 100 ? "0\(millisecond)" : "\(millisecond)"
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3_600)):\(two(secondOfDay % 3_600 / 60)):\(two(secondOfDay % 60)).\(fraction)Z"
    }

    /// `value` as the standard's JSON (optional fields that are nil left out).
    public static func encode<Message: Encodable>(_ value: Message) -> [UInt8] {
        // Encoding these plain structs cannot fail: no floats that are not finite reach here
        // (positions and charges are computed from finite inputs), and every key is a string.
        Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// A message of type `Message` from a peer's bytes: a clear error naming the field when it
    /// is not one (`nodes[2].sequenceId: expected a whole number`), never a crash.
    public static func decode<Message: Decodable>(_ type: Message.Type, from bytes: [UInt8]) throws(VDA5050DecodingError) -> Message {
        guard bytes.count <= maximumMessageBytes else {
            throw VDA5050DecodingError("\(bytes.count) bytes is over the \(maximumMessageBytes)-byte limit")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw VDA5050DecodingError(describe(error))
        } catch {
            throw VDA5050DecodingError("not JSON: \(error)")
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(type), got null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A peer's message that is not what the standard says, with where.
public struct VDA5050DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The next `headerId` for each topic a sender writes: per topic, from 0, one higher each time.
public struct VDA5050HeaderCounter: Sendable {
    private var next: [VDA5050.Topic: Int] = [:]
    public init() {}

    /// The header for the next message on `topic`.
    public mutating func header(
        _ topic: VDA5050.Topic, manufacturer: String, serialNumber: String, nanosecondsSinceEpoch: Int64
    ) -> VDA5050Header {
        let id = next[topic, default: 0]
        next[topic] = id + 1
        return VDA5050Header(
            headerId: id, timestamp: VDA5050.timestamp(nanosecondsSinceEpoch: nanosecondsSinceEpoch),
            manufacturer: manufacturer, serialNumber: serialNumber)
    }

    /// Numbers `topic` from 0 again (a robot with the `headerIdsRestart` defect).
    public mutating func restart(_ topic: VDA5050.Topic) { next[topic] = nil }
}

private extension Int64 {
    /// Floor division, so dates before 1970 come out right too.
    func quotient(dividingBy divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
