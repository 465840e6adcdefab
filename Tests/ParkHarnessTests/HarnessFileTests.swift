import Foundation
import ParkCore
@testable import ParkHarness
import ParkProfiles
import ParkReport
import Testing

/// Suites, platform profiles, field paths and expectations: what users write, read strictly.
@Suite struct HarnessFileTests {
    @Test func fieldPathsReadMembersAndIndexes() throws {
        let json = try JSONSerialization.jsonObject(with: Data(#"{"data":{"alarm":{"id":"a-1","n":3}},"items":[{"v":1.5},{"v":"2"}]}"#.utf8))
        #expect(try FieldPath(parsing: "$.data.alarm.id").string(in: json) == "a-1")
        #expect(try FieldPath(parsing: "$.data.alarm.n").number(in: json) == 3)
        #expect(try FieldPath(parsing: "$.items[1].v").number(in: json) == 2)
        #expect(try FieldPath(parsing: "$['data'].alarm.id").string(in: json) == "a-1")
        #expect(try FieldPath(parsing: "$.items[7].v").value(in: json) == nil)
        #expect(try FieldPath(parsing: "$.missing").string(in: json) == nil)
        #expect(throws: FieldPathError.self) { try FieldPath(parsing: "device") }
        #expect(throws: FieldPathError.self) { try FieldPath(parsing: "$.a[") }
        #expect(throws: FieldPathError.self) { try FieldPath(parsing: "$.a[x]") }
        #expect(throws: FieldPathError.self) { try FieldPath(parsing: "$..a") }
    }

    @Test func expectationsParseUnitsAndCompare() throws {
        let latency = try Expectation(parsing: "latency.p99 < 2s")
        #expect(latency.metric == "latency.p99" && latency.threshold == 2000 && latency.unit == .milliseconds)
        #expect(latency.holds(1999.9) && !latency.holds(2000) && !latency.holds(nil))
        #expect(try Expectation(parsing: "loss == 0").holds(0))
        #expect(!(try Expectation(parsing: "loss == 0").holds(1)))
        let percent = try Expectation(parsing: "abs_error <= 2%")
        #expect(percent.unit == .percent && percent.threshold == 2)
        let within = try Expectation(parsing: "offline_within 90s")
        #expect(within.comparison == .lessOrEqual && within.threshold == 90_000)
        #expect(try Expectation(parsing: "latency.max < 500ms").threshold == 500)
        #expect(try Expectation(parsing: "x >= 1m").threshold == 60_000)
        #expect(throws: ExpectationError.self) { try Expectation(parsing: "latency.p99 fast") }
        #expect(throws: ExpectationError.self) { try Expectation(parsing: "latency.p99 < soon") }
        #expect(throws: ExpectationError.self) { try Expectation(parsing: "latency p99 < 2s") }
    }

    @Test func shippedSuiteAndProfileLoad() throws {
        let root = HarnessRuns.packageRoot
        let suite = try Suite.load(file: root.appendingPathComponent("conformance/suites/park-core.yaml").path)
        #expect(suite.name == "park-core")
        #expect(suite.checks.count >= 5)
        for check in suite.checks { #expect(Suite.isCitation(check.common.source), "\(check.common.id) cites \(check.common.source)") }
        let profile = try PlatformProfile.load(file: root.appendingPathComponent("conformance/platforms/reference.yaml").path)
        #expect(profile.mqtt.map(\.kind).contains(.alarm))
        #expect(profile.broker.port == 1883)
        let example = try PlatformProfile.load(file: root.appendingPathComponent("conformance/platforms/thingsboard-example.yaml").path)
        #expect(example.webhook?.secretEnvironment == "TB_WEBHOOK_SECRET")
        #expect(example.rest.first?.headerEnvironment == ["X-Authorization": "TB_JWT_BEARER"])
        #expect(example.mappings(of: .alarm).count == 3)
    }

    /// Every mistake in a suite is reported at once, at its line, with what was expected.
    @Test func brokenSuiteNamesEveryProblem() throws {
        let text = """
            suite: broken
            checks:
              - id: a
                title: A
                type: latency
                source: the brochure
                devices: {kind: smoke-detector}
                stimulus: {stimulus: smoke}
                observe: {event: smoke-alarm}
                expect: ["latency.p99 < 2%", "latncy.p99 < 2s"]
              - id: a
                title: B
                type: latnecy
                source: 004_5e9061d643d5fb41.txt L2714
                expect: ["loss == 0"]
              - id: c
                title: C
                type: delivery
                source: 004_5e9061d643d5fb41.txt L725
                chanel: telemetry
                expect: ["loss == 0", "loss <= 1%", "loss < 2s"]
            """
        let errors = try #require(throws: ProfileErrors.self) { try Suite.parse(text, file: "broken.yaml") }
        let messages = errors.issues.map(\.description)
        #expect(messages.contains { $0.hasPrefix("broken.yaml:6:") && $0.contains("expected '<seed file> L<line>'") })
        #expect(messages.contains { $0.contains("'latency.p99' is measured in ms; the threshold in 'latency.p99 < 2%' is in %") })
        #expect(messages.contains { $0.contains("does not measure 'latncy.p99'; did you mean 'latency.p99'?") })
        #expect(messages.contains { $0.hasPrefix("broken.yaml:13:") && $0.contains("unknown check type 'latnecy'; did you mean 'latency'?") })
        #expect(messages.contains { $0.hasPrefix("broken.yaml:20:") && $0.contains("unknown key 'chanel'; did you mean 'channel'?") })
        #expect(messages.contains { $0.contains("'loss' is measured in count and %; the threshold in 'loss < 2s' is in ms") })
        #expect(messages.count == 6, "\(messages.joined(separator: "\n"))")
    }

    @Test func brokenProfileNamesEveryProblem() throws {
        let text = """
            platform: p
            broker: {url: "http://x", password: hunter2}
            observe:
              mqtt:
                - topic: a/b
                  as: alarms
                  fields: {device: device}
                - topic: c
                  as: status
                  fields: {device: $.id}
            meters: {modbus: "localhost", units_per_endpoint: 300}
            """
        let errors = try #require(throws: ProfileErrors.self) { try PlatformProfile.parse(text, file: "p.yaml") }
        let messages = errors.issues.map(\.description)
        #expect(messages.contains { $0.contains("broker.url") && $0.contains("expected mqtt://host:port") })
        #expect(messages.contains { $0.contains("unknown key 'password'") }, "inline secrets are not a key: \(messages)")
        #expect(messages.contains { $0.contains("unknown stream kind 'alarms'") })
        #expect(messages.contains { $0.contains("must start with '$'") })
        #expect(messages.contains { $0.contains("a status stream needs fields.status") })
        #expect(messages.contains { $0.contains("meters.modbus") && $0.contains("expected host:port, got 'localhost'") })
        #expect(messages.contains { $0.contains("meters.units_per_endpoint") }, "\(messages)")
        #expect(!messages.joined().contains("hunter2"), "a secret written inline is never echoed")
    }

    @Test func verdictsSayWhatWasExpectedAndMeasured() throws {
        let common = CheckCommon(
            id: "x", title: "X", type: "latency", source: "004_5e9061d643d5fb41.txt L2714", severity: .critical,
            expectations: [try Expectation(parsing: "latency.p99 < 2s"), try Expectation(parsing: "missing == 0")],
            timeout: .seconds(5), location: "s.yaml:3")
        let slow = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["latency.p99": .milliseconds(3012.4), "missing": .count(0)]), started: Date())
        #expect(slow.verdict == .fail)
        #expect(slow.summary == "expected latency.p99 < 2000.0 ms, measured 3012.4 ms")
        let none = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["missing": .count(4)]), started: Date())
        #expect(none.summary.contains("expected latency.p99 < 2000.0 ms, measured nothing; expected missing == 0, measured 4"))
        let good = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["latency.p99": .milliseconds(12), "missing": .count(0)]), started: Date())
        #expect(good.verdict == .pass)
        let broken = HarnessRunner.verdict(common, CheckMeasurement(error: "no device matches"), started: Date())
        #expect(broken.verdict == .error && broken.summary == "could not run: no device matches")
    }

    /// A check's start is in the report as an instant a program uses (a capture is cut by it)
    /// and as text for people; both are the same moment.
    @Test func aCheckResultCarriesItsStartAsATypedInstant() throws {
        let started = Date(timeIntervalSince1970: 1_795_573_801.25)
        let common = CheckCommon(
            id: "x", title: "X", type: "latency", source: "004_5e9061d643d5fb41.txt L2714", severity: .critical,
            expectations: [], timeout: .seconds(5), location: "s.yaml:3")
        let result = HarnessRunner.verdict(common, CheckMeasurement(), started: started)
        #expect(result.startedAtNanoseconds == 1_795_573_801_250_000_000)
        #expect(result.startedAt == "2026-11-25T02:30:01.250Z")
    }

    /// A figure in the wrong unit is an error that says which units disagree, never a pass or
    /// fail from comparing a count with milliseconds.
    @Test func anExpectationAgainstAMetricOfAnotherUnitIsAnError() throws {
        let common = CheckCommon(
            id: "x", title: "X", type: "latency", source: "004_5e9061d643d5fb41.txt L2714", severity: .critical,
            expectations: [try Expectation(parsing: "latency.p99 < 2s"), try Expectation(parsing: "missing == 0")],
            timeout: .seconds(5), location: "s.yaml:3")
        // 12 would pass `< 2000` if the units were ignored.
        let result = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["latency.p99": .count(12), "missing": .count(0)]), started: Date())
        #expect(result.verdict == .error, "\(result.summary)")
        #expect(result.summary == "cannot judge: 'latency.p99 < 2s' expects latency.p99 in ms, but it was measured in count")
        #expect(result.expectations.first?.measured == nil && result.expectations.first?.passed == false)
        #expect(result.expectations.last?.passed == true, "the other expectation is still judged")

        let percent = CheckCommon(
            id: "y", title: "Y", type: "delivery", source: "004_5e9061d643d5fb41.txt L725", severity: .major,
            expectations: [try Expectation(parsing: "loss <= 1%")], timeout: .seconds(5), location: "s.yaml:9")
        let durations = HarnessRunner.verdict(percent, CheckMeasurement(metrics: ["loss": .milliseconds(0)]), started: Date())
        #expect(durations.verdict == .error)
        #expect(durations.summary.contains("expects loss in %, but it was measured in ms"))
    }

    /// `loss == 0` reads the count, `loss <= 1%` the same figure as a share of what was sent.
    @Test func aPercentThresholdReadsTheMetricsPercentage() throws {
        let common = CheckCommon(
            id: "y", title: "Y", type: "delivery", source: "004_5e9061d643d5fb41.txt L725", severity: .major,
            expectations: [try Expectation(parsing: "loss <= 1%"), try Expectation(parsing: "loss < 5")], timeout: .seconds(5),
            location: "s.yaml:9")
        let lossy = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["loss": .count(3, percent: 1.5)]), started: Date())
        #expect(lossy.verdict == .fail)
        #expect(lossy.summary == "expected loss <= 1.00%, measured 1.50%")
        #expect(lossy.expectations.map(\.measured) == [1.5, 3])
        let fine = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["loss": .count(1, percent: 0.5)]), started: Date())
        #expect(fine.verdict == .pass, "\(fine.summary)")
        // A count without a percentage cannot answer a percent threshold.
        let bare = HarnessRunner.verdict(common, CheckMeasurement(metrics: ["loss": .count(0)]), started: Date())
        #expect(bare.verdict == .error && bare.summary.contains("expects loss in %, but it was measured in count"))
    }
}
