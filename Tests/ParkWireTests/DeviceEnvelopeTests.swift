import ParkWire
import Testing

/// The envelope written by every producer (bindings, gateway, platform commands) reads back
/// through the one decoder the platform uses, field for field.
@Suite struct DeviceEnvelopeTests {
    @Test func anEmissionReadsBackAsItWasWritten() throws {
        let payload = DeviceEnvelope.emission(
            device: "smoke-A2-03", kind: "smoke-detector", sequence: 12, messageID: "smoke-A2-03#12",
            wallNanoseconds: 1_795_000_002_001_000_000, channel: "event", name: "smoke-alarm",
            values: [("smoke_density", "0.4492"), ("threshold", "0.15")], extra: [("gateway", "\"gw-1\"")])
        let text = String(decoding: payload, as: UTF8.self)
        #expect(text.hasPrefix(#"{"device":"smoke-A2-03","kind":"smoke-detector","seq":12,"msg_id":"smoke-A2-03#12","ts":"2026-11-18T"#))
        #expect(text.contains(#","gateway":"gw-1","values":{"smoke_density":0.4492,"threshold":0.15}}"#))
        let message = try DeviceMessage(topic: "park/A/smoke-detector/smoke-A2-03/event", payload: payload)
        #expect(message.device == "smoke-A2-03" && message.kind == "smoke-detector" && message.channel == "event")
        #expect(message.name == "smoke-alarm" && message.sequence == 12 && message.messageID == "smoke-A2-03#12")
        #expect(message.timestampNanoseconds == 1_795_000_002_001_000_000)
        #expect(message.values == ["smoke_density": 0.4492, "threshold": 0.15])
    }

