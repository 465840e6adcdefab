@testable import ParkCore
import ParkProfiles
import Testing

/// The `gb28181:` section of a camera or NVR model profile: what loads, and the exact message,
/// with file:line:column, for each bad key or value (issue 14).
@Suite struct GB28181ProfileTests {
    /// A video kind as the checks see it: a keepalive parameter and a few alarm events.
    struct VideoCatalog: KindCatalog {
        let descriptors = [
            KindDescriptor(
                name: "cam", summary: "A camera",
                events: ["motion", "video-loss", "tamper", "keepalive"].map { EventDescriptor(name: $0, severity: .alarm, summary: "") },
                parameters: [ParameterDescriptor(name: "keepalive_interval", type: .duration, defaultValue: "60s", minimum: 1, summary: "")]),
            KindDescriptor(name: "ticker", summary: "No SIP"),
        ]
        func descriptor(named name: String) -> KindDescriptor? { descriptors.first { $0.name == name } }
        var names: [String] { descriptors.map(\.name) }
    }

    func issues(_ text: String) -> [String] {
        do { _ = try ModelProfile.parse(text, file: "c.yaml", kinds: VideoCatalog()); return [] } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func loadsAGoodSection() throws {
        let profile = try ModelProfile.parse("""
            kind: cam
            model: cam-1
            gb28181:
              charset: UTF-8
              keepalive_interval: 30s
              catalog_split: 4
              alarm_types: [motion, video-loss]
              manufacturer: Acme
              model: IPC-1
              firmware: "1.0"
            """, file: "c.yaml", kinds: VideoCatalog())
        #expect(profile.gb28181 == ModelGB28181Settings(
            charset: "UTF-8", keepaliveInterval: "30s", catalogSplit: 4, alarmTypes: ["motion", "video-loss"],
            manufacturer: "Acme", model: "IPC-1", firmware: "1.0"))
        #expect(profile.parameters["keepalive_interval"] == "30s", "the section's keepalive is the device's parameter")
        let defaults = try ModelProfile.parse("kind: cam\nmodel: cam-2\ngb28181: {}\n", file: "c.yaml", kinds: VideoCatalog()).gb28181
        #expect(defaults == ModelGB28181Settings())
    }

    @Test func unknownKeyGetsADidYouMean() {
        #expect(issues("kind: cam\nmodel: c\ngb28181:\n  charst: UTF-8\n") == [
            "c.yaml:4:3: gb28181: unknown key 'charst'; did you mean 'charset'?",
        ])
    }

    @Test func badValuesAreEachReportedWhereTheyAre() {
        #expect(issues("""
            kind: cam
            model: c
            gb28181:
              charset: BIG5
              keepalive_interval: soon
              catalog_split: 0
              alarm_types: [motoin, keepalive]
            """) == [
            "c.yaml:4:12: gb28181.charset: unknown charset 'BIG5'; use GB2312 or UTF-8",
            "c.yaml:5:23: gb28181.keepalive_interval: expected a duration such as 40s, 500ms or 1h30m, got 'soon'",
            "c.yaml:6:18: gb28181.catalog_split: expected a whole number from 1 to 128, got '0'",
            "c.yaml:7:17: gb28181.alarm_types[0]: kind 'cam' has no alarm 'motoin'; did you mean 'motion'?",
            "c.yaml:7:25: gb28181.alarm_types[1]: kind 'cam' has no alarm 'keepalive'",
        ])
    }

    @Test func keepaliveGivenTwiceIsRefused() {
        #expect(issues("kind: cam\nmodel: c\nparameters:\n  keepalive_interval: 20s\ngb28181: {keepalive_interval: 30s}\n") == [
            "c.yaml:4:23: parameters.keepalive_interval: keepalive_interval is given in parameters and in gb28181; give it once, in gb28181",
        ])
    }

    @Test func aKindWithoutSIPIsRefused() {
        #expect(issues("kind: ticker\nmodel: t\ngb28181: {charset: UTF-8}\n") == [
            "c.yaml:3:10: gb28181: kind 'ticker' does not speak GB/T 28181 (it has no keepalive_interval); use a camera or nvr kind",
        ])
    }

    @Test func aSectionThatIsNotAMappingIsExplained() {
        #expect(issues("kind: cam\nmodel: c\ngb28181: [a]\n") == [
            "c.yaml:3:10: gb28181: expected GB/T 28181 settings (a mapping of key: value), got a list",
        ])
    }
}


/// The `http_push:` section of a model profile: the events named must be the kind's (issue 18).
@Suite struct HTTPPushProfileTests {
    @Test func loadsAndChecksTheEvents() throws {
        let kinds = GB28181ProfileTests.VideoCatalog()
        let profile = try ModelProfile.parse("kind: cam\nmodel: cam-1\nhttp_push: {events: [motion]}\n", file: "c.yaml", kinds: kinds)
        #expect(profile.httpPush == ModelHTTPPushSettings(events: ["motion"]))
        #expect(profile.httpPush?.pushes("motion") == true && profile.httpPush?.pushes("tamper") == false)
        let every = try ModelProfile.parse("kind: cam\nmodel: cam-2\nhttp_push: {}\n", file: "c.yaml", kinds: kinds)
        #expect(every.httpPush?.pushes("tamper") == true, "no events listed: every event is pushed")
        do {
            _ = try ModelProfile.parse("kind: cam\nmodel: cam-3\nhttp_push: {events: [motoin], url: x}\n", file: "c.yaml", kinds: kinds)
            Issue.record("a misspelt event must be refused")
        } catch {
            let messages = error.issues.map(\.description)
            #expect(messages.contains { $0.hasPrefix("c.yaml:3:") && $0.contains("kind 'cam' has no event 'motoin'; did you mean 'motion'?") }, "\(messages)")
            #expect(messages.contains { $0.contains("unknown key 'url'") }, "\(messages)")
        }
    }

    /// `retries` and `retry_interval`: read, defaulted (no retries), bounded; the wait doubles.
    @Test func retriesAreReadAndBounded() throws {
        let kinds = GB28181ProfileTests.VideoCatalog()
        let profile = try ModelProfile.parse(
            "kind: cam\nmodel: cam-1\nhttp_push: {events: [motion], retries: 3, retry_interval: 500ms}\n", file: "c.yaml", kinds: kinds)
        let settings = try #require(profile.httpPush)
        #expect(settings.retries == 3 && settings.retryInterval == .milliseconds(500))
        #expect([1, 2, 3, 9].map { settings.delay(beforeRetry: $0) } == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(32)])
        #expect(ModelHTTPPushSettings().retries == 0)
        for (bad, expected) in [("retries: 11", "from 0 to 10"), ("retry_interval: 0s", "from 1ms to 10m"), ("retry_interval: soon", "a duration")] {
            do {
                _ = try ModelProfile.parse("kind: cam\nmodel: cam-2\nhttp_push: {\(bad)}\n", file: "c.yaml", kinds: kinds)
                Issue.record("\(bad) must be refused")
            } catch {
                #expect(error.issues.contains { $0.description.contains(expected) }, "\(bad): \(error.issues)")
            }
        }
    }
}
