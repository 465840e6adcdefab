import Testing
@testable import ParkCore

/// Clocks, durations and wall-time formatting.
@Suite struct ClockAndDurationTests {
    /// Profile durations parse in every unit and print back in their shortest exact form.
    @Test(arguments: [
        ("40s", 40_000_000_000), ("500ms", 500_000_000), ("1h30m", 5_400_000_000_000),
        ("1.5s", 1_500_000_000), ("2d", 172_800_000_000_000), ("0", 0), ("250us", 250_000),
    ] as [(String, UInt64)])
    func parsesDurations(text: String, nanoseconds: UInt64) {
        #expect(DeviceDuration(parsing: text)?.nanoseconds == nanoseconds)
    }

    /// Text that is not a duration is refused rather than read as zero.
    @Test(arguments: ["", "abc", "10", "5 parsecs", "1.2.3s", "-5s", "s"])
    func rejectsNonDurations(text: String) {
        #expect(DeviceDuration(parsing: text) == nil)
    }

    @Test func printsShortestForm() {
        #expect(DeviceDuration.seconds(90).description == "1m30s")
        #expect(DeviceDuration.milliseconds(1_500).description == "1s500ms")
        #expect(DeviceDuration.zero.description == "0s")
    }

    /// The manual clock moves only when told, never backwards, and its wall time follows.
    @Test func manualClockMovesOnlyForward() {
        let clock = ManualClock()
        #expect(clock.now().monotonic == .zero)
        clock.advance(by: .seconds(5))
        clock.advance(to: MonotonicInstant(nanoseconds: 1))
        #expect(clock.now().monotonic.nanoseconds == 5_000_000_000)
        #expect(clock.now().wall.iso8601 == "2026-01-01T00:00:05.000Z")
    }

    /// The system clock is monotonic and its wall time is the real date.
    @Test func systemClockIsMonotonic() {
        let clock = SystemClock()
        let first = clock.now()
        let second = clock.now()
        #expect(second.monotonic >= first.monotonic)
        #expect(first.wall.nanosecondsSinceEpoch > 1_700_000_000_000_000_000)
    }

    @Test func formatsWallTimeBeforeAndAfterEpoch() {
        #expect(WallTime(nanosecondsSinceEpoch: 1_250_000_000).iso8601 == "1970-01-01T00:00:01.250Z")
        #expect(WallTime(nanosecondsSinceEpoch: -1_000_000).iso8601 == "1969-12-31T23:59:59.999Z")
    }
}