    /// Text values (a plate camera's read) come through beside the numbers, escapes and all;
    /// containers in `values` are still skipped.
    @Test func textValuesAreKeptBesideNumbers() throws {
        let payload = DeviceEnvelope.emission(
            device: "lpr-G1-01", kind: "lpr-camera", sequence: 3, messageID: "lpr-G1-01#3", wallNanoseconds: 1_795_000_002_001_000_000, channel: "event",
            name: "plate", values: [("plate", JSONText.quoted("京A12345")), ("confidence", "0.97"), ("image", JSONText.quoted("img/\"a\".jpg"))])
        let message = try DeviceMessage(topic: "park/G1/lpr-camera/lpr-G1-01/event", payload: payload)
        #expect(message.texts == ["plate": "京A12345", "image": "img/\"a\".jpg"])
        #expect(message.values == ["confidence": 0.97] && message.valueNames == ["confidence"] && message.badValues.isEmpty)
        let nested = try DeviceMessage(topic: "t", payload: Array(#"{"device":"d","values":{"a":{"b":"c"},"t":"x","n":[1]}}"#.utf8))
        #expect(nested.texts == ["t": "x"] && nested.values.isEmpty)
        #expect(throws: DeviceMessageError(.tooManyValues(limit: 2))) {
            try DeviceMessage(topic: "t", payload: Array(#"{"device":"d","values":{"a":"1","b":"2","c":"3"}}"#.utf8), maxValues: 2)
        }
    }

    @Test func statusAndAcksCarryWhatAPlatformReads() throws {
        let will = DeviceEnvelope.status(device: "d1", kind: "k", online: false, wallNanoseconds: nil)
        #expect(String(decoding: will, as: UTF8.self) == #"{"device":"d1","kind":"k","status":"offline"}"#)
        let status = try DeviceMessage(topic: "park/park/k/d1/status", payload: will)
        #expect(status.status == "offline" && status.channel == "status")

        let refused = DeviceEnvelope.commandAck(device: "d1", id: "c-1", command: "open", rejection: "jammed \"hard\"", wallNanoseconds: nil)
        #expect(String(decoding: refused, as: UTF8.self)
            == #"{"device":"d1","id":"c-1","command":"open","accepted":false,"reason":"jammed \"hard\"","values":{}}"#)
        let accepted = DeviceEnvelope.commandAck(device: "d1", id: "c-2", command: "open", rejection: nil, values: [("valve", "\"open\"")],
                                                 wallNanoseconds: 0)
        #expect(String(decoding: accepted, as: UTF8.self)
            == #"{"device":"d1","id":"c-2","command":"open","accepted":true,"values":{"valve":"open"},"ts":"1970-01-01T00:00:00.000Z","ts_ns":0}"#)
    }

    /// A model's renamed fields are used on the way out; unknown fields and unusable names are refused.
    @Test func renamedFields() throws {
        let fields = try MessageFields(renaming: ["device": "deviceName", "values": "params"])
        let text = String(decoding: DeviceEnvelope.emission(
            device: "m1", kind: "meter", sequence: 1, messageID: "m1#1", wallNanoseconds: 0, channel: "telemetry", name: "telemetry",
            values: [("p", "1")], fields: fields), as: UTF8.self)
        #expect(text.hasPrefix(#"{"deviceName":"m1","kind":"meter""#) && text.hasSuffix(#","params":{"p":1}}"#))
        #expect(throws: WireError.self) { try MessageFields(renaming: ["dev": "x"]) }
        #expect(throws: WireError.self) { try MessageFields(renaming: ["device": "a\"b"]) }
    }

    /// What a platform sends reads back as the device parses it; text from a rule file keeps its
    /// JSON type, and text that only looks like a number (`nan`, `1e400`) stays text, never invalid JSON.
    @Test func commandsRoundTrip() throws {
        let arguments: [(key: String, value: WireScalar)] = [
            ("level", WireScalar(inferredFrom: "3")), ("gain", WireScalar(inferredFrom: "0.5")), ("on", WireScalar(inferredFrom: "true")),
            ("mode", WireScalar(inferredFrom: "strobe")), ("odd", WireScalar(inferredFrom: "nan")), ("huge", WireScalar(inferredFrom: "1e400")),
        ]
        let payload = DeviceEnvelope.command(id: "lk-1", command: "sound", arguments: arguments, extra: [("rule", "\"r1\"")])
        let command = try DeviceEnvelope.command(from: payload)
        #expect(command.id == "lk-1" && command.command == "sound")
        #expect(command.arguments == ["level": .int(3), "gain": .double(0.5), "on": .bool(true), "mode": .string("strobe"),
                                      "odd": .string("nan"), "huge": .string("1e400")])
        #expect(try DeviceEnvelope.command(from: Array(#"{"id":7,"command":"x"}"#.utf8)).id == "7")
        #expect(throws: WireError.self) { try DeviceEnvelope.command(from: Array(#"{"id":1}"#.utf8)) }
        #expect(throws: WireError.self) { try DeviceEnvelope.command(from: Array(#"{"command":""}"#.utf8)) }
        #expect(throws: WireError.self) { try DeviceEnvelope.command(from: Array("not json".utf8)) }
    }

    @Test func topicTemplates() throws {
        let device = BoundDevice(id: "d1", kind: "smoke-detector", model: "m", floor: 3)
        #expect(DeviceTopicTemplate.standard.topic(for: device, channel: "event") == "park/park/smoke-detector/d1/event")
        #expect(try DeviceTopicTemplate("site/{floor}/{model}/{id}/{channel}").topic(for: device, channel: "cmd/ack") == "site/3/m/d1/cmd/ack")
        #expect(try DeviceTopicTemplate("{id}/{id}").topic(for: device, channel: "x") == "d1/d1")
        #expect(throws: WireError.self) { try DeviceTopicTemplate("park/{zoen}/{id}") }
        #expect(throws: WireError.self) { try DeviceTopicTemplate("park/+/{id}") }
        #expect(throws: WireError.self) { try DeviceTopicTemplate("park/{kind}") }
        #expect(throws: WireError.self) { try DeviceTopicTemplate("park/{id") }
    }

    @Test func timestamps() {
        #expect(WireTime.iso8601(nanosecondsSinceEpoch: 1_250_000_000) == "1970-01-01T00:00:01.250Z")
        #expect(WireTime.iso8601(nanosecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999Z")
    }
}
