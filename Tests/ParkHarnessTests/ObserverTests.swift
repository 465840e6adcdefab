import Foundation
@testable import ParkHarness
import ParkMQTT
@testable import ParkPlatform
import ParkTestSupport
import Testing

/// The webhook listener and the REST poller, driven by independent Python peers (urllib and
/// http.server), including the garbage a real platform sometimes sends.
@Suite(.serialized) struct ObserverTests {
    static let fields = FieldMapping(
        device: try! FieldPath(parsing: "$.device"), event: try! FieldPath(parsing: "$.alarm.type"),
        messageID: try! FieldPath(parsing: "$.msgId"), sequence: nil, status: nil, values: nil)

    /// Posts `body` with urllib and returns the HTTP status.
    func post(_ url: String, _ body: String, secret: String?, directory: TemporaryDirectory) throws -> Int {
        let script = directory.path("post.py")
        try """
            import sys, urllib.request, urllib.error
            url, body, secret = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
            request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
            if secret != "-":
                request.add_header("X-Park-Token", secret)
            try:
                print(urllib.request.urlopen(request, timeout=10).status)
            except urllib.error.HTTPError as error:
                print(error.code)
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let output = directory.path("post-\(UUID()).out")
        let process = try ChildProcess(try executablePath("python3"), [script, url, body, secret ?? "-"], output: output)
        #expect(process.waitForExit(timeout: .seconds(20)))
        return Int((try String(contentsOfFile: output, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func webhookTakesAuthenticatedAlarmsAndRefusesTheRest() throws {
        setenv("PARKBENCH_TEST_WEBHOOK_SECRET", "s3cret-value", 1)
        let directory = try TemporaryDirectory()
        let log = ObservationLog()
        let observer = try WebhookObserver(
            PlatformProfile.Webhook(port: 0, path: "/alarms", kind: .alarm, fields: Self.fields,
                                    secretEnvironment: "PARKBENCH_TEST_WEBHOOK_SECRET", secretHeader: "X-Park-Token"),
            log: log)
        defer { observer.stop() }
        let alarm = #"{"device":"smoke-1","alarm":{"type":"smoke-alarm"},"msgId":"smoke-1#4"}"#
        #expect(try post(observer.url, alarm, secret: "s3cret-value", directory: directory) == 200)
        #expect(try post(observer.url, "[\(alarm),\(alarm.replacingOccurrences(of: "smoke-1", with: "smoke-2"))]", secret: "s3cret-value", directory: directory) == 200)
        #expect(try post(observer.url, alarm, secret: "guess", directory: directory) == 401)
        #expect(try post(observer.url, alarm, secret: nil, directory: directory) == 401)
        #expect(try post(observer.url, "<html>oops</html>", secret: "s3cret-value", directory: directory) == 400)
        #expect(try post("http://127.0.0.1:\(observer.port)/elsewhere", alarm, secret: "s3cret-value", directory: directory) == 404)

        let seen = log.observations(.alarm)
        #expect(seen.map(\.device) == ["smoke-1", "smoke-1", "smoke-2"])
        #expect(seen.first?.event == "smoke-alarm" && seen.first?.messageID == "smoke-1#4")
        #expect(seen.first?.source == "webhook POST /alarms")
        let problems = log.problems
        #expect(problems.total == 3)
        #expect(problems.first.contains { $0.message.contains("without the right X-Park-Token header") })
        #expect(problems.first.contains { $0.message.hasPrefix("not JSON: <html>") })
        #expect(!problems.first.description.contains("s3cret-value"), "the secret is never echoed")
    }

    @Test func webhookNeedsItsSecretVariable() {
        #expect(throws: HarnessError.self) {
            try WebhookObserver(
                PlatformProfile.Webhook(port: 0, path: "/a", kind: .alarm, fields: Self.fields,
                                        secretEnvironment: "PARKBENCH_TEST_UNSET_\(UUID().uuidString.prefix(8))", secretHeader: "X"),
                log: ObservationLog())
        }
    }

    @Test func restPollerRecordsEachNewItemOnce() async throws {
        let directory = try TemporaryDirectory()
        let port = try freeLoopbackPort()
        let file = directory.path("alarms.json")
        try #"[{"device":"old","alarm":{"type":"smoke-alarm"}}]"#.write(toFile: file, atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            try executablePath("python3"), ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory.url.path],
            output: directory.path("http.log"))
        defer { server.stop(grace: .seconds(1)) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !loopbackPortAccepts(port), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }

        let log = ObservationLog()
        let poller = try RESTPoller(
            PlatformProfile.RESTPoll(url: "http://127.0.0.1:\(port)/alarms.json", interval: .seconds(60), kind: .alarm,
                                     items: try FieldPath(parsing: "$"), fields: Self.fields),
            log: log)
        #expect(await poller.fetch(recordNew: false) == 0, "what is there before the run is the baseline")
        try #"[{"device":"old","alarm":{"type":"smoke-alarm"}},{"device":"smoke-3","alarm":{"type":"heat-alarm"},"msgId":"smoke-3#9"}]"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(await poller.fetch(recordNew: true) == 1)
        #expect(await poller.fetch(recordNew: true) == 0, "an item already seen is not seen again")
        #expect(log.observations(.alarm).map(\.device) == ["smoke-3"])

        try "{\"not\": \"a list\"}".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(await poller.fetch(recordNew: true) == 0)
        let missing = try RESTPoller(
            PlatformProfile.RESTPoll(url: "http://127.0.0.1:\(port)/nothing-here", interval: .seconds(60), kind: .alarm,
                                     items: try FieldPath(parsing: "$"), fields: Self.fields),
            log: log)
        #expect(await missing.fetch(recordNew: true) == 0)
        #expect(log.problems.first.map(\.message).contains { $0.hasPrefix("expected a JSON array at $") })
        #expect(log.problems.first.map(\.message).contains("HTTP 404"))
    }

    /// A listing in pages (the reference platform's `/alarms?limit=10` with `Link: rel="next"`):
    /// one poll reads every page, so 35 new alarms are 35 observations, not the first 10.
    @Test func restPollerFollowsTheNextPageLinks() async throws {
        final class Discard: PlatformOutlet { func publish(topic: String, payload: [UInt8], qos: MQTTQoS) {} }
        let platform = ReferencePlatform(endpoints: .init(), clock: ManualPlatformClock(), outlet: Discard())
        let port = try platform.startHTTP()
        defer { platform.stop() }
        func alarms(_ range: ClosedRange<Int>) {
            for n in range {
                platform.receive(topic: "park/A/smoke-detector/smoke-\(n)/event", payload: Array(
                    #"{"device":"smoke-\#(n)","kind":"smoke-detector","seq":1,"msg_id":"smoke-\#(n)#1","ts_ns":1,"channel":"event","name":"smoke-alarm","values":{}}"#.utf8))
            }
        }
        alarms(1 ... 3)
        let log = ObservationLog()
        let poller = try RESTPoller(
            PlatformProfile.RESTPoll(url: "http://127.0.0.1:\(port)/alarms?limit=10", interval: .seconds(60), kind: .alarm,
                                     items: try FieldPath(parsing: "$"),
                                     fields: FieldMapping(device: try FieldPath(parsing: "$.device"), event: try FieldPath(parsing: "$.event"))),
            log: log)
        #expect(await poller.fetch(recordNew: false) == 0)
        alarms(4 ... 38)
        #expect(await poller.fetch(recordNew: true) == 35, "every page of one poll")
        #expect(Set(log.observations(.alarm).map(\.device)).count == 35)
        #expect(RESTPoller.nextLink(in: #"<https://x.example/a?p=1>; rel="prev", </alarms?since=9&limit=10>; rel="next""#,
                                    relativeTo: URL(string: "http://127.0.0.1:1/alarms")!)?.absoluteString == "http://127.0.0.1:1/alarms?since=9&limit=10")
    }
}
