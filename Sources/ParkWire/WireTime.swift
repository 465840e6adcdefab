#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The timestamps device messages carry: `ts` (RFC 3339, milliseconds, UTC) beside `ts_ns`
/// (Unix nanoseconds), written without Foundation's formatters, which cost microseconds each.
public enum WireTime {
    /// RFC 3339 with millisecond precision, e.g. `2026-01-01T00:00:01.250Z`.
    public static func iso8601(nanosecondsSinceEpoch: Int64) -> String {
        let seconds = nanosecondsSinceEpoch >= 0
            ? nanosecondsSinceEpoch / 1_000_000_000
            : (nanosecondsSinceEpoch - 999_999_999) / 1_000_000_000
        let millis = Int((nanosecondsSinceEpoch - seconds * 1_000_000_000) / 1_000_000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + ".\(pad(Int32(millis), 3))Z"
    }
}
