import ParkOCPP
import Testing

@Suite struct JSONReaderTests {
    @Test func readsWhatOCPPSends() throws {
        let value = try JSONReader.parse(#"{"a": [1, -2.5, 3e2, true, false, null], "s": "é\u00e9\n\ud83d\ude00", "n": 0}"#)
        #expect(value["a"] == [1, -2.5, 300.0, true, false, nil])
        #expect(value["s"]?.string == "éé\n😀")
        #expect(value["n"]?.int == 0)
        #expect(JSONValue.double(300).int == 300, "a whole number reads as an integer")
        #expect(JSONValue.double(1.5).int == nil)
    }

    @Test func writesTextThatReadsBack() throws {
        let value: JSONValue = ["b": "quote \" backslash \\ tab \t ctl \u{01}", "a": [1, 2.5, 3.0, nil, true], "c": ["x": 1]]
        #expect(value.text == #"{"a":[1,2.5,3.0,null,true],"b":"quote \" backslash \\ tab \t ctl \u0001","c":{"x":1}}"#)
        #expect(try JSONReader.parse(value.text) == value)
    }

    @Test(arguments: [
        ("", "unexpected end"), ("[1,", "unexpected end"), ("{\"a\" 1}", "expected ':'"), ("[01]", "leading zero"),
        ("\"\u{01}\"", "control character"), ("[1] x", "text after"), ("\"\\ud800\"", "lone surrogate"), ("[1.]", "no digits"),
        ("tru", "not a JSON value"), ("\"abc", "unterminated"), ("\"\\q\"", "unknown escape"), ("1e999", "out of range"),
    ])
    func refusesWhatIsNotJSON(text: String, reason: String) {
        #expect { try JSONReader.parse(text) } throws: { ($0 as? JSONParseError)?.reason.contains(reason) == true }
    }

    @Test func boundsNestingAndSize() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect { try JSONReader.parse(deep) } throws: { ($0 as? JSONParseError)?.reason.contains("nested deeper") == true }
        var limits = JSONReader.Limits()
        limits.members = 3
        #expect(throws: JSONParseError.self) { try JSONReader.parse("[1,2,3,4]", limits: limits) }
        #expect(throws: JSONParseError.self) { try JSONReader.parse(#"["\u00"]"#) }
        #expect(throws: JSONParseError.self) { try JSONReader.parse(bytes: [0x22, 0xFF, 0x22]) }
    }
}

@Suite struct OCPPFrameTests {
    @Test func roundTripsEachMessageType() throws {
        let frames: [OCPPFrame] = [
            .call(id: "19223201", action: "BootNotification", payload: ["chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"]),
            .result(id: "19223201", payload: ["status": "Accepted", "currentTime": "2013-02-01T20:53:32.486Z", "interval": 300]),
            .error(id: "19223201", code: .notImplemented, description: "FooBar is not an action", details: [:]),
        ]
        for frame in frames { #expect(try OCPPFrame.parse(frame.text) == frame) }
        #expect(frames[0].text == #"[2,"19223201","BootNotification",{"chargePointModel":"SingleSocketCharger","chargePointVendor":"VendorX"}]"#)
    }

    @Test func aBrokenCallIsStillAnsweredWithItsID() {
        do {
            _ = try OCPPFrame.parse(#"[2, "42", "Heartbeat", []]"#)
            Issue.record("a CALL whose payload is an array must not parse")
        } catch {
            #expect(error.callID == "42")
            #expect(error.code == .formationViolation)
            #expect(error.answer == .error(id: "42", code: .formationViolation, description: error.reason, details: [:]))
        }
    }

    @Test(arguments: [
        "{}", "[]", "[5, \"1\", {}]", "[2, 1, \"Heartbeat\", {}]", "[3, \"1\"]", "[4, \"1\", \"GenericError\"]",
        "[2, \"\", \"Heartbeat\", {}]", "[2, \"0123456789012345678901234567890123456\", \"Heartbeat\", {}]", "[2,\"1\",\"Heartbeat\",{}", "not json",
    ])
    func refusesMalformedFrames(text: String) {
        #expect(throws: OCPPFrameError.self) { try OCPPFrame.parse(text) }
    }

    @Test func anUnknownErrorCodeReadsAsGeneric() throws {
        #expect(try OCPPFrame.parse(#"[4,"7","Weird","x",{}]"#) == .error(id: "7", code: .genericError, description: "x", details: [:]))
    }
}
