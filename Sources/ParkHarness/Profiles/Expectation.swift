import Foundation
import ParkReport

/// One expectation of a check, as a suite writes it: `latency.p99 < 2s`, `loss == 0`,
/// `abs_error <= 2%`, or the `<metric>_within <duration>` shorthand (`offline_within 10s`
/// means `offline_within <= 10s`).
///
/// Durations are compared in milliseconds, percentages as percentages, counts as numbers; a
/// metric and its threshold must agree on that (checked when the suite is loaded).
public struct Expectation: Sendable, Hashable, CustomStringConvertible {
    /// How a measured value is compared with the threshold.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        case less = "<", lessOrEqual = "<=", equal = "==", greaterOrEqual = ">=", greater = ">"

        func holds(_ measured: Double, _ threshold: Double) -> Bool {
            switch self {
            case .less: measured < threshold
            case .lessOrEqual: measured <= threshold
            case .equal: measured == threshold
            case .greaterOrEqual: measured >= threshold
            case .greater: measured > threshold
            }
        }
    }

    /// What the threshold measures.
    public enum Unit: String, Sendable, Hashable {
        case milliseconds = "ms", percent = "%", count = "count"

        /// Whether a threshold in this unit can be compared with a figure measured in `unit`: a
        /// bare number stands for a count or a plain number, never a duration or a share.
        public func accepts(_ unit: MetricUnit) -> Bool {
            switch self {
            case .milliseconds: unit == .milliseconds
            case .percent: unit == .percent
            case .count: unit == .count || unit == .number
            }
        }

        /// The unit a value in this unit is shown in.
        public var metricUnit: MetricUnit {
            switch self {
            case .milliseconds: .milliseconds
            case .percent: .percent
            case .count: .count
            }
        }
    }

    public var expression: String
    public var metric: String
    public var comparison: Comparison
    public var threshold: Double
    public var unit: Unit
    public var description: String { expression }

    /// Parses one expectation. - Throws: a message saying what is wrong and what is expected.
    public init(parsing text: String) throws(ExpectationError) {
        expression = text.trimmingCharacters(in: .whitespaces)
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let valueText: String
        if parts.count == 3, let comparison = Comparison(rawValue: parts[1]) {
            metric = parts[0]
            self.comparison = comparison
            valueText = parts[2]
        } else if parts.count == 2, parts[0].hasSuffix("_within") {
            metric = parts[0]
            comparison = .lessOrEqual
            valueText = parts[1]
        } else {
            throw ExpectationError(
                "'\(text)' is not an expectation; write '<metric> <op> <value>' with op one of "
                    + Comparison.allCases.map(\.rawValue).joined(separator: " ")
                    + " (e.g. 'latency.p99 < 2s', 'loss == 0', 'abs_error <= 2%') or '<metric>_within <duration>'")
        }
        guard metric.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }), metric.first?.isLetter == true else {
            throw ExpectationError("'\(metric)' is not a metric name (letters, digits, '_' and '.')")
        }
        (threshold, unit) = try Self.value(valueText, in: text)
    }

    /// `2s`, `500ms`, `1m` → milliseconds; `2%` → percent; `0`, `3` → count.
    static func value(_ text: String, in expression: String) throws(ExpectationError) -> (Double, Unit) {
        if text.hasSuffix("%"), let number = Double(text.dropLast()) { return (number, .percent) }
        if let number = Double(text) { return (number, .count) }
        let units: [(String, Double)] = [("ms", 1), ("us", 0.001), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)) { return (number * factor, .milliseconds) }
        }
        throw ExpectationError(
            "'\(text)' in '\(expression)' is not a value; expected a number, a percentage (2%) or a duration (500ms, 2s, 1m)")
    }

    /// The figure of `metric` this expectation compares with its threshold: the value when its
    /// unit fits, the metric's percentage for a percent threshold; nil when neither fits.
    public func comparable(_ metric: Metric) -> Double? {
        if unit.accepts(metric.unit) { return metric.value }
        if unit == .percent { return metric.percent }
        return nil
    }

    /// Whether `measured` (in this expectation's unit) meets it; a missing measurement never does.
    public func holds(_ measured: Double?) -> Bool {
        guard let measured, measured.isFinite else { return false }
        return comparison.holds(measured, threshold)
    }
}

/// A malformed expectation.
public struct ExpectationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
