import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import ParkPlatform
import Synchronization
import ParkWire
import Testing

/// Hostile device messages (issue 11): what one message may cost the platform is bounded, what
/// is refused is counted and reported without its payload, and a bad value loses only itself.
@Suite struct PlatformInputLimitsTests {
    func event(_ device: String, seq: Int = 1, name: String = "smoke-alarm", values: String = "{}", extra: String = "") -> [UInt8] {
        Array(#"{"device":"\#(device)","kind":"smoke-detector","seq":\#(seq),"msg_id":"\#(device)#\#(seq)","ts_ns":1000,"channel":"event","name":"\#(name)","values":\#(values)\#(extra)}"#.utf8)
    }

    /// `{"k0":0,"k1":1,…}` with `count` entries.
    func values(_ count: Int) -> String {
        "{" + (0 ..< count).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
    }

    func alarms(_ actions: [PlatformCore.Action]) -> [PlatformAlarm] {
        actions.compactMap { if case .raiseAlarm(let alarm, _) = $0 { alarm } else { nil } }
    }

    /// A message over the size limit is refused before it is read — even a well-formed smoke
    /// alarm raises nothing and registers no device — counted, and reported by topic, device
    /// and size; the alarm sent right after it is raised.
    @Test func oversizedMessageIsRefusedUnreadAndTheNextAlarmIsRaised() throws {
        var core = PlatformCore(configuration: PlatformConfiguration(limits: PlatformLimits(maxPayloadBytes: 4096)))
        let big = event("big-1", values: values(600))
        #expect(big.count > 4096)
        let refused = core.received(topic: "park/A/smoke-detector/big-1/event", payload: big, now: 1)
        #expect(refused.count == 1 && alarms(refused).isEmpty)
        let problem = try #require(refused.first?.refusal)
        #expect(problem.kind == .oversized && problem.bytes == big.count)
        #expect(problem.description
            == #"refused a message from device "big-1" on "park/A/smoke-detector/big-1/event" (\#(big.count) bytes): over the 4096-byte limit (--max-payload-bytes)"#)
        #expect(!problem.description.contains("k599"), "never the payload")
        #expect(core.devices.isEmpty, "nothing of it was read")
        #expect(core.input.oversized == 1 && core.input.refusedMessages == 1)

        let next = core.received(topic: "park/A/smoke-detector/s1/event", payload: event("s1", values: #"{"smoke_density":0.4}"#), now: 2)
        #expect(alarms(next).map(\.device) == ["s1"])
        #expect(core.alarmsRaised == 1)
    }

    /// One value over the count limit refuses the message; the scanner stops there, so what
    /// follows (here, not even JSON) is never read. At the limit, the message is kept whole.
    @Test func valuesOverTheCountLimitRefuseTheMessageWithoutReadingOn() throws {
        var core = PlatformCore(configuration: PlatformConfiguration(limits: PlatformLimits(maxValues: 100)))
        let atLimit = core.received(topic: "t", payload: event("s1", values: values(100)), now: 1)
        #expect(alarms(atLimit).first?.values.count == 100)

        var over = Array(#"{"device":"s2","channel":"event","name":"smoke-alarm","values":\#(values(101).dropLast()),"#.utf8)
        over += Array(repeating: UInt8(ascii: "@"), count: 10_000)
        let refused = core.received(topic: "park/A/smoke-detector/s2/event", payload: over, now: 2)
        let problem = try #require(refused.first?.refusal)
        #expect(refused.count == 1 && problem.kind == .tooManyValues, "refused for its values, not for the garbage after them")
        #expect(problem.description.hasSuffix(#"more than 100 entries in "values" (--max-values)"#))
        #expect(core.input.tooManyValues == 1 && core.input.malformed == 0)
        #expect(core.devices["s2"] == nil)
    }

    /// A device keeps at most `maxValues` latest values however many messages bring new names,
    /// so neither the platform nor `GET /devices` grows without end; known points still update.
    @Test func aDeviceKeepsAtMostMaxValuesPoints() throws {
        var core = PlatformCore(configuration: PlatformConfiguration(limits: PlatformLimits(maxValues: 3)))
        _ = core.received(topic: "t", payload: event("m1", name: "telemetry", values: #"{"a":1,"b":2}"#), now: 1)
        let actions = core.received(topic: "t", payload: event("m1", seq: 2, name: "telemetry", values: #"{"a":5,"c":3,"d":4}"#), now: 2)
        #expect(core.devices["m1"]?.values == ["a": 5, "b": 2, "c": 3])
        #expect(core.input.pointsRefused == 1)
        let problem = try #require(actions.compactMap(\.refusal).first)
        #expect(problem.kind == .pointsRefused && problem.description.contains(#"did not keep "d": the device already holds 3 points"#))
    }

    /// `1e400` does not fit a double: that value is left out, reported by device and key, and
    /// the rest of the message — a smoke alarm — still counts.
    @Test func aNumberThatIsNotFiniteLeavesOutOnlyThatValue() throws {
        var core = PlatformCore(configuration: PlatformConfiguration())
        let payload = event("s1", values: #"{"smoke_density":0.4,"temperature":1e400,"x":-1E+999}"#)
        let actions = core.received(topic: "park/A/smoke-detector/s1/event", payload: payload, now: 1)
        let alarm = try #require(alarms(actions).first)
        #expect(alarm.values == ["smoke_density": 0.4])
        #expect(core.input.badValues == 2 && core.input.malformed == 0)
        let problem = try #require(actions.compactMap(\.refusal).first)
        #expect(problem.kind == .badValue)
        #expect(problem.description
            == #"in a message from device "s1" on "park/A/smoke-detector/s1/event" (\#(payload.count) bytes): left out "temperature", "x": not a finite number; the rest of the message was kept"#)

        let stamped = try DeviceMessage(topic: "t", payload: Array(#"{"device":"s1","seq":1e400,"ts_ns":1e400,"values":{}}"#.utf8))
        #expect(stamped.sequence == nil && stamped.timestampNanoseconds == nil && stamped.badValues == ["seq", "ts_ns"])
    }

    /// The decoder reads what `JSONSerialization` reads from well-formed messages: escapes,
    /// surrogate pairs, integers and doubles, ignored keys of every type, non-numeric values.
    @Test func decoderReadsDeviceMessagesAsJSONSerializationDoes() throws {
        let text = #"""
            { "device" : "s\u00e9-1\"\\\/\ud83d\ude00", "kind":"meter", "seq": 42, "msg_id":"m#1", "ts_ns": 1700000000123456789,
              "extra": {"a": [1, 2.5e3, true, false, null, {"b": "c"}], "d": []}, "channel": "telemetry",
              "values": {"p": -0.5, "q": 3E2, "r": "text", "s": true, "t": null, "u": [1], "v": {"w": 1}, "z": 0} }
            """#
        let message = try DeviceMessage(topic: "park/A/meter/x/telemetry", payload: Array(text.utf8))
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(message.device == reference["device"] as? String && message.device == "sé-1\"\\/😀")
        #expect(message.kind == "meter" && message.channel == "telemetry" && message.messageID == "m#1")
        #expect(message.sequence == 42 && message.timestampNanoseconds == 1_700_000_000_123_456_789)
        #expect(message.values == ["p": -0.5, "q": 300, "z": 0])
        #expect(message.badValues.isEmpty)

        let status = try DeviceMessage(topic: "park/A/k/s1/status", payload: Array(#"{"device":"s1","status":"offline"}"#.utf8))
        #expect(status.channel == "status" && status.status == "offline" && status.values.isEmpty)
    }

    /// Broken and hostile documents are refused with the byte where reading stopped — never a
    /// crash, never a read past the end, never unbounded recursion.
    @Test func decoderRefusesBrokenDocumentsByByte() {
        let cases: [(String, [UInt8])] = [
            ("expected a JSON object at byte 0", Array("[1]".utf8)),
            ("the message ends early at byte 19", Array(#"{"device":"s1","a":tr"#.utf8)),
            ("a string is not closed at byte 13", Array(#"{"device":"s1"#.utf8)),
            ("unexpected text after the object at byte 16", Array(#"{"device":"s1"} x"#.utf8)),
            ("expected a digit at byte 6", Array(#"{"a":-x}"#.utf8)),
            ("expected a digit after '.' at byte 7", Array(#"{"a":1.}"#.utf8)),
            ("a control character in a string at byte 3", Array("{\"a\u{01}\":1}".utf8)),
            ("a string that is not UTF-8 at byte 2", [UInt8](#"{""#.utf8) + [0xFF, 0xFE] + Array(#"":1}"#.utf8)),
            ("an unknown escape '\\q' in a string at byte 5", Array(#"{"a\q":1}"#.utf8)),
            ("nested deeper than 64 levels at byte 69", Array((#"{"a":"# + String(repeating: "[", count: 100_000)).utf8)),
            ("expected ',' or '}' in an object at byte 7", Array(#"{"a":1 "b":2}"#.utf8)),
        ]
        for (expected, payload) in cases {
            #expect(throws: DeviceMessageError(.malformed(String(expected.split(separator: " at byte ")[0]),
                                                          offset: Int(expected.split(separator: " at byte ")[1])!))) {
                try DeviceMessage(topic: "t", payload: payload)
            }
        }
        #expect(throws: DeviceMessageError(.noDevice)) { try DeviceMessage(topic: "t", payload: Array("{}".utf8)) }
        // A lone surrogate is replaced rather than refused: the rest of the message is fine.
        #expect((try? DeviceMessage(topic: "t", payload: Array(#"{"device":"a\ud800b"}"#.utf8)))?.device == "a\u{FFFD}b")
    }

    /// A device repeating a bad message is logged once per kind per interval; the next line
    /// says how many were held back. Counting is unaffected (the core counts every one).
    @Test func warningsAreRateLimitedPerKind() {
        let lines = LockedLines()
        let warnings = RateLimitedWarnings(interval: 10) { lines.append($0) }
        let oversized = PlatformInputProblem(.oversized, topic: "t", device: "d", bytes: 9, detail: "over")
        let bad = PlatformInputProblem(.badValue, topic: "t", device: "d", bytes: 9, detail: "left out")
        for now in 0 ..< 100 { warnings.warn(oversized, now: UInt64(now) / 20) }
        warnings.warn(bad, now: 1)
        #expect(lines.all == [
            #"platform: refused a message from device "d" on "t" (9 bytes): over"#,
            #"platform: in a message from device "d" on "t" (9 bytes): left out"#,
        ])
        warnings.warn(oversized, now: 10)
        #expect(lines.all.last == #"platform: refused a message from device "d" on "t" (9 bytes): over (99 more like it since the last such line, not logged)"#)
    }

    /// `GET /devices` comes in pages whose `Link` headers, followed, cover every device exactly
    /// once — ids with characters that need escaping included; `GET /alarms` likewise by `since`.
    @Test func listingsComeInPagesCoveringEveryItemOnce() throws {
        let platform = ReferencePlatform(endpoints: .init())
        var expected: Set<String> = []
        for index in 0 ..< 2_345 {
            let id = index % 100 == 0 ? "odd &+/?=%é \(index)" : "dev-\(index)"
            expected.insert(id)
            platform.receive(topic: "t", payload: Array(#"{"device":\#(JSONText.quoted(id)),"status":"online"}"#.utf8))
        }
        for (first, pageSize) in [("/devices", 1_000), ("/devices?limit=7", 7), ("/devices?limit=10000", 10_000)] {
            var seen: [String] = []
            var next: String? = first
            var pages = 0
            while let uri = next {
                let answer = APIRoutes.answer(method: .GET, uri: uri, body: [], platform: platform)
                #expect(answer.code == 200)
                let page = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]])
                #expect(page.count <= pageSize)
                seen += page.compactMap { $0["device"] as? String }
                next = try link(answer)
                pages += 1
                if pages > 400 { break }
            }
            #expect(seen.count == expected.count && Set(seen) == expected, "\(first): every device exactly once")
            #expect(pages == (expected.count + pageSize - 1) / pageSize)
        }

        for index in 1 ... 25 {
            platform.records.add(PlatformAlarm(id: index, device: "s", kind: "k", event: "e", messageID: nil, deviceTimeNanoseconds: nil,
                                               receivedNanoseconds: 0, values: [:]))
        }
        var ids: [Int] = []
        var next: String? = "/alarms?limit=10"
        while let uri = next {
            let answer = APIRoutes.answer(method: .GET, uri: uri, body: [], platform: platform)
            ids += try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]).compactMap { $0["alarm_id"] as? Int }
            next = try link(answer)
            if ids.count > 100 { break }
        }
        #expect(ids == Array(1 ... 25))

        for bad in ["/devices?limit=0", "/devices?limit=10001", "/alarms?limit=x", "/alarms?since=x"] {
            let answer = APIRoutes.answer(method: .GET, uri: bad, body: [], platform: platform)
            let error = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: String]
            #expect(answer.code == 400 && error?["error"]?.contains("got '") == true, "\(bad)")
        }
    }

    /// The next page's request from an answer's `Link: <uri>; rel="next"` header, if any.
    func link(_ answer: APIRoutes.Answer) throws -> String? {
        guard let value = answer.headers.first(where: { $0.0 == "Link" })?.1 else { return nil }
        #expect(value.hasSuffix(#">; rel="next""#))
        return String(try #require(value.split(separator: ">").first).dropFirst())
    }

    /// The REST API over a socket: the `Link` header reaches the client, and `/statistics`
    /// shows what was refused.
    @Test func restAPIServesPagesAndStatistics() async throws {
        let platform = ReferencePlatform(
            endpoints: .init(), configuration: PlatformConfiguration(limits: PlatformLimits(maxPayloadBytes: 100)))
        for id in ["a", "b", "c"] {
            platform.receive(topic: "t", payload: Array(#"{"device":"\#(id)","status":"online"}"#.utf8))
        }
        platform.receive(topic: "t", payload: Array(repeating: 0x20, count: 101))
        let port = try platform.startHTTP()
        defer { platform.stop() }
        let (body, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/devices?limit=2")))
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.value(forHTTPHeaderField: "Link") == #"</devices?after=b&limit=2>; rel="next""#)
        #expect((try JSONSerialization.jsonObject(with: body) as? [[String: Any]])?.count == 2)
        let (statistics, _) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/statistics")))
        let object = try #require(try JSONSerialization.jsonObject(with: statistics) as? [String: Any])
        #expect((object["refused"] as? [String: Int])?["oversized"] == 1)
        #expect((object["limits"] as? [String: Int])?["max_payload_bytes"] == 100)
    }
}

/// Lines collected from another thread.
final class LockedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
