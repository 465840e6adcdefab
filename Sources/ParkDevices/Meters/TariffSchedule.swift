import ParkCore

/// A time-of-use tariff (分时计费, 004 L3482): which of the four DL/T 645 tariffs — 尖 sharp, 峰
/// peak, 平 flat, 谷 valley, tariffs 1 to 4 — is in force at each time of day on the meter's
/// clock, and what each costs.
///
/// Written as the times each period starts, the first at 00:00:
/// `"00:00=valley, 08:00=peak, 11:00=flat, 18:00=peak, 21:00=flat, 23:00=valley"`; prices as
/// `"sharp=1.2, peak=0.95, valley=0.35"`, a tariff not named costing the meter's `tariff`.
struct TariffSchedule: Sendable, Equatable {
    /// The tariffs in DL/T 645 order (费率 1…4).
    static let names = ["sharp", "peak", "flat", "valley"]

    /// Where each period starts (seconds after local midnight) and its tariff (0…3), in order,
    /// the first at 0.
    let periods: [(start: Int, tariff: Int)]
    /// Price of each tariff, CNY/kWh.
    let prices: [Double]

    static func == (a: TariffSchedule, b: TariffSchedule) -> Bool {
        a.prices == b.prices && a.periods.map(\.start) == b.periods.map(\.start) && a.periods.map(\.tariff) == b.periods.map(\.tariff)
    }

    /// Nil for an empty schedule (one rate). - Throws: what is wrong with the text, by entry.
    init?(schedule: String, prices priceText: String, defaultPrice: Double) throws(DeviceError) {
        let entries = Self.entries(schedule)
        guard !entries.isEmpty else {
            if !priceText.trimmingCharacters(in: .whitespaces).isEmpty {
                throw DeviceError("tariff_prices needs a tariff_schedule saying when each tariff is in force")
            }
            return nil
        }
        var periods: [(start: Int, tariff: Int)] = []
        for (time, name) in entries {
            let clock = time.split(separator: ":")
            guard clock.count == 2, let hours = Int(clock[0]), let minutes = Int(clock[1]), (0 ..< 24).contains(hours), (0 ..< 60).contains(minutes) else {
                throw DeviceError("tariff_schedule: '\(time)=\(name)' needs a time of day HH:MM, such as 08:00")
            }
            guard let tariff = Self.names.firstIndex(of: name) else {
                throw DeviceError("tariff_schedule: '\(time)=\(name)' names no tariff; use \(Self.names.joined(separator: ", "))")
            }
            let start = hours * 3600 + minutes * 60
            if let last = periods.last, start <= last.start {
                throw DeviceError("tariff_schedule: \(time) does not come after the period before it; list the periods in the order of the day")
            }
            periods.append((start, tariff))
        }
        guard periods[0].start == 0 else { throw DeviceError("tariff_schedule: the first period must start at 00:00") }
        var prices = [Double](repeating: defaultPrice, count: 4)
        for (name, text) in Self.entries(priceText) {
            guard let tariff = Self.names.firstIndex(of: name) else {
                throw DeviceError("tariff_prices: '\(name)=\(text)' names no tariff; use \(Self.names.joined(separator: ", "))")
            }
            guard let price = Double(text), price >= 0 else { throw DeviceError("tariff_prices: '\(name)=\(text)' needs a price ≥ 0 in CNY/kWh") }
            prices[tariff] = price
        }
        self.periods = periods
        self.prices = prices
    }

    /// `a=b` entries of a comma-separated list, trimmed.
    private static func entries(_ text: String) -> [(String, String)] {
        text.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }.filter { !$0.0.isEmpty || !$0.1.isEmpty }
    }

    /// The tariff in force `secondOfDay` seconds after local midnight, and how many seconds
    /// until the next period starts (at the latest, midnight).
    func tariff(atSecondOfDay secondOfDay: Double) -> (tariff: Int, secondsLeft: Double) {
        var index = periods.count - 1
        while index > 0, Double(periods[index].start) > secondOfDay { index -= 1 }
        let end = index + 1 < periods.count ? Double(periods[index + 1].start) : 86_400
        return (periods[index].tariff, max(0, end - secondOfDay))
    }

    /// How many hours of a day each tariff is in force: how energy already on the meter at the
    /// start is shared among the tariffs, so that they add up to the total.
    var dailyShares: [Double] {
        var shares = [Double](repeating: 0, count: 4)
        for (index, period) in periods.enumerated() {
            let end = index + 1 < periods.count ? periods[index + 1].start : 86_400
            shares[period.tariff] += Double(end - period.start) / 86_400
        }
        return shares
    }
}
