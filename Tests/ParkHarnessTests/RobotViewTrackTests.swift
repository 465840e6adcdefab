@testable import ParkHarness
import Testing

/// Dating a position the platform shows against a robot's track (`robot-view`): the last moment
/// at or before a time the robot was within 10 cm of it, the track straight between its points.
@Suite struct RobotViewTrackTests {
    typealias Point = RobotViewCheck.TrackPoint
    /// 0 → 10 m along x from t = 0 s to 10 s (1 m/s), then at rest.
    let track = [Point(time: 0, x: 0, y: 0), Point(time: 5_000_000_000, x: 5, y: 0), Point(time: 10_000_000_000, x: 10, y: 0)]

    @Test func aPositionPassedIsDatedWhenTheRobotLeftIt() throws {
        // At x = 3 the robot was from 2.9 s to 3.1 s: the last moment is 3.1 s.
        let when = try #require(RobotViewCheck.lastTime(at: (3, 0), on: track, before: 8_000_000_000))
        #expect(abs(Double(when) / 1e9 - 3.1) < 1e-6)
    }

    @Test func theTrackIsCutAtTheTimeAsked() throws {
        // Asked at 3 s, the robot is at x = 3 right then.
        let when = try #require(RobotViewCheck.lastTime(at: (3, 0), on: track, before: 3_000_000_000))
        #expect(when == 3_000_000_000)
        #expect(RobotViewCheck.lastTime(at: (6, 0), on: track, before: 3_000_000_000) == nil, "not there yet")
    }

    @Test func aRobotAtRestIsThereUntilNow() {
        #expect(RobotViewCheck.lastTime(at: (10, 0.05), on: track, before: 20_000_000_000) == 20_000_000_000)
    }

    @Test func aPlaceOffTheTrackWasNeverVisited() {
        #expect(RobotViewCheck.lastTime(at: (3, 1), on: track, before: 20_000_000_000) == nil)
        #expect(RobotViewCheck.lastTime(at: (3, 0), on: [], before: 20_000_000_000) == nil)
    }
}
