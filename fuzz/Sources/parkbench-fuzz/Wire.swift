// Targets for the wire decoders: DL/T 645, the Modbus RTU framer, MQTT as captured, and the
// reference platform's device messages. Each also checks what a stream decoder promises: the
// same bytes give the same frames however the reads split them.
import ParkCapture
import ParkCore
import ParkMQTT
import ParkPlatform
@testable import ParkModbus

/// The input's first byte is the read size (1–32 bytes); the rest is the byte stream.
private func chunks(of stream: ArraySlice<UInt8>, control: UInt8) -> [ArraySlice<UInt8>] {
    let size = Int(control & 0x1F) + 1
    return stride(from: stream.startIndex, to: stream.endIndex, by: size).map { stream[$0 ..< min($0 + size, stream.endIndex)] }
}

// MARK: - DL/T 645

let dlt645Target = FuzzTarget(name: "dlt645", summary: "DLT645Decoder.feed: whole vs split reads, re-encoding, data items") { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    let stream = input.rest

    var whole = DLT645Decoder()
    let items = whole.feed(stream)
    var split = DLT645Decoder()
    var splitItems: [DLT645Decoder.Item] = []
    for chunk in chunks(of: stream, control: control) { splitItems += split.feed(chunk) }
    check(items == splitItems, "split reads decode differently: \(items) vs \(splitItems)")
    check(whole.skippedBytes == split.skippedBytes, "split reads skip \(split.skippedBytes) bytes, whole \(whole.skippedBytes)")

    for case .frame(let frame) in items {
        // What the decoder returns, the encoder writes back, whatever the preamble.
        var again = DLT645Decoder()
        let encoded = frame.encoded(preamble: Int(control >> 5))
        check(again.feed(encoded) == [.frame(frame)], "frame \(frame) does not survive encoding")
        _ = DLT645Frame.number(frame.address)
        // A read reply: four identifier bytes, then the value of that item.
        guard frame.data.count >= 4 else { continue }
        let identifier = frame.data.prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        if let item = dlt645Items.first(where: { $0.identifier == identifier }) {
            _ = item.number.decode(frame.data.dropFirst(4))
        }
    }
}

let dlt645Items = DLT645DataItem.standard + DLT645DataItem.tariffEnergy

/// The number formats of the standard's items, and a few more shapes.
let dlt645Numbers: [DLT645Number] = Array(Set(dlt645Items.map(\.number))).sorted { ($0.bytes, $0.decimals, $0.signed ? 1 : 0) < ($1.bytes, $1.decimals, $1.signed ? 1 : 0) }
    + (1 ... 6).flatMap { bytes in [DLT645Number(bytes: bytes, decimals: 0), DLT645Number(bytes: bytes, decimals: 3, signed: true)] }

let dlt645NumberTarget = FuzzTarget(name: "dlt645-number", summary: "DLT645Number.decode and encode round trip") { bytes in
    var input = Choices(bytes)
    let number = dlt645Numbers[Int(input.byte()) % dlt645Numbers.count]
    let data = Array(input.rest)
    if let value = number.decode(data) {
        check(value.isFinite, "\(number) decodes \(data) to \(value)")
        // Up to 12 digits a Double holds every value exactly: encoding gives the value back.
        if number.bytes <= 6 {
            let encoded = number.encode(value)
            check(encoded.count == number.bytes, "\(number) encodes \(value) in \(encoded.count) bytes")
            check(number.decode(encoded) == value, "\(number): \(data) → \(value) → \(encoded) → \(String(describing: number.decode(encoded)))")
        }
    }
    // Any double at all (NaN, infinities, huge, negative) encodes to the item's size.
    if data.count >= 8 {
        let pattern = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let encoded = number.encode(Double(bitPattern: pattern))
        check(encoded.count == number.bytes, "\(number) encodes \(Double(bitPattern: pattern)) in \(encoded.count) bytes")
    }
}

// MARK: - Modbus RTU

