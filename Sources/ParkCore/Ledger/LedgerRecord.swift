/// One line of ground truth: something a device emitted, or something that happened to it.
public struct LedgerRecord: Hashable, Sendable {
    /// What the record is about.
    public enum Entry: String, Hashable, Sendable, Codable {
        /// The device sent something (on ``LedgerRecord/channel``).
        case emission
        /// The device received a command; ``LedgerRecord/detail`` holds its outcome.
        case command
        /// The harness applied a stimulus (the ground-truth start of an alarm).
        case stimulus
    }

    /// Position in the ledger, unique across the run, assigned when appended.
    public var order: UInt64
    public var time: ClockReading
    public var deviceID: String
    public var kind: String
    public var entry: Entry
    /// For emissions; nil for commands and stimuli.
    public var channel: EmissionChannel?
    /// The event, command or stimulus name.
    public var name: String
    /// Per-device sequence number (1, 2, 3…) of emissions that go on the wire; 0 for local
    /// emissions, commands and stimuli. A gap seen at the platform is a lost message; a repeat
    /// is a duplicate.
    public var deviceSequence: UInt64
    /// `<device>#<seq>` for wire emissions, `<device>!<name>` for local ones, the command's id
    /// for commands.
    public var messageID: String
    public var readings: [Reading]
    /// Command outcome (`accepted`, `rejected: …`), or nil.
    public var detail: String?

    public init(
        order: UInt64 = 0, time: ClockReading, deviceID: String, kind: String, entry: Entry,
        channel: EmissionChannel? = nil, name: String, deviceSequence: UInt64 = 0, messageID: String,
        readings: [Reading] = [], detail: String? = nil
    ) {
        self.order = order
        self.time = time
        self.deviceID = deviceID
        self.kind = kind
        self.entry = entry
        self.channel = channel
        self.name = name
        self.deviceSequence = deviceSequence
        self.messageID = messageID
        self.readings = readings
        self.detail = detail
    }
}

extension LedgerRecord {
    /// The record as one line of JSON (no trailing newline); the ledger file format.
    ///
    /// Keys, in order: `order`, `mono_ns`, `wall_ns`, `wall`, `device`, `kind`, `entry`,
    /// `channel`?, `name`, `seq`, `msg_id`, `readings` (`[{point, type, value, truth?}]`),
    /// `detail`?.
    public var jsonLine: String {
        var line = "{\"order\":\(order),\"mono_ns\":\(time.monotonic.nanoseconds)"
        line += ",\"wall_ns\":\(time.wall.nanosecondsSinceEpoch),\"wall\":\"\(time.wall.iso8601)\""
        line += ",\"device\":\(JSONText.quoted(deviceID)),\"kind\":\(JSONText.quoted(kind))"
        line += ",\"entry\":\"\(entry.rawValue)\""
        if let channel { line += ",\"channel\":\"\(channel.rawValue)\"" }
        line += ",\"name\":\(JSONText.quoted(name)),\"seq\":\(deviceSequence),\"msg_id\":\(JSONText.quoted(messageID))"
        line += ",\"readings\":["
        for (index, reading) in readings.enumerated() {
            if index > 0 { line += "," }
            line += "{\"point\":\(JSONText.quoted(reading.point)),\"type\":\"\(reading.value.type.rawValue)\""
            line += ",\"value\":\(reading.value.jsonText)"
            if let truth = reading.truth { line += ",\"truth\":\(truth.jsonText)" }
            line += "}"
        }
        line += "]"
        if let detail { line += ",\"detail\":\(JSONText.quoted(detail))" }
        return line + "}"
    }
}

extension LedgerRecord: Decodable {
    enum CodingKeys: String, CodingKey {
        case order, monoNanoseconds = "mono_ns", wallNanoseconds = "wall_ns", device, kind, entry, channel
        case name, seq, messageID = "msg_id", readings, detail
    }

    struct ReadingLine: Decodable {
        var point: String
        var type: PointType
        var value: LooseValue
        var truth: LooseValue?
    }

    /// A JSON scalar, typed later by the `type` key beside it.
    enum LooseValue: Decodable {
        case number(Double), integer(Int64), bool(Bool), string(String)
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int64.self) { self = .integer(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else { self = .string(try container.decode(String.self)) }
        }

        func typed(_ type: PointType) -> PointValue {
            switch (self, type) {
            case (.integer(let value), .double): .double(Double(value))
            case (.number(let value), .double): .double(value)
            case (.integer(let value), .int), (.integer(let value), .duration): .int(value)
            case (.number(let value), .int), (.number(let value), .duration): .int(Int64(value))
            case (.bool(let value), _): .bool(value)
            case (.string(let value), _): .string(value)
            case (.integer(let value), _): .int(value)
            case (.number(let value), _): .double(value)
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        order = try container.decode(UInt64.self, forKey: .order)
        time = ClockReading(
            monotonic: MonotonicInstant(nanoseconds: try container.decode(UInt64.self, forKey: .monoNanoseconds)),
            wall: WallTime(nanosecondsSinceEpoch: try container.decode(Int64.self, forKey: .wallNanoseconds)))
        deviceID = try container.decode(String.self, forKey: .device)
        kind = try container.decode(String.self, forKey: .kind)
        entry = try container.decode(Entry.self, forKey: .entry)
        channel = try container.decodeIfPresent(EmissionChannel.self, forKey: .channel)
        name = try container.decode(String.self, forKey: .name)
        deviceSequence = try container.decode(UInt64.self, forKey: .seq)
        messageID = try container.decode(String.self, forKey: .messageID)
        readings = try container.decode([ReadingLine].self, forKey: .readings).map {
            Reading($0.point, $0.value.typed($0.type), truth: $0.truth?.typed($0.type))
        }
        detail = try container.decodeIfPresent(String.self, forKey: .detail)
    }
}
