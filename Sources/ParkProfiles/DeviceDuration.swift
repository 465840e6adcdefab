/// A span of device time in nanoseconds, written in files as `40s`, `500ms`, `1h30m`, `2d`.
///
/// A plain integer keeps timer entries small (the scheduler holds 100,000 of them) and makes
/// arithmetic exact; Swift's `Duration` is 128 bits wide and has no text form we can parse.
public struct DeviceDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = DeviceDuration(nanoseconds: 0)
    public static func nanoseconds(_ value: UInt64) -> Self { Self(nanoseconds: value) }
    public static func microseconds(_ value: UInt64) -> Self { Self(nanoseconds: value * 1_000) }
    public static func milliseconds(_ value: UInt64) -> Self { Self(nanoseconds: value * 1_000_000) }
    public static func seconds(_ value: UInt64) -> Self { Self(nanoseconds: value * 1_000_000_000) }
    public static func minutes(_ value: UInt64) -> Self { .seconds(value * 60) }
    public static func hours(_ value: UInt64) -> Self { .seconds(value * 3_600) }
    public static func days(_ value: UInt64) -> Self { .seconds(value * 86_400) }
    /// Fractional seconds, rounded to the nanosecond; negative values become zero.
    public static func fromSeconds(_ value: Double) -> Self {
        Self(nanoseconds: value <= 0 ? 0 : UInt64((value * 1e9).rounded()))
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Self, rhs: Self) -> Self { Self(nanoseconds: lhs.nanoseconds + rhs.nanoseconds) }
    public static func * (lhs: Self, rhs: UInt64) -> Self { Self(nanoseconds: lhs.nanoseconds * rhs) }

    /// The span in seconds, as a floating-point number.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    private static let units: [(suffix: String, nanoseconds: UInt64)] = [
        ("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
        ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
    ]

    /// Parses `1h30m`, `40s`, `1.5s`, `250ms`, `0`. Returns nil for anything else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingSpaces
        if trimmed == "0" { self = .zero; return }
        var total: Double = 0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { $0.isLetter }
            guard let unit = Self.units.first(where: { $0.suffix == suffix }) else { return nil }
            rest = rest.dropFirst(suffix.count)
            total += value * Double(unit.nanoseconds)
        }
        guard total.isFinite, total < Double(UInt64.max) else { return nil }
        self.nanoseconds = UInt64(total.rounded())
    }

    /// The shortest exact text form: `40s`, `1h30m`, `250ms`, `0s`.
    public var description: String {
        if nanoseconds == 0 { return "0s" }
        var remaining = nanoseconds
        var text = ""
        for unit in Self.units where remaining >= unit.nanoseconds {
            text += "\(remaining / unit.nanoseconds)\(unit.suffix)"
            remaining %= unit.nanoseconds
        }
        return text
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars = scalars.dropFirst() }
        while scalars.last?.isWhitespace == true { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