/// The RTU endpoint's framing loop (`ModbusRTUServer.extractFrames`, which is private), around
/// its internal `requestLength`: whole frames off the buffer as reads arrive, then what is left
/// when the line goes quiet.
let modbusRTUFramerTarget = FuzzTarget(name: "modbus-rtu", summary: "ModbusRTUServer.requestLength in the RTU framing loop") { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    var buffer: [UInt8] = []
    var frames: [[UInt8]] = []

    func extract(lineQuiet: Bool) {
        while buffer.count >= 4 {
            guard let length = ModbusRTUServer.requestLength(buffer) ?? (lineQuiet ? buffer.count : nil) else { return }
            check(length >= 4, "requestLength \(length) for \(buffer.prefix(12))")
            guard buffer.count >= length else { return }
            let frame = Array(buffer[0 ..< length])
            buffer.removeFirst(length)
            let crc = ModbusCRC.compute(frame.dropLast(2))
            guard frame[length - 2] == UInt8(crc & 0xFF), frame[length - 1] == UInt8(crc >> 8) else {
                buffer.removeAll()
                return
            }
            frames.append(frame)
        }
        if lineQuiet { buffer.removeAll() }
    }
    for chunk in chunks(of: input.rest, control: control) {
        buffer += chunk
        extract(lineQuiet: false)
        if control & 0x80 != 0, chunk.last == 0xFF { extract(lineQuiet: true) }
    }
    extract(lineQuiet: true)
    for frame in frames { check(frame.count >= 4, "a \(frame.count)-byte frame") }
}

// MARK: - Modbus TCP

/// `ModbusTCPFraming` over split reads, as the endpoint drives it, and `ModbusPDU` on every frame:
/// split and whole reads give the same frames, a frame is as long as its MBAP header says, and a
/// PDU called complete holds every byte its function's fields need.
let modbusTCPTarget = FuzzTarget(name: "modbus-tcp", summary: "ModbusTCPFraming over split reads, ModbusPDU.requiredLength") { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    let stream = input.rest

    func frames(_ chunks: [ArraySlice<UInt8>]) -> (frames: [[UInt8]], invalid: Bool) {
        var buffer: [UInt8] = []
        var found: [[UInt8]] = []
        for chunk in chunks {
            buffer += chunk
            var start = 0
            framing: while true {
                switch ModbusTCPFraming.next(buffer[start...]) {
                case .needMore: break framing
                case .frame(let length):
                    check(length >= 8 && length <= 260 && start + length <= buffer.count, "frame of \(length) bytes")
                    found.append(Array(buffer[start ..< start + length]))
                    start += length
                case .invalid: return (found, true)
                }
            }
            buffer.removeFirst(start)
        }
        return (found, false)
    }

    let split = frames(chunks(of: stream, control: control))
    let whole = frames([stream])
    check(split.frames == whole.frames && split.invalid == whole.invalid, "split reads framed differently from one read")
    for frame in whole.frames {
        check(6 + (Int(frame[4]) << 8 | Int(frame[5])) == frame.count, "frame length disagrees with its MBAP length")
        let pdu = frame[7...]
        let required = ModbusPDU.requiredLength(pdu)
        check(required >= 1 && ModbusPDU.isComplete(pdu) == (pdu.count >= required), "requiredLength \(required) for \(pdu.count) bytes")
        if ModbusPDU.isComplete(pdu), let function = pdu.first {
            // What libmodbus reads at fixed offsets must lie inside the frame.
            let fields: Int
            switch function {
            case 0x01 ... 0x06: fields = 5
            case 0x0F, 0x10: fields = 6 + Int(pdu[pdu.startIndex + 5])
            case 0x16: fields = 7
            case 0x17: fields = 10 + Int(pdu[pdu.startIndex + 9])
            default: fields = 1
            }
            check(pdu.count >= fields, "function \(function) complete at \(pdu.count) bytes, needs \(fields)")
        }
    }
}

// MARK: - MQTT, as captured

private let clientFlow = TCPFlow(sourceAddress: 0x7F00_0001, sourcePort: 50_000, destinationAddress: 0x7F00_0001, destinationPort: 1883)

/// Control byte: bits 0–4 the segment size − 1; bit 5 resends each segment with the next one
/// (retransmissions overlapping new data); bit 6 leaves out every fourth segment (capture gaps);
/// bit 7 sends every other segment on the reverse flow.
let mqttWireTarget = FuzzTarget(name: "mqtt-wire", summary: "MQTTWireDecoder.feed: segments, retransmissions, gaps, two flows") { bytes in
    var input = Choices(bytes)
    let control = input.byte()
    let firstSequence = UInt32(input.byte()) << 24 | 0x00FF_FFF0  // near a wrap-around now and then
    let stream = input.rest

    var whole = MQTTWireDecoder()
    let wholePackets = whole.feed(stream, sequence: firstSequence, flow: clientFlow, timestamp: 1)

    var split = MQTTWireDecoder()
    var splitPackets: [WireMQTTPacket] = []
    var sequences: [TCPFlow: UInt32] = [clientFlow: firstSequence, clientFlow.reversed: 7]
    var previous: (ArraySlice<UInt8>, UInt32)?
    for (index, segment) in chunks(of: stream, control: control).enumerated() {
        let flow = control & 0x80 != 0 && index % 2 == 1 ? clientFlow.reversed : clientFlow
        let sequence = sequences[flow]!
        sequences[flow] = sequence &+ UInt32(segment.count)
        if control & 0x40 != 0, index % 4 == 3 { continue }
        if control & 0x20 != 0, flow == clientFlow, let (last, lastSequence) = previous {
            splitPackets += split.feed(Array(last + segment)[...], sequence: lastSequence, flow: flow, timestamp: 1)
        } else {
            splitPackets += split.feed(segment, sequence: sequence, flow: flow, timestamp: 1)
        }
        if flow == clientFlow { previous = (segment, sequence) }
    }
    // Clean input in plain segments decodes as it does in one piece.
    if control & 0xC0 == 0, whole.malformed == 0, split.malformed == 0 {
        check(wholePackets == splitPackets, "segments decode differently: \(wholePackets) vs \(splitPackets)")
    }
}

