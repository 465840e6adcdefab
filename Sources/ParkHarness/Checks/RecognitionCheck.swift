import ParkCore
import ParkProfiles
import ParkReport

/// What the platform shows a camera read is the truth often enough: plates of every kind
/// recognised at least 99 % of the time (004 L2166, L2181). The harness drives `vehicles` cars
/// past the chosen cameras, each with its own plate, and compares the plate the platform shows on
/// its records stream (paired by the camera's `msg_id`) with the plate the car really had. A car
/// the camera missed, a plate it misread, and one the platform showed wrong or not at all all
/// count against `recognised`; the counts say which.
///
/// ```yaml
/// type: recognition
/// devices: {kind: lpr-camera}
/// vehicles: 200
/// spacing: 20ms                 # between cars, across all the cameras
/// expect: ["recognised >= 99%", "unreported == 0"]
/// ```
///
/// `stimulus` (default `vehicle`) names the stimulus and `point` (default `plate`) the argument
/// it takes and the reading compared, so the same check judges a face terminal's `person`.
public struct RecognitionCheck: ConformanceCheck {
    public static let type = "recognition"
    public static let settingKeys = ["devices", "stimulus", "point", "vehicles", "spacing", "arguments"]
    public static let metrics: [String: MeasuredUnit] = [
        "recognised": .percent, "vehicles": .count, "shown_right": .count, "misread": .count, "missed": .count,
        "unreported": .count, "shown_wrong": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let stimulus: String
    public let point: String
    public let vehicles: Int
    public let spacing: DeviceDuration
    /// Further stimulus arguments, the same for every car (`colour: blue`).
    public let arguments: [String: String]

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        stimulus = settings.string("stimulus") ?? "vehicle"
        point = settings.string("point") ?? "plate"
        vehicles = settings.int("vehicles", range: 1...100_000) ?? 100
        spacing = settings.duration("spacing") ?? .milliseconds(20)
        var arguments: [String: String] = [:]
        for entry in settings.scalarMap("arguments") ?? [] { arguments[entry.key] = entry.text }
        self.arguments = arguments
        guard let devices else { return nil }
        self.devices = devices
    }

    /// The `index`th plate: a province, a letter and five characters, unique for every index
    /// below 34⁵ · 24 · 8 — plates of the shape the seeds' cameras read.
    static func plate(_ index: Int) -> String {
        let provinces = Array("京沪粤苏浙川鄂湘"), letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
        let serial = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        var rest = index
        var tail: [Character] = []
        for _ in 0..<5 {
            tail.append(serial[rest % serial.count])
            rest /= serial.count
        }
        let letter = letters[rest % letters.count]
        rest /= letters.count
        return String(provinces[rest % provinces.count]) + String(letter) + String(tail.reversed())
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let mark = context.truth.mark
        let since = context.wallNow()
        var presented: [(device: String, truth: String)] = []
        for index in 0..<vehicles {
            let device = chosen[index % chosen.count], truth = Self.plate(index)
            let action = DeviceAction(.stimulus, stimulus, arguments: arguments.merging([point: truth]) { $1 })
            if case .failure(let failure) = await context.perform(action, on: device) { return CheckMeasurement(error: failure.description) }
            presented.append((device.id, truth))
            if spacing > .zero { await context.run(for: spacing) }
        }
        // What each camera made of each car: the emission whose reading carries the car's plate as
        // its truth — a read on the wire, or a miss kept in the ledger alone.
        func reads() -> [String: LedgerRecord] {
            var byTruth: [String: LedgerRecord] = [:]
            for record in context.truth.records(from: mark, where: { $0.entry == .emission }) {
                if let truth = record.readings.first(where: { $0.point == point })?.truth?.description { byTruth[truth] = record }
            }
            return byTruth
        }
        func shown() -> [String: Observation] {
            var byID: [String: Observation] = [:]
            for observation in context.observations.observations(.record, since: since) {
                if let id = observation.messageID { byID[id] = observation }
            }
            return byID
        }
        _ = await context.waitUntil(timeout: common.timeout) {
            let read = reads(), records = shown()
            return presented.allSatisfy { car in
                guard let record = read[car.truth] else { return false }
                return record.channel != .event || records[record.messageID] != nil
            }
        }
        let read = reads(), records = shown()
        var measurement = CheckMeasurement()
        var right = 0, misread = 0, missed = 0, unreported = 0, wrong = 0
        for car in presented {
            guard let record = read[car.truth] else {
                missed += 1
                measurement.findings.append("\(car.device): no read of \(car.truth) at all within \(common.timeout)")
                continue
            }
            guard record.channel == .event else {
                missed += 1
                continue
            }
            let seen = record.readings.first { $0.point == point }?.value.description
            if seen != car.truth { misread += 1 }
            guard let observation = records[record.messageID] else {
                unreported += 1
                measurement.findings.append("\(car.device): the platform showed no record of \(record.messageID) (\(point) \(seen ?? "?"))")
                continue
            }
            let shownValue = observation.texts[point] ?? observation.values[point].map { String($0) }
            if shownValue == car.truth {
                right += 1
            } else if shownValue != seen {
                wrong += 1
                if wrong <= 5 {
                    measurement.findings.append(
                        "\(car.device): the camera read \(seen ?? "nothing") for \(car.truth); the platform showed \(shownValue ?? "no \(point)")")
                }
            }
        }
        if wrong > 5 { measurement.findings.append("… and \(wrong - 5) more records the platform showed differently from the camera's read") }
        measurement.set("recognised", .percent(Double(right) / Double(presented.count) * 100))
        measurement.set("vehicles", .count(presented.count))
        measurement.set("shown_right", .count(right))
        measurement.set("misread", .count(misread))
        measurement.set("missed", .count(missed))
        measurement.set("unreported", .count(unreported))
        measurement.set("shown_wrong", .count(wrong))
        return measurement
    }
}
