import Foundation

/// The unit a metric's value is in, recorded beside the value so that neither a reader nor an
/// expectation has to guess it from the metric's name.
public enum MetricUnit: String, Codable, Sendable, Hashable, CaseIterable {
    /// A duration.
    case milliseconds = "ms"
    /// A share of a whole, 0–100.
    case percent = "%"
    /// Things counted: messages, devices, attempts.
    case count
    /// A plain number whose unit the metric does not name: an error in a point's own unit
    /// (°C, µg/m³), or a figure from a report written before metrics carried units.
    case number
    /// Electric power, as a meter reports it.
    case kilowatts = "kW"
}

/// One figure a check measured, with its unit.
///
/// In `report.json`: `{"value": 12.5, "unit": "ms"}`, plus `"percent"` for a figure a check also
/// gives relative to its whole. A bare number (how reports of schema `parkbench.report/1` wrote
/// metrics) decodes as a ``MetricUnit/number``.
public struct Metric: Codable, Sendable, Hashable {
    public var value: Double
    public var unit: MetricUnit
    /// The same figure relative to its whole, as a percentage — lost messages of those sent, an
    /// error of the true value — for the figures a suite may judge either way (`loss == 0` and
    /// `loss <= 1%`). One name then stays one metric instead of two that differ by a suffix.
    public var percent: Double?

    public init(value: Double, unit: MetricUnit, percent: Double? = nil) {
        self.value = value
        self.unit = unit
        self.percent = percent
    }

    public static func milliseconds(_ value: Double) -> Metric { Metric(value: value, unit: .milliseconds) }
    public static func percent(_ value: Double) -> Metric { Metric(value: value, unit: .percent) }
    public static func count(_ value: Int, percent: Double? = nil) -> Metric {
        Metric(value: Double(value), unit: .count, percent: percent)
    }
    public static func number(_ value: Double, percent: Double? = nil) -> Metric {
        Metric(value: value, unit: .number, percent: percent)
    }
    public static func kilowatts(_ value: Double) -> Metric { Metric(value: value, unit: .kilowatts) }

    enum CodingKeys: String, CodingKey {
        case value, unit, percent
    }

    public init(from decoder: any Decoder) throws {
        if let legacy = try? decoder.singleValueContainer().decode(Double.self) {
            self.init(value: legacy, unit: .number)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            value: try container.decode(Double.self, forKey: .value), unit: try container.decode(MetricUnit.self, forKey: .unit),
            percent: try container.decodeIfPresent(Double.self, forKey: .percent))
    }
}

extension Metric {
    /// Metrics as `parkbench.report/1` wrote them — bare numbers, a percentage under
    /// `<name>%` — folded into typed metrics: `name%` becomes the percentage of `name` when
    /// both were written, else a percent metric under `name`.
    static func foldingLegacyPercentages(_ metrics: [String: Metric]) -> [String: Metric] {
        var folded = metrics.filter { !$0.key.hasSuffix("%") }
        for (key, percentage) in metrics where key.hasSuffix("%") {
            let name = String(key.dropLast())
            if var whole = folded[name] {
                whole.percent = percentage.value
                folded[name] = whole
            } else {
                folded[name] = .percent(percentage.value)
            }
        }
        return folded
    }
}