// MARK: - Reference platform

private let platformTopics = [
    "park/zone-a/smoke-detector/sd-1/event", "park/zone-a/smoke-detector/sd-1/telemetry", "park/zone-a/smoke-detector/sd-1/status",
    "park/zone-b/sounder/sl-1/event", "devices/wl-1/event", "devices/wl-1/telemetry", "x/status", "park/a/b/c/d/telemetry",
    "park//smoke-detector/sd-1/event", "telemetry", "park/zone-a/smoke-detector/sd-1/cmd", "/event",
]

private let platformConfiguration: PlatformConfiguration = {
    let rules = (try? LinkageRule.load(file: parkBenchRoot + "/conformance/platform/linkage.yaml")) ?? []
    return PlatformConfiguration(linkageRules: rules)
}()

/// Messages separated by a 00 byte, each `<selector><payload>`: the selector picks the topic
/// (low nibble), how many seconds pass before it (high nibble), and 0xFF takes the topic from
/// the payload's first line. Every message goes through `PlatformCore.received`; a selector
/// with bit 3 set also runs the offline clock (`tick`) 100 s later.
let platformMessageTarget = FuzzTarget(
    name: "platform-message", summary: "PlatformCore.received (the device-message decoder) and tick",
    setUp: { _ = platformConfiguration }
) { bytes in
    var core = PlatformCore(configuration: platformConfiguration)
    var now: UInt64 = 1_000_000_000
    for record in bytes.split(separator: 0, omittingEmptySubsequences: true) {
        let selector = record.first!
        var payload = record.dropFirst()
        var topic = platformTopics[Int(selector & 0x0F) % platformTopics.count]
        if selector == 0xFF {
            let line = payload.prefix { $0 != 0x0A }
            topic = String(decoding: line, as: UTF8.self)
            payload = payload.dropFirst(line.count + 1)
        }
        now += UInt64(selector >> 4) * 1_000_000_000
        _ = core.received(topic: topic, payload: Array(payload), now: now)
        if selector & 0x08 != 0 { _ = core.tick(now: now + 100_000_000_000) }
    }
}

// MARK: - MQTT CONNECT peek (the fault proxy's)

/// What a prefix of the bytes must give when the whole gives `whole`: a decision once made
/// stands, and before it the peek can only ask for more.
private func agrees(_ prefix: MQTTConnectPeek.Outcome, with whole: MQTTConnectPeek.Outcome) -> Bool {
    prefix == .needMore || prefix == whole
}

let mqttConnectPeekTarget = FuzzTarget(name: "mqtt-connect-peek", summary: "MQTTConnectPeek.clientID: prefixes and extensions agree, the id is inside the packet") { bytes in
    var input = Choices(bytes)
    let step = Int(input.byte() & 0x0F) + 1
    let stream = Array(input.rest)

    let whole = MQTTConnectPeek.clientID(in: stream)
    // The proxy peeks at every read until the CONNECT is whole: each prefix must ask for more
    // or say what the whole says — never a different device, never "not MQTT" and then an id.
    var length = 0
    while length < stream.count {
        let prefix = MQTTConnectPeek.clientID(in: Array(stream[..<length]))
        check(agrees(prefix, with: whole), "prefix of \(length) bytes gives \(prefix), the whole \(stream.count) gives \(whole)")
        length += length < 64 ? 1 : step * 16
    }
    // Bytes after a decided CONNECT (the client's next packets) change nothing.
    if whole != .needMore {
        check(MQTTConnectPeek.clientID(in: stream + [0x30, 0x00, 0xFF]) == whole, "bytes after the CONNECT change \(whole)")
    }
    if case .clientID(let id) = whole {
        check(stream.first == 0x10, "an id from a packet of type \(String(describing: stream.first))")
        check(id.unicodeScalars.count <= stream.count, "id of \(id.unicodeScalars.count) characters from \(stream.count) bytes")
    }
}
